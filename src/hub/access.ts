/**
 * Who holds which scopes: users (their roles, their groups' roles, the admin flag, servers shared
 * with them or their groups), services
 * (their roles) and tokens (what was asked, intersected with what the owner holds).
 * Owner scope sets are cached and dropped whenever roles, groups or the admin flag change.
 */
import type { RoleRepo } from '../db/repos/roles.js';
import type { ShareRepo } from '../db/repos/shares.js';
import type { UserRepo } from '../db/repos/users.js';
import type { TokenRow, UserRow } from '../db/schema.js';
import type { AuthGeneration } from '../db/repos/generation.js';
import { excessTokenScopes, expandScopes, intersectScopes, resolveSelf, resolveTokenScopes, type ScopeOwner } from '../rbac/scopes.js';

export type Principal =
  | { kind: 'user'; user: UserRow }
  | { kind: 'service'; service: { id: number; name: string } };

function ownerRef(p: Principal): ScopeOwner {
  return p.kind === 'user' ? { kind: 'user', name: p.user.name } : { kind: 'service', name: p.service.name };
}

/** Entries kept per cache before it is emptied (a bound on memory, far above a site's active users). */
const MAX_CACHED = 100_000;

/** Who makes a request: a user or a service, with the scopes this request may use. */
export interface Caller {
  principal: Principal;
  /** Expanded scopes this request may use. */
  scopes: Set<string>;
  /** The token used, or null for the login cookie. */
  token: TokenRow | null;
  /** The session the token or cookie belongs to. */
  sessionId: string | null;
}

export class AccessControl {
  private ownerCache = new Map<string, Set<string>>();
  private memberships = new Map<number, { admin: number; groups: string[]; roles: string[] }>();
  private cachedAt = -1;

  constructor(
    private readonly roles: RoleRepo,
    private readonly users: UserRepo,
    private readonly shares: ShareRepo,
    private readonly generation: AuthGeneration,
    /** Scopes of the roles every user (`user`) and every admin (`admin`) has, as configured (load_roles may redefine them). */
    private readonly implicitRoles: { user: readonly string[]; admin: readonly string[] },
  ) {}

  /** The owner cache, emptied whenever roles, groups, admin flags or users changed. */
  private cache(): Map<string, Set<string>> {
    this.refresh();
    return this.ownerCache;
  }

  private membershipCache(): Map<number, { admin: number; groups: string[]; roles: string[] }> {
    this.refresh();
    return this.memberships;
  }

  private refresh(): void {
    if (this.cachedAt !== this.generation.value) {
      this.ownerCache.clear();
      this.memberships.clear();
      this.cachedAt = this.generation.value;
    }
  }

  /**
   * Group names and role names of users, as the user model shows them (roles: the default `user`
   * role, `admin` from the flag, then assigned roles, sorted). Cached like scopes: every write that
   * changes groups, roles or the admin flag bumps the generation. Misses are loaded in two queries.
   */
  async userMemberships(users: UserRow[]): Promise<Map<number, { groups: string[]; roles: string[] }>> {
    const cache = this.membershipCache();
    const generation = this.generation.value;
    const out = new Map<number, { groups: string[]; roles: string[] }>();
    const missing: UserRow[] = [];
    for (const user of users) {
      const hit = cache.get(user.id);
      if (hit && hit.admin === user.admin) out.set(user.id, hit);
      else missing.push(user);
    }
    if (missing.length === 0) return out;
    const ids = missing.map((u) => u.id);
    const [groups, assigned] = await Promise.all([this.users.groupNamesFor(ids), this.roles.userRoleNamesFor(ids)]);
    if (cache.size + missing.length > MAX_CACHED) cache.clear();
    for (const user of missing) {
      const roles = new Set(['user']);
      if (user.admin) roles.add('admin');
      for (const n of assigned.get(user.id) ?? []) roles.add(n);
      const entry = { admin: user.admin, groups: groups.get(user.id) ?? [], roles: [...roles].sort() };
      // Only when nothing changed while the queries ran; else the next call loads again.
      if (this.generation.value === generation) cache.set(user.id, entry);
      out.set(user.id, entry);
    }
    return out;
  }

  /** Every scope a user holds, expanded (sub-scopes included, `self` resolved). */
  async userScopes(user: UserRow): Promise<Set<string>> {
    const key = `u:${user.id}:${user.admin}`;
    const hit = this.cache().get(key);
    if (hit) return hit;
    const generation = this.generation.value;
    const raw = [...this.implicitRoles.user];
    if (user.admin) raw.push(...this.implicitRoles.admin);
    const [fromRoles, shared] = await Promise.all([this.roles.scopesOfUser(user.id), this.shares.scopesFor(user.id)]);
    raw.push(...fromRoles);
    // Servers shared with the user or their groups (always filtered to one server: `access:servers!server=o/s`).
    raw.push(...shared);
    const entry = expandScopes(resolveSelf(raw, { kind: 'user', name: user.name }));
    this.remember(key, entry, generation);
    return entry;
  }

  async userGroups(user: UserRow): Promise<string[]> {
    return (await this.userMemberships([user])).get(user.id)!.groups;
  }

  async serviceScopes(service: { id: number; name: string }): Promise<Set<string>> {
    const key = `s:${service.id}`;
    const hit = this.cache().get(key);
    if (hit) return hit;
    const generation = this.generation.value;
    const raw = await this.roles.scopesOfService(service.id);
    const entry = expandScopes(resolveSelf(raw, { kind: 'service', name: service.name }));
    this.remember(key, entry, generation);
    return entry;
  }

  /**
   * Caches scopes read at `generation` only if nothing changed while they were read: a revocation
   * written meanwhile must not be hidden behind scopes read before it.
   */
  private remember(key: string, entry: Set<string>, generation: number): void {
    if (this.generation.value === generation) this.cache().set(key, entry);
  }

  async ownerScopes(p: Principal): Promise<Set<string>> {
    return p.kind === 'user' ? this.userScopes(p.user) : this.serviceScopes(p.service);
  }

  /** A token's effective scopes: its requested scopes (empty = `inherit`) intersected with its owner's. */
  async tokenScopes(token: Pick<TokenRow, 'scopes'>, p: Principal): Promise<Set<string>> {
    const owner = await this.ownerScopes(p);
    const requested = JSON.parse(token.scopes) as string[];
    if (requested.length === 0 || requested.includes('inherit')) return owner;
    const groups = await this.groupsOfUsersNamedIn([owner, new Set(requested)]);
    return resolveTokenScopes(requested, owner, { owner: ownerRef(p), userGroups: (n) => groups.get(n) ?? [] });
  }

  /** Requested scopes that `holder` does not have (empty when a token with them may be made for `p`). */
  async excessScopes(requested: string[], holder: ReadonlySet<string>, p: Principal): Promise<string[]> {
    const wanted = requested.includes('inherit') ? [...(await this.ownerScopes(p))] : requested;
    const groups = await this.groupsOfUsersNamedIn([new Set(holder), new Set(wanted)]);
    return [...excessTokenScopes(wanted, holder, { owner: ownerRef(p), userGroups: (n) => groups.get(n) ?? [] })].sort();
  }

  /**
   * Intersects two expanded scope sets. Filters like `!user=alice` against `!group=physics` need
   * alice's groups: they are loaded first for every user the scopes name, so the pure function can look them up.
   */
  async intersect(a: Set<string>, b: Set<string>): Promise<Set<string>> {
    const groups = await this.groupsOfUsersNamedIn([a, b]);
    return intersectScopes(a, b, (name) => groups.get(name) ?? []);
  }

  private async groupsOfUsersNamedIn(sets: Set<string>[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!sets.some((set) => [...set].some((s) => s.includes('!group=')))) return out;
    const names = new Set<string>();
    for (const set of sets) {
      for (const s of set) {
        const m = /!(user|server)=([^/]+)/.exec(s);
        if (m) names.add(m[2]!);
      }
    }
    for (const name of names) {
      const u = await this.users.byName(name);
      out.set(name, u ? await this.userGroups(u) : []);
    }
    return out;
  }
}
