/** The REST API under /hub/api: JSON bodies and errors (each route's request policy is checked by src/http/policy-check.ts). */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { describeError, reason, sendJsonError } from '../http/errors.js';
import { JUPYTERHUB_API_VERSION } from '../version.js';
import type { HubContext } from '../http/context.js';
import { registerCourseRoutes } from './courses.js';
import { registerGroupRoutes } from './groups.js';
import { registerProxyRoutes } from './proxy.js';
import { registerRootRoutes } from './root.js';
import { registerServerRoutes } from './servers.js';
import { registerServiceRoutes } from './services.js';
import { registerShareRoutes } from './shares.js';
import { registerTokenRoutes } from './tokens.js';
import { registerUserRoutes } from './users.js';

export async function apiPlugin(app: FastifyInstance, opts: { ctx: HubContext }): Promise<void> {
  const { ctx } = opts;
  // JupyterHub reads API bodies as JSON whatever the Content-Type says (curl -d sends form encoding).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HubError(400, 'Invalid JSON in body of request'), undefined);
    }
  });
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('X-JupyterHub-Version', JUPYTERHUB_API_VERSION);
  });
  app.setErrorHandler((err, req, reply) => sendJsonError(reply, describeError(err, ctx.log, req)));
  app.setNotFoundHandler((_req, reply) => sendJsonError(reply, { status: 404, message: reason(404), headers: {} }));

  registerRootRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerServerRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerServiceRoutes(app, ctx);
  registerProxyRoutes(app, ctx);
  registerGroupRoutes(app, ctx);
  registerShareRoutes(app, ctx);
  if (ctx.courses) registerCourseRoutes(app, ctx, ctx.courses);
}
