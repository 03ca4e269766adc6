/**
 * Acceptance 2, in Chromium: log in, start the server, see the progress page, land in the notebook
 * UI of the real single-user server after its OAuth round-trip, run a cell, log out; a second user
 * cannot open the first user's server. The server is Debian's classic Notebook, what users get when
 * JupyterLab could not be installed; JupyterLab, the default, is test/browser/jupyterlab.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, CLASSIC_SERVER_CMD, REAL_SPAWNER, adminServiceConfig } from '../helpers/fixtures.js';

const NOTEBOOK = {
  type: 'notebook',
  content: {
    cells: [{ cell_type: 'code', source: '', metadata: {}, outputs: [], execution_count: null }],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  },
};

test('log in, spawn, open the notebook, run a cell, log out; another user is refused', { timeout: 240_000 }, async (t) => {
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { ...REAL_SPAWNER, cmd: CLASSIC_SERVER_CMD, default_url: '/tree' } } });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const alice = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await alice.newPage();
  await page.goto(`${hub.url}hub/login`);
  await page.fill('input[name=username]', 'alice');
  await page.fill('input[name=password]', 'anything');
  await Promise.all([page.waitForURL(/\/hub\/spawn-pending\/alice/), page.click('button[type=submit], input[type=submit]')]);
  assert.ok(await page.locator('progress, [role=progressbar]').count() > 0, 'the progress page shows a progress bar');

  // The progress page navigates to the server; the server sends the browser through the hub's OAuth flow and back.
  await page.waitForURL(/\/user\/alice\/tree/, { timeout: 90_000 });
  assert.match(await page.title(), /Home|Jupyter/);

  // A notebook to work in, put there through the API with one of alice's tokens.
  const tok = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { note: 'browser test' } });
  const put = await fetch(`${hub.url}user/alice/api/contents/test.ipynb`, {
    method: 'PUT',
    headers: { Authorization: `token ${tok.json.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(NOTEBOOK),
  });
  assert.ok(put.status === 201 || put.status === 200, `contents PUT answered ${put.status}`);

  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${hub.url}user/alice/notebooks/test.ipynb`);
  await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 60_000 });
  await page.click('.cell .CodeMirror');
  await page.keyboard.type('print(6*7)');
  await page.keyboard.press('Shift+Enter');
  const output = page.locator('.output_subarea').first();
  await output.waitFor({ timeout: 30_000 });
  assert.equal((await output.innerText()).trim(), '42');

  await page.goto(`${hub.url}hub/logout`);
  assert.match(page.url(), /\/hub\/login/);
  const afterLogout = await page.goto(`${hub.url}hub/home`);
  assert.match(page.url(), /\/hub\/login/, 'logged out: home sends to login');
  assert.equal(afterLogout?.status(), 200);

  const bob = await browser.newContext();
  const bobPage = await bob.newPage();
  await bobPage.goto(`${hub.url}hub/login?next=${encodeURIComponent('/hub/home')}`);
  await bobPage.fill('input[name=username]', 'bob');
  await bobPage.fill('input[name=password]', 'x');
  await Promise.all([bobPage.waitForURL(/\/hub\/home/), bobPage.click('button[type=submit], input[type=submit]')]);
  const refused = await bobPage.goto(`${hub.url}user/alice/tree`);
  assert.equal(refused?.status(), 403);
  assert.match(await bobPage.textContent('body') ?? '', /permission/i);
});
