/** /hub/api/groups: list, create, read and delete groups, change their members and properties. Scopes as in JupyterHub. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeUsername } from '../auth/authenticator.js';
import type { GroupRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { Caller } from '../http/identity.js';
import { checkScope, scopeFilterFor } from '../rbac/scopes.js';
import { type HubContext, emptyReply, requireCaller } from '../http/context.js';
import { api, list, scopes } from '../rbac/route-policy.js';
import type { Json } from './models.js';
import { PAGINATION_TYPE, paginatedBody, pagination } from './pagination.js';

/** Which keys of the group model each scope reveals (JupyterHub's access map). */
const GROUP_ACCESS: Array<[string, string[]]> = [
  ['read:groups', ['kind', 'name', 'properties', 'users']],
  ['read:groups:name', ['kind', 'name']],
  ['read:roles:groups', ['kind', 'name', 'roles']],
];

/** Group models for many groups with two queries. */
export async function groupModels(ctx: HubContext, caller: Caller, groups: GroupRow[]): Promise<Record<string, Json>[]> {
  const ids = groups.map((g) => g.id);
  const [members, roles] = await Promise.all([ctx.groups.memberNames(ids), ctx.groups.roleNames(ids)]);
  return groups.map((group) => {
    const full: Record<string, Json> = {
      kind: 'group',
      name: group.name,
      roles: roles.get(group.id) ?? [],
      users: members.get(group.id) ?? [],
      properties: JSON.parse(group.properties) as Json,
    };
    const allowed = new Set<string>();
    for (const [scope, keys] of GROUP_ACCESS) if (checkScope(caller.scopes, scope, { group: group.name })) for (const k of keys) allowed.add(k);
    const model: Record<string, Json> = {};
    for (const k of Object.keys(full)) if (allowed.has(k)) model[k] = full[k]!;
    return model;
  });
}

async function groupOr404(ctx: HubContext, name: string): Promise<GroupRow> {
  const group = await ctx.groups.byName(name);
  if (!group) throw new HubError(404, `No such group: ${name}`);
  return group;
}

/** A group name must be usable in a URL path segment and in a `!group=` filter. */
function checkGroupName(name: unknown): string {
  if (typeof name !== 'string') throw new HubError(400, `group names must be strings, not ${JSON.stringify(name)}`);
  if (name === '' || name.includes('/') || name.length > 255) {
    throw new HubError(400, `Invalid group name ${JSON.stringify(name)}: 1 to 255 characters, no '/'`);
  }
  return name;
}

type Body = Record<string, unknown>;

/** JupyterHub's group model check: a JSON object whose known keys have the right types. */
function groupBody(req: FastifyRequest, allowed: string[], required?: string): Body {
  const body = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body) || body === null) throw new HubError(400, 'Invalid group model: expected a JSON object');
  const model = body as Body;
  const unknown = Object.keys(model).filter((k) => !allowed.includes(k));
  if (unknown.length) throw new HubError(400, `Invalid group model: unknown keys ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  for (const key of ['users', 'roles', 'groups'] as const) {
    if (key in model && (!Array.isArray(model[key]) || !(model[key] as unknown[]).every((v) => typeof v === 'string'))) {
      throw new HubError(400, `group.${key} must be a list of strings`);
    }
  }
  if (required && !(required in model)) throw new HubError(400, `Must specify ${required}`);
  return model;
}

/** User ids for names; 400 naming the first that does not exist (JupyterHub's rule). */
async function userIds(ctx: HubContext, names: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const raw of names) {
    const name = normalizeUsername(raw);
    const user = await ctx.users.byName(name);
    if (!user) throw new HubError(400, `No such user: ${name}`);
    ids.push(user.id);
  }
  return ids;
}

export function registerGroupRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/groups', api(list('list:groups')), async (req, reply) => {
    const caller = requireCaller(req);
    const access = scopeFilterFor(caller.scopes, 'list:groups');
    let names: ReadonlySet<string> | undefined;
    if (access && !access.unfiltered) {
      // As JupyterHub: only !group= filters may limit a group list; any other filter is refused
      // rather than read as "every group".
      if (access.users.size || access.servers.size || access.services.size) {
        throw new HubError(403, 'list:groups may only be filtered by group');
      }
      names = access.groups;
    }
    const { offset, limit, paginated } = pagination(ctx, req);
    const { rows, total } = await ctx.groups.list({ offset, limit, names });
    const items = await groupModels(ctx, caller, rows);
    return paginated ? reply.type(PAGINATION_TYPE).send(paginatedBody(req, items, offset, limit, total)) : items;
  });

  app.post('/groups', api(scopes(['admin:groups'])), async (req, reply) => {
    const caller = requireCaller(req);
    const body = groupBody(req, ['groups', 'users', 'roles', 'name']);
    const names = ((body.groups as unknown[] | undefined) ?? []).map(checkGroupName);
    if (names.length === 0) throw new HubError(400, 'Must specify at least one group to create');
    const ids = await userIds(ctx, (body.users as string[] | undefined) ?? []);
    const created = await ctx.groups.create([...new Set(names)], ids);
    if ('taken' in created) throw new HubError(409, `Group ${created.taken} already exists`);
    ctx.log.info({ groups: names, users: ids.length }, 'groups created');
    return reply.code(201).send(await groupModels(ctx, caller, created));
  });

  app.get<{ Params: { name: string } }>('/groups/:name', api(scopes(['read:groups', 'read:groups:name', 'read:roles:groups'], { group: 'name' })), async (req) => {
    const caller = requireCaller(req);
    return (await groupModels(ctx, caller, [await groupOr404(ctx, req.params.name)]))[0];
  });

  app.post<{ Params: { name: string } }>('/groups/:name', api(scopes(['admin:groups'], { group: 'name' })), async (req, reply) => {
    const caller = requireCaller(req);
    const name = checkGroupName(req.params.name);
    const body = groupBody(req, ['users', 'roles', 'name']);
    const ids = await userIds(ctx, (body.users as string[] | undefined) ?? []);
    const created = await ctx.groups.create([name], ids);
    if ('taken' in created) throw new HubError(409, `Group ${name} already exists`);
    ctx.log.info({ group: name, users: ids.length }, 'group created');
    return reply.code(201).send((await groupModels(ctx, caller, created))[0]);
  });

  app.delete<{ Params: { name: string } }>('/groups/:name', api(scopes(['delete:groups'], { group: 'name' })), async (req, reply) => {
    const group = await groupOr404(ctx, req.params.name);
    await ctx.groups.delete(group.id);
    ctx.log.info({ group: group.name }, 'group deleted');
    return emptyReply(reply, 204);
  });

  const changeMembers = (add: boolean) => async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const caller = requireCaller(req);
    const group = await groupOr404(ctx, req.params.name);
    const body = groupBody(req, ['users', 'roles', 'name'], 'users');
    const ids = await userIds(ctx, body.users as string[]);
    if (add) await ctx.groups.addUsers(group.id, ids);
    else await ctx.groups.removeUsers(group.id, ids);
    ctx.log.info({ group: group.name, users: ids.length }, add ? 'users added to group' : 'users removed from group');
    return (await groupModels(ctx, caller, [group]))[0];
  };
  app.post<{ Params: { name: string } }>('/groups/:name/users', api(scopes(['groups'], { group: 'name' })), changeMembers(true));
  app.delete<{ Params: { name: string } }>('/groups/:name/users', api(scopes(['groups'], { group: 'name' })), changeMembers(false));

  app.put<{ Params: { name: string } }>('/groups/:name/properties', api(scopes(['groups'], { group: 'name' })), async (req) => {
    const caller = requireCaller(req);
    const group = await groupOr404(ctx, req.params.name);
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HubError(400, 'Must specify properties: a JSON object');
    await ctx.groups.setProperties(group.id, body as Record<string, unknown>);
    return (await groupModels(ctx, caller, [{ ...group, properties: JSON.stringify(body) }]))[0];
  });
}
