/**
 * What identity providers that send group lists (OpenID Connect, SAML) share: reading a value by
 * dotted path, and applying allowed_groups, admin_groups and manage_groups to a login.
 */
import type { AuthResult } from './authenticator.js';

/** A value by dotted path (`realm_access.roles`, `claims.email`) in nested objects; undefined if absent. */
export function valueAt(source: unknown, path: string): unknown {
  let value: unknown = source;
  for (const part of path.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

export interface GroupRules {
  allowed_groups: readonly string[];
  admin_groups: readonly string[];
  manage_groups: boolean;
}

/**
 * The group part of a login's result, or the reason it is refused: with allowed_groups, only their
 * members, admin_groups members and `listed` users (allowed_users, admin_users) get in; with
 * admin_groups, the admin flag follows membership; with manage_groups, the hub groups become these.
 */
export function applyGroupRules(
  name: string,
  groups: string[],
  rules: GroupRules,
  listed: ReadonlySet<string>,
): Pick<AuthResult, 'admin' | 'groups' | 'allowed'> | string {
  const isAdminByGroup = rules.admin_groups.some((g) => groups.includes(g));
  const inAllowedGroup = isAdminByGroup || rules.allowed_groups.some((g) => groups.includes(g));
  if (rules.allowed_groups.length && !inAllowedGroup && !listed.has(name)) return `${name} is not in a group allowed to use this hub.`;
  return {
    allowed: rules.allowed_groups.length > 0 && inAllowedGroup ? true : undefined,
    admin: rules.admin_groups.length ? isAdminByGroup : undefined,
    groups: rules.manage_groups ? groups : undefined,
  };
}
