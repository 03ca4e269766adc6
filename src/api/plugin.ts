/** The REST API under /hub/api: caller identification, XSRF for cookie-authenticated requests, JSON bodies and errors. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import { describeError, reason, sendJsonError } from '../http/errors.js';
import { tokenFromRequest } from '../http/identity.js';
import { apiNeedsXsrf } from '../http/fetch-metadata.js';
import { JUPYTERHUB_API_VERSION } from '../version.js';
import type { HubContext } from './context.js';
import { registerCourseRoutes } from './courses.js';
import { registerGroupRoutes } from './groups.js';
import { registerProxyRoutes } from './proxy.js';
import { registerRootRoutes } from './root.js';
import { registerServerRoutes } from './servers.js';
import { registerServiceRoutes } from './services.js';
import { registerShareRoutes } from './shares.js';
import { registerTokenRoutes } from './tokens.js';
import { registerUserRoutes } from './users.js';

/** Identifies the caller: a token if one is sent (an invalid token is not silently replaced by the cookie), else the login cookie. */
export async function identifyCaller(ctx: HubContext, req: FastifyRequest): Promise<void> {
  const token = tokenFromRequest(req);
  if (token) {
    req.caller = await ctx.identity.byToken(token);
    if (!req.caller) throw new HubError(403, 'Invalid or expired token');
    return;
  }
  req.caller = await ctx.identity.byCookieForApi(req);
  // As JupyterHub >= 4.1: GETs too, unless no script can read the answer (src/http/fetch-metadata.ts).
  if (req.caller && apiNeedsXsrf(req) && !ctx.sessions.checkXsrf(req)) {
    throw new HubError(403, `'_xsrf' argument missing from ${req.method}: cookie-authenticated API requests need the X-XSRFToken header`);
  }
  // A step the authenticator requires (two-factor enrolment) holds the API as it holds the pages.
  if (req.caller?.principal.kind === 'user' && ctx.authenticator.requiredStep) {
    const step = await ctx.authenticator.requiredStep({ name: req.caller.principal.user.name });
    if (step) throw new HubError(403, `Finish setting up your login first: ${ctx.urls.hub}${step}`);
  }
}

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
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('X-JupyterHub-Version', JUPYTERHUB_API_VERSION);
  });
  // After body parsing, so that a form's _xsrf field can be read.
  app.addHook('preHandler', async (req) => identifyCaller(ctx, req));
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
