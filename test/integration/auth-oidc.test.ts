/**
 * OpenID Connect login through a real provider run locally (`oidc-provider`): group rules, a second
 * factor required through `amr`, the access token in the user server's environment, its refresh
 * before a spawn, logout at the provider, and auth_state unreadable in the database file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { startTestIdp } from '../helpers/oidc-idp.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('OpenID Connect login against a real provider', { timeout: 120_000 }, async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startTestIdp(
    {
      ada: { groups: ['physics', 'staff'] },
      bo: { groups: ['chem'] },
      cy: { groups: ['/physics'] },
    },
    [`${origin}/hub/oauth_callback`],
  );
  t.after(() => idp.stop());
  const hub = await startHub({
    env: { GANYMEDE_CRYPT_KEY: randomBytes(32).toString('hex') },
    config: {
      ...adminServiceConfig(),
      bind_url: `${origin}/`,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      authenticator: {
        class: 'oidc',
        enable_auth_state: true,
        auth_state_env: { MOCK_OIDC_ACCESS_TOKEN: 'access_token' },
        oidc: {
          issuer: idp.issuer,
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
          allowed_groups: ['physics'],
          admin_groups: ['staff'],
          manage_groups: true,
          require_mfa: true,
          logout_redirect: true,
          login_service: 'Test IdP',
          allow_http: true,
        },
      },
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET') => hub.api(p, { method, token: ADMIN_TOKEN });

  /** Goes through the provider's login page as `username`; returns the last response after the hub's callback. */
  async function login(browser: CookieSession, username: string, mfa: boolean) {
    const toIdp = await browser.follow('/hub/oauth_login?next=%2Fhub%2Fhome');
    assert.equal(toIdp.res.status, 200, toIdp.trail.join(' → '));
    const loginPage = toIdp.trail.at(-1)!;
    assert.ok(loginPage.startsWith(`${idp.issuer}/interaction/`), loginPage);
    await toIdp.res.text();
    const posted = await browser.fetch(loginPage, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, ...(mfa ? { mfa: '1' } : {}) }).toString(),
    });
    assert.ok(posted.status >= 300 && posted.status < 400, `IdP login answered ${posted.status}`);
    return browser.follow(new URL(posted.headers.get('location')!, loginPage).href);
  }

  await t.test('the login page offers the provider', async () => {
    const page = await (await new CookieSession(origin).fetch('/hub/login')).text();
    assert.match(page, /Sign in with Test IdP/);
    assert.match(page, /href="\/hub\/oauth_login"/);
    assert.ok(!page.includes('name="password"'), 'no password form');
  });

  await t.test('a member of an allowed group logs in with a second factor', async () => {
    const browser = new CookieSession(origin);
    const done = await login(browser, 'ada', true);
    assert.ok(done.trail.some((u) => u.startsWith(`${origin}/hub/oauth_callback?`)), done.trail.join(' → '));
    assert.equal(done.res.status, 200);
    assert.ok(done.trail.at(-1)!.endsWith('/hub/home'), done.trail.join(' → '));
    assert.ok(browser.jar.has('jupyterhub-hub-login'));
    const ada = (await admin('/users/ada')).json;
    assert.equal(ada.admin, true, 'admin through admin_groups');
    assert.deepEqual(ada.groups, ['physics', 'staff'], 'groups mirrored from the provider');
    assert.equal(typeof ada.auth_state.access_token, 'string');
    assert.equal(typeof ada.auth_state.refresh_token, 'string');
  });

  await t.test('Keycloak-style group paths count; no second factor is refused', async () => {
    const refused = await login(new CookieSession(origin), 'cy', false);
    assert.equal(refused.res.status, 403);
    assert.match(await refused.res.text(), /two-factor authentication/);
    assert.equal((await admin('/users/cy')).status, 404, 'nothing was created');
    const accepted = await login(new CookieSession(origin), 'cy', true);
    assert.equal(accepted.res.status, 200, accepted.trail.join(' → '));
    assert.deepEqual((await admin('/users/cy')).json.groups, ['physics']);
  });

  await t.test('a user outside the allowed groups is refused', async () => {
    const refused = await login(new CookieSession(origin), 'bo', true);
    assert.equal(refused.res.status, 403);
    assert.match(await refused.res.text(), /bo is not in a group allowed to use this hub/);
    assert.equal((await admin('/users/bo')).status, 404);
  });

  await t.test('the access token is refreshed before a spawn and reaches the server', async () => {
    const before = (await admin('/users/ada')).json.auth_state.access_token as string;
    const refreshesBefore = idp.refreshes();
    const start = await admin('/users/ada/server', 'POST');
    assert.ok([201, 202].includes(start.status), start.text);
    await waitFor(async () => (await admin('/users/ada')).json.servers?.['']?.ready === true, 30_000, "ada's server");
    assert.equal(idp.refreshes(), refreshesBefore + 1, 'one refresh-token grant');
    const after = (await admin('/users/ada')).json.auth_state.access_token as string;
    assert.notEqual(after, before);
    const env = (await (await fetch(`${origin}/user/ada/env`)).json()) as { env: Record<string, string> };
    assert.equal(env.env.MOCK_OIDC_ACCESS_TOKEN, after);
  });

  await t.test('auth_state is unreadable in the database file', async () => {
    const token = (await admin('/users/ada')).json.auth_state.access_token as string;
    const db = readFileSync(path.join(hub.dataDir, 'ganymede.sqlite'));
    const wal = (() => {
      try {
        return readFileSync(path.join(hub.dataDir, 'ganymede.sqlite-wal'));
      } catch {
        return Buffer.alloc(0);
      }
    })();
    for (const file of [db, wal]) {
      assert.ok(!file.includes(token), 'the access token is not in the database in clear');
      assert.ok(!file.includes('refresh_token'), 'nor the key names of auth_state');
    }
  });

  await t.test('logout ends the session at the provider too', async () => {
    const browser = new CookieSession(origin);
    await login(browser, 'ada', true);
    const out = await browser.fetch('/hub/logout');
    assert.equal(out.status, 302);
    const where = new URL(out.headers.get('location')!);
    assert.equal(where.origin, idp.issuer);
    assert.equal(where.searchParams.get('post_logout_redirect_uri'), `${origin}/hub/login`);
    assert.ok(where.searchParams.get('id_token_hint'));
    assert.ok(!browser.jar.has('jupyterhub-hub-login'));
  });
});
