/** GET /hub/api/ (version), /info, /user (who am I, with scopes); POST /shutdown. */
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { GANYMEDE_VERSION, JUPYTERHUB_API_VERSION } from '../version.js';
import { expandScopes } from '../rbac/scopes.js';
import { HubError } from '../errors.js';
import { tokenApiId } from '../db/repos/tokens.js';
import { type HubContext, requireCaller } from '../http/context.js';
import { api, anyone, caller, scopes } from '../rbac/route-policy.js';
import { userModels } from './users.js';
import { serviceModel } from './services.js';

export function registerRootRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/', api(anyone()), async () => ({ version: JUPYTERHUB_API_VERSION }));

  app.get('/info', api(scopes(['read:hub'])), async () => {
    return {
      version: JUPYTERHUB_API_VERSION,
      ganymede_version: GANYMEDE_VERSION,
      python: null,
      node: process.version,
      sys_executable: process.execPath,
      platform: `${os.type()} ${os.release()}`,
      spawner: { class: ctx.lifecycle.spawnerKind, version: GANYMEDE_VERSION },
      authenticator: { class: ctx.authenticator.kind, version: GANYMEDE_VERSION },
    };
  });

  app.get('/user', api(caller('any token or login: the model shows what its scopes allow')), async (req) => {
    const caller = requireCaller(req);
    const p = caller.principal;
    // Every token may identify its owner: add the identify scopes for building the model only.
    const name = p.kind === 'user' ? p.user.name : p.service.name;
    const kind = p.kind === 'user' ? 'user' : 'service';
    const identify = [`read:${kind}s:name!${kind}=${name}`, ...(kind === 'user' ? [`read:users:groups!user=${name}`] : [])];
    const reported = [...caller.scopes].sort();
    const viewer = { ...caller, scopes: new Set([...caller.scopes, ...expandScopes(identify)]) };
    let model: Record<string, unknown>;
    if (p.kind === 'user') {
      // The caller's row may come from the identity cache: read it fresh for last_activity.
      const fresh = (await ctx.users.byId(p.user.id)) ?? p.user;
      model = (await userModels(ctx, viewer, [fresh], { includeStoppedServers: false }))[0]!;
    } else {
      model = await serviceModel(ctx, viewer, p.service.name);
    }
    return {
      ...model,
      session_id: caller.token?.session_id ?? caller.sessionId ?? null,
      scopes: reported,
      token_id: caller.token ? tokenApiId(caller.token) : null,
    };
  });

  app.post('/shutdown', api(scopes(['shutdown'])), async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'body must be a JSON object');
    for (const key of ['proxy', 'servers'] as const) {
      if (key in body && typeof body[key] !== 'boolean') throw new HubError(400, `${key} must be true or false, got ${JSON.stringify(body[key])}`);
    }
    // `proxy` is accepted for compatibility: the proxy is part of the hub and always stops with it.
    const servers = body.servers as boolean | undefined;
    ctx.log.info({ servers: servers ?? ctx.config.cleanup_servers }, 'shutdown requested through the API');
    ctx.requestShutdown({ servers });
    return reply.code(202).send({ message: 'Shutting down Hub' });
  });
}
