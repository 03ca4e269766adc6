/**
 * The one place that enforces a route's declared policy (src/rbac/route-policy.ts), before its
 * handler, in this order:
 *  1. who calls: an API token or the login cookie (door `api`), the login cookie of a navigation
 *     (door `page`), nobody (door `none`); the result is `req.caller`;
 *  2. XSRF: an API request the cookie authenticates needs it unless no script can read the answer
 *     (src/http/fetch-metadata.ts); every page POST needs the form's token, logged in or not;
 *  3. a step the authenticator still requires of the login (two-factor enrolment) holds every route
 *     not declared `beforeSecondFactor`: pages redirect to it, the API answers 403;
 *  4. the declared access: anyone; any caller; or one of the scopes on the resource the path names
 *     (JupyterHub's 403, or 404 when a filtered scope does not cover the resource).
 * Without a caller where one is needed, pages redirect to the login page and the API answers 403.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler, RouteOptions } from 'fastify';
import { HubError } from '../errors.js';
import type { ScopeTarget } from '../rbac/scopes.js';
import { type HubContext, requireListScope, requireScope } from './context.js';
import { apiNeedsXsrf } from './fetch-metadata.js';
import { tokenFromRequest } from './identity.js';
import { changesState, type DeclaredRoute, type ResourceParams, type RoutePolicy } from '../rbac/route-policy.js';
import { serverNameInPath } from '../hub/urls.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    policy?: RoutePolicy;
  }
}

/** A page form without its session's XSRF token: a stale page, or a form posted from elsewhere. */
export class XsrfError extends HubError {
  constructor(message = 'XSRF check failed: reload the page and try again') {
    super(403, message);
  }
}

/**
 * Makes every route registered on `app` (and in plugins registered after this call) carry a policy,
 * checked by `check` before its handler; returns the list of declared routes, filled as routes register.
 */
export function installRoutePolicy(app: FastifyInstance, check: preHandlerAsyncHookHandler): DeclaredRoute[] {
  const declared: DeclaredRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const policy = route.config?.policy;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!policy) {
      throw new Error(`route ${methods.join(',')} ${route.url} declares no request policy (src/rbac/route-policy.ts): say who may call it`);
    }
    for (const method of methods) {
      if (policy.changes && !changesState(method)) throw new Error(`route ${method} ${route.url} changes state: use POST (or another method), never ${method}`);
    }
    // A route for every method (app.all) is listed once.
    const listed = methods.length > 5 ? ['ANY'] : methods;
    for (const method of listed) declared.push({ method, url: route.url, policy, changes: policy.changes ?? changesState(method) });
    const own = route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : [];
    route.preHandler = [check, ...own];
  });
  return declared;
}

export function policyCheck(ctx: HubContext) {
  return async function checkPolicy(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const policy = req.routeOptions.config.policy;
    // installRoutePolicy refuses routes without one; a request cannot get here without it.
    if (!policy) throw new HubError(500, 'route without a request policy');
    await identify(ctx, policy, req);
    if (!policy.beforeSecondFactor && req.caller?.principal.kind === 'user' && ctx.authenticator.requiredStep) {
      const step = await ctx.authenticator.requiredStep({ name: req.caller.principal.user.name });
      if (step) {
        if (policy.door === 'page') return void (await reply.redirect(`${ctx.urls.hub}${step}`, 302));
        throw new HubError(403, `Finish setting up your login first: ${ctx.urls.hub}${step}`);
      }
    }
    const access = policy.access;
    if (access.kind === 'anyone') return;
    if (!req.caller) {
      if (policy.door === 'page') return void (await reply.redirect(`${ctx.urls.hub}login?next=${encodeURIComponent(req.url)}`, 302));
      throw new HubError(403, 'Missing or invalid credentials');
    }
    if (access.kind === 'caller') return;
    if (access.kind === 'list') return void requireListScope(req, access.scope);
    const target = targetOf(access.on, req.params as Record<string, string | undefined>, req.url);
    if (access.ownFree && isOwn(req, target)) return;
    await requireScope(ctx, req, [...access.scopes], target);
  };
}

async function identify(ctx: HubContext, policy: RoutePolicy, req: FastifyRequest): Promise<void> {
  if (policy.door === 'none') {
    req.caller = null;
    return;
  }
  if (policy.door === 'page') {
    req.caller = await ctx.identity.byCookie(req);
    // Logged in or not (a login form too): a form posted from another site has no token.
    if ((policy.changes ?? changesState(req.method)) && !ctx.sessions.checkXsrf(req)) throw new XsrfError();
    return;
  }
  const token = tokenFromRequest(req);
  if (token) {
    // An invalid token is not silently replaced by the cookie.
    req.caller = await ctx.identity.byToken(token);
    if (!req.caller) throw new HubError(403, 'Invalid or expired token');
    return;
  }
  req.caller = await ctx.identity.byCookieForApi(req);
  // As JupyterHub >= 4.1: GETs too, unless no script can read the answer.
  if (req.caller && apiNeedsXsrf(req) && !ctx.sessions.checkXsrf(req)) {
    throw new HubError(403, `'_xsrf' argument missing from ${req.method}: cookie-authenticated API requests need the X-XSRFToken header`);
  }
}

/** The resource a route's path names, from its parameters. */
export function targetOf(on: ResourceParams | undefined, params: Record<string, string | undefined>, url: string): ScopeTarget {
  if (!on) return {};
  if ('user' in on) return { user: params[on.user] };
  if ('group' in on) return { group: params[on.group] };
  if ('service' in on) return { service: params[on.service] };
  const [ownerParam, serverParam] = 'server' in on ? on.server : on.userOrServer;
  const owner = params[ownerParam];
  if (owner === undefined) return {};
  const server = 'server' in on ? (params[serverParam] ?? '') : serverNameInPath(params[serverParam], url);
  return server === undefined ? { user: owner } : { user: owner, server: `${owner}/${server}` };
}

/** The caller's own resource, or none named (a page acting on the caller's own server). */
function isOwn(req: FastifyRequest, target: ScopeTarget): boolean {
  const principal = req.caller?.principal;
  if (principal?.kind !== 'user') return false;
  return target.user === undefined || target.user === principal.user.name;
}
