/**
 * Per-user origins (`subdomain_host`, as JupyterHub's), through one hub and HTTP with Host headers
 * (`*.localhost` names, all on 127.0.0.1; the browser journey is test/browser/subdomains.test.ts):
 * - each user's server is routed by its own host (`alice.hub.localhost/user/alice/`), and only there:
 *   the same path on the hub's host or another user's host does not reach it;
 * - a user's host serves nothing of the hub's: such requests go to the hub's own origin, where its
 *   cookies (host-only) live;
 * - the server's environment and OAuth client name its own origin (JUPYTERHUB_HOST is the hub's, the
 *   callback absolute on the user's host), and links, redirects and `next` follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startSubdomainHub } from '../helpers/hub-process.js';
import { CookieSession, navigate } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { freePort } from '../helpers/ports.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const ECHO_SERVICE = path.resolve('test/fixtures/echo-service.mjs');

test('subdomain_host: one origin per user, the hub at its own', { timeout: 90_000 }, async (t) => {
  const servicePort = await freePort();
  const { hub, port, hubOrigin, originOf } = await startSubdomainHub({
    authenticator: { class: 'dummy' },
    spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
    services: [
      ...(adminServiceConfig().services as object[]),
      { name: 'echo', url: `http://127.0.0.1:${servicePort}`, command: [process.execPath, ECHO_SERVICE] },
    ],
  });
  const aliceOrigin = originOf('alice');
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  /** A request to the hub's address with the Host a browser would send for `origin`. */
  const as = (origin: string, p: string, headers: Record<string, string> = {}) => navigate(`http://127.0.0.1:${port}${p}`, { headers: { host: new URL(origin).host, ...headers } });
  assert.equal((await admin('/users', 'POST', { usernames: ['alice', 'bob'] })).status, 201);
  assert.equal((await admin('/users/alice/server', 'POST')).status, 201);

  await t.test("a user's server is routed by its own host only", async () => {
    const routes = (await admin('/proxy')).json as Record<string, { target: string }>;
    assert.ok('alice.hub.localhost/user/alice/' in routes, Object.keys(routes).join(', '));
    const env = await as(aliceOrigin, '/user/alice/env');
    assert.equal(env.status, 200);
    const vars = ((await env.json()) as { env: Record<string, string> }).env;
    assert.equal(vars.JUPYTERHUB_HOST, hubOrigin, "the hub's public origin");
    assert.equal(vars.JUPYTERHUB_OAUTH_CALLBACK_URL, `${aliceOrigin}/user/alice/oauth_callback`);
    assert.equal(vars.JUPYTERHUB_SERVICE_PREFIX, '/user/alice/');
    // The same path on bob's host or on the hub's host is not alice's server.
    const viaBob = await as('http://bob.hub.localhost', '/user/alice/env');
    assert.equal(viaBob.status, 302);
    assert.equal(viaBob.headers.get('location'), `${hubOrigin}/user/alice/env`);
    const viaHub = await as(hubOrigin, '/user/alice/env');
    assert.equal(viaHub.status, 302);
    assert.equal(viaHub.headers.get('location'), '/hub/user/alice/env');
    const model = (await admin('/users/alice')).json as { servers: Record<string, { url: string }> };
    assert.equal(model.servers['']!.url, `${aliceOrigin}/user/alice/`, 'the API gives the absolute URL, as JupyterHub');
  });

  await t.test("a user's host serves nothing of the hub's; the hub's cookies are its own host's", async () => {
    for (const p of ['/hub/login', '/hub/api/user', '/hub/home?x=1', '/']) {
      const res = await as(aliceOrigin, p);
      assert.equal(res.status, 302, p);
      assert.equal(res.headers.get('location'), `${hubOrigin}${p}`, p);
      assert.equal(res.headers.get('set-cookie'), null, `${p}: no cookie on a user's host`);
    }
    const alice = new CookieSession(`http://127.0.0.1:${port}`);
    const form = await alice.fetch('/hub/login', { headers: { host: `hub.localhost:${port}` } });
    const cookies = form.headers.getSetCookie();
    assert.ok(cookies.length > 0);
    for (const c of cookies) assert.doesNotMatch(c, /Domain=/i, `host-only: ${c}`);
  });

  await t.test("services live on services.<hub host>, apart from the hub's and the users' origins", async () => {
    const servicesOrigin = `http://services.hub.localhost:${port}`;
    const routes = (await admin('/proxy')).json as Record<string, { target: string }>;
    assert.ok('services.hub.localhost/services/echo/' in routes, Object.keys(routes).join(', '));
    await waitFor(async () => (await as(servicesOrigin, '/services/echo/ping').catch(() => null))?.status === 200, 20_000, 'the echo service to answer');
    const echo = (await (await as(servicesOrigin, '/services/echo/ping')).json()) as { path: string };
    assert.equal(echo.path, '/services/echo/ping');
    // Not on the hub's host, nor a user's: there the path is the hub's (its 404), or goes to the hub's origin.
    assert.equal((await as(hubOrigin, '/services/echo/ping')).status, 404);
    const viaAlice = await as(aliceOrigin, '/services/echo/ping');
    assert.equal(viaAlice.status, 302);
    assert.equal(viaAlice.headers.get('location'), `${hubOrigin}/services/echo/ping`);
    // The home page links to it there.
    const alice = new CookieSession(`http://127.0.0.1:${port}`);
    await alice.login('/hub/', 'alice');
    const home = await (await alice.fetch('/hub/home', { headers: { host: `hub.localhost:${port}` } })).text();
    assert.ok(home.includes(`${servicesOrigin}/services/echo/`), 'the home page links to the service on its origin');
  });

  await t.test("redirects and next lead to the user's own origin, and nowhere else", async () => {
    const alice = new CookieSession(`http://127.0.0.1:${port}`);
    const host = { host: `hub.localhost:${port}` };
    const form = await (await alice.fetch('/hub/login', { headers: host })).text();
    const login = await alice.fetch('/hub/login', {
      method: 'POST',
      headers: { ...host, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: '', _xsrf: CookieSession.xsrfOf(form) }).toString(),
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), `${aliceOrigin}/user/alice/`, 'after login: the running server, on its origin');
    const userPage = await alice.fetch('/hub/user/alice/tree?a=b', { headers: { ...host, accept: 'text/html' } });
    assert.equal(userPage.headers.get('location'), `${aliceOrigin}/user/alice/tree?a=b&redirects=1`);
    const next = (target: string) => alice.fetch(`/hub/login?next=${encodeURIComponent(target)}`, { headers: host }).then((r) => r.headers.get('location'));
    assert.equal(await next(`${aliceOrigin}/user/alice/lab`), `${aliceOrigin}/user/alice/lab`);
    assert.equal(await next(`http://bob.hub.localhost:${port}/user/bob/`), `http://bob.hub.localhost:${port}/user/bob/`);
    for (const evil of [`http://evil.localhost:${port}/user/alice/`, `http://alice.hub.localhost.evil.example:${port}/user/alice/`, `https://alice.hub.localhost:${port}/user/alice/`, `http://alice.hub.localhost:1/user/alice/`]) {
      assert.equal(await next(evil), `${aliceOrigin}/user/alice/`, `${evil} is refused: the default instead`);
    }
    // The server's OAuth client takes its absolute callback, and no other host's.
    const authorize = (redirect: string) =>
      alice.fetch(`/hub/api/oauth2/authorize?${new URLSearchParams({ client_id: 'jupyterhub-user-alice', response_type: 'code', redirect_uri: redirect })}`, { headers: host });
    const ok = await authorize(`${aliceOrigin}/user/alice/oauth_callback`);
    assert.equal(ok.status, 302);
    assert.ok(ok.headers.get('location')!.startsWith(`${aliceOrigin}/user/alice/oauth_callback?code=`));
    assert.equal((await authorize(`http://bob.hub.localhost:${port}/user/alice/oauth_callback`)).status, 400);
  });
});
