/**
 * Per-user origins in Chromium with the real single-user server: the hub at hub.localhost, alice's
 * server at alice.hub.localhost (all on 127.0.0.1). Alice logs in at the hub, lands in JupyterLab on
 * her own origin and runs a cell; she shares her server with bob, who accepts in his browser and
 * reaches it on alice's origin; alice logs out. Skipped like test/browser/jupyterlab.test.ts when
 * JupyterLab is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from '../helpers/browser.js';
import { startSubdomainHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER } from '../helpers/fixtures.js';
import { JUPYTERLAB_SKIP as skip, LAB_START_MS as START, runInNewNotebook } from '../helpers/jupyterlab-page.js';

test('subdomain_host in Chromium: log in, JupyterLab on her own origin, run a cell, share with bob, log out', { skip, timeout: 400_000 }, async (t) => {
  const { hub, hubOrigin, originOf } = await startSubdomainHub({ spawner: { ...REAL_SPAWNER, args: [], run_as: 'dynamic', start_timeout: 120 } });
  const aliceOrigin = originOf('alice');
  t.after(() => hub.stop());
  // Chromium resolves *.localhost to loopback itself; the rule pins it to the address the hub listens on.
  const browser = await launchBrowser(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
  t.after(() => browser.close());

  const alice = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await alice.goto(`${hubOrigin}/hub/login`);
  await alice.fill('input[name=username]', 'alice');
  await Promise.all([alice.waitForURL(/\/hub\/spawn-pending\/alice/), alice.click('button[type=submit]')]);
  await alice.waitForURL(`${aliceOrigin}/user/alice/**`, { timeout: START });
  await alice.locator('#jp-main-dock-panel').waitFor({ timeout: START });
  assert.equal(new URL(alice.url()).origin, aliceOrigin, "JupyterLab runs on alice's own origin");

  assert.equal((await runInNewNotebook(alice, 'print(6*7)')).output, '42');
  // The hub's cookies stay on the hub's host: alice's own origin has only her server's.
  const onAliceHost = (await alice.context().cookies(aliceOrigin)).map((c) => c.name);
  assert.ok(!onAliceHost.includes('jupyterhub-hub-login') && !onAliceHost.includes('jupyterhub-session-id'), onAliceHost.join(', '));

  // Alice shares her server (a share code, as the API gives it); bob accepts it in his own browser.
  const code = await hub.api('/share-codes/alice/', { method: 'POST', token: ADMIN_TOKEN, body: { expires_in: 600 } });
  assert.equal(code.status, 200, code.text);
  const bob = await (await browser.newContext()).newPage();
  await bob.goto(`${hubOrigin}/hub/login?next=${encodeURIComponent('/hub/home')}`);
  await bob.fill('input[name=username]', 'bob');
  await Promise.all([bob.waitForURL(/\/hub\/home$/), bob.click('button[type=submit]')]);
  await bob.goto(`${hubOrigin}${code.json.accept_url as string}`);
  await Promise.all([bob.waitForURL(/\/hub\/api\/oauth2\/authorize/, { timeout: START }), bob.click('form[action$="accept-share"] button[type=submit]')]);
  // Another user's server asks bob to confirm, on the hub's origin (as JupyterHub's consent page).
  assert.equal(new URL(bob.url()).origin, hubOrigin);
  await Promise.all([bob.waitForURL(`${aliceOrigin}/user/alice/**`, { timeout: START }), bob.click('form button[type=submit]')]);
  await bob.locator('#jp-main-dock-panel').waitFor({ timeout: START });
  const config = JSON.parse((await bob.locator('#jupyter-config-data').textContent()) ?? '{}') as { baseUrl?: string };
  assert.equal(config.baseUrl, '/user/alice/', "bob works in alice's JupyterLab, on her origin");
  assert.equal(new URL(bob.url()).origin, aliceOrigin);

  await alice.goto(`${hubOrigin}/hub/logout`);
  await alice.waitForURL(`${hubOrigin}/hub/login`);
  await alice.goto(`${hubOrigin}/hub/home`);
  assert.match(alice.url(), /\/hub\/login\?next=/, 'logged out of the hub');
});
