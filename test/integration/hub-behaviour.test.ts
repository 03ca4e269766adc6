/**
 * The hub's behaviour with a fast mock server: base URL, reverse-proxy headers, named servers,
 * pagination, activity, crash detection and managed services.
 */
import { CookieSession } from '../helpers/cookie-session.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, answersHttp, readEventStream, serverAddress, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const ECHO_SERVICE = path.resolve('test/fixtures/echo-service.mjs');

test('hub behaviour under a base URL', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const servicePort = await freePort();
  const base = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...base,
      bind_url: `http://127.0.0.1:${port}/jh/`,
      allow_named_servers: true,
      named_server_limit_per_user: 2,
      // Servers take a moment to exit, so that answering a DELETE before the server is gone would show.
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], poll_interval: 1, environment: { MOCK_EXIT_DELAY_MS: '150' } },
      services: [
        ...(base.services as object[]),
        { name: 'echo', url: `http://127.0.0.1:${servicePort}`, command: [process.execPath, ECHO_SERVICE] },
      ],
      load_roles: [...(base.load_roles as object[]), { name: 'lister', scopes: ['list:users', 'read:users:name'], services: ['echo'] }],
    },
  });
  t.after(() => hub.stop());
  const api = (p: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${hub.url}hub/api${p}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `token ${init.token ?? ADMIN_TOKEN}`, ...(init.headers ?? {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });

  await t.test('everything lives under the base URL', async () => {
    assert.equal(hub.url, `http://127.0.0.1:${port}/jh/`);
    const root = await fetch(`${hub.url}hub/api/`);
    assert.equal(root.status, 200);
    assert.equal(root.headers.get('x-jupyterhub-version'), ((await root.json()) as { version: string }).version);
    const top = await fetch(hub.url, { redirect: 'manual' });
    assert.equal(top.status, 302);
    assert.equal(top.headers.get('location'), '/jh/hub/');
    const outside = await fetch(`http://127.0.0.1:${port}/hub/api/`);
    assert.equal(outside.status, 404);
  });

  await t.test('behind a TLS proxy: cookies are Secure and redirects keep the base URL', async () => {
    const res = await fetch(`${hub.url}hub/login`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hub.example.org' } });
    assert.equal(res.status, 200);
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.length > 0 && cookies.every((c) => /;\s*Secure/i.test(c) && /HttpOnly/i.test(c)), cookies.join(' | '));
    const plain = await fetch(`${hub.url}hub/login`);
    assert.ok(plain.headers.getSetCookie().every((c) => !/;\s*Secure/i.test(c)));
  });

  await t.test('users list: pagination form, state filter', async () => {
    const created = await api('/users', { method: 'POST', body: { usernames: ['u1', 'u2', 'u3'] } });
    assert.equal(created.status, 201);
    const page = await api('/users?limit=2', { headers: { Accept: 'application/jupyterhub-pagination+json' } });
    const body = (await page.json()) as { items: Array<{ name: string }>; _pagination: { total: number; next: { offset: number } | null } };
    assert.equal(body.items.length, 2);
    assert.equal(body._pagination.total, 3);
    assert.equal(body._pagination.next?.offset, 2);
    const plain = (await (await api('/users')).json()) as unknown[];
    assert.ok(Array.isArray(plain) && plain.length === 3);
    const again = await api('/users', { method: 'POST', body: { usernames: ['u1'] } });
    assert.equal(again.status, 409);
  });

  await t.test('users are renamed, made admin and deleted with their servers', async () => {
    const renamed = await api('/users/u3', { method: 'PATCH', body: { name: 'u3b', admin: true } });
    assert.equal(renamed.status, 200);
    const model = (await renamed.json()) as { name: string; admin: boolean; roles: string[] };
    assert.equal(model.name, 'u3b');
    assert.equal(model.admin, true);
    assert.ok(model.roles.includes('admin'));
    assert.equal((await api('/users/u3')).status, 404);
    const clash = await api('/users/u3b', { method: 'PATCH', body: { name: 'u2' } });
    assert.equal(clash.status, 400);
    const badField = await api('/users/u3b', { method: 'PATCH', body: { created: 'now' } });
    assert.equal(badField.status, 400);
    await api('/users/u3b/server', { method: 'POST' });
    const events = await readEventStream(await api('/users/u3b/server/progress'));
    assert.equal(events.at(-1)!.ready, true);
    const state = ((await (await api('/users/u3b')).json()) as { servers: Record<string, { state: { port: number } }> }).servers['']!.state;
    const own = `${serverAddress(state)}/jh/user/u3b/api`;
    assert.equal(await answersHttp(own), true, 'the server answers at its own address');
    assert.equal((await api('/users/u3b', { method: 'DELETE' })).status, 204);
    assert.equal((await api('/users/u3b')).status, 404);
    // The mock exits 150 ms after SIGTERM and listens until then: a 204 sent before the stop ended would show here.
    assert.equal(await answersHttp(own), false, 'deleting a user stops their server before answering');
  });

  await t.test('named servers: start, progress, limit, stop and remove', async () => {
    const start = await api('/users/u1/servers/gpu', { method: 'POST', body: {} });
    assert.ok([201, 202].includes(start.status));
    const events = await readEventStream(await api('/users/u1/servers/gpu/progress'));
    assert.equal(events.at(-1)!.url, '/jh/user/u1/gpu/');
    const through = await fetch(`${hub.url}user/u1/gpu/env`);
    assert.equal(through.status, 200);
    const env = ((await through.json()) as { env: Record<string, string> }).env;
    assert.equal(env.JUPYTERHUB_SERVICE_PREFIX, '/jh/user/u1/gpu/');
    assert.equal(env.JUPYTERHUB_SERVER_NAME, 'gpu');
    assert.equal(env.JUPYTERHUB_BASE_URL, '/jh/');
    assert.equal(env.JUPYTERHUB_CLIENT_ID, 'jupyterhub-user-u1|gpu');
    assert.equal(env.JUPYTERHUB_OAUTH_CALLBACK_URL, '/jh/user/u1/gpu/oauth_callback');
    assert.deepEqual(JSON.parse(env.JUPYTERHUB_OAUTH_ACCESS_SCOPES!), ['access:servers!server=u1/gpu', 'access:servers!user=u1']);
    assert.match(env.JUPYTERHUB_API_URL!, /\/jh\/hub\/api$/);
    assert.match(env.JUPYTERHUB_ACTIVITY_URL!, /\/jh\/hub\/api\/users\/u1\/activity$/);
    const ready = (await (await api('/users?state=ready')).json()) as Array<{ name: string }>;
    assert.deepEqual(ready.map((u) => u.name), ['u1']);
    const two = await api('/users/u1/servers/two', { method: 'POST' });
    assert.ok([201, 202].includes(two.status), `second named server answered ${two.status}`);
    await readEventStream(await api('/users/u1/servers/two/progress'));
    const third = await api('/users/u1/servers/three', { method: 'POST' });
    assert.equal(third.status, 400);
    assert.match(((await third.json()) as { message: string }).message, /maximum of 2 named servers/);
    assert.equal((await api('/users/u1/servers/two', { method: 'DELETE', body: { remove: true } })).status, 204);
    const model = (await (await api('/users/u1?include_stopped_servers=1')).json()) as { servers: Record<string, unknown> };
    assert.deepEqual(Object.keys(model.servers).sort(), ['', 'gpu']);
    assert.equal((await api('/users/u1/server', { method: 'DELETE', body: { remove: true } })).status, 400);
  });

  await t.test('activity reports update last_activity; bad timestamps are refused', async () => {
    const ts = '2030-01-02T03:04:05.000Z';
    const ok = await api('/users/u1/activity', { method: 'POST', body: { last_activity: ts, servers: { gpu: { last_activity: ts } } } });
    assert.equal(ok.status, 200);
    const model = (await (await api('/users/u1')).json()) as { last_activity: string; servers: Record<string, { last_activity: string }> };
    assert.equal(model.last_activity, ts);
    assert.equal(model.servers.gpu!.last_activity, ts);
    const bad = await api('/users/u1/activity', { method: 'POST', body: { last_activity: 'yesterday' } });
    assert.equal(bad.status, 400);
    const unknown = await api('/users/u1/activity', { method: 'POST', body: { servers: { nope: { last_activity: ts } } } });
    assert.equal(unknown.status, 400);
  });

  await t.test('a server that dies is noticed and loses its route', async () => {
    const model = (await (await api('/users/u1')).json()) as { servers: Record<string, { state: { pid: number } }> };
    // The crash itself: the server's process is killed, as the OOM killer would.
    process.kill(model.servers.gpu!.state.pid, 'SIGKILL');
    await waitFor(async () => {
      const m = (await (await api('/users/u1')).json()) as { servers: Record<string, unknown> };
      return !('gpu' in m.servers);
    }, 30_000, 'the hub to notice the crash');
    const through = await fetch(`${hub.url}user/u1/gpu/env`, { redirect: 'manual' });
    assert.equal(through.status, 302, 'the proxy no longer sends requests to the dead server: the hub takes them');
    assert.equal(through.headers.get('location'), '/jh/hub/user/u1/gpu/env');
    const routes = (await (await api('/proxy')).json()) as Record<string, unknown>;
    assert.ok(!('/jh/user/u1/gpu/' in routes));
  });

  await t.test('a person logs in with the form; user-redirect and spawn pages lead to their server', async () => {
    const person = new CookieSession(`http://127.0.0.1:${port}`);
    const jar = person.jar;
    const browse = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => person.fetch(url, init);
    const form = await (await browse('/jh/hub/login?next=%2Fjh%2Fhub%2Fuser-redirect%2Ftree%3Fa%3Db')).text();
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(form)![1]!;
    const login = await browse('/jh/hub/login?next=%2Fjh%2Fhub%2Fuser-redirect%2Ftree%3Fa%3Db', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'Dana', password: 'x', _xsrf: xsrf }).toString(),
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), '/jh/hub/user-redirect/tree?a=b');
    assert.ok(jar.has('jupyterhub-hub-login'), 'signed login cookie set');
    const redirect = await browse('/jh/hub/user-redirect/tree?a=b');
    assert.equal(redirect.headers.get('location'), '/jh/user/dana/tree?a=b', 'names are normalised to lower case');
    // Not running: /user/dana/… goes to the hub, which starts the server and shows the pending page.
    const viaUser = await browse('/jh/user/dana/tree?a=b');
    assert.equal(viaUser.headers.get('location'), '/jh/hub/user/dana/tree?a=b');
    const hubUser = await browse('/jh/hub/user/dana/tree?a=b', { headers: { accept: 'text/html' } });
    assert.equal(hubUser.status, 302);
    assert.match(hubUser.headers.get('location')!, /^\/jh\/hub\/spawn\/dana\?next=/);
    const spawn = await browse(hubUser.headers.get('location')!);
    assert.match(spawn.headers.get('location')!, /^\/jh\/hub\/spawn-pending\/dana\?next=%2Fjh%2Fuser%2Fdana%2Ftree/);
    const pending = await browse(spawn.headers.get('location')!);
    assert.ok([200, 302].includes(pending.status));
    const progress = await browse('/jh/hub/api/users/dana/server/progress');
    const events = await readEventStream(progress);
    assert.equal(events.at(-1)!.ready, true);
    const done = await browse(spawn.headers.get('location')!);
    assert.equal(done.status, 302);
    assert.equal(done.headers.get('location'), '/jh/user/dana/tree?a=b');
    // A cookie-authenticated API write needs the XSRF header.
    const noXsrf = await browse('/jh/hub/api/users/dana/server', { method: 'DELETE' });
    assert.equal(noXsrf.status, 403);
    // The login form's token belonged to the session before the login: the login started a new one.
    const stale = await browse('/jh/hub/api/users/dana/server', { method: 'DELETE', headers: { 'X-XSRFToken': xsrf } });
    assert.equal(stale.status, 403);
    const homePage = await (await browse('/jh/hub/home')).text();
    const current = /name="xsrf-token" content="([^"]+)"/.exec(homePage)![1]!;
    assert.notEqual(current, xsrf);
    const stop = await browse('/jh/hub/api/users/dana/server', { method: 'DELETE', headers: { 'X-XSRFToken': current } });
    assert.equal(stop.status, 204);
    // Another user's server is not reachable through the hub's pages.
    const other = await browse('/jh/hub/user/u1/', { headers: { accept: 'text/html' } });
    assert.equal(other.status, 403);
    const logout = await browse('/jh/hub/logout');
    assert.equal(logout.headers.get('location'), '/jh/hub/login');
    assert.ok(!jar.has('jupyterhub-hub-login'));
    const home = await browse('/jh/hub/home');
    assert.match(home.headers.get('location')!, /^\/jh\/hub\/login\?next=/);
  });

  await t.test('a managed service is proxied, uses its token, and is restarted when it dies', async () => {
    let first: { pid: number; users: string[]; path: string } | undefined;
    await waitFor(async () => {
      const r = await fetch(`${hub.url}services/echo/hello?x=1`).catch(() => null);
      if (r?.status !== 200) return false;
      first = (await r.json()) as typeof first;
      return true;
    }, 30_000, 'the service to answer');
    assert.equal(first!.path, '/jh/services/echo/hello?x=1');
    assert.ok(first!.users.includes('u1'), JSON.stringify(first));
    process.kill(first!.pid, 'SIGKILL');
    await waitFor(async () => {
      const r = await fetch(`${hub.url}services/echo/`).catch(() => null);
      return r?.status === 200 && ((await r.json()) as { pid: number }).pid !== first!.pid;
    }, 30_000, 'the service to be restarted');
  });
});
