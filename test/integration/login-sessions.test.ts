/**
 * Logins are server-side sessions (one per browser), not a permanent bearer value, through one hub
 * with native accounts and two-factor authentication:
 * - the login cookie differs at every login, and logout ends that login: a copy of the cookie made
 *   before logout opens nothing afterwards (before, the cookie was the same at every login and a copy
 *   kept working);
 * - "Log out everywhere" (the token page) ends every login of the user, in every browser;
 * - a password change, and turning two-factor on, end the user's other logins;
 * - replacing the second factor needs the password or a current code (before, "restart" turned
 *   two-factor off with neither).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';

const PASSWORD = 'Long-Enough-1';

test('logins end at logout, everywhere on request, and at a password or second-factor change', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({ config: { authenticator: { class: 'native', native: { require_approval: false } } } });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;
  const browser = () => new CookieSession(origin);
  const laptop = browser();
  const signup = await (await laptop.fetch('/hub/signup')).text();
  assert.equal((await laptop.postForm('/hub/signup', { username: 'gina', password: PASSWORD, password2: PASSWORD }, signup)).status, 200);
  const loginAs = async (b: CookieSession, password = PASSWORD, otp?: string) => {
    const form = await (await b.fetch('/hub/login')).text();
    const res = await b.postForm('/hub/login', { username: 'gina', password, ...(otp ? { otp } : {}) }, form);
    assert.equal(res.status, 302, `login: ${res.status}`);
  };
  const loggedIn = async (b: CookieSession) => (await b.fetch('/hub/home')).status === 200;

  await t.test('each login has its own cookie, and logout ends it for every copy', async () => {
    await loginAs(laptop);
    const first = laptop.jar.get('jupyterhub-hub-login');
    const copy = browser();
    copy.jar.set('jupyterhub-hub-login', first!);
    assert.equal(await loggedIn(copy), true, 'a copy works while the login lasts');
    const again = browser();
    await loginAs(again);
    assert.notEqual(again.jar.get('jupyterhub-hub-login')?.split('.')[0], first?.split('.')[0], 'another login, another cookie');
    const logout = await laptop.fetch('/hub/logout');
    assert.equal(logout.status, 302);
    assert.equal(await loggedIn(copy), false, 'the copy made before logout opens nothing now');
    assert.equal(await loggedIn(again), true, 'the other browser stays logged in');
  });

  await t.test('"Log out everywhere" ends every login of the user', async () => {
    const phone = browser();
    const desk = browser();
    await loginAs(phone);
    await loginAs(desk);
    const page = await (await desk.fetch('/hub/token')).text();
    assert.match(page, /id="logout-everywhere"/);
    assert.match(page, /in \d+ browsers or devices/);
    const res = await desk.postForm('/hub/logout', { everywhere: '1' }, page);
    assert.equal(res.status, 302);
    assert.equal(await loggedIn(phone), false);
    assert.equal(await loggedIn(desk), false);
  });

  await t.test('a password change ends the other logins, not this one', async () => {
    const other = browser();
    const here = browser();
    await loginAs(other);
    await loginAs(here);
    const form = await (await here.fetch('/hub/change-password')).text();
    const res = await here.postForm('/hub/change-password', { current: PASSWORD, password: `${PASSWORD}x`, password2: `${PASSWORD}x` }, form);
    assert.equal(res.status, 200);
    assert.equal(await loggedIn(here), true);
    assert.equal(await loggedIn(other), false, 'whoever knew the old password is out');
  });

  await t.test('replacing the second factor needs the password or a current code', async () => {
    const here = browser();
    await loginAs(here, `${PASSWORD}x`);
    const enrol = await (await here.fetch('/hub/totp')).text();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(enrol)![1]!;
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
    const other = browser();
    await loginAs(other, `${PASSWORD}x`);
    assert.equal((await here.postForm('/hub/totp', { action: 'confirm', code: totp.generate() }, enrol)).status, 200);
    assert.equal(await loggedIn(other), false, 'turning two-factor on ends the other logins');

    const on = await (await here.fetch('/hub/totp')).text();
    const refused = await here.postForm('/hub/totp', { action: 'restart' }, on);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /Enter your password or a current code/);
    const wrong = await here.postForm('/hub/totp', { action: 'restart', proof: 'not-it' }, on);
    assert.equal(wrong.status, 403);
    // Still on: logging in needs the code.
    const probe = browser();
    const form = await (await probe.fetch('/hub/login')).text();
    assert.equal((await probe.postForm('/hub/login', { username: 'gina', password: `${PASSWORD}x` }, form)).status, 403);
    const allowed = await here.postForm('/hub/totp', { action: 'restart', proof: `${PASSWORD}x` }, on);
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /id="totp-secret"/);
  });
});
