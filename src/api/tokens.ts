/** /hub/api/users/{name}/tokens: list, create (shown once), read, revoke. */
import type { FastifyInstance } from 'fastify';
import type { TokenRow, UserRow } from '../db/schema.js';
import { parseTokenApiId } from '../db/repos/tokens.js';
import { HubError } from '../errors.js';
import { isValidScope } from '../rbac/scopes.js';
import type { Caller } from '../http/identity.js';
import { type HubContext, emptyReply, findUserOr404, requireCaller } from '../http/context.js';
import { api, scopes } from '../rbac/route-policy.js';
import { type Json, tokenModel } from './models.js';
import { wallClock } from '../clock.js';

async function model(ctx: HubContext, row: TokenRow, user: UserRow): Promise<Record<string, Json>> {
  const scopes = [...(await ctx.access.tokenScopes(row, { kind: 'user', user }))].sort();
  let client = row.client_id;
  if (client !== 'jupyterhub') client = (await ctx.oauth.client(client))?.description || client;
  else client = 'JupyterHub';
  return tokenModel(row, { user: user.name }, scopes, client);
}

function findToken(rows: TokenRow[], apiId: string): TokenRow {
  const id = parseTokenApiId(apiId);
  const row = id === null ? undefined : rows.find((r) => r.id === id);
  if (!row) throw new HubError(404, `Token not found ${apiId}`);
  return row;
}

export function registerTokenRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get<{ Params: { name: string } }>('/users/:name/tokens', api(scopes(['read:tokens'], { user: 'name' })), async (req) => {
    const user = await findUserOr404(ctx, req.params.name);
    const rows = (await ctx.tokens.forUser(user.id)).filter((r) => r.kind !== 'server');
    const api_tokens: Json[] = [];
    for (const r of rows) if (!r.expires_at || Date.parse(r.expires_at) > wallClock.now()) api_tokens.push(await model(ctx, r, user));
    return { api_tokens };
  });

  app.post<{ Params: { name: string } }>('/users/:name/tokens', api(scopes(['tokens'], { user: 'name' }, { checks: 'the new token gets no scope its creator lacks' })), async (req, reply) => {
    const caller: Caller = requireCaller(req);
    const user = await findUserOr404(ctx, req.params.name);
    const body = (req.body ?? {}) as { note?: unknown; expires_in?: unknown; scopes?: unknown; roles?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'body must be a JSON object');
    if (body.note !== undefined && typeof body.note !== 'string') throw new HubError(400, 'note must be a string');
    if (body.expires_in !== undefined && body.expires_in !== null && (typeof body.expires_in !== 'number' || body.expires_in <= 0)) {
      throw new HubError(400, 'expires_in must be a positive number of seconds');
    }
    let scopes: string[] = ['inherit'];
    if (body.scopes !== undefined) {
      if (!Array.isArray(body.scopes) || !body.scopes.every((s) => typeof s === 'string')) throw new HubError(400, 'scopes must be a list of strings');
      const bad = (body.scopes as string[]).filter((s) => !isValidScope(s));
      if (bad.length) throw new HubError(400, `Unknown scopes: ${bad.join(', ')}`);
      if (body.scopes.length) scopes = body.scopes as string[];
    }
    // A token may not hold more than its owner, nor more than the one asking for it (as in JupyterHub).
    const owner = { kind: 'user' as const, user };
    const beyondOwner = await ctx.access.excessScopes(scopes, await ctx.access.userScopes(user), owner);
    if (beyondOwner.length) throw new HubError(403, `${user.name} may not create a token with scopes: ${beyondOwner.slice(0, 10).join(', ')}`);
    if (caller.principal.kind !== 'user' || caller.principal.user.id !== user.id) {
      const beyondCaller = await ctx.access.excessScopes(scopes, caller.scopes, owner);
      if (beyondCaller.length) throw new HubError(403, `Not assigning requested scopes ${beyondCaller.slice(0, 10).join(', ')} not held by the requester`);
    }
    let note = typeof body.note === 'string' ? body.note : '';
    if (caller.principal.kind === 'user' && caller.principal.user.id !== user.id) note += ` Requested via api by user ${caller.principal.user.name}`;
    else if (caller.principal.kind === 'service') note += ` Requested via api by service ${caller.principal.service.name}`;
    const { token, row } = await ctx.tokens.create({
      owner: { userId: user.id },
      kind: 'api',
      note: note.trim() || 'Requested via api',
      scopes,
      expiresIn: typeof body.expires_in === 'number' ? body.expires_in : null,
    });
    return reply.code(201).send({ ...(await model(ctx, row, user)), token });
  });

  app.get<{ Params: { name: string; id: string } }>('/users/:name/tokens/:id', api(scopes(['read:tokens'], { user: 'name' })), async (req) => {
    const user = await findUserOr404(ctx, req.params.name);
    return model(ctx, findToken(await ctx.tokens.forUser(user.id), req.params.id), user);
  });

  app.delete<{ Params: { name: string; id: string } }>('/users/:name/tokens/:id', api(scopes(['tokens'], { user: 'name' })), async (req, reply) => {
    const user = await findUserOr404(ctx, req.params.name);
    const row = findToken(await ctx.tokens.forUser(user.id), req.params.id);
    // Revoking an OAuth token revokes every token of that client for this user, as JupyterHub does.
    const rows = await ctx.tokens.forUser(user.id);
    const targets = row.kind === 'oauth' ? rows.filter((r) => r.kind === 'oauth' && r.client_id === row.client_id) : [row];
    for (const t of targets) await ctx.tokens.delete(t.id);
    return emptyReply(reply, 204);
  });
}
