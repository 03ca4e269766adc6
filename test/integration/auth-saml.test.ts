/**
 * SAML login against an identity provider run by the test (samlify, signing
 * with its own key). A signed answer logs the person in with their groups; an unsigned or tampered
 * answer, one replayed, and one for a user outside the allowed groups are refused and create nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { startSamlIdp } from '../helpers/saml-idp.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

test('SAML login against a signing identity provider', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const sp = { entityId: `${origin}/hub/saml/metadata`, acsUrl: `${origin}/hub/saml/acs` };
  const idp = await startSamlIdp(sp);
  t.after(() => idp.stop());
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      bind_url: `${origin}/`,
      authenticator: {
        class: 'saml',
        saml: {
          entity_id: sp.entityId,
          acs_url: sp.acsUrl,
          idp_metadata_url: idp.metadataUrl,
          groups_attribute: 'groups',
          allowed_groups: ['students', 'staff'],
          admin_groups: ['staff'],
          manage_groups: true,
          login_service: 'University SSO',
        },
      },
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string) => hub.api(p, { token: ADMIN_TOKEN });

  /** Browser side: hub → IdP (the SSO page with the auto-post form) → fields of that form. */
  async function toIdp(browser: CookieSession, user: string, groups: string[]) {
    idp.nextUser = { name: user, groups };
    const start = await browser.fetch('/hub/saml/login?next=%2Fhub%2Fhome');
    assert.equal(start.status, 302);
    const ssoUrl = start.headers.get('location')!;
    assert.ok(ssoUrl.startsWith(`${idp.url}/sso?SAMLRequest=`), ssoUrl);
    const form = await (await browser.fetch(ssoUrl)).text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(form)?.[1] ?? '';
    return { ssoUrl, response: field('SAMLResponse'), relayState: field('RelayState').replace(/&#47;/g, '/') };
  }
  const post = (browser: CookieSession, response: string, relayState = '') =>
    browser.fetch('/hub/saml/acs', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: response, RelayState: relayState }).toString(),
    });

  await t.test('the SP publishes its metadata, and the login page offers the IdP', async () => {
    const metadata = await (await fetch(`${origin}/hub/saml/metadata`)).text();
    assert.match(metadata, new RegExp(`entityID="${sp.entityId}"`));
    assert.match(metadata, new RegExp(`Location="${sp.acsUrl}"`));
    assert.match(await (await fetch(`${origin}/hub/login`)).text(), /Sign in with University SSO/);
  });

  let replay = '';
  await t.test('a signed answer logs the person in, with groups and the admin flag', async () => {
    const browser = new CookieSession(origin);
    const { response, relayState } = await toIdp(browser, 'Ada', ['staff', 'physics']);
    replay = response;
    const res = await post(browser, response, relayState);
    assert.equal(res.status, 302, await res.clone().text());
    assert.equal(res.headers.get('location'), '/hub/home');
    assert.ok(browser.jar.has('jupyterhub-hub-login'));
    const ada = (await admin('/users/ada')).json;
    assert.equal(ada.admin, true);
    assert.deepEqual(ada.groups, ['physics', 'staff']);
  });

  await t.test('the same answer twice is refused (it answered a request already used)', async () => {
    const res = await post(new CookieSession(origin), replay);
    assert.equal(res.status, 403);
  });

  await t.test('a tampered answer is refused', async () => {
    const browser = new CookieSession(origin);
    const { response } = await toIdp(browser, 'bo', ['students']);
    const xml = Buffer.from(response, 'base64').toString('utf8').replace('>bo</saml:NameID>', '>root</saml:NameID>');
    assert.ok(xml.includes('>root</saml:NameID>'));
    const res = await post(browser, Buffer.from(xml).toString('base64'));
    assert.equal(res.status, 403);
    assert.match(await res.text(), /could not be verified/);
    assert.equal((await admin('/users/root')).status, 404);
  });

  await t.test('an unsigned answer is refused', async () => {
    const browser = new CookieSession(origin);
    const { ssoUrl } = await toIdp(browser, 'cy', ['students']);
    const res = await post(browser, await idp.unsignedResponse(ssoUrl));
    assert.equal(res.status, 403);
    assert.equal((await admin('/users/cy')).status, 404);
  });

  await t.test('someone outside the allowed groups is refused', async () => {
    const browser = new CookieSession(origin);
    const { response } = await toIdp(browser, 'dee', ['visitors']);
    const res = await post(browser, response);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /dee is not in a group allowed/);
    assert.equal((await admin('/users/dee')).status, 404);
  });
});
