/**
 * OpenID Connect login in Chromium: a person clicks "Sign in with …" on the hub, signs in on the
 * OpenID provider's page (the real `oidc-provider`, started by the test) with a second factor, and
 * lands on the hub logged in; without the second factor the hub's page says why it refuses.
 */
import { test } from 'node:test';
import path from 'node:path';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/ports.js';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { startTestIdp } from '../helpers/oidc-idp.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('OpenID Connect login in a browser', { timeout: 90_000 }, async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startTestIdp({ ada: { groups: ['physics'] } }, [`${origin}/hub/oauth_callback`]);
  t.after(() => idp.stop());
  const hub = await startHub({
    config: {
      bind_url: `${origin}/`,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      authenticator: {
        class: 'oidc',
        oidc: {
          issuer: idp.issuer,
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          scopes: ['openid', 'profile', 'groups'],
          allowed_groups: ['physics'],
          require_mfa: true,
          login_service: 'Test IdP',
          allow_http: true,
        },
      },
    },
  });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  async function signIn(mfa: boolean) {
    const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
    await page.goto(`${origin}/hub/login?next=${encodeURIComponent('/hub/home')}`);
    await Promise.all([page.waitForURL(`${idp.issuer}/interaction/**`), page.click('#login_redirect')]);
    await page.fill('input[name=username]', 'ada');
    if (mfa) await page.check('input[name=mfa]');
    await Promise.all([page.waitForURL(`${origin}/hub/**`), page.click('button[type=submit]')]);
    await page.waitForLoadState('load');
    return page;
  }

  await t.test('without a second factor the hub refuses, saying why', async () => {
    const page = await signIn(false);
    assert.match(await page.locator('#login-error').innerText(), /requires two-factor authentication/);
    assert.ok(!(await page.context().cookies()).some((c) => c.name === 'jupyterhub-hub-login'));
  });

  await t.test('with a second factor the person is logged in on the hub', async () => {
    const page = await signIn(true);
    assert.equal(page.url(), `${origin}/hub/home`);
    assert.match(await page.locator('.user-name').innerText(), /ada/);
  });
});
