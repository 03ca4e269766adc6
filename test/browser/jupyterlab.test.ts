/**
 * JupyterLab 4 in Chromium, as a user gets it with the default spawner.cmd, default_url and run_as: log in,
 * land in JupyterLab (its shell, version 4 in its page config, jupyter_server 2 behind it), open a
 * new notebook from the launcher, run `print(6*7)` and see 42 under the cell.
 * Skipped when `make` could not install JupyterLab (scripts/install-jupyterlab.sh fell back to
 * Debian's classic Notebook, which test/browser/login-spawn-notebook.test.ts covers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { REAL_SPAWNER, adminServiceConfig } from '../helpers/fixtures.js';
import { JUPYTERLAB_SKIP as skip, LAB_START_MS as START, runInNewNotebook } from '../helpers/jupyterlab-page.js';

test('log in, land in JupyterLab 4, run a cell in a new notebook', { skip, timeout: 300_000 }, async (t) => {
  // REAL_SPAWNER sets neither cmd nor default_url, and run_as is the default: the hub's defaults are
  // what is tested, the server under alice's own uid, the hub as ganymede.
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { ...REAL_SPAWNER, args: [], run_as: 'dynamic', start_timeout: 120 } } });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();

  await page.goto(`${hub.url}hub/login`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'anything');
  await Promise.all([page.waitForURL(/\/hub\/spawn-pending\/alice/), page.click('button[type=submit], input[type=submit]')]);
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: START });
  await page.locator('#jp-main-dock-panel').waitFor({ timeout: START });

  const pageConfig = JSON.parse((await page.locator('#jupyter-config-data').textContent()) ?? '{}') as { appName?: string; appVersion?: string };
  assert.equal(pageConfig.appName, 'JupyterLab');
  assert.match(pageConfig.appVersion ?? '', /^4\./, 'JupyterLab 4');
  // The browser's own cookies reach the server's API: jupyter_server 2, which JupyterLab 4 needs.
  const api = await page.request.get(`${hub.url}user/alice/api`);
  assert.equal(api.status(), 200);
  assert.match(((await api.json()) as { version: string }).version, /^2\./, 'jupyter_server 2');

  // A new notebook from the launcher's Python 3 card opens with a kernel and an empty cell.
  const ran = await runInNewNotebook(page, 'print(6*7)');
  assert.equal(ran.output, '42');
  assert.equal(ran.prompt, '[1]:', 'the first execution of this kernel');
});
