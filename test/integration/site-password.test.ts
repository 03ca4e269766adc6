/**
 * The site-wide password (top-level `shared_password`, issue 9): HTTP Basic in front of every path but
 * /hub/health; API tokens pass to their own check; a signed cookie stands for the password afterwards;
 * wrong guesses are limited per address and create nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

const PASSWORD = 'open sesame 42';
const basic = (password: string, user = 'anyone') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('the site password guards every path but health, once given a cookie stands for it, guesses are limited', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    config: { ...adminServiceConfig(), shared_password: { password: PASSWORD, realm: 'Workshop', max_failures: 3, window: 60 } },
  });
  t.after(() => hub.stop());
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${hub.url}${path}`, { headers, redirect: 'manual' });

  assert.equal((await get('hub/health')).status, 200, 'uptime checks work without the password');
  // The API root (the hub's version) stays open: jupyterhub-singleuser asks it without a token at start.
  assert.equal((await get('hub/api')).status, 200);
  for (const path of ['hub/login', 'hub/home', 'user/alice/lab', 'hub/api/users', 'hub/static/ganymede.css', '']) {
    const res = await get(path);
    assert.equal(res.status, 401, path);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="Workshop", charset="UTF-8"', path);
  }
  const api = await get('hub/api/users');
  assert.deepEqual(await api.json(), { status: 401, message: 'This hub needs the workshop password.' });
  assert.match(await (await get('hub/login')).text(), /<h1>Password needed<\/h1>/);

  // The API with a token: the token decides (the hub's own servers call it so).
  assert.equal((await get('hub/api/users', { Authorization: `token ${ADMIN_TOKEN}` })).status, 200);
  assert.equal((await get('hub/api/users', { Authorization: 'token not-a-token' })).status, 403);

  // The right password, any user name: through, with a cookie that alone lets the next requests through.
  const ok = await get('hub/login', { Authorization: basic(PASSWORD) });
  assert.equal(ok.status, 200);
  const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('ganymede-site='));
  assert.ok(cookie, 'a site cookie is set');
  assert.match(cookie!, /HttpOnly/);
  const pair = cookie!.split(';')[0]!;
  assert.equal((await get('hub/login', { Cookie: pair })).status, 200);
  assert.equal((await get('hub/login', { Cookie: 'ganymede-site=forged' })).status, 401);

  // A WebSocket upgrade without it is refused before anything else happens.
  const upgrade = await rawUpgrade(hub.port, '/user/alice/api/kernels/x/channels');
  assert.match(upgrade, /^HTTP\/1\.1 401 /);

  // Wrong guesses: 401, nothing created; after max_failures, 429 even with the right password.
  const before = (await hub.api('/users', { token: ADMIN_TOKEN })).json.length;
  for (let i = 0; i < 3; i++) {
    // Behind the (trusted) reverse proxy on 127.0.0.1, the client is the address it forwards.
    const wrong = await fetch(`${hub.url}hub/login`, { method: 'POST', headers: { Authorization: basic(`guess-${i}`), 'X-Forwarded-For': '203.0.113.9', 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'username=mallory&password=x' });
    assert.equal(wrong.status, 401);
  }
  const limited = await get('hub/login', { Authorization: basic(PASSWORD), 'X-Forwarded-For': '203.0.113.9' });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  assert.equal((await get('hub/login', { Authorization: basic(PASSWORD), 'X-Forwarded-For': '203.0.113.10' })).status, 200, 'another participant behind the same proxy is not locked out');
  assert.equal((await get('hub/health')).status, 200, 'health stays open');
  assert.equal((await hub.api('/users', { token: ADMIN_TOKEN })).json.length, before, 'no user was created');
});

function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
