import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { basicPassword, SitePassword } from '../../src/http/site-password.js';

const KNOWN_TOKEN = 'a-token-the-hub-issued';
const gate = () =>
  new SitePassword(
    { password: 'right-password', realm: 'W', max_failures: 2, window: 60 },
    Buffer.alloc(32, 7),
    { base: '/jh/', health: '/jh/hub/health', api: '/jh/hub/api/', tokenPaths: ['/jh/hub/api/', '/jh/user/'] },
    true,
    async (token) => token === KNOWN_TOKEN,
  );
const req = (url: string, authorization?: string) => ({ url, headers: authorization ? { authorization } : {} }) as unknown as http.IncomingMessage;
const basic = (p: string) => `Basic ${Buffer.from(`u:${p}`).toString('base64')}`;

test('basicPassword takes what follows the first colon, any user name', () => {
  assert.equal(basicPassword(basic('a:b c')), 'a:b c');
  assert.equal(basicPassword(`Basic ${Buffer.from('nocolon').toString('base64')}`), null);
  assert.equal(basicPassword('token abc'), null);
  assert.equal(basicPassword(''), null);
});

test('the guessing limit counts per address and ends with its window', async () => {
  const g = gate();
  const t0 = 1_000_000;
  assert.equal((await g.check(req('/jh/hub/login', basic('x')), '10.0.0.1', t0)).pass, false);
  assert.equal((await g.check(req('/jh/hub/login', basic('y')), '10.0.0.1', t0 + 1)).pass, false);
  const blocked = await g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.1', t0 + 2);
  assert.equal(blocked.pass ? 0 : blocked.status, 429);
  assert.equal((await g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.2', t0 + 2)).pass, true, 'another address is not blocked');
  const later = await g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.1', t0 + 61_000);
  assert.equal(later.pass, true, 'after the window the right password works again');
  assert.match(later.pass ? (later.setCookie ?? '') : '', /^ganymede-site=[\w-]+; Path=\/jh\/; HttpOnly; SameSite=Lax; Secure$/);
  assert.equal((await g.check(req('/jh/hub/health'), '10.0.0.1', t0)).pass, true);
  const api = await g.check(req('/jh/hub/api/users'), '10.0.0.3', t0);
  assert.equal(api.pass ? '' : api.headers['Content-Type'], 'application/json');
});

test('a token lets a request past the password only where tokens are checked, and only a token the hub knows', async () => {
  const g = gate();
  const pass = async (url: string, auth: string) => (await g.check(req(url, auth), '10.0.0.9', 1)).pass;
  assert.equal(await pass('/jh/hub/api/users', `token ${KNOWN_TOKEN}`), true);
  assert.equal(await pass('/jh/user/alice/api/contents', `Bearer ${KNOWN_TOKEN}`), true);
  // A made-up token used to open every path (tmplogin handed out a login cookie and a server).
  assert.equal(await pass('/jh/hub/api/users', 'token whatever'), false);
  assert.equal(await pass('/jh/user/alice/api/contents', 'token whatever'), false);
  // Pages judge people by the login cookie, not by tokens: the password is still needed there.
  assert.equal(await pass('/jh/hub/tmplogin', `token ${KNOWN_TOKEN}`), false);
  assert.equal(await pass('/jh/hub/login', `token ${KNOWN_TOKEN}`), false);
});
