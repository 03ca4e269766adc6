/** JSON models of the REST API, field for field as JupyterHub's, filtered by what the caller may read. */
import type { ServerRow, TokenRow, UserRow } from '../db/schema.js';
import type { Caller } from '../http/identity.js';
import { checkScope } from '../rbac/scopes.js';
import { tokenApiId } from '../db/repos/tokens.js';
import type { HubUrls } from '../hub/urls.js';
import type { HubContext } from '../http/context.js';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function pending(row: ServerRow): 'spawn' | 'stop' | null {
  return row.phase === 'spawning' ? 'spawn' : row.phase === 'stopping' ? 'stop' : null;
}

export function serverModel(urls: HubUrls, userName: string, row: ServerRow, includeState: boolean): Record<string, Json> {
  const model: Record<string, Json> = {
    name: row.name,
    full_name: `${userName}/${row.name}`,
    last_activity: row.last_activity,
    started: row.phase === 'stopped' ? null : row.started,
    pending: pending(row),
    ready: row.phase === 'running',
    stopped: row.phase === 'stopped',
    url: urls.userServerUrl(userName, row.name),
    user_options: JSON.parse(row.user_options) as Json,
    progress_url: urls.progress(userName, row.name),
    full_url: null,
    full_progress_url: null,
  };
  if (includeState) model.state = JSON.parse(row.spawner_state) as Json;
  return model;
}

/** Which keys of the user model each scope reveals (JupyterHub's access map). */
const USER_ACCESS: Array<[string, string[]]> = [
  ['read:users', ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity']],
  ['read:users:name', ['kind', 'name', 'admin']],
  ['read:users:groups', ['kind', 'name', 'groups']],
  ['read:users:activity', ['kind', 'name', 'last_activity']],
  ['read:servers', ['kind', 'name', 'servers']],
  ['read:roles:users', ['kind', 'name', 'roles', 'admin']],
  ['admin:auth_state', ['kind', 'name', 'auth_state']],
];

export interface UserModelInput {
  user: UserRow;
  servers: ServerRow[];
  groups: string[];
  roles: string[];
}

export function userModel(
  ctx: Pick<HubContext, 'urls' | 'authState'>,
  caller: Caller,
  input: UserModelInput,
  opts: { includeStoppedServers: boolean },
): Record<string, Json> {
  const { user, servers, groups, roles } = input;
  const target = { user: user.name, groups };
  const allowed = new Set<string>();
  for (const [scope, keys] of USER_ACCESS) if (checkScope(caller.scopes, scope, target)) for (const k of keys) allowed.add(k);
  const def = servers.find((s) => s.name === '');
  const full: Record<string, Json> = {
    kind: 'user',
    name: user.name,
    admin: user.admin === 1,
    roles,
    groups,
    server: def && def.phase === 'running' ? ctx.urls.userServerUrl(user.name) : null,
    pending: def ? pending(def) : null,
    created: user.created,
    last_activity: user.last_activity,
  };
  // Decrypted only for callers who may read it.
  if (allowed.has('auth_state')) full.auth_state = ctx.authState.read(user) as Json;
  const model: Record<string, Json> = {};
  for (const k of Object.keys(full)) if (allowed.has(k)) model[k] = full[k]!;
  if (Object.keys(model).length === 0 && !allowed.has('servers')) return model;
  const visible: Record<string, Json> = {};
  for (const s of servers) {
    const serverTarget = { user: user.name, groups, server: `${user.name}/${s.name}` };
    if ((s.phase !== 'stopped' || opts.includeStoppedServers) && checkScope(caller.scopes, 'read:servers', serverTarget)) {
      visible[s.name] = serverModel(ctx.urls, user.name, s, checkScope(caller.scopes, 'admin:server_state', serverTarget));
    }
  }
  if (allowed.has('servers') || Object.keys(visible).length > 0) model.servers = visible;
  return model;
}

export function tokenModel(row: TokenRow, owner: { user?: string; service?: string }, scopes: string[], clientDescription: string): Record<string, Json> {
  const model: Record<string, Json> = {};
  if (owner.user !== undefined) model.user = owner.user;
  else model.service = owner.service ?? null;
  Object.assign(model, {
    id: tokenApiId(row),
    kind: 'api_token',
    roles: [],
    scopes,
    created: row.created,
    last_activity: row.last_activity,
    expires_at: row.expires_at,
    note: row.note,
    session_id: row.session_id,
    oauth_client: clientDescription,
  });
  return model;
}
