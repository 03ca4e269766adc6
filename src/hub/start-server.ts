/**
 * "Start a server": the one entry that the API, the spawn page, content links and the workshop share.
 * Checks the server's name and state, refreshes the user's auth_state, parses the options, starts.
 */
import type { HubConfig } from '../config/schema.js';
import type { ServerRepo } from '../db/repos/servers.js';
import type { UserRepo } from '../db/repos/users.js';
import type { ServerRow, UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { JsonObject } from '../spawners/spawner.js';
import type { AccessControl } from './access.js';
import type { ServerLifecycle } from './server-lifecycle.js';
import type { ServerProfiles } from './server-profiles.js';

/** What starting a server needs from the hub (the request context has all of it). */
export interface StartServerDeps {
  config: HubConfig;
  servers: ServerRepo;
  users: UserRepo;
  access: AccessControl;
  lifecycle: ServerLifecycle;
  serverProfiles: ServerProfiles;
  /** 'refreshed' when new tokens were stored, 'expired' when the user must log in again. */
  refreshAuthState(user: UserRow): Promise<'ok' | 'refreshed' | 'expired'>;
}

export function logName(user: string, server: string): string {
  return server ? `${user}:${server}` : user;
}

/** Named servers: enabled, name valid, under the per-user limit (for new ones). */
export async function checkNamedServer(ctx: StartServerDeps, user: UserRow, serverName: string, creating: boolean): Promise<void> {
  if (!serverName) return;
  if (!ctx.config.allow_named_servers) throw new HubError(400, 'Named servers are not enabled.');
  if (!/^[^/\\\u0000-\u001f\u007f]{1,255}$/.test(serverName)) throw new HubError(400, `Invalid server name: ${JSON.stringify(serverName)}`);
  // `.` and `..` would be dot segments in the server's URL (/user/alice/../): no browser keeps them.
  if (serverName === '.' || serverName === '..') throw new HubError(400, `Invalid server name: ${JSON.stringify(serverName)} (. and .. cannot be server names)`);
  const limit = ctx.config.named_server_limit_per_user;
  if (creating && limit > 0) {
    const servers = await ctx.servers.forUser(user.id);
    if (!servers.some((s) => s.name === serverName) && servers.filter((s) => s.name !== '').length >= limit) {
      throw new HubError(400, `User ${user.name} already has the maximum of ${limit} named servers.  One must be deleted before a new server can be created`);
    }
  }
}

/** Shared by the API and the spawn page: checks state, parses options, starts. */
export async function startServer(ctx: StartServerDeps, user: UserRow, serverName: string, options: JsonObject, waitMs?: number): Promise<{ status: 'ready' | 'pending'; server: ServerRow }> {
  // A server a feature owns (a course server) may start even without named servers, if the feature says so.
  const profile = serverName ? await ctx.serverProfiles.resolve(user, serverName) : null;
  if (!profile) await checkNamedServer(ctx, user, serverName, true);
  const server = await ctx.servers.ensure(user.id, serverName, ctx.lifecycle.spawnerKind);
  if (server.phase === 'spawning') return { status: 'pending', server };
  if (server.phase === 'stopping') throw new HubError(400, `${logName(user.name, serverName)} is pending stop`);
  if (server.phase === 'running' && (await ctx.lifecycle.pollServer(server, user.name))) {
    throw new HubError(400, `${logName(user.name, serverName)} is already running`);
  }
  // As JupyterHub's refresh_pre_spawn: fresh tokens in auth_state before they go to the server.
  const refreshed = await ctx.refreshAuthState(user);
  if (refreshed === 'expired') {
    throw new HubError(403, `The login of ${user.name} has expired: log in again to start a server`);
  }
  if (refreshed === 'refreshed') user = (await ctx.users.byId(user.id)) ?? user;
  const userOptions = await ctx.lifecycle.parseOptions(options, user, await ctx.access.userGroups(user));
  // pollServer may have found a running server dead and stopped it: read the row again then.
  const fresh = server.phase === 'running' ? (await ctx.servers.byId(server.id))! : server;
  const { status } = await ctx.lifecycle.start(user, fresh, userOptions, waitMs, profile);
  return { status, server: fresh };
}
