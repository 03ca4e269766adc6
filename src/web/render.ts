/** Glue between routes and templates: the page context, error pages, the login redirect. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import type { UserRow } from '../db/schema.js';
import type { ErrorInfo } from '../http/errors.js';
import type { Caller } from '../http/identity.js';
import { localRedirect } from '../http/local-redirect.js';
import { checkScope } from '../rbac/scopes.js';
import { SITE_STYLESHEET } from './static-files.js';
import { errorPage, type PageContext } from './templates/index.js';

/** Pages with an announcement of their own (`announcement_login` …), as JupyterHub's template variables. */
export type AnnouncedPage = 'login' | 'home' | 'spawn';

export function pageContext(ctx: HubContext, req: FastifyRequest, reply: FastifyReply, user: UserRow | null, where?: AnnouncedPage): PageContext {
  const sid = ctx.sessions.sessionId(req, reply);
  const own = where ? ctx.config[`announcement_${where}`] : '';
  return {
    announcement: own || ctx.config.announcement || undefined,
    baseUrl: ctx.urls.base,
    user: user ? { name: user.name, admin: user.admin === 1 } : null,
    xsrfToken: ctx.sessions.xsrfToken(req, sid),
    staticUrl: (p: string) => `${ctx.urls.hub}static/${p}`,
    branding: {
      siteName: ctx.branding.siteName,
      logoUrl: `${ctx.urls.hub}logo`,
      stylesheetUrl: ctx.branding.stylesheet ? `${ctx.urls.hub}static/${SITE_STYLESHEET}?v=${ctx.branding.stylesheet.etag.slice(1, 9)}` : undefined,
      footer: ctx.branding.footer,
      footerLinks: ctx.branding.footerLinks,
      loginMessage: ctx.branding.loginMessage,
    },
    navLinks: user
      ? [
          ...(ctx.courses ? [{ label: 'Courses', path: 'courses' }] : []),
          // As JupyterHub: the link for whoever holds admin-ui (hub admins, and group admins given it by a role).
          ...(req.caller?.principal.kind === 'user' && req.caller.principal.user.id === user.id && checkScope(req.caller.scopes, 'admin-ui') ? [{ label: 'Admin', path: 'admin' }] : []),
          ...(ctx.authenticator.navLinks?.({ name: user.name, admin: user.admin === 1 }) ?? []),
        ]
      : undefined,
  };
}

/** A caller logged in with the browser cookie as a person (pages are for people, not services). */
export type PageCaller = Caller & { principal: { kind: 'user'; user: UserRow } };

export async function loggedIn(ctx: HubContext, req: FastifyRequest): Promise<PageCaller | null> {
  // A page route's policy check has identified the caller already (src/http/policy-check.ts).
  const caller = req.routeOptions.config.policy?.door === 'page' ? req.caller : await ctx.identity.byCookie(req);
  return caller && caller.principal.kind === 'user' ? (caller as PageCaller) : null;
}

/** Sends a rendered page; pages show personal data, so no cache keeps them. */
export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(body);
}

export async function renderErrorPage(ctx: HubContext, req: FastifyRequest, reply: FastifyReply, info: ErrorInfo): Promise<FastifyReply> {
  let user: UserRow | null = null;
  try {
    const caller = await ctx.identity.byCookie(req);
    if (caller?.principal.kind === 'user') user = caller.principal.user;
  } catch {
    // The error page must render even when the database is the problem.
  }
  return reply
    .code(info.status)
    .headers(info.headers)
    .type('text/html; charset=utf-8')
    .send(errorPage(pageContext(ctx, req, reply, user), { status: info.status, message: info.message }));
}

/** Only paths under the base URL may be a `next` target (no open redirects): src/http/local-redirect.ts. */
export function safeNext(ctx: HubContext, next: unknown): string | null {
  const urls = ctx.urls;
  if (!urls.subdomain) return localRedirect(next, urls.base);
  // Under subdomain_host, also a URL on a user's own origin (same scheme and port as the hub's).
  return localRedirect(next, urls.base, (origin) => {
    const u = new URL(origin);
    return u.protocol === urls.subdomain!.protocol && u.port === urls.subdomain!.port && urls.isUserHost(u.hostname);
  });
}

export function redirectToLogin(ctx: HubContext, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.redirect(`${ctx.urls.hub}login?next=${encodeURIComponent(req.url)}`, 302);
}
