/**
 * OAuth 2 authorization-code provider at /hub/api/oauth2/{authorize,token}: how user servers and
 * OAuth services log a browser in through the hub (JupyterHub's HubOAuth flow).
 * Written by hand because the flow is two small endpoints over our own token store; a generic
 * OAuth server library would add its own storage model to map onto ours.
 */
import { timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubContext } from '../http/context.js';
import { hashToken } from '../db/repos/tokens.js';
import { HubUrls } from '../hub/urls.js';
import type { OAuthClientRow, UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import { describeError } from '../http/errors.js';
import { isExpired } from '../db/time.js';
import { describeScope, expandScopes } from '../rbac/scopes.js';
import { renderErrorPage, pageContext, redirectToLogin } from '../web/render.js';
import { oauthConfirmPage } from '../web/templates/index.js';
import { caller, page, withoutCaller } from '../rbac/route-policy.js';

type AuthorizeParams = { client_id?: string; redirect_uri?: string; response_type?: string; state?: string; scope?: string };

class OAuthError extends Error {
  constructor(readonly status: number, readonly error: string, readonly description: string) {
    super(description);
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function oauthPlugin(app: FastifyInstance, opts: { ctx: HubContext }): Promise<void> {
  const { ctx } = opts;
  await app.register(formbody);
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof OAuthError) return reply.code(err.status).send({ error: err.error, error_description: err.description });
    const info = describeError(err, ctx.log, req);
    if (req.url.includes('/token')) return reply.code(info.status).send({ error: 'invalid_request', error_description: info.message });
    return renderErrorPage(ctx, req, reply, info);
  });

  /** The hub's own public origins for this request: as the client reached it (trusted proxies resolved), and public_url's. */
  const publicOrigins = (req: FastifyRequest): string[] => [`${req.protocol}://${req.host}`, ...(ctx.config.public_url ? [new URL(ctx.config.public_url).origin] : [])];

  /** Checks the request against the registered client and works out what to grant. */
  async function prepare(req: FastifyRequest, params: AuthorizeParams, user: UserRow): Promise<{ client: OAuthClientRow; scopes: string[] }> {
    if (!params.client_id) throw new HubError(400, 'Missing client_id');
    const client = await ctx.oauth.client(params.client_id);
    if (!client) throw new HubError(400, `No such OAuth client: ${params.client_id}`);
    if (params.response_type !== 'code') throw new HubError(400, 'Only response_type=code is supported');
    if (params.redirect_uri !== undefined && !redirectMatches(params.redirect_uri, client.redirect_uri, publicOrigins(req))) {
      throw new HubError(400, 'redirect_uri does not match the registered one for this client');
    }
    const allowed = JSON.parse(client.allowed_scopes) as string[];
    const asked = params.scope ? params.scope.split(/[\s+]+/).filter(Boolean) : allowed;
    const requested = asked.filter((s) => allowed.includes(s) || s.startsWith('read:users:name!user') || s === 'identify');
    const userScopes = await ctx.access.userScopes(user);
    const granted = await ctx.access.intersect(expandScopes(requested.filter((s) => s !== 'identify')), userScopes);
    const accessScopes = allowed.filter((s) => s.startsWith('access:'));
    if (accessScopes.length > 0 && !accessScopes.some((s) => granted.has(s))) {
      throw new HubError(403, `You do not have permission to access ${client.description || client.id}`);
    }
    return { client, scopes: [...granted].filter((s) => requested.includes(s) || s.startsWith('access:')).sort() };
  }

  async function issueCode(reply: FastifyReply, req: FastifyRequest, params: AuthorizeParams, user: UserRow, client: OAuthClientRow, scopes: string[]): Promise<FastifyReply> {
    const code = await ctx.oauth.createCode({
      clientId: client.id,
      userId: user.id,
      // What the request said ('' when it named none): the token request must say the same (RFC 6749 §4.1.3).
      redirectUri: params.redirect_uri ?? '',
      scopes,
      sessionId: ctx.sessions.sessionId(req, reply),
    });
    const target = new URL(params.redirect_uri ?? client.redirect_uri, 'http://placeholder');
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    const location = target.origin === 'http://placeholder' ? target.pathname + target.search : target.href;
    return reply.redirect(location, 302);
  }

  /**
   * As JupyterHub: the user's own servers, services marked oauth_no_confirm, and clients the user
   * already authorized for these scopes (an unexpired token) skip the confirmation page.
   */
  async function needsConfirmation(client: OAuthClientRow, user: UserRow, scopes: string[]): Promise<boolean> {
    if (HubUrls.isOwnServerClient(client.id, user.name)) return false;
    const svc = ctx.services.find((s) => (s.oauth_client_id ?? `service-${s.name}`) === client.id);
    if (svc?.oauth_no_confirm) return false;
    const authorized = new Set<string>();
    for (const t of await ctx.tokens.forUser(user.id)) {
      if (t.kind === 'oauth' && t.client_id === client.id && !isExpired(t.expires_at)) for (const s of JSON.parse(t.scopes) as string[]) authorized.add(s);
    }
    return !(authorized.size > 0 && scopes.every((s) => authorized.has(s)));
  }

  // A person's login (with any step the authenticator requires, such as two-factor enrolment, done):
  // the request policy sends everyone else to log in first.
  const authorizing = page(caller('a logged-in person; the client and redirect_uri must be registered'));

  app.get<{ Querystring: AuthorizeParams }>('/authorize', authorizing, async (req, reply) => {
    const caller = req.caller;
    if (caller?.principal.kind !== 'user') return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    const { client, scopes } = await prepare(req, req.query, user);
    if (!(await needsConfirmation(client, user, scopes))) return issueCode(reply, req, req.query, user, client, scopes);
    const pc = pageContext(ctx, req, reply, user);
    return reply.type('text/html').send(
      oauthConfirmPage(pc, {
        clientName: client.description || client.id,
        scopeDescriptions: scopes.map((s) => `${s}: ${describeScope(s.split('!')[0]!)}`),
        formAction: req.url,
        hidden: {},
      }),
    );
  });

  app.post<{ Querystring: AuthorizeParams }>('/authorize', authorizing, async (req, reply) => {
    const caller = req.caller;
    if (caller?.principal.kind !== 'user') return redirectToLogin(ctx, req, reply);
    const user = caller.principal.user;
    const { client, scopes } = await prepare(req, req.query, user);
    return issueCode(reply, req, req.query, user, client, scopes);
  });

  // Wrong client credentials count as guesses per client address (src/http/guess-limits.ts). Not
  // from loopback: the hub's own servers ask from there, with secrets nobody can guess, and a count
  // they shared would let one server's failures (or a hostile server's) lock out every other's logins.
  // A stale or reused code (invalid_grant) is a person's back button, not a guess.
  app.post('/token', withoutCaller("the OAuth client's id and secret, and the code"), async (req, reply) => {
    const who = { client: req.ip };
    const counted = !isLoopback(req.ip);
    if (counted) {
      try {
        ctx.guessing.check('oauth-token', who);
      } catch (err) {
        if (!(err instanceof HubError)) throw err;
        return reply.code(429).headers(err.headers).send({ error: 'too_many_requests', error_description: err.message });
      }
    }
    try {
      return await exchangeCode(req);
    } catch (err) {
      if (counted && err instanceof OAuthError && err.error === 'invalid_client') ctx.guessing.failed('oauth-token', who);
      throw err;
    }
  });

  async function exchangeCode(req: FastifyRequest): Promise<Record<string, unknown>> {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    let clientId = body.client_id;
    let secret = body.client_secret;
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      // RFC 6749 §2.3.1: both form-urlencoded, then joined with ':'.
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      try {
        clientId = decodeURIComponent((colon < 0 ? decoded : decoded.slice(0, colon)).replace(/\+/g, ' '));
        secret = colon < 0 ? '' : decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
      } catch {
        throw new OAuthError(401, 'invalid_client', 'Client authentication failed: malformed Basic credentials');
      }
    }
    if (body.grant_type !== 'authorization_code') throw new OAuthError(400, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported');
    if (!clientId || !secret) throw new OAuthError(401, 'invalid_client', 'Client authentication failed');
    const client = await ctx.oauth.client(clientId);
    if (!client || !sameHash(hashToken(secret), client.secret_hash)) throw new OAuthError(401, 'invalid_client', 'Client authentication failed');
    if (!body.code) throw new OAuthError(400, 'invalid_request', 'Missing code');
    const grant = await ctx.oauth.consumeCode(body.code);
    if (!grant || grant.clientId !== client.id) throw new OAuthError(400, 'invalid_grant', 'Invalid or expired authorization code');
    // RFC 6749 §4.1.3: the redirect_uri of the authorization request, exactly, when it named one.
    if (grant.redirectUri !== '' ? body.redirect_uri !== grant.redirectUri : body.redirect_uri !== undefined && body.redirect_uri !== client.redirect_uri) {
      throw new OAuthError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    }
    const expiresIn = ctx.config.oauth_token_expires_in;
    const { token } = await ctx.tokens.create({
      owner: { userId: grant.userId },
      kind: 'oauth',
      note: `OAuth token for ${client.description || client.id}`,
      scopes: grant.scopes.length ? grant.scopes : ['read:users:name!user'],
      clientId: client.id,
      sessionId: grant.sessionId,
      expiresIn: expiresIn || null,
    });
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn || undefined, scope: grant.scopes.join(' ') };
  }
}

/**
 * A redirect_uri is the registered one, exactly (as JupyterHub compares them). A registered relative
 * URI (a user server's `/user/alice/oauth_callback`) also matches its absolute form on the hub's own
 * public origin, and nowhere else: not another host, not `//host/…`, not `javascript:`.
 */
export function redirectMatches(given: string, registered: string, origins: string[]): boolean {
  if (given === registered) return true;
  if (!registered.startsWith('/') || registered.startsWith('//')) return false;
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password || url.hash) return false;
  return origins.includes(url.origin) && `${url.pathname}${url.search}` === registered && given === url.href;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: this host. */
function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}
