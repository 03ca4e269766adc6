/** /hub/api/proxy: the routing table in configurable-http-proxy's shape; sync and "new proxy" requests. */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { wallClock } from '../clock.js';
import type { HubContext } from '../http/context.js';
import { api, scopes } from '../rbac/route-policy.js';

export function registerProxyRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/proxy', api(scopes(['proxy'])), async () => {
    const iso = (ms: number | undefined) => new Date(ms ?? wallClock.now()).toISOString();
    // The hub's own default route first, as JupyterHub's proxy has it: everything no other route takes
    // (it answers this very request, so its last activity is now).
    const routes: Record<string, unknown> = {
      '/': { routespec: '/', target: new URL(ctx.urls.internalApiUrl).origin, data: { hub: true, last_activity: iso(undefined) } },
    };
    for (const [prefix, r] of ctx.routes.entries()) {
      // Under subdomain_host a server's route is `<host>/user/<name>/` (a service's `services.<host>/services/<name>/`), as JupyterHub's routespecs.
      const spec = ctx.urls.subdomain ? prefix.slice(1) : prefix;
      routes[spec] = { routespec: spec, target: r.target, data: { ...r.data, last_activity: iso(ctx.routes.lastActivity(prefix)) } };
    }
    return routes;
  });

  // The route table is rebuilt from the database continuously, so a sync request has nothing to do.
  app.post('/proxy', api(scopes(['proxy'])), async (_req, reply) => {
    return reply.code(200).type('text/plain').send('');
  });

  // JupyterHub's PATCH points the hub at a new external proxy. Ganymede's proxy is built in, so there
  // is no proxy to point at: say so rather than accept settings that would change nothing.
  app.patch('/proxy', api(scopes(['proxy'])), async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new HubError(400, 'body must be a JSON object');
    const given = Object.keys(body);
    if (given.length) {
      throw new HubError(400, `Ganymede's proxy is built into the hub: ${given.join(', ')} cannot be changed (there is no external proxy API)`);
    }
    return reply.code(200).type('text/plain').send('');
  });
}
