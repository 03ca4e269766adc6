/**
 * A browser without a browser: a cookie jar and fetch with redirects under the test's control, for
 * integration tests that log in with the form and follow OAuth redirects between the hub, user
 * servers and services. (Cookie paths are ignored: every cookie goes with every request, which is
 * enough on one origin with distinct cookie names.)
 */
import assert from 'node:assert/strict';

export class CookieSession {
  readonly jar = new Map<string, string>();

  /** `origin` like `http://127.0.0.1:8123`; paths passed to fetch are relative to it. */
  constructor(private readonly origin: string) {}

  /** One request, redirects not followed; Set-Cookie goes into the jar. */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url.startsWith('http') ? url : `${this.origin}${url}`, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') },
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
