/**
 * The hub's defences against a hostile page on the same origin and against crafted links, through
 * one hub process and HTTP (the browser version of the first attack is in
 * test/browser/same-origin-attack.test.ts):
 * - the login cookie opens hub pages only for navigations, never for a script's fetch, and every
 *   cookie-authenticated API request a script can read needs the XSRF token, GETs included;
 * - the XSRF token is bound to the login: the token of the login form is worthless after the login,
 *   and the session id changes at every login (an id planted before it is worth nothing);
 * - the session cookie lives under /hub/, so user servers never receive it;
 * - every answer of the hub forbids framing and cuts off window.open() openers;
 * - `next` leads only to paths under the base URL (no tab, newline or backslash tricks), and odd
 *   characters in it give no 500;
 * - OAuth redirect URIs match the registered one exactly, and the token request must repeat it;
 * - a link from another site neither starts a server nor logs anyone out by itself: it shows a button;
 * - odd input (a server named `..`, a stray `%` in OAuth client credentials) gets a 4xx, not a 500;
 * - a client that is not a trusted proxy holds at most max_connections_per_client connections, and
 *   one that trickles its headers in is cut off after 15 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession, navigate } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';

const SERVICE_TOKEN = 'f'.repeat(48);
/** Not a trusted proxy (those are 127.0.0.1 and ::1 by default): its connections are counted. */
const STRANGER = '127.0.0.2';

/** A raw connection from `localAddress`; resolves once connected. */
async function connectFrom(localAddress: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  await once(socket, 'connect');
  return socket;
}

/** Resolves with how many ms the peer took to close `socket` (at most `limitMs`, else rejects). */
function closedWithin(socket: net.Socket, limitMs: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${limitMs} ms`)), limitMs);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
    socket.resume();
  });
}
const xsrfOf = (page: string) => /name="xsrf-token" content="([^"]+)"/.exec(page)?.[1] ?? assert.fail('the page carries its XSRF token');

test('same-origin scripts, crafted links and OAuth redirects get nothing from the hub', { timeout: 120_000 }, async (t) => {
  const servicePort = await freePort();
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      allow_named_servers: true,
      max_connections_per_client: 3,
      spawner: { class: 'local-process', cmd: [process.execPath, path.resolve('test/fixtures/mock-singleuser.mjs')] },
      services: [
        { name: 'test-admin', api_token: ADMIN_TOKEN },
        { name: 'notes', url: `http://127.0.0.1:${servicePort}`, api_token: SERVICE_TOKEN, oauth_no_confirm: true },
      ],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        { name: 'user', scopes: ['self', 'access:services'] },
      ],
    },
  });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;
  const bob = new CookieSession(origin);

  await t.test('the session id is new at login and lives under /hub/; the login form token is worthless afterwards', async () => {
    const formRes = await bob.fetch('/hub/login');
    const sessionCookie = formRes.headers.getSetCookie().find((c) => c.startsWith('jupyterhub-session-id='));
    assert.ok(sessionCookie, 'the login page starts a session');
    assert.match(sessionCookie, /; Path=\/hub\/(;|$)/, 'user servers (/user/…) never receive the session id');
    const planted = bob.jar.get('jupyterhub-session-id');
    const form = await formRes.text();
    const loginXsrf = xsrfOf(form);
    const login = await bob.postForm('/hub/login', { username: 'bob', password: '' }, form);
    assert.equal(login.status, 302);
    assert.notEqual(bob.jar.get('jupyterhub-session-id'), planted, 'a new session id at login (no session fixation)');
    const res = await bob.fetch('/hub/api/users/bob/tokens', { method: 'POST', headers: { 'X-XSRFToken': loginXsrf, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 403, 'the token of the form before the login does not work after it');
  });

  await t.test("a script's fetch of a hub page is answered as if nobody were logged in", async () => {
    const asScript = await bob.fetch('/hub/home', { headers: { 'sec-fetch-mode': 'cors' } });
    assert.equal(asScript.status, 302);
    assert.match(asScript.headers.get('location') ?? '', /^\/hub\/login\?next=/);
    const sameOrigin = await bob.fetch('/hub/token', { headers: { 'sec-fetch-mode': 'same-origin' } });
    assert.equal(sameOrigin.status, 302);
    const page = await bob.fetch('/hub/home');
    assert.equal(page.status, 200, 'a navigation opens the page');
    assert.ok(xsrfOf(await page.text()));
  });

  await t.test('cookie-authenticated API calls that a script can read need the XSRF token, GETs included', async () => {
    const xsrf = xsrfOf(await (await bob.fetch('/hub/home')).text());
    const read = (headers: Record<string, string>) => bob.fetch('/hub/api/user', { headers });
    assert.equal((await read({ 'sec-fetch-mode': 'cors' })).status, 403);
    assert.equal((await read({ 'sec-fetch-mode': 'same-origin' })).status, 403);
    const refused = await read({ 'sec-fetch-mode': 'cors' });
    assert.match(((await refused.json()) as { message: string }).message, /'_xsrf' argument missing from GET/);
    assert.equal((await read({ 'sec-fetch-mode': 'cors', 'X-XSRFToken': xsrf })).status, 200);
    assert.equal((await bob.fetch(`/hub/api/user?_xsrf=${xsrf}`, { headers: { 'sec-fetch-mode': 'cors' } })).status, 200, 'EventSource passes it in the query');
    // As JupyterHub: a navigation to an API URL (nothing a script can read) needs no token.
    assert.equal((await read({ 'sec-fetch-mode': 'navigate' })).status, 200);
    const create = (headers: Record<string, string>) =>
      bob.fetch('/hub/api/users/bob/tokens', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"note":"x"}' });
    assert.equal((await create({ 'sec-fetch-mode': 'cors' })).status, 403);
    assert.equal((await create({ 'sec-fetch-mode': 'no-cors' })).status, 403, 'a write needs the token in every mode');
    assert.equal((await create({ 'sec-fetch-mode': 'navigate' })).status, 403);
    assert.equal((await create({ 'sec-fetch-mode': 'cors', 'X-XSRFToken': xsrf })).status, 201);
  });

  await t.test('every answer of the hub forbids framing, cuts off openers and stops sniffing', async () => {
    for (const path of ['/hub/login', '/hub/home', '/hub/api/', '/hub/static/ganymede.css', '/hub/no-such-page', '/hub/api/no-such-thing']) {
      const res = await bob.fetch(path);
      assert.equal(res.headers.get('content-security-policy'), "frame-ancestors 'none'", path);
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
    }
  });

  await t.test('next leads only to paths under the base URL, and odd characters give no 500', async () => {
    for (const next of ['/\t/evil.example', '//evil.example', '/\\evil.example', 'https://evil.example/', '/\r\nX-Injected: 1']) {
      const res = await bob.fetch(`/hub/login?next=${encodeURIComponent(next)}`);
      assert.equal(res.status, 302, JSON.stringify(next));
      const location = res.headers.get('location') ?? '';
      assert.ok(new URL(location, origin).origin === origin, `${JSON.stringify(next)} → ${location}`);
      assert.doesNotMatch(location, /evil/, JSON.stringify(next));
      assert.equal(res.headers.get('x-injected'), null);
    }
    const nonLatin = await bob.fetch(`/hub/login?next=${encodeURIComponent('/user/bob/tree/Übung ✓')}`);
    assert.equal(nonLatin.status, 302);
    assert.equal(nonLatin.headers.get('location'), '/user/bob/tree/%C3%9Cbung%20%E2%9C%93');
  });

  await t.test('an OAuth redirect_uri must be the registered one; the token request must repeat it', async () => {
    const authorize = (redirectUri: string | null) =>
      bob.fetch(`/hub/api/oauth2/authorize?${new URLSearchParams({ client_id: 'service-notes', response_type: 'code', state: 's', ...(redirectUri === null ? {} : { redirect_uri: redirectUri }) })}`);
    for (const evil of [
      'http://evil.example/services/notes/oauth_callback',
      '//evil.example/services/notes/oauth_callback',
      'javascript:/services/notes/oauth_callback',
      `${origin}/services/notes/oauth_callback?next=//evil.example`,
      `http://user@127.0.0.1:${hub.port}/services/notes/oauth_callback`,
    ]) {
      const res = await authorize(evil);
      assert.equal(res.status, 400, evil);
      assert.equal(res.headers.get('location'), null, evil);
    }
    const exchange = (code: string, redirectUri?: string) =>
      navigate(`${origin}/hub/api/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'service-notes', client_secret: SERVICE_TOKEN, code, ...(redirectUri ? { redirect_uri: redirectUri } : {}) }),
      });
    const codeFrom = (res: Response) => new URL(res.headers.get('location')!, origin).searchParams.get('code')!;
    // The registered relative URI, and its absolute form on the hub's own origin.
    const relative = await authorize('/services/notes/oauth_callback');
    assert.equal(relative.status, 302);
    const absolute = await authorize(`${origin}/services/notes/oauth_callback`);
    assert.equal(absolute.status, 302);
    assert.equal(new URL(absolute.headers.get('location')!).origin, origin);

    const missing = await exchange(codeFrom(await authorize('/services/notes/oauth_callback')));
    assert.equal(missing.status, 400, 'the code was asked for with a redirect_uri: the token request must name it');
    assert.equal(((await missing.json()) as { error: string }).error, 'invalid_grant');
    const other = await exchange(codeFrom(relative), `${origin}/services/notes/oauth_callback`);
    assert.equal(other.status, 400, 'not the same string as in the authorization request');
    const good = await exchange(codeFrom(absolute), `${origin}/services/notes/oauth_callback`);
    assert.equal(good.status, 200);
    const none = await exchange(codeFrom(await authorize(null)));
    assert.equal(none.status, 200, 'a code asked for without redirect_uri needs none');
  });

  await t.test('a link from another site shows a button instead of starting a server or logging out', async () => {
    const crossSite = { 'sec-fetch-site': 'cross-site' };
    const phase = async () => ((await hub.api('/users/bob', { token: ADMIN_TOKEN })).json as { servers: Record<string, unknown> }).servers[''];
    const spawn = await bob.fetch('/hub/spawn', { headers: crossSite });
    assert.equal(spawn.status, 200);
    const page = await spawn.text();
    assert.match(page, /Start your server\?/);
    assert.equal(await phase(), undefined, 'nothing started');
    // The same link through /user/bob/ (the hub's not-running redirect) leads to the same button.
    const viaUser = await bob.fetch('/hub/user/bob/tree', { headers: { ...crossSite, accept: 'text/html' } });
    assert.match(viaUser.headers.get('location') ?? '', /^\/hub\/spawn\/bob\?next=/);
    assert.equal(await phase(), undefined);
    const started = await bob.postForm('/hub/spawn', {}, page);
    assert.equal(started.status, 302, 'the button starts it');
    assert.ok(await phase(), 'a server row after the click');

    const logout = await bob.fetch('/hub/logout', { headers: crossSite });
    assert.equal(logout.status, 200);
    const confirm = await logout.text();
    assert.match(confirm, /Log out\?/);
    assert.equal((await bob.fetch('/hub/home')).status, 200, 'still logged in');
    assert.equal((await bob.fetch('/hub/logout', { method: 'POST' })).status, 403, 'POST needs the XSRF token');
    const out = await bob.postForm('/hub/logout', {}, confirm);
    assert.equal(out.status, 302);
    assert.equal(bob.jar.has('jupyterhub-hub-login'), false);
    await bob.login('/hub/', 'bob');
    const sameSite = await bob.fetch('/hub/logout', { headers: { 'sec-fetch-site': 'same-origin' } });
    assert.equal(sameSite.status, 302, "the hub's own logout link (and JupyterLab's) works at once");
    await bob.login('/hub/', 'bob');
  });

  await t.test('odd input gets a 4xx with a message, never a 500', async () => {
    // node:http sends the path as written (fetch would resolve the dot segment first, as browsers do).
    for (const name of ['..', '.', '%2e%2e']) {
      const res = await navigate(`${origin}/hub/api/users/bob/servers/${name}`, { method: 'POST', headers: { authorization: `token ${ADMIN_TOKEN}` } });
      assert.equal(res.status, 400, `server name ${name}`);
      assert.match(((await res.json()) as { message: string }).message, /cannot be server names/);
    }
    const stray = await navigate(`${origin}/hub/api/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('service-notes:%zz').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x' }),
    });
    assert.equal(stray.status, 401);
    assert.equal(((await stray.json()) as { error: string }).error, 'invalid_client');
  });

  await t.test('a client that is not a trusted proxy gets max_connections_per_client connections, and slow headers are cut off', async () => {
    const held = [await connectFrom(STRANGER, hub.port), await connectFrom(STRANGER, hub.port), await connectFrom(STRANGER, hub.port)];
    const fourth = await connectFrom(STRANGER, hub.port);
    assert.ok((await closedWithin(fourth, 5_000)) < 5_000, 'the fourth connection is closed at once');
    // The trusted proxy (127.0.0.1) is not limited: everyone's requests come through it.
    const viaProxy = await Promise.all(Array.from({ length: 5 }, () => connectFrom('127.0.0.1', hub.port)));
    // One of the three trickles its request line in and never finishes its headers.
    held[0]!.write('GET /hub/login HTTP/1.1\r\nHost: x\r\n');
    const slow = await closedWithin(held[0]!, 25_000);
    assert.ok(slow >= 10_000, `closed after ${slow} ms: not before the headers timeout`);
    for (const s of [...held, ...viaProxy]) s.destroy();
  });
});
