import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { basicPassword, SitePassword } from '../../src/http/site-password.js';

const gate = () => new SitePassword({ password: 'right-password', realm: 'W', max_failures: 2, window: 60 }, Buffer.alloc(32, 7), { base: '/jh/', health: '/jh/hub/health', api: '/jh/hub/api/' }, true);
const req = (url: string, authorization?: string) => ({ url, headers: authorization ? { authorization } : {} }) as unknown as http.IncomingMessage;
const basic = (p: string) => `Basic ${Buffer.from(`u:${p}`).toString('base64')}`;

test('basicPassword takes what follows the first colon, any user name', () => {
  assert.equal(basicPassword(basic('a:b c')), 'a:b c');
  assert.equal(basicPassword(`Basic ${Buffer.from('nocolon').toString('base64')}`), null);
  assert.equal(basicPassword('token abc'), null);
  assert.equal(basicPassword(''), null);
});

test('the guessing limit counts per address and ends with its window', () => {
  const g = gate();
  const t0 = 1_000_000;
  assert.equal(g.check(req('/jh/hub/login', basic('x')), '10.0.0.1', t0).pass, false);
  assert.equal(g.check(req('/jh/hub/login', basic('y')), '10.0.0.1', t0 + 1).pass, false);
  const blocked = g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.1', t0 + 2);
  assert.equal(blocked.pass ? 0 : blocked.status, 429);
  assert.equal(g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.2', t0 + 2).pass, true, 'another address is not blocked');
  const later = g.check(req('/jh/hub/login', basic('right-password')), '10.0.0.1', t0 + 61_000);
  assert.equal(later.pass, true, 'after the window the right password works again');
  assert.match(later.pass ? (later.setCookie ?? '') : '', /^ganymede-site=[\w-]+; Path=\/jh\/; HttpOnly; SameSite=Lax; Secure$/);
  assert.equal(g.check(req('/jh/hub/health'), '10.0.0.1', t0).pass, true);
  const api = g.check(req('/jh/hub/api/users'), '10.0.0.3', t0);
  assert.equal(api.pass ? '' : api.headers['Content-Type'], 'application/json');
});
