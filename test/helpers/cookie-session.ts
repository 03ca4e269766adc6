/**
 * A browser without a browser: a cookie jar and requests with redirects under the test's control, for
 * integration tests that log in with the form and follow OAuth redirects between the hub, user
 * servers and services. (Cookie paths are ignored: every cookie goes with every request, which is
 * enough on one origin with distinct cookie names.) Requests say `Sec-Fetch-Mode: navigate`, as a
 * browser's page loads and form posts do, unless a test says otherwise; they go through node:http,
 * since Node's fetch always says `cors` (a script's fetch, for which the hub's pages do not take
 * the login cookie).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';

/** One request through node:http(s), answered as a fetch Response (with its url); no redirect is followed. */
export function navigate(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams | null } = {}): Promise<Response> {
  const target = new URL(url);
  const body = init.body === undefined || init.body === null ? undefined : Buffer.from(String(init.body));
  const headers: Record<string, string> = { 'sec-fetch-mode': 'navigate', ...init.headers };
  if (body) headers['content-length'] = String(body.length);
  if (init.body instanceof URLSearchParams && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return new Promise((resolve, reject) => {
    // The path as written, dot segments included (URL parsing would resolve them, as browsers do).
    const path = url.slice(target.origin.length) || '/';
    const options = { protocol: target.protocol, hostname: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path, method: init.method ?? 'GET', headers };
    const req = (target.protocol === 'https:' ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 500;
        const payload = status === 204 || status === 304 || chunks.length === 0 ? null : Buffer.concat(chunks);
        const response = new Response(payload, { status, statusText: res.statusMessage ?? '', headers: out });
        Object.defineProperty(response, 'url', { value: target.href });
        resolve(response);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export class CookieSession {
  readonly jar = new Map<string, string>();

  /** `origin` like `http://127.0.0.1:8123`; paths passed to fetch are relative to it. */
  constructor(private readonly origin: string) {}

  /** One request, redirects not followed; Set-Cookie goes into the jar. */
  async fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams | null } = {}): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await navigate(url.startsWith('http') ? url : `${this.origin}${url}`, {
      ...init,
      headers: { ...init.headers, ...(cookie ? { cookie } : {}) },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (/Expires=Thu, 01 Jan 1970/i.test(c) || /Max-Age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, pair!.slice(eq + 1));
    }
    return res;
  }

  /** GETs `url` and follows redirects; returns the last response and the URLs passed through. */
  async follow(url: string, max = 15): Promise<{ res: Response; trail: string[] }> {
    const trail = [url];
    let res = await this.fetch(url, { headers: { accept: 'text/html,application/json' } });
    while (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      if (trail.length > max) throw new Error(`too many redirects: ${trail.join(' → ')}`);
      const next = new URL(res.headers.get('location')!, res.url).href;
      trail.push(next);
      await res.arrayBuffer();
      res = await this.fetch(next, { headers: { accept: 'text/html,application/json' } });
    }
    return { res, trail };
  }

  /** The `_xsrf` value of the form on an HTML page. */
  static xsrfOf(html: string): string {
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(xsrf, 'the page has an _xsrf field');
    return xsrf;
  }

  /** Posts a form (urlencoded) with the page's XSRF token added. */
  async postForm(url: string, fields: Record<string, string>, pageHtml: string): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...fields, _xsrf: CookieSession.xsrfOf(pageHtml) }).toString(),
    });
  }

  /** Logs in through the hub's form (`hubPath` like `/hub/`), as a person would. */
  async login(hubPath: string, username: string, password = ''): Promise<void> {
    const form = await (await this.fetch(`${hubPath}login`)).text();
    const res = await this.postForm(`${hubPath}login`, { username, password }, form);
    assert.equal(res.status, 302, `login as ${username}: ${res.status}`);
  }
}
