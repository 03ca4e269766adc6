/** A site-wide password, alone or in front of a form authenticator; and the auth_state key checked at start. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { runCli, startHub, type HubProcess } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { tempDir } from '../helpers/tmp.js';

async function login(hub: HubProcess, fields: Record<string, string>): Promise<{ ok: boolean; page: string }> {
  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const form = await (await browser.fetch('/hub/login')).text();
  const res = await browser.postForm('/hub/login', fields, form);
  return { ok: res.status === 302 && browser.jar.has('jupyterhub-hub-login'), page: res.status === 302 ? '' : await res.text() };
}

test('site-wide password', { timeout: 60_000 }, async (t) => {
  await t.test('alone: any name with the site password', async (t2) => {
    const hub = await startHub({ config: { authenticator: { class: 'shared-password', shared_password: 'workshop-2026' } } });
    t2.after(() => hub.stop());
    assert.equal((await login(hub, { username: 'guest1', password: 'workshop-2026' })).ok, true);
    assert.equal((await login(hub, { username: 'guest2', password: 'workshop-2025' })).ok, false);
  });

  await t.test('in front of native accounts: both passwords are needed', async (t2) => {
    const hub = await startHub({
      config: { authenticator: { class: 'native', shared_password: 'workshop-2026', native: { require_approval: false } } },
    });
    t2.after(() => hub.stop());
    const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
    const signup = await (await browser.fetch('/hub/signup')).text();
    const created = await browser.postForm('/hub/signup', { username: 'eve', password: 'Correct-Horse-9', password2: 'Correct-Horse-9' }, signup);
    assert.equal(created.status, 200);
    const page = await (await new CookieSession(`http://127.0.0.1:${hub.port}`).fetch('/hub/login')).text();
    assert.match(page, /Site password/);
    const wrongSite = await login(hub, { username: 'eve', password: 'Correct-Horse-9', shared_password: 'nope' });
    assert.equal(wrongSite.ok, false);
    assert.match(wrongSite.page, /The site password is wrong/);
    assert.equal((await login(hub, { username: 'eve', password: 'wrong-one-9x', shared_password: 'workshop-2026' })).ok, false);
    assert.equal((await login(hub, { username: 'eve', password: 'Correct-Horse-9', shared_password: 'workshop-2026' })).ok, true);
  });

  await t.test('with a redirect authenticator it is a config error naming the key', async (t2) => {
    const dir = await tempDir('ganymede-sharedpw-');
    t2.after(() => dir.cleanup());
    const file = path.join(dir.path, 'c.yaml');
    const oidc = { issuer: 'https://sso.example.org/realms/x', client_id: 'hub', client_secret: 'secret' };
    writeFileSync(file, stringify({ data_dir: dir.path, bind_url: 'http://127.0.0.1:1/', authenticator: { class: 'oidc', shared_password: 'workshop-2026', oidc } }));
    const res = await runCli(['start', '--config', file]);
    assert.equal(res.code, 2);
    assert.ok(res.stderr.includes(`${file}: authenticator.shared_password: works with login-form authenticators`), res.stderr);
  });
});

test('enable_auth_state without GANYMEDE_CRYPT_KEY stops the hub with a clear error', { timeout: 30_000 }, async (t) => {
  const dir = await tempDir('ganymede-cryptkey-');
  t.after(() => dir.cleanup());
  const file = path.join(dir.path, 'c.yaml');
  writeFileSync(file, stringify({ data_dir: dir.path, bind_url: 'http://127.0.0.1:1/', authenticator: { class: 'dummy', enable_auth_state: true } }));
  const missing = await runCli(['start', '--config', file], { env: { GANYMEDE_CRYPT_KEY: '' } });
  assert.equal(missing.code, 2);
  assert.ok(missing.stderr.includes(`${file}: authenticator.enable_auth_state is true, but GANYMEDE_CRYPT_KEY is not set`), missing.stderr);
  const bad = await runCli(['start', '--config', file], { env: { GANYMEDE_CRYPT_KEY: 'too-short' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /GANYMEDE_CRYPT_KEY: key 1 is not 32 bytes/);
  assert.ok(!bad.stderr.includes('too-short'), 'the key is never echoed');
});
