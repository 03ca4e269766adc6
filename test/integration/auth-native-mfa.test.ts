/** `native.require_mfa` keeps a person on the two-factor enrolment page until they have set it up: pages, the API and the OAuth provider. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';

test('require_mfa: enrolment before anything else', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: { authenticator: { class: 'native', native: { require_approval: false, require_mfa: true } } } });
  t.after(() => hub.stop());
  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const signup = await (await browser.fetch('/hub/signup')).text();
  assert.equal((await browser.postForm('/hub/signup', { username: 'fay', password: 'Long-Enough-1', password2: 'Long-Enough-1' }, signup)).status, 200);

  const form = await (await browser.fetch('/hub/login')).text();
  const login = await browser.postForm('/hub/login?next=%2Fhub%2Ftoken', { username: 'fay', password: 'Long-Enough-1' }, form);
  assert.equal(login.status, 302);
  assert.equal(login.headers.get('location'), '/hub/totp?next=%2Fhub%2Ftoken', 'straight to enrolment after login');
  for (const page of ['/hub/home', '/hub/token', '/hub/spawn']) {
    const res = await browser.fetch(page);
    assert.equal(res.status, 302, page);
    assert.equal(res.headers.get('location'), '/hub/totp', `${page} waits for enrolment`);
  }
  assert.equal((await browser.fetch('/hub/health')).status, 200, 'the liveness check does not wait for anyone');

  const enrol = await (await browser.fetch('/hub/totp')).text();
  // The API and the OAuth provider wait for enrolment too (before, only pages did).
  const xsrf = /name="xsrf-token" content="([^"]+)"/.exec(enrol)![1]!;
  const me = await browser.fetch('/hub/api/user', { headers: { 'X-XSRFToken': xsrf } });
  assert.equal(me.status, 403);
  assert.match(((await me.json()) as { message: string }).message, /Finish setting up your login first: \/hub\/totp/);
  const start = await browser.fetch('/hub/api/users/fay/server', { method: 'POST', headers: { 'X-XSRFToken': xsrf } });
  assert.equal(start.status, 403, 'no server before enrolment');
  const token = await browser.fetch('/hub/api/users/fay/tokens', { method: 'POST', headers: { 'X-XSRFToken': xsrf, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(token.status, 403, 'no token before enrolment');
  const authorize = await browser.fetch('/hub/api/oauth2/authorize?client_id=jupyterhub-user-fay&response_type=code');
  assert.equal(authorize.status, 302);
  assert.equal(authorize.headers.get('location'), '/hub/totp', 'no OAuth code before enrolment');
  const secret = /id="totp-secret">([A-Z2-7]+)</.exec(enrol)?.[1];
  assert.ok(secret, 'the key is shown');
  const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate();
  const done = await browser.postForm('/hub/totp', { action: 'confirm', code }, enrol);
  assert.equal(done.status, 200);
  assert.match(await done.text(), /recovery codes/);
  assert.equal((await browser.fetch('/hub/home')).status, 200, 'the hub opens once enrolled');
});
