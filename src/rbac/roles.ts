/**
 * Roles: named lists of raw scopes, assigned to users, groups, services and tokens.
 * The defaults and the naming rule are JupyterHub 5's.
 */
import { expandScopes, scopeError, serverOwner, type ScopeOwner } from './scopes.js';

export interface RoleDefinition {
  readonly name: string;
  readonly description?: string;
  readonly scopes: readonly string[];
}

function role(name: string, description: string, scopes: string[]): RoleDefinition {
  return Object.freeze({ name, description, scopes: Object.freeze(scopes) });
}

/** Created at start; every user has `user`, admins `admin`, a server's API token `server`, other tokens `token`. */
export const DEFAULT_ROLES: readonly RoleDefinition[] = Object.freeze([
  role('user', 'What every user may do with their own account and servers', ['self']),
  role('admin', 'Full control of the hub', [
    'admin-ui',
    'admin:users',
    'admin:servers',
    'admin:services',
    'tokens',
    'admin:groups',
    'list:services',
    'read:services',
    'read:hub',
    'proxy',
    'shutdown',
    'access:services',
    'access:servers',
    'read:roles',
    'read:metrics',
    'shares',
  ]),
  role('server', "A user server's own token: report activity, and be used through its own URL", [
    'users:activity!user',
    'access:servers!server',
  ]),
  role('token', 'A token that may do whatever its owner may', ['inherit']),
]);

export function defaultRole(name: string): RoleDefinition | undefined {
  return DEFAULT_ROLES.find((r) => r.name === name);
}

/** 3–255 characters: a lowercase letter, then a-z 0-9 - _ ~ ., ending in a letter or digit. */
const ROLE_NAME = /^[a-z][a-z0-9\-_~.]{1,253}[a-z0-9]$/;

export function isValidRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}

/**
 * Problems with a role definition (from configuration or the API), empty if none: a bad name,
 * scopes that do not exist or carry unknown filters, or an attempt to change the `admin` role.
 * A role without scopes is allowed (JupyterHub only warns).
 */
export function validateRole(role: {
  readonly name: string;
  readonly description?: string;
  readonly scopes?: readonly string[];
}): string[] {
  const errors: string[] = [];
  if (typeof role.name !== 'string' || !isValidRoleName(role.name)) {
    errors.push(
      `Invalid role name ${JSON.stringify(role.name)}: role names have 3-255 characters, lowercase letters, digits and ` +
        `'-._~', start with a letter and end with a letter or digit`,
    );
  }
  for (const scope of role.scopes ?? []) {
    const error = scopeError(scope);
    if (error !== null) errors.push(`${error} (in role ${role.name})`);
  }
  if (role.name === 'admin') {
    const admin = defaultRole('admin')!;
    if (role.description !== undefined && role.description !== admin.description) {
      errors.push('The admin role cannot be changed: admin.description differs from the default');
    }
    if (role.scopes !== undefined && !sameMembers(role.scopes, admin.scopes)) {
      errors.push('The admin role cannot be changed: admin.scopes differ from the default');
    }
  }
  return errors;
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const setA = new Set(a);
  const setB = new Set(b);
  return setA.size === setB.size && [...setA].every((s) => setB.has(s));
}

/** The raw scopes of some roles, together. */
export function rolesToScopes(roles: Iterable<Pick<RoleDefinition, 'scopes'>>): Set<string> {
  const scopes = new Set<string>();
  for (const r of roles) for (const s of r.scopes) scopes.add(s);
  return scopes;
}

/** The expanded scopes an owner holds through its roles (a user's include its groups' roles). */
export function expandRoles(roles: Iterable<Pick<RoleDefinition, 'scopes'>>, owner: ScopeOwner): Set<string> {
  return expandScopes(rolesToScopes(roles), { owner });
}

/**
 * Pins the owner filters of a server's API token to that server before the token is stored:
 * `!server` → `!server=alice/gpu`, `!user` → `!user=alice`. JupyterHub has to do this at spawn
 * because the token is issued by the hub, not by the server's OAuth client, so nothing else
 * would resolve `!server`. Other scopes, `self` included, are returned unchanged.
 */
export function resolveServerFilter(scopes: Iterable<string>, serverId: string): Set<string> {
  const user = serverOwner(serverId);
  const resolved = new Set<string>();
  for (const scope of scopes) {
    if (scope.endsWith('!server')) resolved.add(`${scope}=${serverId}`);
    else if (scope.endsWith('!user')) resolved.add(`${scope}=${user}`);
    else resolved.add(scope);
  }
  return resolved;
}
