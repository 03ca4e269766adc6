/**
 * Native accounts in Chromium: sign-up → admin approval → login → TOTP enrolment → logout →
 * login with a code; a wrong code and a locked-out account are refused with a clear message, and the
 * refusals change nothing (no session, no approval, the lock holds even with the right password).
 * The test computes TOTP codes from the key the enrolment page shows, as an authenticator app would.
 */
import { test } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const ADMIN_PW = 'Adm1n-Passw0rd!';
const DANA_PW = 'Secret-42-pass';

function codeFor(secret: string, offsetSteps = 0): string {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

test('local accounts: sign-up, approval, two-factor login, lock-out', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    config: {
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      authenticator: { class: 'native', admin_users: ['admin'], native: { lockout_attempts: 3, lockout_minutes: 5 } },
    },
  });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const newPage = async () => (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  const url = (p: string) => `${hub.url}hub/${p}`;

  async function signUp(page: Page, name: string, password: string): Promise<string> {
    await page.goto(url('login'));
    await page.click('#signup_link');
    await page.fill('#signup_username', name);
    await page.fill('#signup_password', password);
    await page.fill('#signup_password2', password);
    await page.click('#signup_submit');
    return page.locator('#signup-done, #signup-error:not([hidden])').innerText();
  }
  async function login(page: Page, name: string, password: string, otp = ''): Promise<void> {
    await page.goto(url(`login?next=${encodeURIComponent('/hub/home')}`));
    await page.fill('#username_input', name);
    await page.fill('#password_input', password);
    if (otp) await page.fill('#otp_input', otp);
    await page.click('#login_submit');
    await page.waitForLoadState('load');
  }
  const loginError = (page: Page) => page.locator('#login-error').innerText();

  const dana = await newPage();
  const admin = await newPage();

  await t.test('sign-up: a weak password is refused, then the account waits for approval', async () => {
    assert.match(await signUp(dana, 'dana', 'short'), /at least 10 characters/);
    assert.match(await signUp(dana, 'dana', DANA_PW), /An administrator must approve it/);
    await login(dana, 'dana', DANA_PW);
    assert.match(await loginError(dana), /waiting for an administrator/);
  });

  await t.test('the admin (approved at sign-up) approves dana from the Accounts page', async () => {
    assert.match(await signUp(admin, 'admin', ADMIN_PW), /you can sign in now/);
    await login(admin, 'admin', ADMIN_PW);
    await admin.click('a[href$="/hub/authorize"]');
    const row = admin.locator('tr', { hasText: 'dana' });
    assert.match(await row.locator('.account-status').innerText(), /pending/);
    await row.locator('button[value=approve]').click();
    await admin.waitForLoadState('load');
    assert.match(await admin.locator('tr', { hasText: 'dana' }).locator('.account-status').innerText(), /approved/);
  });

  let secret = '';
  await t.test('dana logs in and turns on two-factor authentication', async () => {
    await login(dana, 'dana', DANA_PW);
    assert.ok(!dana.url().includes('/hub/login'), `logged in: ${dana.url()}`);
    await dana.goto(url('totp'));
    assert.equal(await dana.locator('.qr svg').count(), 1, 'a QR code');
    secret = (await dana.locator('#totp-secret').innerText()).trim();
    await dana.fill('#totp_code', '000000');
    await dana.click('#totp_submit');
    assert.match(await dana.locator('#totp-error').innerText(), /not right/);
    await dana.fill('#totp_code', codeFor(secret));
    await dana.click('#totp_submit');
    assert.equal(await dana.locator('#recovery-codes li').count(), 8);
  });

  await t.test('after logout, the password alone is not enough; a wrong code is refused; the right one works', async () => {
    await dana.goto(url('logout'));
    await login(dana, 'dana', DANA_PW);
    assert.match(await loginError(dana), /Enter the code from your authenticator app/);
    await login(dana, 'dana', DANA_PW, codeFor(secret, 10));
    assert.match(await loginError(dana), /Wrong two-factor code/);
    await login(dana, 'dana', DANA_PW, codeFor(secret));
    assert.ok(!dana.url().includes('/hub/login'), `logged in with the code: ${dana.url()}`);
  });

  await t.test('repeated failures lock the account, even against the right password', async () => {
    const mallory = await newPage();
    await login(mallory, 'dana', 'guess-1');
    await login(mallory, 'dana', 'guess-2');
    await login(mallory, 'dana', 'guess-3');
    assert.match(await loginError(mallory), /locked for 5 minutes/);
    await login(mallory, 'dana', DANA_PW, codeFor(secret));
    assert.match(await loginError(mallory), /This account is locked/);
    const cookies = await mallory.context().cookies();
    assert.ok(!cookies.some((c) => c.name === 'jupyterhub-hub-login'), 'no session for a refused login');
    await admin.reload();
    assert.match(await admin.locator('tr', { hasText: 'dana' }).locator('.account-status').innerText(), /locked/);
  });
});
