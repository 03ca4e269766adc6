/** /hub/api/users: list, create, read, modify, delete users, and report activity. Scopes as in JupyterHub. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerRow, UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { isValidUsername, normalizeUsername } from '../auth/authenticator.js';
import { scopeFilterFor } from '../rbac/scopes.js';
import type { Caller } from '../http/identity.js';
import { type HubContext, emptyReply, findUserOr404, requireCaller } from '../http/context.js';
import { api, list, scopes } from '../rbac/route-policy.js';
import { type Json, userModel } from './models.js';
import { PAGINATION_TYPE, paginatedBody, pagination } from './pagination.js';
import { USER_SORT_KEYS, type UserListQuery, type UserSortKey } from '../db/repos/users.js';

const READ_USER_SCOPES = ['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles:users'];

type Query = Record<string, string | undefined>;

function includeStopped(req: FastifyRequest): boolean {
  const v = (req.query as Query).include_stopped_servers;
  return v !== undefined && !['0', 'false'].includes(v.toLowerCase());
}

/** Builds user models for many users with three queries, not three per user. */
export async function userModels(ctx: HubContext, caller: Caller, users: UserRow[], opts: { includeStoppedServers: boolean }): Promise<Record<string, Json>[]> {
  const ids = users.map((u) => u.id);
  const [memberships, servers] = await Promise.all([ctx.access.userMemberships(users), ctx.servers.forUsers(ids)]);
  const serversByUser = new Map<number, ServerRow[]>();
  for (const s of servers) {
    const list = serversByUser.get(s.user_id);
    if (list) list.push(s);
    else serversByUser.set(s.user_id, [s]);
  }
  return users.map((user) => {
    const { groups, roles } = memberships.get(user.id)!;
    return userModel(ctx, caller, { user, servers: serversByUser.get(user.id) ?? [], groups, roles }, opts);
  });
}

/** `sort=name`, `sort=-last_activity`: JupyterHub 5's keys, and Ganymede's `running`. */
function sortParam(value: string | undefined): UserListQuery['sort'] {
  if (value === undefined || value === '') return undefined;
  const descending = value.startsWith('-');
  const key = descending ? value.slice(1) : value;
  if (!(USER_SORT_KEYS as readonly string[]).includes(key)) {
    throw new HubError(400, `sort must be 'id', 'name', 'last_activity' or 'running' (each with '-' in front for descending), not '${value}'`);
  }
  return { key: key as UserSortKey, descending };
}

function booleanParam(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (['1', 'true'].includes(value.toLowerCase())) return true;
  if (['0', 'false'].includes(value.toLowerCase())) return false;
  throw new HubError(400, `${name} must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * Whether the caller is a hub admin (a user with the admin flag, a service with the admin role):
 * only they may make admins or change one, as in JupyterHub, whatever their scopes on users.
 */
async function callerIsAdmin(ctx: HubContext, caller: Caller): Promise<boolean> {
  if (caller.principal.kind === 'user') return caller.principal.user.admin === 1;
  return (await ctx.roles.serviceRoleNames(caller.principal.service.id)).includes('admin');
}

function parseTimestamp(value: unknown, what: string): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
    throw new HubError(400, `${what}: invalid timestamp ${JSON.stringify(value)}, expected ISO 8601`);
  }
  // Naive timestamps are UTC, as in JupyterHub.
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(value);
  return new Date(hasZone ? value : value + 'Z').toISOString();
}

export function registerUserRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/users', api(list('list:users')), async (req, reply) => {
    const caller = requireCaller(req);
    const q = req.query as Query;
    const { offset, limit, paginated } = pagination(ctx, req);
    if (q.state !== undefined && !['active', 'ready', 'inactive'].includes(q.state)) {
      throw new HubError(400, `Unrecognized state filter: ${JSON.stringify(q.state)}`);
    }
    const filter = scopeFilterFor(caller.scopes, 'list:users');
    let names: Set<string> | undefined;
    if (filter && !filter.unfiltered) {
      names = new Set(filter.users);
      for (const s of filter.servers) names.add(s.split('/')[0]!);
      if (filter.groups.size) for (const n of await ctx.users.namesInGroups([...filter.groups])) names.add(n);
    }
    const { rows, total } = await ctx.users.list({
      offset,
      limit,
      nameFilter: q.name_filter,
      state: q.state as 'active' | 'ready' | 'inactive' | undefined,
      names,
      sort: sortParam(q.sort),
      admin: booleanParam(q.admin, 'admin'),
      group: q.group || undefined,
    });
    const items = await userModels(ctx, caller, rows, { includeStoppedServers: includeStopped(req) });
    return paginated ? reply.type(PAGINATION_TYPE).send(paginatedBody(req, items, offset, limit, total)) : items;
  });

  app.post('/users', api(scopes(['admin:users'])), async (req, reply) => {
    const caller = requireCaller(req);
    const body = (req.body ?? {}) as { usernames?: unknown; admin?: unknown };
    if (!Array.isArray(body.usernames) || !body.usernames.every((n) => typeof n === 'string')) {
      throw new HubError(400, 'body must contain "usernames": a list of user names');
    }
    const names = [...new Set((body.usernames as string[]).map(normalizeUsername))];
    const invalid = names.filter((n) => !isValidUsername(n));
    if (invalid.length) throw new HubError(400, `Invalid usernames: ${invalid.join(', ')}`);
    const blocked = names.filter((n) => ctx.policy.isBlocked(n));
    if (blocked.length) throw new HubError(400, `Blocked usernames: ${blocked.join(', ')}`);
    if (body.admin === true && !(await callerIsAdmin(ctx, caller))) throw new HubError(403, 'Only admins can grant admin permissions');
    const created = await ctx.users.createMany(names, body.admin === true, ctx.lifecycle.spawnerKind);
    if (created.length === 0) throw new HubError(409, `All ${names.length} users already exist`);
    return reply.code(201).send(await userModels(ctx, caller, created, { includeStoppedServers: false }));
  });

  app.get<{ Params: { name: string } }>('/users/:name', api(scopes(READ_USER_SCOPES, { user: 'name' })), async (req) => {
    const caller = requireCaller(req);
    const user = await findUserOr404(ctx, req.params.name);
    return (await userModels(ctx, caller, [user], { includeStoppedServers: includeStopped(req) }))[0];
  });

  app.post<{ Params: { name: string } }>('/users/:name', api(scopes(['admin:users'], { user: 'name' })), async (req, reply) => {
    const caller = requireCaller(req);
    const name = req.params.name;
    if (!isValidUsername(name) || name !== normalizeUsername(name)) throw new HubError(400, `Invalid username: ${name}`);
    if (await ctx.users.byName(name)) throw new HubError(409, `User ${name} already exists`);
    const body = (req.body ?? {}) as { admin?: unknown };
    if (body.admin === true && !(await callerIsAdmin(ctx, caller))) throw new HubError(403, 'Only admins can grant admin permissions');
    const [user] = await ctx.users.createMany([name], body.admin === true, ctx.lifecycle.spawnerKind);
    if (!user) throw new HubError(409, `User ${name} already exists`);
    return reply.code(201).send((await userModels(ctx, caller, [user], { includeStoppedServers: false }))[0]);
  });

  app.patch<{ Params: { name: string } }>('/users/:name', api(scopes(['admin:users'], { user: 'name' })), async (req) => {
    const caller = requireCaller(req);
    const user = await findUserOr404(ctx, req.params.name);
    const body = (req.body ?? {}) as { name?: unknown; admin?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'body must be a JSON object');
    for (const k of Object.keys(body)) if (k !== 'name' && k !== 'admin') throw new HubError(400, `Cannot set ${k}: only name and admin may be changed`);
    if (body.admin !== undefined && typeof body.admin !== 'boolean') throw new HubError(400, 'admin must be true or false');
    if (!(await callerIsAdmin(ctx, caller))) {
      if (user.admin === 1) throw new HubError(403, 'Only admins can modify other admins');
      if (body.admin === true) throw new HubError(403, 'Only admins can grant admin permissions');
    }
    let newName: string | undefined;
    if (body.name !== undefined) {
      if (typeof body.name !== 'string' || !isValidUsername(body.name)) throw new HubError(400, `Invalid username: ${String(body.name)}`);
      newName = body.name;
      if (newName !== user.name) {
        if (await ctx.users.byName(newName)) throw new HubError(400, `User ${newName} already exists, username must be unique`);
        const servers = await ctx.servers.forUser(user.id);
        if (servers.some((s) => s.phase !== 'stopped')) throw new HubError(400, `Cannot rename ${user.name} while a server is running`);
      }
    }
    await ctx.users.update(user.id, { name: newName, admin: body.admin as boolean | undefined });
    const updated = (await ctx.users.byId(user.id))!;
    return (await userModels(ctx, caller, [updated], { includeStoppedServers: false }))[0];
  });

  app.delete<{ Params: { name: string } }>('/users/:name', api(scopes(['delete:users'], { user: 'name' })), async (req, reply) => {
    const user = await findUserOr404(ctx, req.params.name);
    const caller = requireCaller(req);
    if (caller.principal.kind === 'user' && caller.principal.user.id === user.id) throw new HubError(400, 'Cannot delete yourself!');
    // JupyterHub lets anyone with delete:users on an admin delete it; a group's admin must not remove the hub's.
    if (user.admin === 1 && !(await callerIsAdmin(ctx, caller))) throw new HubError(403, 'Only admins can delete other admins');
    for (const s of await ctx.servers.forUser(user.id)) {
      if (s.phase === 'spawning' || s.phase === 'stopping') throw new HubError(400, `User ${user.name}'s server is pending, please wait`);
    }
    await ctx.lifecycle.stopUserServers(user);
    await ctx.users.delete(user.id);
    return emptyReply(reply, 204);
  });

  app.post<{ Params: { name: string } }>('/users/:name/activity', api(scopes(['users:activity'], { user: 'name' })), async (req, reply) => {
    const user = await ctx.users.byName(req.params.name);
    if (!user) throw new HubError(404, `No such user: '${req.params.name}'`);
    const body = req.body as { last_activity?: unknown; servers?: unknown } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'body must be a json dict');
    if (!body.last_activity && !body.servers) throw new HubError(400, 'body must contain at least one of `last_activity` or `servers`');
    const serverUpdates: Array<[number, string]> = [];
    if (body.servers) {
      if (typeof body.servers !== 'object' || Array.isArray(body.servers)) throw new HubError(400, 'servers must be a dict');
      const rows = await ctx.servers.forUser(user.id);
      for (const [sname, info] of Object.entries(body.servers as Record<string, unknown>)) {
        const row = rows.find((r) => r.name === sname);
        if (!row) throw new HubError(400, `No such server '${sname}' for user ${user.name}`);
        const ts = (info as { last_activity?: unknown } | null)?.last_activity;
        if (!ts) throw new HubError(400, `server info must be a dict with last_activity for server '${sname}'`);
        serverUpdates.push([row.id, parseTimestamp(ts, `servers.${sname}.last_activity`)]);
      }
    }
    if (body.last_activity) await ctx.users.touch(user.id, parseTimestamp(body.last_activity, 'last_activity'));
    for (const [id, ts] of serverUpdates) {
      await ctx.servers.touch(id, ts);
      await ctx.users.touch(user.id, ts);
    }
    return emptyReply(reply, 200);
  });
}
