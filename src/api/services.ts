/** GET /hub/api/services and /services/{name}: the services from config. */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { checkScope } from '../rbac/scopes.js';
import type { Caller } from '../http/identity.js';
import { type HubContext, requireCaller } from '../http/context.js';
import { api, list, scopes } from '../rbac/route-policy.js';
import type { Json } from './models.js';

export async function serviceModel(ctx: HubContext, caller: Caller, name: string): Promise<Record<string, Json>> {
  const svc = ctx.services.find((s) => s.name === name);
  const row = await ctx.roles.serviceByName(name);
  const roles = row ? await ctx.roles.serviceRoleNames(row.id) : [];
  const full: Record<string, Json> = {
    kind: 'service',
    name,
    roles,
    admin: roles.includes('admin'),
    url: svc?.url ?? '',
    prefix: svc?.url ? ctx.urls.service(name) : '',
    command: svc?.command ?? [],
    pid: ctx.servicePid(name),
    info: svc?.info ?? {},
    display: svc?.display ?? true,
  };
  const target = { service: name };
  if (checkScope(caller.scopes, 'read:services', target)) return full;
  const model: Record<string, Json> = {};
  if (checkScope(caller.scopes, 'read:services:name', target)) Object.assign(model, { kind: 'service', name });
  if (checkScope(caller.scopes, 'read:roles:services', target)) Object.assign(model, { kind: 'service', name, roles, admin: full.admin });
  return model;
}

export function registerServiceRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/services', api(list('list:services')), async (req) => {
    const caller = requireCaller(req);
    const out: Record<string, Json> = {};
    for (const s of ctx.services) {
      if (!checkScope(caller.scopes, 'list:services', { service: s.name })) continue;
      out[s.name] = await serviceModel(ctx, caller, s.name);
    }
    return out;
  });

  app.get<{ Params: { name: string } }>('/services/:name', api(scopes(['read:services', 'read:services:name', 'read:roles:services'], { service: 'name' })), async (req) => {
    const caller = requireCaller(req);
    if (!ctx.services.some((s) => s.name === req.params.name)) throw new HubError(404, `No such service: ${req.params.name}`);
    return serviceModel(ctx, caller, req.params.name);
  });
}
