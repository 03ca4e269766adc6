/**
 * Scopes as JupyterHub 5 understands them: parsing, expansion, intersection, and access checks.
 *
 * Vocabulary (as in JupyterHub):
 * - raw scopes: what roles and tokens store; may hold metascopes (`self`, `inherit`) and owner
 *   filters without a value (`!user`, `!server`, `!service`);
 * - expanded scopes: every implied subscope added, filters carried down, owner filters resolved and
 *   overlaps removed (`read:users` makes `read:users!user=x` redundant). Checks run on these.
 *
 * Everything here is a pure function over strings and sets; the implication closure of every
 * scope is computed once at module load, so a check is a handful of `Set.has` calls.
 */
import { GANYMEDE_SCOPE_DEFINITIONS, SCOPE_DEFINITIONS, type ScopeDefinition } from './scope-definitions.js';

export type { ScopeDefinition } from './scope-definitions.js';

export type FilterKind = 'user' | 'group' | 'server' | 'service';

/** `!user` alone means "the owner"; `!server` / `!service` alone mean "the issuing server / service". */
export type OwnerFilterKind = 'user' | 'server' | 'service';

export type ScopeFilter =
  | { readonly kind: FilterKind; readonly value: string }
  | { readonly kind: OwnerFilterKind; readonly value: null };

export interface ParsedScope {
  readonly base: string;
  readonly filter: ScopeFilter | null;
}

/** Who holds the scopes: resolves `self` and `!user` / `!service`. */
export type ScopeOwner =
  | { readonly kind: 'user'; readonly name: string }
  | { readonly kind: 'service'; readonly name: string };

export interface ExpansionContext {
  readonly owner?: ScopeOwner;
  /** The server (`alice/` or `alice/gpu`) whose OAuth client issued the token: resolves `!server`. */
  readonly server?: string;
  /** The service whose OAuth client issued the token: resolves `!service` (before the owner does). */
  readonly service?: string;
}

/** The resource an action is on. `groups` are the groups of the targeted user (or server owner). */
export interface ScopeTarget {
  readonly user?: string;
  readonly groups?: Iterable<string>;
  /** `alice/` for the default server, `alice/gpu` for a named one. */
  readonly server?: string;
  readonly service?: string;
  readonly group?: string;
}

/** What a filtered holder of a scope may see, for list endpoints. */
export interface FilteredAccess {
  readonly unfiltered: false;
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly servers: ReadonlySet<string>;
  readonly services: ReadonlySet<string>;
}
export type ScopeAccess = { readonly unfiltered: true } | FilteredAccess;

/** Group names of a user; lets intersections see that `!user=alice` lies inside `!group=physics`. */
export type UserGroupsLookup = (userName: string) => Iterable<string>;

/** Expanded scopes keyed by base: `'all'` when held unfiltered, otherwise the filter values by kind. */
export type ParsedScopes = Map<string, 'all' | Map<FilterKind, Set<string>>>;

export class InvalidScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidScopeError';
  }
}

const FILTER_KINDS: ReadonlySet<string> = new Set<FilterKind>(['user', 'group', 'server', 'service']);
const OWNER_FILTER_KINDS: ReadonlySet<string> = new Set<OwnerFilterKind>(['user', 'server', 'service']);

// ---------------------------------------------------------------------------------------------
// definitions and their closure

const customDefinitions = new Map<string, ScopeDefinition>();

function definitionOf(name: string): ScopeDefinition | undefined {
  if (Object.hasOwn(SCOPE_DEFINITIONS, name)) return SCOPE_DEFINITIONS[name];
  if (Object.hasOwn(GANYMEDE_SCOPE_DEFINITIONS, name)) return GANYMEDE_SCOPE_DEFINITIONS[name];
  return customDefinitions.get(name);
}

/** base → the base and every scope it implies. */
const closure = new Map<string, readonly string[]>();
/**
 * Same, for `!server=` filters: JupyterHub drops the `read:user…` scopes there because a server
 * filter on a user-model scope means nothing (`read:servers!server=a/x` does not imply `read:users:name`).
 */
const serverFilterClosure = new Map<string, readonly string[]>();

function computeClosure(name: string): string[] {
  const seen = new Set<string>();
  const visit = (scope: string): void => {
    if (seen.has(scope)) return;
    seen.add(scope);
    for (const sub of definitionOf(scope)?.subscopes ?? []) visit(sub);
  };
  visit(name);
  return [...seen];
}

function addClosure(name: string): void {
  const all = computeClosure(name);
  closure.set(name, Object.freeze(all));
  serverFilterClosure.set(name, Object.freeze(all.filter((s) => !s.startsWith('read:user'))));
}

for (const name of [...Object.keys(SCOPE_DEFINITIONS), ...Object.keys(GANYMEDE_SCOPE_DEFINITIONS)]) addClosure(name);

/** Every defined scope name, built-in and custom. */
export function scopeNames(): string[] {
  return [...closure.keys()];
}

export function isDefinedScope(base: string): boolean {
  return closure.has(base);
}

/** The description of a scope (a filter, if any, is ignored); undefined if the scope is unknown. */
export function describeScope(scope: string): string | undefined {
  const bang = scope.indexOf('!');
  return definitionOf(bang < 0 ? scope : scope.slice(0, bang))?.description;
}

/** The scope and everything it implies (unfiltered names); empty if unknown. */
export function impliedScopes(base: string): readonly string[] {
  return closure.get(base) ?? [];
}

// custom scopes ---------------------------------------------------------------------------------

const CUSTOM_SCOPE_NAME = /^custom:[a-z0-9][a-z0-9_\-*:]+[a-z0-9_*]$/;

/**
 * Adds `custom:` scopes (JupyterHub's `custom_scopes` setting). Throws InvalidScopeError, defining
 * nothing, if any definition is invalid: bad name, no description, a redefinition, or a subscope
 * that is not a custom scope defined here or earlier.
 */
export function defineCustomScopes(definitions: Readonly<Record<string, ScopeDefinition>>): void {
  for (const [name, def] of Object.entries(definitions)) {
    const existing = definitionOf(name);
    if (existing !== undefined) {
      if (sameDefinition(existing, def)) continue;
      throw new InvalidScopeError(`Scope ${name} is already defined differently`);
    }
    if (!CUSTOM_SCOPE_NAME.test(name)) {
      throw new InvalidScopeError(
        `Invalid custom scope name ${JSON.stringify(name)}: it must start with 'custom:', use only a-z 0-9 - _ : *, ` +
          `start (after 'custom:') with a letter or digit and not end with '-' or ':'`,
      );
    }
    if (typeof def?.description !== 'string') {
      throw new InvalidScopeError(`Custom scope ${name} needs a description`);
    }
    if (def.subscopes !== undefined) {
      if (!Array.isArray(def.subscopes) || !def.subscopes.every((s) => typeof s === 'string')) {
        throw new InvalidScopeError(`Subscopes of ${name} must be a list of scope names`);
      }
      for (const sub of def.subscopes) {
        if (Object.hasOwn(definitions, sub) || customDefinitions.has(sub)) continue;
        throw new InvalidScopeError(
          Object.hasOwn(SCOPE_DEFINITIONS, sub)
            ? `Custom scope ${name} may not imply the built-in scope ${sub}; grant both through a role instead`
            : `Subscope ${sub} of ${name} is not defined`,
        );
      }
    }
  }
  for (const [name, def] of Object.entries(definitions)) {
    customDefinitions.set(name, { description: def.description, subscopes: def.subscopes && [...def.subscopes] });
  }
  // closures of earlier custom scopes cannot change: custom subscopes must already exist
  for (const name of Object.keys(definitions)) addClosure(name);
}

function sameDefinition(a: ScopeDefinition, b: ScopeDefinition): boolean {
  const as = a.subscopes ?? [];
  const bs = b.subscopes ?? [];
  return a.description === b.description && as.length === bs.length && as.every((s, i) => s === bs[i]);
}

// ---------------------------------------------------------------------------------------------
// parsing

/** Splits `base!kind=value`; throws InvalidScopeError on an unknown or valueless filter. */
export function parseScope(scope: string): ParsedScope {
  const bang = scope.indexOf('!');
  if (bang < 0) return { base: scope, filter: null };
  return { base: scope.slice(0, bang), filter: parseFilter(scope.slice(bang + 1), scope) };
}

function parseFilter(text: string, scope: string): ScopeFilter {
  const eq = text.indexOf('=');
  if (eq < 0) {
    if (OWNER_FILTER_KINDS.has(text)) return { kind: text as OwnerFilterKind, value: null };
    throw new InvalidScopeError(`Unknown scope filter !${text} in ${scope}`);
  }
  const kind = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (!FILTER_KINDS.has(kind)) throw new InvalidScopeError(`Unknown scope filter !${kind} in ${scope}`);
  if (value === '') throw new InvalidScopeError(`Empty filter value in ${scope}`);
  return { kind: kind as FilterKind, value };
}

export function formatScope(base: string, filter: ScopeFilter | null): string {
  if (filter === null) return base;
  return filter.value === null ? `${base}!${filter.kind}` : `${base}!${filter.kind}=${filter.value}`;
}

/** A defined scope with, if any, a known filter (`!user`, `!server`, `!service`, or `kind=value`). */
export function isValidScope(scope: string): boolean {
  return scopeError(scope) === null;
}

/** Why a raw scope is not valid, or null. */
export function scopeError(scope: string): string | null {
  let parsed: ParsedScope;
  try {
    parsed = parseScope(scope);
  } catch (err) {
    return (err as Error).message;
  }
  if (isDefinedScope(parsed.base)) return null;
  if (parsed.base === 'all') return "Scope 'all' does not exist; the scope for 'everything the owner may do' is 'inherit'";
  return `Scope '${scope}' does not exist`;
}

/** Expanded scopes keyed by base. Throws InvalidScopeError on an unresolved owner filter. */
export function parseScopes(expanded: Iterable<string>): ParsedScopes {
  const parsed: ParsedScopes = new Map();
  for (const scope of expanded) {
    const { base, filter } = parseScope(scope);
    if (filter === null) {
      parsed.set(base, 'all');
      continue;
    }
    if (filter.value === null) throw new InvalidScopeError(`Unresolved filter in ${scope}; expand with an owner first`);
    let filters = parsed.get(base);
    if (filters === 'all') continue;
    if (filters === undefined) parsed.set(base, (filters = new Map()));
    let values = filters.get(filter.kind);
    if (values === undefined) filters.set(filter.kind, (values = new Set()));
    values.add(filter.value);
  }
  return parsed;
}

export function unparseScopes(parsed: ParsedScopes): Set<string> {
  const out = new Set<string>();
  for (const [base, filters] of parsed) {
    if (filters === 'all') {
      out.add(base);
      continue;
    }
    for (const [kind, values] of filters) for (const value of values) out.add(`${base}!${kind}=${value}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// expansion

/** What `self` means for a user, before the `!user=<name>` filter (closed under implication). */
export const SELF_SCOPES: readonly string[] = Object.freeze([
  'read:users',
  'read:users:name',
  'read:users:groups',
  'users:shares',
  'read:users:shares',
  'read:shares',
  'users:activity',
  'read:users:activity',
  'servers',
  'start:servers',
  'delete:servers',
  'read:servers',
  'tokens',
  'read:tokens',
  'access:servers',
]);

/**
 * Adds every implied subscope, carrying each scope's filter down, and drops filtered scopes made
 * redundant by the same scope unfiltered. Unknown scopes are dropped (they grant nothing).
 *
 * Without a context, `self`, `inherit` and valueless filters (`!user`) are kept as they are.
 * With one, `self` becomes SELF_SCOPES filtered to the owning user (nothing for a service) and
 * `!user` / `!service` / `!server` take the owner's, issuing service's or issuing server's name;
 * scopes whose filter cannot be resolved are dropped, as in JupyterHub.
 */
export function expandScopes(scopes: Iterable<string>, context?: ExpansionContext): Set<string> {
  const out = new Set<string>();
  let hasSelf = false;
  for (const scope of scopes) {
    const bang = scope.indexOf('!');
    if (bang < 0) {
      if (scope === 'self' && context !== undefined) {
        hasSelf = true;
        continue;
      }
      const implied = closure.get(scope);
      if (implied !== undefined) for (const s of implied) out.add(s);
      continue;
    }
    const base = scope.slice(0, bang);
    let suffix = scope.slice(bang); // '!user=alice', or '!user' unresolved
    const eq = suffix.indexOf('=');
    if (eq < 0) {
      const kind = suffix.slice(1);
      if (!OWNER_FILTER_KINDS.has(kind)) continue; // unknown filter: grants nothing
      if (context !== undefined) {
        const resolved = resolveOwnerFilter(kind as OwnerFilterKind, context);
        if (resolved === null) continue;
        suffix = resolved;
      }
    } else if (eq === suffix.length - 1 || !FILTER_KINDS.has(suffix.slice(1, eq))) {
      continue;
    }
    const implied = (suffix.startsWith('!server') ? serverFilterClosure : closure).get(base);
    if (implied !== undefined) for (const s of implied) out.add(s + suffix);
  }
  if (hasSelf && context?.owner?.kind === 'user') {
    const suffix = `!user=${context.owner.name}`;
    for (const s of SELF_SCOPES) out.add(s + suffix);
  }
  return reduceScopes(out);
}

function resolveOwnerFilter(kind: OwnerFilterKind, context: ExpansionContext): string | null {
  const { owner, server, service } = context;
  switch (kind) {
    case 'user':
      return owner?.kind === 'user' ? `!user=${owner.name}` : null;
    case 'service': {
      const name = service ?? (owner?.kind === 'service' ? owner.name : undefined);
      return name === undefined ? null : `!service=${name}`;
    }
    case 'server':
      return server === undefined ? null : `!server=${server}`;
  }
}

/** Same as `expandScopes(scopes, { owner })`: resolves `self` and the owner filters. */
export function resolveSelf(scopes: Iterable<string>, owner: ScopeOwner): Set<string> {
  return expandScopes(scopes, { owner });
}

/** Drops filtered scopes whose base is also held unfiltered (in place; returns the set). */
export function reduceScopes(expanded: Set<string>): Set<string> {
  for (const scope of expanded) {
    const bang = scope.indexOf('!');
    if (bang >= 0 && expanded.has(scope.slice(0, bang))) expanded.delete(scope);
  }
  return expanded;
}

// ---------------------------------------------------------------------------------------------
// intersection

/**
 * What two sets of expanded scopes have in common, filter by filter (JupyterHub's
 * `_intersect_expanded_scopes`): held `read:users` and requested `read:users!user=alice` give the
 * latter; `!server=alice/x` lies inside `!user=alice`. A user or server lies inside `!group=g` only
 * when `userGroups` is given and says so; without it such pairs are dropped (less access, never more).
 * Symmetric in its two arguments.
 */
export function intersectScopes(
  a: Iterable<string>,
  b: Iterable<string>,
  userGroups?: UserGroupsLookup,
): Set<string> {
  const parsedA = parseScopes(a);
  const parsedB = parseScopes(b);
  const groupsCache = new Map<string, ReadonlySet<string>>();
  const groupsOf = (user: string): ReadonlySet<string> => {
    let groups = groupsCache.get(user);
    if (groups === undefined) groupsCache.set(user, (groups = new Set(userGroups?.(user) ?? [])));
    return groups;
  };
  const inAnyGroup = (user: string, groups: ReadonlySet<string>): boolean => {
    for (const g of groupsOf(user)) if (groups.has(g)) return true;
    return false;
  };

  const common: ParsedScopes = new Map();
  for (const [base, filtersA] of parsedA) {
    const filtersB = parsedB.get(base);
    if (filtersB === undefined) continue;
    if (filtersA === 'all') {
      common.set(base, filtersB);
      continue;
    }
    if (filtersB === 'all') {
      common.set(base, filtersA);
      continue;
    }
    const filters = new Map<FilterKind, Set<string>>();
    for (const [kind, valuesA] of filtersA) {
      const valuesB = filtersB.get(kind);
      if (valuesB !== undefined) filters.set(kind, new Set([...valuesA].filter((v) => valuesB.has(v))));
    }
    const servers = new Set(filters.get('server'));
    const users = new Set(filters.get('user'));
    for (const [x, y] of [
      [filtersA, filtersB],
      [filtersB, filtersA],
    ] as const) {
      const xServers = x.get('server');
      if (xServers !== undefined && !sameSet(xServers, y.get('server'))) {
        const yUsers = y.get('user');
        const yGroups = y.get('group');
        for (const server of xServers) {
          if (servers.has(server)) continue;
          const owner = serverOwner(server);
          if (yUsers?.has(owner) || (userGroups !== undefined && yGroups !== undefined && inAnyGroup(owner, yGroups))) {
            servers.add(server);
          }
        }
      }
      const xUsers = x.get('user');
      const yGroups = y.get('group');
      if (userGroups !== undefined && xUsers !== undefined && yGroups !== undefined && !sameSet(xUsers, y.get('user'))) {
        for (const user of xUsers) if (!users.has(user) && inAnyGroup(user, yGroups)) users.add(user);
      }
    }
    if (servers.size > 0) filters.set('server', servers);
    if (users.size > 0) filters.set('user', users);
    common.set(base, filters);
  }
  return unparseScopes(common);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const v of a) if (!b.has(v)) return false;
  return true;
}

/** `alice/gpu` → `alice`; `alice/` → `alice`. */
export function serverOwner(server: string): string {
  const slash = server.indexOf('/');
  return slash < 0 ? server : server.slice(0, slash);
}

// ---------------------------------------------------------------------------------------------
// tokens

/** The scopes every token has over its owner, so whoami works (JupyterHub's identify scopes). */
export function identifyScopes(owner: ScopeOwner): string[] {
  return owner.kind === 'user'
    ? [`read:users:name!user=${owner.name}`, `read:users:groups!user=${owner.name}`]
    : [`read:services:name!service=${owner.name}`];
}

/** The scope needed to use a server (`alice/gpu`) or a service through the proxy. */
export function accessScope(to: { readonly server: string } | { readonly service: string }): string {
  return 'server' in to ? `access:servers!server=${to.server}` : `access:services!service=${to.service}`;
}

export interface TokenContext {
  readonly owner: ScopeOwner;
  /** The token was issued by this server's OAuth client (`alice/gpu`). */
  readonly server?: string;
  /** The token was issued by this service's OAuth client. */
  readonly service?: string;
  readonly userGroups?: UserGroupsLookup;
}

/**
 * The scopes a token actually has: its raw scopes expanded for its owner, plus access to the
 * OAuth client that issued it and the identify scopes, intersected with what the owner holds now.
 * `inherit` means exactly the owner's scopes.
 */
export function resolveTokenScopes(
  tokenScopes: Iterable<string>,
  ownerScopes: ReadonlySet<string>,
  context: TokenContext,
): Set<string> {
  const raw = new Set(tokenScopes);
  if (raw.has('inherit')) return new Set(ownerScopes);
  const expanded = expandScopes(raw, context);
  if (context.server !== undefined) expanded.add(accessScope({ server: context.server }));
  else if (context.service !== undefined) expanded.add(accessScope({ service: context.service }));
  for (const s of identifyScopes(context.owner)) expanded.add(s);
  return intersectScopes(reduceScopes(expanded), ownerScopes, context.userGroups);
}

/**
 * Requested token scopes the owner does not hold (empty when the token may be created), as
 * JupyterHub checks on `POST /users/:name/tokens`: expanded scopes beyond the owner's, plus any
 * requested scope that is not valid. `inherit` needs nothing.
 */
export function excessTokenScopes(
  requested: Iterable<string>,
  ownerScopes: ReadonlySet<string>,
  context: TokenContext,
): Set<string> {
  const raw = new Set(requested);
  raw.delete('inherit');
  const invalid = [...raw].filter((s) => !isValidScope(s));
  const wanted = expandScopes(raw, context);
  if (wanted.size > 0) {
    for (const s of intersectScopes(wanted, ownerScopes, context.userGroups)) wanted.delete(s);
  }
  for (const s of invalid) wanted.add(s);
  return wanted;
}

/**
 * Splits requested raw scopes into those granted and those refused against the raw scopes held
 * (JupyterHub's `_resolve_requested_scopes`, used for OAuth and server tokens). A scope held only in
 * part (requested `admin:servers!server`, held `read:servers`) is refused, and the expanded part
 * held is granted instead. Invalid scopes are refused.
 */
export function resolveRequestedScopes(
  requested: Iterable<string>,
  held: Iterable<string>,
  context: TokenContext,
): { allowed: Set<string>; disallowed: Set<string> } {
  const have = new Set(held);
  const allowed = new Set<string>();
  const disallowed = new Set<string>();
  for (const s of requested) (have.has(s) && isValidScope(s) ? allowed : disallowed).add(s);
  if (disallowed.size === 0) return { allowed, disallowed };

  let expandedAllowed = expandScopes(allowed, context);
  const expandedHave = expandScopes(have, context);
  for (const scope of [...disallowed]) {
    if (!isValidScope(scope)) continue; // never granted: it would expand to nothing
    const wanted = expandScopes([scope], context);
    for (const s of expandedAllowed) wanted.delete(s);
    const granted = wanted.size > 0 ? intersectScopes(wanted, expandedHave, context.userGroups) : new Set<string>();
    if (sameSet(wanted, granted)) {
      allowed.add(scope);
      disallowed.delete(scope);
      expandedAllowed = expandScopes(allowed, context);
    } else if (granted.size > 0) {
      for (const s of granted) allowed.add(s);
      expandedAllowed = expandScopes(allowed, context);
    }
  }
  return { allowed, disallowed };
}

// ---------------------------------------------------------------------------------------------
// checks

/**
 * Whether expanded scopes allow `required` on `target`: the scope held unfiltered, or held with a
 * filter that covers the target. `!user=u` covers user u and u's servers; `!group=g` covers the
 * group g and, through `target.groups`, its members and their servers; `!server=u/n` that server;
 * `!service=s` that service. `required` may carry a filter itself (`read:users!user=alice`), which
 * is added to the target.
 */
export function checkScope(expanded: ReadonlySet<string>, required: string, target?: ScopeTarget): boolean {
  const bang = required.indexOf('!');
  if (bang >= 0) {
    const filter = parseFilter(required.slice(bang + 1), required);
    if (filter.value === null) throw new InvalidScopeError(`Unresolved filter in required scope ${required}`);
    return checkScope(expanded, required.slice(0, bang), { ...target, [filter.kind]: filter.value });
  }
  if (expanded.has(required)) return true;
  return target !== undefined && filteredScopeCovers(expanded, `${required}!`, target);
}

function filteredScopeCovers(expanded: ReadonlySet<string>, prefix: string, target: ScopeTarget): boolean {
  const { user, server, service, group, groups } = target;
  if (user !== undefined && expanded.has(`${prefix}user=${user}`)) return true;
  if (server !== undefined) {
    if (expanded.has(`${prefix}server=${server}`)) return true;
    const owner = serverOwner(server);
    if (owner !== user && expanded.has(`${prefix}user=${owner}`)) return true;
  }
  if (service !== undefined && expanded.has(`${prefix}service=${service}`)) return true;
  if (group !== undefined && expanded.has(`${prefix}group=${group}`)) return true;
  if (groups !== undefined) for (const g of groups) if (expanded.has(`${prefix}group=${g}`)) return true;
  return false;
}

/** Whether the scope is held at all, unfiltered or with any filter (JupyterHub's `scope in parsed_scopes`). */
export function holdsScope(expanded: ReadonlySet<string>, base: string): boolean {
  if (expanded.has(base)) return true;
  const prefix = `${base}!`;
  for (const scope of expanded) if (scope.startsWith(prefix)) return true;
  return false;
}

/**
 * What holders of `required` may see, for list endpoints: everything, the filter values they hold,
 * or null when they do not hold the scope at all (answer 403).
 */
export function scopeFilterFor(expanded: ReadonlySet<string>, required: string): ScopeAccess | null {
  if (expanded.has(required)) return { unfiltered: true };
  const prefix = `${required}!`;
  const users = new Set<string>();
  const groups = new Set<string>();
  const servers = new Set<string>();
  const services = new Set<string>();
  let found = false;
  for (const scope of expanded) {
    if (!scope.startsWith(prefix)) continue;
    const eq = scope.indexOf('=', prefix.length);
    if (eq < 0) continue; // unresolved owner filter: grants nothing
    const value = scope.slice(eq + 1);
    switch (scope.slice(prefix.length, eq)) {
      case 'user':
        users.add(value);
        break;
      case 'group':
        groups.add(value);
        break;
      case 'server':
        servers.add(value);
        break;
      case 'service':
        services.add(value);
        break;
      default:
        continue;
    }
    found = true;
  }
  return found ? { unfiltered: false, users, groups, servers, services } : null;
}

/** Whether a result of scopeFilterFor covers a target, with checkScope's rules. */
export function accessCovers(access: ScopeAccess | null, target: ScopeTarget): boolean {
  if (access === null) return false;
  if (access.unfiltered) return true;
  const { user, server, service, group, groups } = target;
  if (user !== undefined && access.users.has(user)) return true;
  if (server !== undefined && (access.servers.has(server) || access.users.has(serverOwner(server)))) return true;
  if (service !== undefined && access.services.has(service)) return true;
  if (group !== undefined && access.groups.has(group)) return true;
  if (groups !== undefined) for (const g of groups) if (access.groups.has(g)) return true;
  return false;
}
