/** The logged-in pages: home, spawn (+ options form), spawn-pending, token, and the redirects into user servers. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import { may } from '../http/context.js';
import { startServer } from '../hub/start-server.js';
import type { ServerRow, UserRow } from '../db/schema.js';
import { tokenApiId } from '../db/repos/tokens.js';
import { HubError } from '../errors.js';
import type { JsonObject } from '../spawners/spawner.js';
import { escapePathSegment } from '../hub/urls.js';
import { describeScope } from '../rbac/scopes.js';
import { acceptSharePage, homePage, spawnFormPage, spawnPendingPage, tokenPage, raw, type ServerView } from './templates/index.js';
import { loggedIn, pageContext, redirectToLogin, safeNext, sendPage, type PageCaller } from './render.js';
import { defaultNextUrl } from './login.js';
import { homeCourses } from './course-views.js';
import { courseEndingsOf, cullWarningsOf } from './warnings.js';
import { openContentLink } from './content-links.js';
import { wallClock } from '../clock.js';
import { isoNow } from '../db/time.js';
import { fromAnotherSite } from '../http/fetch-metadata.js';
import { anyone, caller, page, scopes, withoutCaller } from '../rbac/route-policy.js';

type UserServerParams = { user?: string; server?: string };

function serverView(ctx: HubContext, userName: string, s: ServerRow): ServerView {
  return {
    name: s.name,
    ready: s.phase === 'running',
    pending: s.phase === 'spawning' ? 'spawn' : s.phase === 'stopping' ? 'stop' : null,
    url: ctx.urls.userServerUrl(userName, s.name),
    lastActivity: s.last_activity,
    details: ctx.lifecycle.details(s),
    failure: s.phase === 'stopped' ? s.failure : null,
  };
}

/** The user whose server a /hub/spawn… URL names (the route's policy checked the caller may act on it). */
async function targetUser(ctx: HubContext, caller: PageCaller, params: UserServerParams): Promise<UserRow> {
  const me = caller.principal.user;
  if (!params.user || params.user === me.name) return me;
  const user = await ctx.users.byName(params.user);
  if (!user) throw new HubError(404, `No such user: ${params.user}`);
  return user;
}

/** A server of the caller's own, or of another user with the scope on it (the spawn pages). */
const SERVER_PAGE = { server: ['user', 'server'] } as const;

function pendingUrl(ctx: HubContext, user: string, server: string, next?: string | null): string {
  const base = `${ctx.urls.hub}spawn-pending/${escapePathSegment(user)}${server ? '/' + escapePathSegment(server) : ''}`;
  return next ? `${base}?next=${encodeURIComponent(next)}` : base;
}

function formToOptions(body: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '_xsrf') continue;
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map(String);
  }
  return out;
}

export function registerPageRoutes(app: FastifyInstance, ctx: HubContext): void {
  // A liveness check for load balancers and monitors: no caller, no cookie read, open before the second factor.
  app.get('/health', withoutCaller('none: a liveness check'), async (_req, reply) => reply.type('application/json').send({ status: 'ok' }));

  app.get('/', page(anyone()), async (req, reply) => {
    // Workshops with force_new_server: every visit to the root is a new temporary user with a new server.
    if (ctx.config.authenticator.class === 'tmp' && ctx.config.authenticator.force_new_server) return reply.redirect(`${ctx.urls.hub}tmplogin`, 302);
    const caller = await loggedIn(ctx, req);
    if (!caller) return reply.redirect(ctx.authenticator.loginForm || ctx.authenticator.loginRedirect ? `${ctx.urls.hub}login` : `${ctx.urls.hub}home`, 302);
    return reply.redirect(await defaultNextUrl(ctx, caller.principal.user), 302);
  });

  app.get('/home', page(caller('the caller\'s own servers')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    const servers = await ctx.servers.forUser(user.id);
    const def = servers.find((s) => s.name === '') ?? (await ctx.servers.ensure(user.id, '', ctx.lifecycle.spawnerKind));
    const courses = ctx.courses ? await homeCourses(ctx, ctx.courses, caller) : null;
    return sendPage(
      reply,
      homePage(pageContext(ctx, req, reply, user, 'home'), {
        defaultServer: serverView(ctx, user.name, def),
        namedServers: servers.filter((s) => s.name !== '').map((s) => serverView(ctx, user.name, s)),
        allowNamedServers: ctx.config.allow_named_servers,
        services: ctx.services.filter((s) => s.display && s.url).map((s) => ({ name: s.name, url: ctx.urls.serviceUrl(s.name) })),
        courses,
        warnings: { cull: cullWarningsOf(ctx, servers, new Map((courses ?? []).map((c) => [c.slug, c.title]))), endings: courseEndingsOf(courses ?? []) },
      }),
    );
  });

  // "Keep it running" on a culler warning: the server counts as used now (as its own activity report would).
  app.post('/keep-running', page(caller("the caller's own servers")), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    const form = (req.body ?? {}) as Record<string, unknown>;
    const name = typeof form.server === 'string' ? form.server : '';
    const server = await ctx.servers.get(user.id, name);
    if (!server || server.phase !== 'running') throw new HubError(404, `${name ? `Your server ${name}` : 'Your server'} is not running`);
    const now = isoNow();
    await ctx.servers.touch(server.id, now);
    await ctx.users.touch(user.id, now);
    return reply.redirect(safeNext(ctx, typeof form.next === 'string' ? form.next : undefined) ?? `${ctx.urls.hub}home`, 303);
  });

  const spawnGet = async (req: FastifyRequest<{ Params: UserServerParams; Querystring: { next?: string } }>, reply: FastifyReply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = await targetUser(ctx, caller, req.params);
    const serverName = req.params.server ?? '';
    const next = safeNext(ctx, req.query.next);
    const existing = await ctx.servers.get(user.id, serverName);
    if (existing?.phase === 'running') return reply.redirect(next ?? ctx.urls.userServerUrl(user.name, serverName), 302);
    if (existing?.phase === 'spawning') return reply.redirect(pendingUrl(ctx, user.name, serverName, next), 302);
    const form = await ctx.lifecycle.optionsForm(user, await ctx.access.userGroups(user));
    if (form) {
      return sendPage(reply, spawnFormPage(pageContext(ctx, req, reply, caller.principal.user, 'spawn'), { userName: user.name, serverName, formHtml: raw(form), actionUrl: req.url }));
    }
    // A link from another site shows a button: only the person starts a server (POST with XSRF).
    if (fromAnotherSite(req)) {
      return sendPage(reply, spawnFormPage(pageContext(ctx, req, reply, caller.principal.user, 'spawn'), { userName: user.name, serverName, formHtml: raw(''), actionUrl: req.url, confirmOnly: true }));
    }
    await startServer(ctx, user, serverName, {}, 0);
    return reply.redirect(pendingUrl(ctx, user.name, serverName, next), 302);
  };

  const spawnPost = async (req: FastifyRequest<{ Params: UserServerParams; Querystring: { next?: string } }>, reply: FastifyReply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = await targetUser(ctx, caller, req.params);
    const serverName = req.params.server ?? '';
    const options = formToOptions((req.body ?? {}) as Record<string, unknown>);
    try {
      await startServer(ctx, user, serverName, options, 0);
    } catch (err) {
      const form = await ctx.lifecycle.optionsForm(user, await ctx.access.userGroups(user), options);
      if (err instanceof HubError && err.status === 400 && form) {
        return sendPage(reply, spawnFormPage(pageContext(ctx, req, reply, caller.principal.user, 'spawn'), { userName: user.name, serverName, formHtml: raw(form), actionUrl: req.url, error: err.message }), 400);
      }
      throw err;
    }
    return reply.redirect(pendingUrl(ctx, user.name, serverName, safeNext(ctx, req.query.next)), 302);
  };

  for (const path of ['/spawn', '/spawn/:user', '/spawn/:user/:server']) {
    // GET starts a server on a same-site navigation, as JupyterHub does; from another site it shows a button.
    app.get(path, page(scopes(['start:servers'], SERVER_PAGE, { ownFree: true })), spawnGet);
    app.post(path, page(scopes(['start:servers'], SERVER_PAGE, { ownFree: true })), spawnPost);
  }

  const pending = async (req: FastifyRequest<{ Params: UserServerParams; Querystring: { next?: string } }>, reply: FastifyReply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = await targetUser(ctx, caller, req.params);
    const serverName = req.params.server ?? '';
    const server = await ctx.servers.get(user.id, serverName);
    if (!server) throw new HubError(404, `${user.name} has no server named '${serverName}'`);
    const serverUrl = ctx.urls.userServerUrl(user.name, serverName);
    const next = safeNext(ctx, req.query.next) ?? serverUrl;
    if (server.phase === 'running') return reply.redirect(next, 302);
    if (server.phase !== 'spawning' && !server.failure) return reply.redirect(`${ctx.urls.hub}spawn/${escapePathSegment(user.name)}${serverName ? '/' + escapePathSegment(serverName) : ''}`, 302);
    return sendPage(
      reply,
      spawnPendingPage(pageContext(ctx, req, reply, caller.principal.user, 'spawn'), {
        userName: user.name,
        serverName,
        progressUrl: ctx.urls.progress(user.name, serverName),
        nextUrl: next,
        serverOrigin: ctx.urls.userOrigin(user.name),
      }),
    );
  };
  app.get('/spawn-pending/:user', page(scopes(['read:servers'], SERVER_PAGE, { ownFree: true })), pending);
  app.get('/spawn-pending/:user/:server', page(scopes(['read:servers'], SERVER_PAGE, { ownFree: true })), pending);

  app.get('/token', page(caller('the caller\'s own tokens')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    const rows = (await ctx.tokens.forUser(user.id)).filter((r) => r.kind !== 'server' && (!r.expires_at || Date.parse(r.expires_at) > wallClock.now()));
    const apiTokens = rows.filter((r) => r.kind === 'api');
    const byClient = new Map<string, typeof rows>();
    for (const r of rows.filter((r) => r.kind === 'oauth')) byClient.set(r.client_id, [...(byClient.get(r.client_id) ?? []), r]);
    const oauthClients = [];
    for (const [clientId, list] of byClient) {
      const client = await ctx.oauth.client(clientId);
      const last = list.map((r) => r.last_activity).filter((x): x is string => Boolean(x)).sort().pop() ?? null;
      oauthClients.push({ clientName: client?.description || clientId, tokenIds: list.map(tokenApiId), lastActivity: last });
    }
    return sendPage(
      reply,
      tokenPage(pageContext(ctx, req, reply, user), {
        userName: user.name,
        tokens: apiTokens.map((r) => ({
          id: tokenApiId(r),
          note: r.note,
          scopes: JSON.parse(r.scopes) as string[],
          created: r.created,
          lastActivity: r.last_activity,
          expiresAt: r.expires_at,
        })),
        oauthClients,
        loginSessions: await ctx.loginSessions.countFor(user.id),
        logoutUrl: `${ctx.urls.hub}logout`,
      }),
    );
  });

  // /hub/accept-share?code=…: the link a server's owner hands out (POST /hub/api/share-codes/…).
  const shareCode = async (code: unknown, me: UserRow) => {
    const found = typeof code === 'string' && code ? await ctx.shares.findCode(code) : undefined;
    if (!found) throw new HubError(404, 'Share not found or expired');
    if (found.owner_id === me.id) throw new HubError(400, "You can't share with yourself!");
    return found;
  };
  const shareNext = (next: unknown, owner: string, serverName: string) => safeNext(ctx, next) ?? ctx.urls.userServerUrl(owner, serverName);
  app.get<{ Querystring: { code?: string; next?: string } }>('/accept-share', page(caller('the share code')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const code = await shareCode(req.query.code, caller.principal.user);
    return sendPage(
      reply,
      acceptSharePage(pageContext(ctx, req, reply, caller.principal.user), {
        owner: code.ownerName,
        serverName: code.serverName,
        serverReady: code.phase === 'running',
        scopeDescriptions: (JSON.parse(code.scopes) as string[]).map((s) => `${describeScope(s) ?? s} (${s})`),
        code: req.query.code!,
        next: shareNext(req.query.next, code.ownerName, code.serverName),
      }),
    );
  });
  app.post<{ Body: Record<string, string> }>('/accept-share', page(caller('the share code')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const body = req.body ?? {};
    const code = await shareCode(body.code, caller.principal.user);
    await ctx.shares.exchange(code, caller.principal.user.id);
    ctx.log.info({ server: `${code.ownerName}/${code.serverName}`, user: caller.principal.user.name, code: `sc_${code.id}` }, 'share code accepted');
    return reply.redirect(shareNext(body.next, code.ownerName, code.serverName), 303);
  });

  // /hub/user-redirect/<path> → /user/<me>/<path>: links that work for whoever clicks them.
  app.get<{ Params: { '*': string } }>('/user-redirect/*', page(caller('the caller\'s own server')), async (req, reply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    if (req.params['*'] === 'git-pull') return openContentLink(ctx, caller.principal.user, req, reply);
    const q = req.url.indexOf('?');
    return reply.redirect(ctx.urls.userServerUrl(caller.principal.user.name) + req.params['*'] + (q >= 0 ? req.url.slice(q) : ''), 302);
  });

  // /hub/user/<name>/<path>: reached when /user/<name>/… has no route (the server is not running).
  const userUrl = async (req: FastifyRequest<{ Params: { user: string; '*'?: string } }>, reply: FastifyReply) => {
    const caller = await loggedIn(ctx, req);
    if (!caller) return redirectToLogin(ctx, req, reply);
    const rest = req.params['*'] ?? '';
    const q = req.url.indexOf('?');
    const query = q >= 0 ? req.url.slice(q) : '';
    const owner = await ctx.users.byName(req.params.user);
    const groups = owner ? await ctx.access.userGroups(owner) : [];
    // Named server if the first segment names one of the owner's servers.
    const first = rest.split('/')[0] ?? '';
    const servers = owner ? await ctx.servers.forUser(owner.id) : [];
    const firstName = first ? decodeURIComponent(first) : '';
    const named = firstName && (ctx.config.allow_named_servers || (await ctx.serverProfiles.owns(firstName))) ? servers.find((s) => s.name === firstName) : undefined;
    const server = named ?? servers.find((s) => s.name === '');
    const serverName = server?.name ?? '';
    if (!owner || !may(caller, 'access:servers', { user: req.params.user, groups, server: `${req.params.user}/${serverName}` })) {
      throw new HubError(403, `You do not have access to ${req.params.user}'s server`);
    }
    // On the owner's own origin under subdomain_host.
    const userPath = `${ctx.urls.userServerUrl(owner.name)}${rest}${query}`;
    if (server?.phase === 'running') {
      // The route exists now (it was added after this request was routed): go back, but never loop.
      const count = Number(new URLSearchParams(query).get('redirects') ?? '0');
      if (count >= 3) throw new HubError(503, `${owner.name}'s server is not answering through the proxy`);
      const u = new URL(userPath, 'http://x');
      u.searchParams.set('redirects', String(count + 1));
      return reply.redirect(ctx.urls.subdomain ? u.href : u.pathname + u.search, 302);
    }
    if (server?.phase === 'spawning') return reply.redirect(pendingUrl(ctx, owner.name, serverName, userPath), 302);
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    if (req.method !== 'GET' || !wantsHtml) {
      return reply.code(424).type('application/json').send({ status: 424, message: `${owner.name}'s server ${serverName ? `'${serverName}' ` : ''}is not running` });
    }
    return reply.redirect(`${ctx.urls.hub}spawn/${escapePathSegment(owner.name)}${serverName ? '/' + escapePathSegment(serverName) : ''}?next=${encodeURIComponent(userPath)}`, 302);
  };
  // Any method: a script's request to a stopped server gets 424; nothing changes here.
  const userUrlPolicy = page(caller('access:servers on the server the path names'), { changes: false });
  app.all('/user/:user', userUrlPolicy, userUrl);
  app.all('/user/:user/*', userUrlPolicy, userUrl);
}
