/**
 * Every route with its declared request policy, as a person reads it: `ganymede routes` prints it,
 * and its Markdown form is the endpoint → scope table of docs/rest-api.md.
 */
import type { Access, DeclaredRoute, ResourceParams } from './route-policy.js';

/** What the scopes apply to, in words ("on the user {name}"). */
function resource(on: ResourceParams | undefined): string {
  if (!on) return '';
  if ('user' in on) return `user {${on.user}}`;
  if ('group' in on) return `group {${on.group}}`;
  if ('service' in on) return `service {${on.service}}`;
  if ('server' in on) return `server {${on.server[0]}}/{${on.server[1]}}`;
  return `user {${on.userOrServer[0]}}, or its server {${on.userOrServer[1]}}`;
}

/** Who may call, in words. */
export function describeAccess(access: Access): string {
  switch (access.kind) {
    case 'anyone':
      return 'anyone';
    case 'caller':
      return `any caller; ${access.checks}`;
    case 'list':
      return `${access.scope} (a filtered scope filters the list)`;
    case 'scopes': {
      const on = resource(access.on);
      const own = access.ownFree ? ' (none for one\'s own)' : '';
      return `${access.scopes.join(' or ')}${on ? ` on ${on}` : ''}${own}${access.checks ? `; ${access.checks}` : ''}`;
    }
  }
}

/** The routes people call: HEAD routes (answered by their GET) left out, sorted by path then method. */
export function listedRoutes(routes: readonly DeclaredRoute[]): DeclaredRoute[] {
  const order = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return routes
    .filter((r) => r.method !== 'HEAD')
    .slice()
    .sort((a, b) => (a.url === b.url ? order.indexOf(a.method) - order.indexOf(b.method) : a.url < b.url ? -1 : 1));
}

const DOORS = { api: 'token, or cookie + XSRF', page: 'login cookie (navigation; forms + XSRF)' } as const;

/** How the caller is known, in words. */
function credentials(r: DeclaredRoute): string {
  return r.policy.door === 'none' ? (r.policy.credentials ?? 'none') : DOORS[r.policy.door];
}

/** `/hub/api/users/:name` → `/users/{name}`; `*` stays. */
function apiPath(url: string, apiPrefix: string): string {
  return url.slice(apiPrefix.length - 1).replace(/:([A-Za-z_]+)/g, '{$1}') || '/';
}

/** The REST API's endpoint → scope table (docs/rest-api.md), from the declarations. */
export function apiScopeTable(routes: readonly DeclaredRoute[], apiPrefix: string): string {
  const rows = listedRoutes(routes).filter((r) => r.url.startsWith(apiPrefix) || `${r.url}/` === apiPrefix);
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| method | path | who may call (any of the scopes) | credentials | changes state |', '|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.method} | \`${apiPath(r.url, apiPrefix)}\` | ${cell(describeAccess(r.policy.access))} | ${cell(credentials(r))} | ${r.changes ? 'yes' : 'no'} |`);
  }
  return lines.join('\n') + '\n';
}

/** One line per route: method, path, door, who. */
export function routesText(routes: readonly DeclaredRoute[]): string {
  const rows = listedRoutes(routes).map((r) => {
    const door = r.policy.door === 'none' ? `none (${r.policy.credentials ?? ''})` : r.policy.door;
    const flags = [r.changes ? 'changes' : '', r.policy.beforeSecondFactor ? 'before-2fa' : ''].filter(Boolean).join(',');
    return [r.method, r.url, door, describeAccess(r.policy.access), flags];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd()).join('\n') + '\n';
}
