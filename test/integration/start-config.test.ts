/**
 * What the config creates at start, as JupyterHub does: allowed_users exist before anyone logs in (so
 * that the API and jupyterhub-idle-culler find them), load_groups make groups with members and
 * properties, and custom_scopes can be granted by roles and tokens. A bad custom scope stops the hub
 * with an error naming the key. The announcement appears on the pages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';

test('allowed_users, load_groups and custom_scopes take effect at start', { timeout: 60_000 }, async (t) => {
  const base = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...base,
      authenticator: { class: 'dummy', allowed_users: ['ann', 'ben'] },
      load_groups: { physics: { users: ['ann', 'cem'], properties: { course: 'PHY-101' } }, empty: { users: [] } },
      custom_scopes: { 'custom:grader:read': { description: 'Read grades' }, 'custom:grader:write': { description: 'Write grades', subscopes: ['custom:grader:read'] } },
      load_roles: [...(base.load_roles as object[]), { name: 'grader', scopes: ['custom:grader:write'], users: ['ann'], services: ['test-admin'] }],
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  for (const name of ['ann', 'ben', 'cem']) assert.equal((await admin(`/users/${name}`)).status, 200, `${name} exists before logging in`);
  const physics = (await admin('/groups/physics')).json as { users: string[]; properties: Record<string, unknown> };
  assert.deepEqual(physics.users.sort(), ['ann', 'cem']);
  assert.deepEqual(physics.properties, { course: 'PHY-101' });
  assert.equal((await admin('/groups/empty')).status, 200);
  const ann = (await admin('/users/ann')).json as { roles: string[] };
  assert.ok(ann.roles.includes('grader'), JSON.stringify(ann.roles));
  // A token of ann's with the custom scope (held through her role) and the scope it implies.
  const token = await admin('/users/ann/tokens', 'POST', { scopes: ['custom:grader:write'] });
  assert.equal(token.status, 201, token.text);
  const me = (await hub.api('/user', { token: token.json.token as string })).json as { scopes: string[] };
  assert.ok(me.scopes.includes('custom:grader:read'), JSON.stringify(me.scopes));
  // ben has no role with it: his token may not hold it, whoever asks.
  const refused = await admin('/users/ben/tokens', 'POST', { scopes: ['custom:grader:read'] });
  assert.equal(refused.status, 403, refused.text);
});

test('a custom scope without the custom: prefix stops the hub with an error naming custom_scopes and the file', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custom-scopes-'));
  const file = path.join(dir, 'hub.yaml');
  writeFileSync(file, `data_dir: ${dir}/data\ncustom_scopes:\n  grader:read:\n    description: Read grades\n`);
  const out = await runCli(['start', '-f', file]);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /custom_scopes: Invalid custom scope name "grader:read"/);
  assert.ok(out.stderr.includes(file), out.stderr);
});

test('the announcement is shown as text on every page, and a page of its own replaces it there', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      announcement: 'Maintenance on <b>Friday</b>',
      announcement_login: 'Log in with your university account',
    },
  });
  t.after(() => hub.stop());
  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const login = await (await browser.fetch('/hub/login')).text();
  assert.match(login, /class="alert alert-info announcement" role="status">Log in with your university account</);
  assert.doesNotMatch(login, /Maintenance/);
  await browser.login('/hub/', 'ada');
  const home = await (await browser.fetch('/hub/home')).text();
  assert.ok(home.includes('Maintenance on &lt;b&gt;Friday&lt;/b&gt;'), 'shown as text, not markup');
  const token = await (await browser.fetch('/hub/token')).text();
  assert.ok(token.includes('Maintenance on &lt;b&gt;Friday&lt;/b&gt;'), 'on every page');
});
