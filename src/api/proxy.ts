/** GET /hub/api/proxy: the routing table, in configurable-http-proxy's shape. */
import type { FastifyInstance } from 'fastify';
import { type HubContext, requireScope } from './context.js';

export function registerProxyRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.get('/proxy', async (req) => {
    await requireScope(ctx, req, 'proxy');
    const routes: Record<string, unknown> = {};
    for (const [prefix, r] of ctx.routes.entries()) {
      routes[prefix] = { routespec: prefix, target: r.target, data: r.data };
    }
    return routes;
  });

  // The route table is rebuilt from the database continuously, so a sync request has nothing to do.
  app.post('/proxy', async (req, reply) => {
    await requireScope(ctx, req, 'proxy');
    return reply.code(200).type('text/plain').send('');
  });
}
