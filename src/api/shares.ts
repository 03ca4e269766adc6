/**
 * Sharing (JupyterHub 5): an owner grants a user or a group access to one of their servers, directly
 * (`/shares/{owner}/{server}`) or through a code the recipient accepts (`/share-codes/...`, accepted
 * on the page `/hub/accept-share`). Recipients see what is shared with them under
 * `/users/{name}/shared` and `/groups/{name}/shared`. Paths, bodies, models and scopes as JupyterHub's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { normalizeUsername } from '../auth/authenticator.js';
import type { ShareCodeView, ShareFilter, ShareTarget, ShareView, ServerRef } from '../db/repos/shares.js';
import type { ServerRow, UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { serverNameInPath, type HubUrls } from '../hub/urls.js';
import { checkScope, isDefinedScope, parseScope } from '../rbac/scopes.js';
import type { Caller } from '../http/identity.js';
import { type HubContext, emptyReply, requireCaller, withGroups } from '../http/context.js';
import { api, scopes } from '../rbac/route-policy.js';

/** `/shares/{owner}` names the user, `/shares/{owner}/` the default server, `/shares/{owner}/{server}` a server. */
const OWNER_OR_SERVER = { userOrServer: ['owner', 'server'] } as const;
import type { Json } from './models.js';
import { paginatedBody, pagination } from './pagination.js';

/** Share codes: at least a minute, at most a year, a day by default (JupyterHub's bounds). */
const CODE_EXPIRY = { min: 60, max: 525_600 * 60, default: 86_400 };

const scopesField = z.array(z.string()).nullish();
const grantBody = z
  .object({ scopes: scopesField, user: z.string().nullish(), group: z.string().nullish() })
  .strict()
  .refine((b) => !(b.user && b.group), 'Expected exactly one of `user` or `group`, not both.')
  .refine((b) => Boolean(b.user || b.group), 'Specify exactly one of `user` or `group`');
const codeBody = z
  .object({ scopes: scopesField, expires_in: z.number().int().min(CODE_EXPIRY.min).max(CODE_EXPIRY.max).default(CODE_EXPIRY.default) })
  .strict();

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new HubError(400, issues.join('; '));
  }
  return result.data;
}

/** The server model a share shows: owner, name, url, full_url, ready. */
function sharedServerModel(urls: HubUrls, ref: ServerRef): Record<string, Json> {
  return { user: { name: ref.ownerName }, name: ref.serverName, url: urls.userServerUrl(ref.ownerName, ref.serverName), full_url: null, ready: ref.phase === 'running' };
}

export function shareModel(urls: HubUrls, share: ShareView): Record<string, Json> {
  return {
    server: sharedServerModel(urls, share),
    scopes: JSON.parse(share.scopes) as string[],
    user: share.userName === null ? null : { name: share.userName },
    group: share.groupName === null ? null : { name: share.groupName },
    kind: share.groupName === null ? 'user' : 'group',
    created_at: share.created_at,
  };
}

function shareCodeModel(urls: HubUrls, code: ShareCodeView, secret?: string): Record<string, Json> {
  const model: Record<string, Json> = {
    server: sharedServerModel(urls, code),
    scopes: JSON.parse(code.scopes) as string[],
    id: `sc_${code.id}`,
    created_at: code.created_at,
    expires_at: code.expires_at,
    exchange_count: code.exchange_count,
    last_exchanged_at: code.last_exchanged_at,
  };
  if (secret !== undefined) {
    model.code = secret;
    model.accept_url = `${urls.hub}accept-share?code=${encodeURIComponent(secret)}`;
    model.full_accept_url = null;
  }
  return model;
}

/**
 * Filters every scope to the shared server; a scope with another filter, or one that does not
 * exist, is refused (JupyterHub's Share._apply_filter and scope check).
 */
export function shareScopes(requested: string[] | null | undefined, owner: string, serverName: string): string[] {
  const server = `${owner}/${serverName}`;
  const scopes = requested && requested.length ? requested : ['access:servers'];
  const out = new Set<string>();
  for (const scope of scopes) {
    const bang = scope.indexOf('!');
    const base = bang < 0 ? scope : scope.slice(0, bang);
    const filter = bang < 0 ? '' : scope.slice(bang + 1);
    if (filter && filter !== `server=${server}`) throw new HubError(400, `!${filter} not allowed on sharing ${scope}, only !server=${server}`);
    if (!isDefinedScope(base)) throw new HubError(400, `Unknown scope ${base} in share`);
    parseScope(`${base}!server=${server}`);
    out.add(`${base}!server=${server}`);
  }
  return [...out].sort();
}

/** 403 unless the caller holds every scope it shares (a group-filtered scope counts for its members' servers). */
async function requireGrantable(ctx: HubContext, caller: Caller, scopes: string[], owner: string, serverName: string): Promise<void> {
  const target = await withGroups(ctx, caller, { user: owner, server: `${owner}/${serverName}` });
  for (const scope of scopes) {
    if (!checkScope(caller.scopes, parseScope(scope).base, target)) throw new HubError(403, `Do not have permission to grant share with scope ${scope}`);
  }
}

type OwnerParams = { owner: string };
type ServerParams = { owner: string; server: string };

/**
 * The server a `/shares/{owner}[/{server}]` path names: undefined for the owner alone. Fastify ignores a
 * trailing slash, but in `/shares/alice/` it names alice's default server ('').
 */
function serverNameOf(req: FastifyRequest<{ Params: Partial<ServerParams> }>): string | undefined {
  return serverNameInPath(req.params.server, req.url);
}

async function serverOr404(ctx: HubContext, owner: string, serverName: string): Promise<{ user: UserRow; server: ServerRow }> {
  const user = await ctx.users.byName(owner);
  const server = user && (await ctx.servers.get(user.id, serverName));
  if (!user || !server) throw new HubError(404, `No such server: ${owner}/${serverName}`);
  return { user, server };
}

async function sendShares(ctx: HubContext, req: FastifyRequest, reply: FastifyReply, filter: ShareFilter): Promise<FastifyReply> {
  const { offset, limit } = pagination(ctx, req);
  const { rows, total } = await ctx.shares.list(filter, { offset, limit });
  // Share lists are always paginated, whatever the Accept header says (as in JupyterHub).
  return reply.send(paginatedBody(req, rows.map((r) => shareModel(ctx.urls, r)), offset, limit, total));
}

export function registerShareRoutes(app: FastifyInstance, ctx: HubContext): void {
  // --- the owner's side: /shares/{owner}[/{server}] ---------------------------------------------
  const listShares = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>, reply: FastifyReply) => {
    const owner = req.params.owner!;
    const serverName = serverNameOf(req);
    if (serverName === undefined) {
      const user = await ctx.users.byName(owner);
      if (!user) throw new HubError(404, `No such user: ${owner}`);
      return sendShares(ctx, req, reply, { ownerId: user.id });
    }
    const { server } = await serverOr404(ctx, owner, serverName);
    return sendShares(ctx, req, reply, { serverId: server.id });
  };
  app.get<{ Params: OwnerParams }>('/shares/:owner', api(scopes(['read:shares'], OWNER_OR_SERVER)), listShares);
  app.get<{ Params: ServerParams }>('/shares/:owner/:server', api(scopes(['read:shares'], OWNER_OR_SERVER)), listShares);

  /** The server a write names; `/shares/{owner}` without a server only lists (405 otherwise). */
  const writeTarget = (req: FastifyRequest<{ Params: Partial<ServerParams> }>) => {
    const owner = req.params.owner!;
    const serverName = serverNameOf(req);
    if (serverName === undefined) throw new HubError(405, 'Method Not Allowed: name a server, e.g. /shares/{owner}/{server_name}');
    return { caller: requireCaller(req), owner, serverName };
  };

  const grant = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>) => {
    const { caller, owner, serverName } = writeTarget(req);
    const body = parseBody(grantBody, req.body);
    const scopes = shareScopes(body.scopes, owner, serverName);
    const { server } = await serverOr404(ctx, owner, serverName);
    await requireGrantable(ctx, caller, scopes, owner, serverName);
    let target: ShareTarget;
    if (body.user) {
      const name = normalizeUsername(body.user);
      if (!checkScope(caller.scopes, 'read:users:name', await withGroups(ctx, caller, { user: name }))) {
        throw new HubError(403, "Need scope 'read:users:name' to share with users by name");
      }
      const user = await ctx.users.byName(name);
      if (!user) throw new HubError(400, `No such user: ${name}`);
      if (user.id === server.user_id) throw new HubError(400, "You can't share with yourself!");
      target = { userId: user.id };
    } else {
      const name = body.group!;
      if (!checkScope(caller.scopes, `read:groups:name!group=${name}`)) throw new HubError(403, "Need scope 'read:groups:name' to share with groups by name");
      const group = await ctx.groups.byName(name);
      if (!group) throw new HubError(400, `No such group: ${name}`);
      target = { groupId: group.id };
    }
    const share = await ctx.shares.grant(server, target, scopes);
    ctx.log.info({ server: `${owner}/${serverName}`, with: body.user ?? `group:${body.group}`, scopes }, 'server shared');
    return shareModel(ctx.urls, (await ctx.shares.view(share.id))!);
  };

  const revoke = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>, reply: FastifyReply) => {
    const { owner, serverName } = writeTarget(req);
    const body = parseBody(grantBody, req.body);
    const { server } = await serverOr404(ctx, owner, serverName);
    let target: ShareTarget | undefined;
    if (body.user) {
      const user = await ctx.users.byName(normalizeUsername(body.user));
      if (user) target = { userId: user.id };
    } else {
      const group = await ctx.groups.byName(body.group!);
      if (group) target = { groupId: group.id };
    }
    // Revoking from someone who does not exist revokes nothing: answer {} as JupyterHub does.
    if (!target) return reply.send({});
    const scopes = body.scopes && body.scopes.length ? body.scopes : null;
    const left = await ctx.shares.revoke(server.id, target, scopes);
    ctx.log.info({ server: `${owner}/${serverName}`, from: body.user ?? `group:${body.group}`, scopes: scopes ?? 'all' }, 'share revoked');
    if (!left) return reply.send({});
    return reply.send(shareModel(ctx.urls, (await ctx.shares.view(left.id))!));
  };

  const revokeAll = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>, reply: FastifyReply) => {
    const { owner, serverName } = writeTarget(req);
    const { server } = await serverOr404(ctx, owner, serverName);
    const n = await ctx.shares.deleteForServer(server.id);
    ctx.log.info({ server: `${owner}/${serverName}`, shares: n }, 'all shares of a server revoked');
    return emptyReply(reply, 204);
  };

  for (const path of ['/shares/:owner', '/shares/:owner/:server']) {
    const write = api(scopes(['shares'], OWNER_OR_SERVER));
    app.post<{ Params: Partial<ServerParams> }>(path, write, grant);
    app.patch<{ Params: Partial<ServerParams> }>(path, write, revoke);
    app.delete<{ Params: Partial<ServerParams> }>(path, write, revokeAll);
  }

  // --- the recipients' side: /users/{name}/shared, /groups/{name}/shared --------------------------
  app.get<{ Params: { name: string } }>('/users/:name/shared', api(scopes(['read:users:shares'], { user: 'name' })), async (req, reply) => {
    const user = await ctx.users.byName(req.params.name);
    if (!user) throw new HubError(404, `No such user: ${req.params.name}`);
    return sendShares(ctx, req, reply, { userId: user.id, groupIds: await ctx.groups.idsOfUser(user.id) });
  });

  app.get<{ Params: { name: string } }>('/groups/:name/shared', api(scopes(['read:groups:shares'], { group: 'name' })), async (req, reply) => {
    const group = await ctx.groups.byName(req.params.name);
    if (!group) throw new HubError(404, `No such group: ${req.params.name}`);
    return sendShares(ctx, req, reply, { groupId: group.id });
  });

  type RecipientParams = { name: string; owner: string; server?: string };
  /** One share with a user or a group; 404 unless it exists. */
  const findRecipientShare = async (kind: 'user' | 'group', req: FastifyRequest<{ Params: RecipientParams }>): Promise<ShareView> => {
    const { name, owner } = req.params;
    const serverName = req.params.server ?? '';
    const notFound = new HubError(404, `No such share for ${kind} ${name} on ${owner}/${serverName}`);
    let target: ShareTarget | undefined;
    if (kind === 'user') {
      const user = await ctx.users.byName(name);
      if (user) target = { userId: user.id };
    } else {
      const group = await ctx.groups.byName(name);
      if (!group) throw new HubError(404, `No such group: ${name}`);
      target = { groupId: group.id };
    }
    const ownerRow = await ctx.users.byName(owner);
    const server = ownerRow && (await ctx.servers.get(ownerRow.id, serverName));
    if (!target || !server) throw notFound;
    const share = await ctx.shares.find(server.id, target);
    if (!share) throw notFound;
    const view = await ctx.shares.view(share.id);
    if (!view) throw notFound;
    return view;
  };
  for (const kind of ['user', 'group'] as const) {
    const base = kind === 'user' ? '/users/:name/shared/:owner' : '/groups/:name/shared/:owner';
    const read = kind === 'user' ? 'read:users:shares' : 'read:groups:shares';
    const write = kind === 'user' ? 'users:shares' : 'groups:shares';
    const recipient = kind === 'user' ? { user: 'name' } : { group: 'name' };
    // `/users/bob/shared/alice/` (trailing slash, empty server name) is alice's default server.
    for (const path of [base, `${base}/:server`]) {
      app.get<{ Params: RecipientParams }>(path, api(scopes([read], recipient)), async (req) => {
        return shareModel(ctx.urls, await findRecipientShare(kind, req));
      });
      app.delete<{ Params: RecipientParams }>(path, api(scopes([write], recipient)), async (req, reply) => {
        const share = await findRecipientShare(kind, req);
        await ctx.shares.delete(share.id);
        ctx.log.info({ server: `${share.ownerName}/${share.serverName}`, [kind]: req.params.name }, 'share given up by its recipient');
        return emptyReply(reply, 204);
      });
    }
  }

  // --- share codes: /share-codes/{owner}[/{server}] ------------------------------------------------
  const listCodes = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>, reply: FastifyReply) => {
    const owner = req.params.owner!;
    const serverName = serverNameOf(req);
    const { offset, limit } = pagination(ctx, req);
    let filter: { serverId: number } | { ownerId: number };
    if (serverName === undefined) {
      const user = await ctx.users.byName(owner);
      if (!user) throw new HubError(404, `No such user: ${owner}`);
      filter = { ownerId: user.id };
    } else {
      filter = { serverId: (await serverOr404(ctx, owner, serverName)).server.id };
    }
    const { rows, total } = await ctx.shares.listCodes(filter, { offset, limit });
    return reply.send(paginatedBody(req, rows.map((r) => shareCodeModel(ctx.urls, r)), offset, limit, total));
  };
  app.get<{ Params: OwnerParams }>('/share-codes/:owner', api(scopes(['read:shares'], OWNER_OR_SERVER)), listCodes);
  app.get<{ Params: ServerParams }>('/share-codes/:owner/:server', api(scopes(['read:shares'], OWNER_OR_SERVER)), listCodes);

  const createCode = async (req: FastifyRequest<{ Params: Partial<ServerParams> }>) => {
    const { caller, owner, serverName } = writeTarget(req);
    const body = parseBody(codeBody, req.body);
    const scopes = shareScopes(body.scopes, owner, serverName);
    await requireGrantable(ctx, caller, scopes, owner, serverName);
    const { server } = await serverOr404(ctx, owner, serverName);
    const { row, code } = await ctx.shares.createCode(server, scopes, body.expires_in);
    ctx.log.info({ server: `${owner}/${serverName}`, id: `sc_${row.id}`, expires_at: row.expires_at }, 'share code created');
    return shareCodeModel(ctx.urls, { ...row, ownerName: owner, serverName, phase: server.phase }, code);
  };

  const deleteCodes = async (req: FastifyRequest<{ Params: Partial<ServerParams>; Querystring: { code?: string; id?: string } }>, reply: FastifyReply) => {
    const { owner, serverName } = writeTarget(req);
    const { server } = await serverOr404(ctx, owner, serverName);
    const { code, id } = req.query;
    if (code) {
      const found = await ctx.shares.findCode(code, server.id);
      if (!found) throw new HubError(404, 'No matching code found');
      await ctx.shares.deleteCodes(server.id, found.id);
    } else if (id) {
      const m = /^sc_(\d+)$/.exec(id);
      if (!m || (await ctx.shares.deleteCodes(server.id, Number(m[1]))) === 0) throw new HubError(404, `No code found matching id=${id}`);
    } else {
      await ctx.shares.deleteCodes(server.id);
    }
    ctx.log.info({ server: `${owner}/${serverName}`, which: id ?? (code ? 'by code' : 'all') }, 'share codes deleted');
    return emptyReply(reply, 204);
  };

  for (const path of ['/share-codes/:owner', '/share-codes/:owner/:server']) {
    const write = api(scopes(['shares'], OWNER_OR_SERVER));
    app.post<{ Params: Partial<ServerParams> }>(path, write, createCode);
    app.delete<{ Params: Partial<ServerParams>; Querystring: { code?: string; id?: string } }>(path, write, deleteCodes);
  }

}
