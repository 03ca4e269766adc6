/**
 * Passkeys of native accounts in Chromium, with its virtual authenticator (DevTools protocol
 * WebAuthn.addVirtualAuthenticator) standing in for a security key or a phone, under a base URL
 * (/jh/) and at http://localhost (a secure context with a domain name, as WebAuthn needs): register
 * a passkey, see the same key refused a second time, register a second one on another authenticator,
 * log out, log in with password + passkey, rename one and remove the other, log in with the one left;
 * then turn on the authenticator app too, and log in with an app code (in the login form or in the
 * second step) and with a recovery code.
 */
import { test } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';
import type { CDPSession, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const PASSWORD = 'Secret-42-pass';

type VirtualCredential = { credentialId: string; isResidentCredential: boolean; rpId?: string; privateKey: string; userHandle?: string; signCount: number };

/** A virtual authenticator as the issue asks for: a platform authenticator with user verification. */
async function addAuthenticator(cdp: CDPSession): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return authenticatorId;
}

test('passkeys in Chromium: register two, log in with one, rename, remove, log in again; the app and recovery codes still work', { timeout: 180_000 }, async (t) => {
  const port = await freePort();
  const hub = await startHub({
    config: {
      bind_url: `http://127.0.0.1:${port}/jh/`,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      authenticator: { class: 'native', native: { require_approval: false } },
    },
  });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  let authenticator = await addAuthenticator(cdp);

  // WebAuthn refuses IP addresses as relying party ids: the browser goes to localhost.
  const url = (p: string) => `http://localhost:${port}/jh/hub/${p}`;
  const home = url('home');

  async function submitLogin(p: Page, password: string, otp = ''): Promise<void> {
    await p.goto(url(`login?next=${encodeURIComponent('/jh/hub/home')}`));
    await p.fill('#username_input', 'dana');
    await p.fill('#password_input', password);
    if (otp) await p.fill('#otp_input', otp);
    await Promise.all([p.waitForLoadState('load'), p.click('#login_submit')]);
  }
  async function logout(): Promise<void> {
    await page.goto(url('logout'));
    await page.waitForURL(/\/jh\/hub\/login/);
  }
  /** Password, then "Use a passkey" in the second step. */
  async function loginWithPasskey(): Promise<void> {
    await submitLogin(page, PASSWORD);
    assert.equal(await page.locator('#second-step-title').count(), 1, 'the second step');
    await Promise.all([page.waitForURL(home), page.click('#passkey_login')]);
  }
  async function twoFactorPage(): Promise<void> {
    await page.goto(url('totp'));
  }
  const passkeyNames = async () => (await page.locator('#passkey-list .passkey-name').allInnerTexts()).map((s) => s.trim());
  async function addPasskey(name: string, proof?: string): Promise<void> {
    await twoFactorPage();
    await page.fill('#passkey_name', name);
    if (proof) await page.fill('#passkey_proof', proof);
    await Promise.all([page.waitForURL(url('passkeys/new')), page.click('#add_passkey')]);
    assert.match(await page.locator('#passkey-create-title').innerText(), new RegExp(name));
  }

  await t.test('dana signs up and logs in with her password alone', async () => {
    await page.goto(url('signup'));
    await page.fill('#signup_username', 'dana');
    await page.fill('#signup_password', PASSWORD);
    await page.fill('#signup_password2', PASSWORD);
    await page.click('#signup_submit');
    assert.match(await page.locator('#signup-done').innerText(), /sign in now/);
    await submitLogin(page, PASSWORD);
    assert.equal(page.url(), home);
  });

  let recoveryCode = '';
  let firstKey: VirtualCredential[] = [];
  await t.test('the first passkey turns two-factor on and shows recovery codes', async () => {
    await twoFactorPage();
    assert.equal(await page.locator('#no-passkeys').count(), 1);
    assert.equal(await page.locator('#passkey_proof').count(), 0, 'no password asked for the first second factor');
    await addPasskey('Laptop');
    await Promise.all([page.waitForURL(url('passkeys')), page.click('#passkey_create')]);
    assert.match(await page.locator('.alert-success').innerText(), /“Laptop” is added\. Two-factor authentication is on/);
    const codes = await page.locator('#recovery-codes li').allInnerTexts();
    assert.equal(codes.length, 8);
    recoveryCode = codes[0]!.trim();
    firstKey = ((await cdp.send('WebAuthn.getCredentials', { authenticatorId: authenticator })) as { credentials: VirtualCredential[] }).credentials;
    assert.equal(firstKey.length, 1, 'the authenticator holds the passkey');
    assert.equal(firstKey[0]!.rpId, 'localhost');
  });

  await t.test('the same authenticator cannot be added twice; a second one can, with the password', async () => {
    await addPasskey('Phone', PASSWORD);
    await page.click('#passkey_create');
    await page.locator('#passkey-error:not([hidden])').waitFor();
    assert.match(await page.locator('#passkey-error').innerText(), /holds one of your passkeys already/);
    // Another device: the first authenticator goes away, a second one comes.
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
    authenticator = await addAuthenticator(cdp);
    await Promise.all([page.waitForURL(url('passkeys')), page.click('#passkey_create')]);
    assert.match(await page.locator('#passkey-message').innerText(), /“Phone” is added/);
    assert.deepEqual(await passkeyNames(), ['Laptop', 'Phone']);
  });

  await t.test('after logout, the password and a passkey log dana in', async () => {
    await logout();
    await loginWithPasskey();
    await twoFactorPage();
    const phone = page.locator('#passkey-list .passkey', { hasText: 'Phone' });
    assert.doesNotMatch(await phone.locator('.passkey-dates').innerText(), /last used never/, 'the phone was used');
  });

  await t.test('rename one passkey and remove the other', async () => {
    const laptop = page.locator('#passkey-list .passkey', { hasText: 'Laptop' });
    await laptop.locator('input[name=name]').fill('Old laptop');
    await Promise.all([page.waitForLoadState('load'), laptop.locator('button', { hasText: 'Rename' }).click()]);
    assert.match(await page.locator('#passkey-message').innerText(), /now called “Old laptop”/);
    const phone = page.locator('#passkey-list .passkey', { hasText: 'Phone' });
    await Promise.all([page.waitForLoadState('load'), phone.locator('.passkey-remove').click()]);
    assert.match(await page.locator('#passkey-remove-title').innerText(), /Remove the passkey “Phone”\?/);
    await Promise.all([page.waitForLoadState('load'), page.click('#confirm_remove')]);
    assert.match(await page.locator('#passkey-message').innerText(), /“Phone” is removed/);
    assert.deepEqual(await passkeyNames(), ['Old laptop']);
  });

  await t.test('with the first device back, dana logs in with the passkey left', async () => {
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
    authenticator = await addAuthenticator(cdp);
    await cdp.send('WebAuthn.addCredential', { authenticatorId: authenticator, credential: firstKey[0]! });
    await logout();
    await loginWithPasskey();
    assert.equal(page.url(), home);
  });

  await t.test('with the app on as well: an app code in the login form or in the second step, or a recovery code', async () => {
    await twoFactorPage();
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    const code = () => new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate();
    await page.fill('#totp_code', code());
    await Promise.all([page.waitForLoadState('load'), page.click('#totp_submit')]);
    assert.equal(await page.locator('#recovery-codes li').count(), 8);
    recoveryCode = (await page.locator('#recovery-codes li').first().innerText()).trim();

    await logout();
    await submitLogin(page, PASSWORD, code());
    assert.equal(page.url(), home, 'the app code in the login form, as before passkeys');

    await logout();
    await submitLogin(page, PASSWORD);
    assert.match(await page.locator('label[for=otp_input]').innerText(), /Or a code from your authenticator app, or a recovery code/);
    await page.fill('#otp_input', code());
    await Promise.all([page.waitForURL(home), page.click('#second_step_submit')]);

    await logout();
    await submitLogin(page, PASSWORD);
    await page.fill('#otp_input', recoveryCode);
    await Promise.all([page.waitForURL(home), page.click('#second_step_submit')]);

    await logout();
    await submitLogin(page, PASSWORD);
    await page.fill('#otp_input', recoveryCode);
    await Promise.all([page.waitForLoadState('load'), page.click('#second_step_submit')]);
    assert.match(await page.locator('#login-error').innerText(), /Wrong two-factor code/, 'a recovery code works once');

    await loginWithPasskey();
    assert.equal(page.url(), home, 'and the passkey still works');
  });
});
