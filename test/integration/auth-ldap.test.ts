/**
 * LDAP login against Debian's real slapd, started by the test with its own
 * directory. Template bind and search-then-bind both log people in; a wrong or empty password, a name
 * that tries LDAP injection, and a user outside `allowed_groups` are refused and nothing is created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { startHub, runCli, type HubProcess } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { LDAP_BASE, LDAP_READER, startSlapd } from '../helpers/slapd.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const PEOPLE = `ou=people,${LDAP_BASE}`;
const GROUPS = `ou=groups,${LDAP_BASE}`;

/** Posts the login form; true when the hub logged the person in. */
async function logsIn(hub: HubProcess, username: string, password: string): Promise<{ ok: boolean; page: string }> {
  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const form = await (await browser.fetch('/hub/login')).text();
  const res = await browser.postForm('/hub/login', { username, password }, form);
  return { ok: res.status === 302 && browser.jar.has('jupyterhub-hub-login'), page: res.status === 302 ? '' : await res.text() };
}

test('LDAP login against a real slapd', { timeout: 120_000 }, async (t) => {
  const ldap = await startSlapd(
    [
      { uid: 'ada', password: 'ada-pw', mail: 'ada@physics.example.org' },
      { uid: 'bo', password: 'bo-pw' },
      { uid: 'cy', password: 'cy-pw' },
    ],
    { jupyter: ['ada'] },
    { lab: ['cy'] },
  );
  t.after(() => ldap.stop());

  await t.test('template bind: right password in, wrong or empty password out', async (t2) => {
    const hub = await startHub({
      env: { GANYMEDE_CRYPT_KEY: randomBytes(32).toString('hex') },
      config: {
        ...adminServiceConfig(),
        authenticator: {
          class: 'ldap',
          enable_auth_state: true,
          ldap: {
            server_url: ldap.url,
            bind_dn_template: [`cn={username},ou=nobody,${LDAP_BASE}`, `uid={username},${PEOPLE}`],
            allowed_groups: [`cn=jupyter,${GROUPS}`, `cn=lab,${GROUPS}`],
            auth_state_attributes: ['mail'],
          },
        },
      },
    });
    t2.after(() => hub.stop());
    assert.equal((await logsIn(hub, 'Ada', 'ada-pw')).ok, true, 'the second template matches; names are lower-cased');
    const ada = await hub.api('/users/ada', { token: ADMIN_TOKEN });
    assert.equal(ada.json.auth_state.mail, 'ada@physics.example.org');
    assert.equal(ada.json.auth_state.dn, `uid=ada,${PEOPLE}`);
    assert.equal((await logsIn(hub, 'cy', 'cy-pw')).ok, true, 'posixGroup memberUid counts');

    const wrong = await logsIn(hub, 'ada', 'nope');
    assert.equal(wrong.ok, false);
    assert.match(wrong.page, /Invalid username or password/);
    assert.equal((await logsIn(hub, 'ada', '')).ok, false, 'an empty password is not an anonymous bind');
    const outsider = await logsIn(hub, 'bo', 'bo-pw');
    assert.equal(outsider.ok, false, 'bo is in no allowed group');
    assert.equal((await hub.api('/users/bo', { token: ADMIN_TOKEN })).status, 404, 'nothing was created for bo');
    for (const evil of ['*', 'ada)(uid=*', 'ada,ou=people', 'ada\u0000']) {
      assert.equal((await logsIn(hub, evil, 'ada-pw')).ok, false, `injection attempt ${JSON.stringify(evil)}`);
    }
  });

  await t.test('search bind with a lookup account', async (t2) => {
    const hub = await startHub({
      config: {
        authenticator: {
          class: 'ldap',
          allow_all: true,
          ldap: {
            server_url: ldap.url,
            lookup_dn: true,
            user_search_base: PEOPLE,
            user_attribute: 'uid',
            lookup_dn_search_user: LDAP_READER.dn,
            lookup_dn_search_password: LDAP_READER.password,
          },
        },
      },
    });
    t2.after(() => hub.stop());
    assert.equal((await logsIn(hub, 'bo', 'bo-pw')).ok, true);
    assert.equal((await logsIn(hub, 'bo', 'ada-pw')).ok, false);
    assert.equal((await logsIn(hub, 'zed', 'x')).ok, false, 'unknown user');
    assert.equal((await logsIn(hub, '*', 'bo-pw')).ok, false);
  });

  await t.test('ldaps:// and StartTLS with the server certificate; an untrusted certificate is a clear refusal', async (t2) => {
    const template = [`uid={username},${PEOPLE}`];
    const ldaps = await startHub({
      config: { authenticator: { class: 'ldap', allow_all: true, ldap: { server_url: ldap.ldapsUrl, tls_ca_file: ldap.caFile, bind_dn_template: template } } },
    });
    t2.after(() => ldaps.stop());
    assert.equal((await logsIn(ldaps, 'bo', 'bo-pw')).ok, true, 'ldaps://');
    const starttls = await startHub({
      config: { authenticator: { class: 'ldap', allow_all: true, ldap: { server_url: ldap.url, start_tls: true, tls_ca_file: ldap.caFile, bind_dn_template: template } } },
    });
    t2.after(() => starttls.stop());
    assert.equal((await logsIn(starttls, 'bo', 'bo-pw')).ok, true, 'StartTLS');
    const untrusted = await startHub({
      config: { authenticator: { class: 'ldap', allow_all: true, ldap: { server_url: ldap.ldapsUrl, bind_dn_template: template } } },
    });
    t2.after(() => untrusted.stop());
    const refused = await logsIn(untrusted, 'bo', 'bo-pw');
    assert.equal(refused.ok, false);
    assert.match(refused.page, /The directory server cannot be reached right now/);
  });

  await t.test('a config without templates or lookup_dn names the key and the file', async (t2) => {
    const dir = await tempDir('ganymede-ldapcfg-');
    t2.after(() => dir.cleanup());
    const file = path.join(dir.path, 'ldap.yaml');
    writeFileSync(file, stringify({ data_dir: dir.path, bind_url: 'http://127.0.0.1:1/', authenticator: { class: 'ldap', ldap: { server_url: ldap.url } } }));
    const result = await runCli(['start', '--config', file]);
    assert.equal(result.code, 2);
    assert.ok(result.stderr.includes(`${file}: authenticator.ldap.bind_dn_template: give at least one template`), result.stderr);
    assert.ok(!/\n\s+at /.test(result.stderr), 'no stack trace');
  });
});
