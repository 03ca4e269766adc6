/**
 * Limits on guessing, through one hub (native accounts, an OAuth service, the hub's controlled clock):
 * - parallel wrong passwords all count toward the native lock-out (a read-then-write count let
 *   12 parallel guesses leave it at 1, so the account never locked);
 * - wrong logins are limited per account and per client address (X-Forwarded-For from the trusted
 *   proxy), for every authenticator: past the limit, 429 with Retry-After, right password or not,
 *   until the window has passed; another account and another client are not held up by it;
 * - wrong OAuth client credentials at /hub/api/oauth2/token are limited per client the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession, navigate } from '../helpers/cookie-session.js';

const PASSWORD = 'Long-Enough-1';
const WINDOW_S = 60;
const SERVICE_TOKEN = 'e'.repeat(48);

test('guessing is limited per account and per client, and parallel guesses lock a native account', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: {
      authenticator: { class: 'native', native: { require_approval: false, lockout_attempts: 5, lockout_minutes: 30 } },
      guess_limits: { max_failures_per_client: 8, max_failures_per_account: 3, window: WINDOW_S },
      services: [{ name: 'notes', url: 'http://127.0.0.1:9', api_token: SERVICE_TOKEN }],
    },
  });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;
  const signupAs = async (name: string) => {
    const b = new CookieSession(origin);
    const form = await (await b.fetch('/hub/signup')).text();
    assert.equal((await b.postForm('/hub/signup', { username: name, password: PASSWORD, password2: PASSWORD }, form)).status, 200);
  };
  /** One login attempt as the client `client` (the trusted proxy's X-Forwarded-For). */
  const attempt = async (name: string, password: string, client: string) => {
    const b = new CookieSession(origin);
    const form = await (await b.fetch('/hub/login', { headers: { 'x-forwarded-for': client } })).text();
    const res = await b.fetch('/hub/login', {
      method: 'POST',
      headers: { 'x-forwarded-for': client, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: name, password, _xsrf: CookieSession.xsrfOf(form) }).toString(),
    });
    return { status: res.status, retry: res.headers.get('retry-after'), text: await res.text() };
  };
  for (const name of ['ann', 'ben', 'cat']) await signupAs(name);

  await t.test('parallel wrong passwords all count: the native account locks', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt('ann', `wrong-${i}`, `10.1.0.${i + 1}`)));
    assert.ok(results.every((r) => r.status === 403 || r.status === 429), results.map((r) => r.status).join(' '));
    // Past the guess limits' window, the native lock-out (30 minutes) still holds, even for the right password.
    await hub.advanceClock((WINDOW_S + 1) * 1000);
    const right = await attempt('ann', PASSWORD, '10.1.1.1');
    assert.equal(right.status, 403);
    assert.match(right.text, /locked/);
  });

  await t.test('wrong logins for one account: 429 with Retry-After past the limit, for that account only', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await attempt('ben', 'wrong', `10.2.0.${i + 1}`)).status, 403);
    const blocked = await attempt('ben', PASSWORD, '10.2.0.9');
    assert.equal(blocked.status, 429, 'the right password waits too');
    assert.ok(Number(blocked.retry) > 0 && Number(blocked.retry) <= WINDOW_S, `Retry-After ${blocked.retry}`);
    assert.match(blocked.text, /Too many failed attempts/);
    assert.equal((await attempt('cat', PASSWORD, '10.2.0.9')).status, 302, 'another account logs in');
    await hub.advanceClock((WINDOW_S + 1) * 1000);
    assert.equal((await attempt('ben', PASSWORD, '10.2.0.9')).status, 302, 'after the window the right password works');
  });

  await t.test('wrong logins from one client: 429 past the limit, whatever the account; other clients go on', async () => {
    const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8'];
    for (const name of names) assert.equal((await attempt(name, 'wrong', '10.3.0.1')).status, 403, name);
    assert.equal((await attempt('cat', PASSWORD, '10.3.0.1')).status, 429);
    assert.equal((await attempt('cat', PASSWORD, '10.3.0.2')).status, 302);
  });

  await t.test('wrong OAuth client secrets from one client: 429 past the limit; stale codes and the hub\'s own servers are not counted', async () => {
    const exchange = (secret: string, client?: string) =>
      navigate(`${origin}/hub/api/oauth2/token`, {
        method: 'POST',
        headers: client ? { 'x-forwarded-for': client } : {},
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'service-notes', client_secret: secret, code: 'nothing' }),
      });
    for (let i = 0; i < 8; i++) assert.equal((await exchange(`wrong-${i}`, '10.4.0.1')).status, 401);
    const blocked = await exchange(SERVICE_TOKEN, '10.4.0.1');
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.equal(((await blocked.json()) as { error: string }).error, 'too_many_requests');
    // A right secret with a stale code (a browser's back button) is no guess.
    for (let i = 0; i < 10; i++) assert.equal((await exchange(SERVICE_TOKEN, '10.4.0.2')).status, 400);
    // Servers on this host ask from loopback: one of them failing cannot lock the others out.
    for (let i = 0; i < 10; i++) assert.equal((await exchange(`wrong-${i}`)).status, 401);
    assert.equal((await exchange(SERVICE_TOKEN)).status, 400, 'not 429: loopback is not counted');
  });
});
