/**
 * Browser sessions: the signed, HttpOnly login cookie (holding the secret of a login session, a
 * database row that logout deletes), a session id cookie (ties OAuth tokens issued during this login to the session, so logout revokes them),
 * and XSRF tokens, an HMAC under the cookie secret of the session id and the login cookie's id: a token
 * is good for one browser's one login only, and a new login (which gets a new session id) needs a new one.
 * Both cookies live under the hub's path (`<base>hub/`): user servers, which any user controls, never see them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HubUrls } from '../hub/urls.js';
import { wallClock } from '../clock.js';
import { cookieMayOpenPage } from './fetch-metadata.js';

export const LOGIN_COOKIE = 'jupyterhub-hub-login';
export const SESSION_COOKIE = 'jupyterhub-session-id';

export class Sessions {
  constructor(
    private readonly secret: Buffer,
    private readonly urls: HubUrls,
    private readonly maxAgeSeconds: number,
  ) {}

  private secure(req: FastifyRequest): boolean {
    return req.protocol === 'https';
  }

  /** The session id of this browser, creating one (and its cookie) when absent. */
  sessionId(req: FastifyRequest, reply: FastifyReply): string {
    return this.existingSessionId(req) ?? this.newSession(req, reply);
  }

  /**
   * A new session id for this browser, whatever it had: at every login, so that an id someone
   * planted or saw before the login (session fixation) is worth nothing after it.
   */
  newSession(req: FastifyRequest, reply: FastifyReply): string {
    const id = randomBytes(16).toString('hex');
    reply.setCookie(SESSION_COOKIE, id, { path: this.urls.hub, httpOnly: true, sameSite: 'lax', secure: this.secure(req) });
    req.cookies[SESSION_COOKIE] = id;
    return id;
  }

  /** The session id if the browser has one (never creates). */
  existingSessionId(req: FastifyRequest): string | null {
    const v = req.cookies[SESSION_COOKIE];
    return v && /^[0-9a-f]{32}$/.test(v) ? v : null;
  }

  /**
   * The login cookie: the secret of a login session (src/db/repos/login-sessions.ts) and when it was
   * issued, signed. The browser drops it after cookie_max_age_days (Max-Age); the session row ends
   * with it, or earlier at logout.
   */
  setLogin(req: FastifyRequest, reply: FastifyReply, sessionSecret: string): void {
    const issued = Math.floor(wallClock.now() / 1000);
    reply.setCookie(LOGIN_COOKIE, `${sessionSecret}:${issued}`, {
      path: this.urls.hub,
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure(req),
      signed: true,
      maxAge: this.maxAgeSeconds,
    });
  }

  /** The login session's secret from a valid signed login cookie issued less than cookie_max_age_days ago, or null. */
  loginSecret(req: FastifyRequest): string | null {
    const raw = req.cookies[LOGIN_COOKIE];
    if (!raw) return null;
    const res = req.unsignCookie(raw);
    if (!res.valid || !res.value) return null;
    const colon = res.value.lastIndexOf(':');
    const issued = Number(res.value.slice(colon + 1));
    // A cookie without its time (from before it carried one) is refused: one more login.
    if (colon <= 0 || !Number.isInteger(issued)) return null;
    const age = wallClock.now() / 1000 - issued;
    return age <= this.maxAgeSeconds ? res.value.slice(0, colon) : null;
  }

  /** A short-lived signed HttpOnly cookie under the hub's path (e.g. an OAuth login's state). */
  setSigned(req: FastifyRequest, reply: FastifyReply, name: string, value: string, maxAgeSeconds: number): void {
    reply.setCookie(name, value, { path: this.urls.hub, httpOnly: true, sameSite: 'lax', secure: this.secure(req), signed: true, maxAge: maxAgeSeconds });
  }

  /** The value of a signed cookie set with setSigned, removing it; null when absent or tampered with. */
  takeSigned(req: FastifyRequest, reply: FastifyReply, name: string): string | null {
    const raw = req.cookies[name];
    if (!raw) return null;
    reply.clearCookie(name, { path: this.urls.hub });
    const res = req.unsignCookie(raw);
    return res.valid && res.value ? res.value : null;
  }

  clear(reply: FastifyReply): void {
    reply.clearCookie(LOGIN_COOKIE, { path: this.urls.hub });
    reply.clearCookie(SESSION_COOKIE, { path: this.urls.hub });
    // Hubs before this one set the session id for the whole site, user servers included.
    if (this.urls.base !== this.urls.hub) reply.clearCookie(SESSION_COOKIE, { path: this.urls.base });
  }

  /**
   * The XSRF token of this request's browser and login (the session must exist: see sessionId); ''
   * on a page a script fetched (src/http/fetch-metadata.ts), which must not carry a working token.
   */
  xsrfToken(req: FastifyRequest, sessionId: string): string {
    return cookieMayOpenPage(req) ? this.expectedXsrf(req, sessionId) : '';
  }

  private expectedXsrf(req: FastifyRequest, sessionId: string): string {
    const login = this.loginSecret(req) ?? '';
    return createHmac('sha256', this.secret).update(`xsrf:${sessionId}:${login}`).digest('hex').slice(0, 40);
  }

  /** For form posts: a readable 403 unless the request carries its session's XSRF token. */
  /** True when the request carries the XSRF token of its session (form field `_xsrf`, header `X-XSRFToken`, or query `_xsrf`). */
  checkXsrf(req: FastifyRequest): boolean {
    const sid = this.existingSessionId(req);
    if (!sid) return false;
    const body = req.body as Record<string, unknown> | undefined;
    const query = req.query as Record<string, unknown> | undefined;
    const given =
      (typeof req.headers['x-xsrftoken'] === 'string' ? req.headers['x-xsrftoken'] : undefined) ??
      (body && typeof body === 'object' && typeof body._xsrf === 'string' ? body._xsrf : undefined) ??
      (query && typeof query._xsrf === 'string' ? query._xsrf : undefined);
    if (!given) return false;
    const expected = Buffer.from(this.expectedXsrf(req, sid));
    const got = Buffer.from(given);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}
