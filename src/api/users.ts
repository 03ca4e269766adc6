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
