/**
 * The site-wide password (top-level `shared_password`) in front of a hub process: HTTP Basic on every
 * path but /hub/health and the API root; API tokens pass to their own check; a signed cookie (Secure,
 * as public_url is https) stands for the password afterwards, WebSocket upgrades included. Wrong
 * guesses create nothing and are limited per client for `window` seconds of the hub's clock; the
 * client is the address X-Forwarded-For gives only when the peer is a trusted proxy (the default
 * trusted_proxies: loopback 127.0.0.1), so a client that is not one cannot escape the limit, or lock
 * out someone else, with a forged X-Forwarded-For. One hub serves every test; each test guesses as
 * clients of its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';
import { requestFrom } from '../helpers/http-from.js';

const PASSWORD = 'open sesame 42';
const WINDOW_S = 3600;
const basic = (password: string, user = 'anyone') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** The trusted reverse proxy (loopback, the default trusted_proxies) and a client that is no proxy. */
const PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';

let hub: HubProcess;
before(async () => {
  hub = await startHub({
    clock: {},
    config: {
      ...adminServiceConfig(),
      public_url: 'https://workshop.example.org/',
      shared_password: { password: PASSWORD, realm: 'Workshop', max_failures: 3, window: WINDOW_S },
    },
  });
});
after(() => hub?.stop());

/** GET (or POST) `path` from `from`, e.g. as the proxy forwarding a participant's address. */
function send(from: string, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return requestFrom(from, `${hub.url}${path}`, { method, headers });
}
const guess = (from: string, password: string, forwardedFor?: string) =>
  send(from, 'hub/login', { Authorization: basic(password), ...(forwardedFor ? { 'X-Forwarded-For': forwardedFor } : {}) });

test('every path but health and the API root needs the password; an API token goes to its own check', async () => {
  assert.equal((await send(PROXY, 'hub/health')).status, 200, 'uptime checks work without the password');
  // The API root (the hub's version) stays open: jupyterhub-singleuser asks it without a token at start.
  assert.equal((await send(PROXY, 'hub/api')).status, 200);
  for (const path of ['hub/login', 'hub/home', 'user/alice/lab', 'hub/api/users', 'hub/static/ganymede.css', '']) {
    const res = await send(PROXY, path);
    assert.equal(res.status, 401, path);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="Workshop", charset="UTF-8"', path);
  }
  assert.deepEqual(JSON.parse((await send(PROXY, 'hub/api/users')).text), { status: 401, message: 'This hub needs the workshop password.' });
  assert.match((await send(PROXY, 'hub/login')).text, /<h1>Password needed<\/h1>/);

  assert.equal((await send(PROXY, 'hub/api/users', { Authorization: `token ${ADMIN_TOKEN}` })).status, 200);
  // A token the hub does not know opens nothing: before, any `token …` header passed the password.
  assert.equal((await send(PROXY, 'hub/api/users', { Authorization: 'token not-a-token' })).status, 401);
});

test('a token opens no page: the login pages still need the password, whatever token comes with the request', async () => {
  for (const auth of ['token whatever', 'Bearer whatever', `token ${ADMIN_TOKEN}`]) {
    const res = await send(PROXY, 'hub/login', { Authorization: auth });
    assert.equal(res.status, 401, auth);
    assert.equal(res.headers['set-cookie'], undefined, `${auth}: no cookie of any kind`);
  }
});

test('the right password, any user name, gives a Secure site cookie that alone lets requests and WebSockets through', async () => {
  const ok = await guess(PROXY, PASSWORD);
  assert.equal(ok.status, 200);
  const cookie = ok.cookies.find((c) => c.startsWith('ganymede-site='));
  assert.ok(cookie, 'a site cookie is set');
  // Secure because public_url is https, although the hub itself is reached over http.
  assert.match(cookie!, /^ganymede-site=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
  const pair = cookie!.split(';')[0]!;
  assert.equal((await send(PROXY, 'hub/login', { Cookie: pair })).status, 200);
  assert.equal((await send(PROXY, 'hub/login', { Cookie: 'ganymede-site=forged' })).status, 401);

  // A WebSocket upgrade: refused before anything else without the cookie; with it, it reaches the
  // route table (no server runs, hence 503).
  assert.match(await rawUpgrade(hub.port, '/user/alice/api/kernels/x/channels'), /^HTTP\/1\.1 401 /);
  assert.match(await rawUpgrade(hub.port, '/user/alice/api/kernels/x/channels', pair), /^HTTP\/1\.1 503 /);
});

test('wrong guesses create nothing; after max_failures a client gets 429, others behind the trusted proxy do not', async () => {
  const before = (await hub.api('/users', { token: ADMIN_TOKEN })).json.length;
  for (let i = 0; i < 3; i++) {
    const wrong = await send(PROXY, 'hub/login', { Authorization: basic(`guess-${i}`), 'X-Forwarded-For': '203.0.113.9', 'Content-Type': 'application/x-www-form-urlencoded' }, 'POST');
    assert.equal(wrong.status, 401);
  }
  const limited = await guess(PROXY, PASSWORD, '203.0.113.9');
  assert.equal(limited.status, 429, 'the right password too, once the limit is reached');
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.equal((await guess(PROXY, PASSWORD, '203.0.113.10')).status, 200, 'another participant behind the same proxy is not locked out');
  assert.equal((await send(PROXY, 'hub/health')).status, 200, 'health stays open');
  assert.equal((await hub.api('/users', { token: ADMIN_TOKEN })).json.length, before, 'no user was created');
});

test('a client that is not a trusted proxy is counted by its own address, whatever X-Forwarded-For it sends', async () => {
  // Each guess claims to come from someone else.
  for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) assert.equal((await guess(STRANGER, 'wrong', forged)).status, 401);
  assert.equal((await guess(STRANGER, PASSWORD, '198.51.100.4')).status, 429, 'a fresh X-Forwarded-For does not escape the limit');
  assert.equal((await guess(STRANGER, PASSWORD)).status, 429);
  // The forged addresses were not counted: the participant really at 198.51.100.1 still gets in.
  assert.equal((await guess(PROXY, PASSWORD, '198.51.100.1')).status, 200);
  assert.equal((await guess('127.0.0.3', PASSWORD)).status, 200, 'another direct client is not locked out');
});

test('a locked-out client gets in again once `window` seconds of the hub clock have passed', async () => {
  const who = '203.0.113.50';
  for (let i = 0; i < 3; i++) assert.equal((await guess(PROXY, `nope-${i}`, who)).status, 401);
  const locked = await guess(PROXY, PASSWORD, who);
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers['retry-after']) > 60, `Retry-After ${locked.headers['retry-after']} counts down from the hour`);

  await hub.advanceClock((WINDOW_S - 60) * 1000);
  const nearly = await guess(PROXY, PASSWORD, who);
  assert.equal(nearly.status, 429, 'a minute before the window ends the client still waits');
  const left = Number(nearly.headers['retry-after']);
  assert.ok(left >= 1 && left <= 60, `Retry-After ${left} is the minute left`);

  await hub.advanceClock(60_000);
  assert.equal((await guess(PROXY, PASSWORD, who)).status, 200, 'the window has passed');
});

function rawUpgrade(port: number, path: string, cookie?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const cookieLine = cookie ? `Cookie: ${cookie}\r\n` : '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookieLine}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
