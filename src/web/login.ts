/** /hub/login and /hub/logout, and finishing a login for any authenticator. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import type { AuthResult, HubLogin } from '../auth/authenticator.js';
import { normalizeUsername } from '../auth/authenticator.js';
import type { UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { loginPage, logoutConfirmPage, secondStepPage } from './templates/index.js';
import { fromAnotherSite } from '../http/fetch-metadata.js';
import { pageContext, redirectToLogin, safeNext } from './render.js';
import { XsrfError } from '../http/policy-check.js';
import { anyone, page } from '../rbac/route-policy.js';

/** Where a person goes after logging in when no `next` was given: their server (starting it), as JupyterHub's redirect_to_server. */
export async function defaultNextUrl(ctx: HubContext, user: UserRow): Promise<string> {
  const server = await ctx.servers.get(user.id, '');
  if (server?.phase === 'running') return ctx.urls.userServerUrl(user.name);
  return `${ctx.urls.hub}spawn`;
}

const LOGIN_STATE_COOKIE = 'ganymede-login-state';

/**
 * The hub's origin as people reach it: public_url's (or subdomain_host's) when configured, else the
 * request's, with X-Forwarded-Proto/Host believed from trusted_proxies only (Fastify's trustProxy).
 */
export function publicOrigin(ctx: HubContext, req: FastifyRequest): string {
  return ctx.urls.publicOrigin || `${req.protocol}://${req.host}`;
}

export function createHubLogin(ctx: HubContext): HubLogin {
  return {
    saveLoginState(req, reply, value, maxAgeSeconds) {
      ctx.sessions.setSigned(req, reply, LOGIN_STATE_COOKIE, value, maxAgeSeconds);
    },
    takeLoginState(req, reply) {
      return ctx.sessions.takeSigned(req, reply, LOGIN_STATE_COOKIE);
    },
    publicHubUrl(req, path) {
      return `${req.protocol}://${req.host}${ctx.urls.hub}${path}`;
    },
    publicOrigin(req) {
      return publicOrigin(ctx, req);
    },
    safeNext(next) {
      return safeNext(ctx, next);
    },
    async currentUser(req) {
      const caller = await ctx.identity.byCookie(req);
      if (caller?.principal.kind !== 'user') return null;
      const u = caller.principal.user;
      return { id: u.id, name: u.name, admin: u.admin === 1 };
    },
    async sendPage(req, reply, render, status = 200) {
      const caller = await ctx.identity.byCookie(req);
      const user = caller?.principal.kind === 'user' ? caller.principal.user : null;
      return reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(render(pageContext(ctx, req, reply, user)));
    },
    toLogin(req, reply) {
      return redirectToLogin(ctx, req, reply);
    },
    async endOtherLogins(req) {
      const caller = await ctx.identity.byCookie(req);
      if (caller?.principal.kind !== 'user') return 0;
      return ctx.loginSessions.endAll(caller.principal.user.id, ctx.sessions.loginSecret(req) ?? undefined);
    },
    async refuse(req, reply, message) {
      ctx.log.warn({ reason: message }, 'login refused');
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(loginPage(pageContext(ctx, req, reply, null), { next: '', error: message, passwordRequired: false, redirect: loginRedirectView(ctx, '') }));
    },
    async completeLogin(req: FastifyRequest, reply: FastifyReply, result: AuthResult, next: string): Promise<void> {
      const name = normalizeUsername(result.name);
      const exists = (await ctx.users.byName(name)) !== undefined;
      if (!ctx.policy.admits(name, result.allowed === true, exists)) {
        ctx.log.warn({ user: name.slice(0, 100), hint: ctx.policy.refusalHint() }, 'login refused: not allowed');
        throw new HubError(403, `User ${name} is not allowed to use this hub`);
      }
      let user = await ctx.ensureUser(name);
      // auth_state is replaced at every login (JupyterHub does the same): it holds the latest tokens.
      if (ctx.authState.enabled) await ctx.users.setAuthState(user.id, ctx.authState.encode(result.authState));
      if (result.groups) await ctx.groups.setUserGroups(user.id, [...new Set(result.groups)]);
      if (result.admin !== undefined && (result.admin ? 1 : 0) !== user.admin && !ctx.policy.isAdmin(name)) {
        await ctx.users.update(user.id, { admin: result.admin });
        user = (await ctx.users.byId(user.id))!;
      }
      // A new session at every login: an id chosen or seen before it (session fixation) is worth nothing now.
      const before = ctx.sessions.existingSessionId(req);
      if (before) await ctx.tokens.deleteSession(before);
      ctx.sessions.newSession(req, reply);
      // A login session of its own, which logout ends for this browser only.
      const previous = ctx.sessions.loginSecret(req);
      if (previous) await ctx.loginSessions.end(previous);
      ctx.sessions.setLogin(req, reply, await ctx.loginSessions.create(user.id, ctx.config.cookie_max_age_days * 86400));
      ctx.log.info({ user: user.name }, 'user logged in');
      if (result.firstVisit) {
        const after = safeNext(ctx, next);
        await reply.redirect(`${ctx.urls.hub}${result.firstVisit}${after ? `?next=${encodeURIComponent(after)}` : ''}`, 302);
        return;
      }
      await reply.redirect(safeNext(ctx, next) ?? (await defaultNextUrl(ctx, user)), 302);
    },
  };
}

type LoginQuery = { next?: string };

/** The "Sign in with …" button of redirect-based authenticators, if any. */
function loginRedirectView(ctx: HubContext, next: string): { label: string; href: string } | undefined {
  const r = ctx.authenticator.loginRedirect;
  return r && { label: r.label, href: `${ctx.urls.hub}${r.path}${next ? `?next=${encodeURIComponent(next)}` : ''}` };
}

export function registerLoginRoutes(app: FastifyInstance, ctx: HubContext, hubLogin: HubLogin): void {
  const show = (req: FastifyRequest, reply: FastifyReply, status: number, opts: { username?: string; error?: string; info?: string }) => {
    const form = ctx.authenticator.loginForm;
    const redirect = ctx.authenticator.loginRedirect;
    if (!form && !redirect) throw new HubError(404, 'This hub has no login page: use an API token');
    const next = safeNext(ctx, (req.query as LoginQuery).next) ?? '';
    if (!form && redirect?.auto && status === 200) return reply.redirect(loginRedirectView(ctx, next)!.href, 302);
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        loginPage(pageContext(ctx, req, reply, null, 'login'), {
          next,
          username: opts.username,
          error: opts.error,
          passwordRequired: form?.passwordRequired ?? false,
          form: form !== null,
          otpField: form?.otpField ?? false,
          sharedPasswordField: form?.sharedPasswordField ?? false,
          signupHref: form?.signupPath ? `${ctx.urls.hub}${form.signupPath}` : undefined,
          redirect: loginRedirectView(ctx, next),
        }),
      );
  };

  const beforeLogin = page(anyone(), { beforeSecondFactor: true });
  app.get<{ Querystring: LoginQuery }>('/login', beforeLogin, async (req, reply) => {
    const caller = await ctx.identity.byCookie(req);
    if (caller?.principal.kind === 'user') {
      return reply.redirect(safeNext(ctx, req.query.next) ?? (await defaultNextUrl(ctx, caller.principal.user)), 302);
    }
    return show(req, reply, 200, {});
  });

  // A form without its XSRF token (a page left open too long) shows the form again, not an error page.
  const loginFormErrors = (err: Error, req: FastifyRequest, reply: FastifyReply) => {
    if (!(err instanceof XsrfError)) throw err;
    if (!ctx.authenticator.loginForm) throw new HubError(404, 'This hub has no login page: use an API token');
    return show(req, reply, 403, { error: 'Your session expired. Please try again.' });
  };
  app.post<{ Querystring: LoginQuery; Body: Record<string, string> }>('/login', { ...beforeLogin, errorHandler: loginFormErrors }, async (req, reply) => {
    if (!ctx.authenticator.loginForm) throw new HubError(404, 'This hub has no login page: use an API token');
    const body = (req.body ?? {}) as Record<string, string>;
    const username = typeof body.username === 'string' ? body.username : '';
    // Guessing is limited per client address and per account, whatever the authenticator (src/http/guess-limits.ts).
    const who = { client: req.ip, account: normalizeUsername(username).slice(0, 255) };
    try {
      ctx.guessing.check('login', who);
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      ctx.log.warn({ user: username.slice(0, 100), client: req.ip }, 'login refused: too many failed attempts');
      reply.headers(err.headers);
      return show(req, reply, 429, { username, error: err.message });
    }
    const result = await ctx.authenticator.authenticate({ ...body, username, password: typeof body.password === 'string' ? body.password : '' }, { origin: publicOrigin(ctx, req) });
    if (result && 'secondStep' in result) {
      // Neither a failure nor a login yet: the second step's answer comes back here.
      const next = safeNext(ctx, req.query.next) ?? '';
      return reply.code(200).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(secondStepPage(pageContext(ctx, req, reply, null, 'login'), { ...result.secondStep, next }));
    }
    if (result && 'refused' in result) {
      ctx.guessing.failed('login', who);
      ctx.log.warn({ user: username.slice(0, 100), reason: result.refused }, 'login refused');
      return show(req, reply, 403, { username, error: result.refused });
    }
    const existing = result ? await ctx.users.byName(normalizeUsername(result.name)) : undefined;
    if (!result || !ctx.policy.admits(normalizeUsername(result.name), result.allowed === true, existing !== undefined)) {
      ctx.guessing.failed('login', who);
      // A person the authenticator knew but no allow rule admits: say why in the log, not on the page.
      ctx.log.warn({ user: username.slice(0, 100), ...(result ? { hint: ctx.policy.refusalHint() } : {}) }, 'failed login');
      return show(req, reply, 403, { username, error: 'Invalid username or password' });
    }
    ctx.guessing.succeeded('login', who);
    await hubLogin.completeLogin(req, reply, result, req.query.next ?? '');
    return reply;
  });

  /**
   * Logging out: by POST (with XSRF), as JupyterHub 5 recommends, or by GET from the hub's own pages and
   * old links. A GET from another site only shows a button: a link elsewhere cannot log anyone out.
   */
  app.get('/logout', beforeLogin, async (req, reply) => {
    if (fromAnotherSite(req) && (await ctx.identity.byCookie(req))) {
      return reply.code(200).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(logoutConfirmPage(pageContext(ctx, req, reply, null), `${ctx.urls.hub}logout`));
    }
    return logout(req, reply);
  });
  app.post('/logout', beforeLogin, async (req, reply) => logout(req, reply));

  const logout = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const sid = ctx.sessions.existingSessionId(req);
    const caller = await ctx.identity.byCookie(req);
    // OAuth tokens handed to servers during this session stop working at logout.
    if (sid) await ctx.tokens.deleteSession(sid);
    // The login itself ends: a copy of the cookie opens nothing any more.
    const secret = ctx.sessions.loginSecret(req);
    if (secret) await ctx.loginSessions.end(secret);
    if (caller && (req.body as { everywhere?: unknown } | undefined)?.everywhere === '1' && caller.principal.kind === 'user') {
      const user = caller.principal.user;
      const ended = await ctx.loginSessions.endAll(user.id);
      // What servers and applications got through those logins goes with them.
      const grants = (await ctx.tokens.forUser(user.id)).filter((t) => t.kind === 'oauth');
      for (const t of grants) await ctx.tokens.delete(t.id);
      ctx.log.info({ user: user.name, sessions: ended, oauth_tokens: grants.length }, 'logged out everywhere');
    }
    ctx.sessions.clear(reply);
    const state = caller?.principal.kind === 'user' ? ctx.authState.read(caller.principal.user) : null;
    const away = caller ? ctx.authenticator.logoutUrl?.(state, req, hubLogin) : null;
    if (away) return reply.redirect(away, 302);
    return reply.redirect(ctx.authenticator.loginForm || ctx.authenticator.loginRedirect ? `${ctx.urls.hub}login` : ctx.urls.base, 302);
  };
}
