/**
 * One password in front of the whole site (top-level `shared_password`), as workshops put an ingress
 * password in front of JupyterHub: every path of the hub, the API and the user servers answers
 * `401` with `WWW-Authenticate: Basic` until the browser gives it. It works with any authenticator.
 *  - `/hub/health` stays open, so uptime checks work either way, and so does `/hub/api` itself (the
 *    hub's version, which jupyterhub-singleuser asks for without a token when it starts).
 *  - A request with an API token (`Authorization: token …` or `Bearer …`) passes without the password
 *    only where a token is what the request is judged by (the API, user servers, services) and only
 *    when the hub knows the token: servers calling the hub API and Jupyter clients have no Basic
 *    credentials to give, but a made-up token opens nothing (not the login pages either).
 *  - Once the password is given, a signed cookie stands for it, so WebSockets (where browsers may not
 *    repeat Basic credentials) and later requests pass too.
 *  - The password is compared in constant time; a client that guessed wrong `max_failures` times in
 *    `window` seconds (of the hub's wall clock) gets `429` until the window has passed, right or
 *    wrong. The client is the address X-Forwarded-For gives behind a trusted proxy
 *    (trusted_proxies), else the socket's.
 * Hand-written rather than a Fastify plugin: it must also guard the proxy and WebSocket upgrades,
 * which never reach Fastify.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { sameSecret } from '../auth/shared-password.js';
import { wallClock } from '../clock.js';
import { FailureWindow } from './failure-window.js';
import { tokenFromAuthorization } from './identity.js';

export interface SitePasswordSettings {
  password: string;
  realm: string;
  max_failures: number;
  window: number;
}

export type GateAnswer = { pass: true; setCookie?: string } | { pass: false; status: 401 | 429; headers: Record<string, string>; body: string };

const COOKIE = 'ganymede-site';
export class SitePassword {
  private readonly cookieValue: string;
  /** Wrong passwords per client address (src/http/failure-window.ts). */
  private readonly failures: FailureWindow;

  constructor(
    private readonly s: SitePasswordSettings,
    secret: Buffer,
    private readonly paths: { base: string; health: string; api: string; tokenPaths: string[] },
    private readonly secure: boolean,
    /** Whether the hub knows this API token (valid, not expired, not revoked). */
    private readonly knownToken: (token: string) => Promise<boolean>,
  ) {
    // Bound to the password: changing it in the config logs everyone out of the site.
    const digest = createHash('sha256').update(s.password).digest('hex');
    this.cookieValue = createHmac('sha256', secret).update(`site-password:${digest}`).digest('base64url');
    this.failures = new FailureWindow(s.max_failures, s.window * 1000);
  }

  async check(req: http.IncomingMessage, clientIp: string, now = wallClock.now()): Promise<GateAnswer> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === this.paths.health || path === this.paths.health.replace(/\/$/, '')) return { pass: true };
    if (path === this.paths.api || path === this.paths.api.replace(/\/$/, '')) return { pass: true };
    const auth = req.headers.authorization ?? '';
    if (this.hasCookie(req)) return { pass: true };
    const token = tokenFromAuthorization(auth);
    if (token !== null && this.paths.tokenPaths.some((prefix) => path.startsWith(prefix)) && (await this.knownToken(token))) return { pass: true };
    const retry = this.failures.waitSeconds(clientIp, now);
    if (retry > 0) {
      return this.refuse(path, 429, `Too many wrong passwords. Try again in ${retry} seconds.`, { 'Retry-After': String(retry) });
    }
    const given = basicPassword(auth);
    if (given === null) return this.refuse(path, 401, 'This hub needs the workshop password.');
    if (sameSecret(given, this.s.password)) {
      this.failures.clear(clientIp);
      const attributes = [`Path=${this.paths.base}`, 'HttpOnly', 'SameSite=Lax', ...(this.secure ? ['Secure'] : [])];
      return { pass: true, setCookie: `${COOKIE}=${this.cookieValue}; ${attributes.join('; ')}` };
    }
    this.failures.fail(clientIp, now);
    return this.refuse(path, 401, 'Wrong password.');
  }

  private hasCookie(req: http.IncomingMessage): boolean {
    const header = req.headers.cookie;
    if (!header) return false;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
        const value = Buffer.from(part.slice(eq + 1).trim());
        const want = Buffer.from(this.cookieValue);
        if (value.length === want.length && timingSafeEqual(value, want)) return true;
      }
    }
    return false;
  }

  private refuse(path: string, status: 401 | 429, message: string, extra: Record<string, string> = {}): GateAnswer {
    const headers: Record<string, string> = { 'WWW-Authenticate': `Basic realm="${this.s.realm.replace(/["\\]/g, '')}", charset="UTF-8"`, 'Cache-Control': 'no-store', ...extra };
    if (path.startsWith(this.paths.api)) {
      return { pass: false, status, headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ status, message }) };
    }
    const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${status === 429 ? 'Too many attempts' : 'Password needed'}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem"><h1>${status === 429 ? 'Too many attempts' : 'Password needed'}</h1><p>${message}</p><p>Reload the page to enter the password your workshop gave you.</p></body></html>`;
    return { pass: false, status, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, body };
  }
}

/** The password of `Authorization: Basic base64(user:password)` (any user name), or null. */
export function basicPassword(header: string): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}
