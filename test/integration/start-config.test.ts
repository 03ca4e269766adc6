/**
 * What the config creates at start, as JupyterHub does: allowed_users exist before anyone logs in (so
 * that the API and jupyterhub-idle-culler find them), load_groups make groups with members and
 * properties, and custom_scopes can be granted by roles and tokens. A bad custom scope stops the hub
 * with an error naming the key. The announcement and the site's branding appear on the pages.
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

test("the site's logo, name, stylesheet, footer and login message replace Ganymede's, shown as text", { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'branding-'));
  const logo = path.join(dir, 'uni-logo.svg');
  const css = path.join(dir, 'uni.css');
  writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#900"/></svg>');
  writeFileSync(css, ':root { --primary: #900; }\n');
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      logo_file: logo,
      branding: {
        site_name: 'Uni <Hub>',
        stylesheet: css,
        footer: 'Run by the computing centre <it@uni.example>',
        footer_links: [{ label: 'Privacy', url: 'https://uni.example/privacy' }],
        login_message: 'Use your <b>university</b> account',
      },
    },
  });
  t.after(() => hub.stop());
  const login = await (await fetch(`${hub.url}hub/login`)).text();
  assert.ok(login.includes('<title>Sign in · Uni &lt;Hub&gt;</title>'), 'the name in the title, as text');
  assert.ok(login.includes('<p class="login-message">Use your &lt;b&gt;university&lt;/b&gt; account</p>'));
  assert.ok(login.includes('Run by the computing centre &lt;it@uni.example&gt;'));
  assert.ok(login.includes('<a href="https://uni.example/privacy" rel="noopener">Privacy</a>'));
  assert.match(login, /<img src="\/hub\/logo" alt="" height="24">Uni &lt;Hub&gt;<\/a>/);

  const served = await fetch(`${hub.url}hub/logo`);
  assert.equal(served.headers.get('content-type'), 'image/svg+xml');
  assert.ok((await served.text()).includes('fill="#900"'));
  const href = /<link rel="stylesheet" href="([^"]+site\.css[^"]*)">/.exec(login)?.[1];
  assert.ok(href, 'the site stylesheet is linked');
  const sheet = await fetch(new URL(href, hub.url));
  assert.equal(sheet.status, 200);
  assert.match(await sheet.text(), /--primary: #900/);
});

test('a logo_file that cannot be read, or a footer link that is no web address, stops the hub naming the key', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'branding-bad-'));
  const missing = path.join(dir, 'hub.yaml');
  writeFileSync(missing, `data_dir: ${dir}/data\nlogo_file: ${dir}/nope.png\n`);
  const out = await runCli(['start', '-f', missing]);
  assert.equal(out.code, 2, out.stderr);
  assert.match(out.stderr, /logo_file: cannot read .*nope\.png: ENOENT/);

  const script = path.join(dir, 'hub2.yaml');
  writeFileSync(script, `data_dir: ${dir}/data2\nbranding:\n  footer_links:\n    - label: x\n      url: "javascript:alert(1)"\n`);
  const bad = await runCli(['start', '-f', script]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /branding\.footer_links\.0\.url/);
  assert.ok(bad.stderr.includes(script), bad.stderr);
});
