/** The token page in Chromium: request a token with a note and expiry, use it, see it listed, revoke it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('request, use and revoke an API token from the token page', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: { spawner: { class: 'local-process', cmd: [process.execPath, MOCK] } } });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();

  await page.goto(`${hub.url}hub/login?next=${encodeURIComponent('/hub/token')}`);
  await page.fill('#username_input', 'erin');
  await Promise.all([page.waitForURL(/\/hub\/token$/), page.click('#login_submit')]);

  await page.fill('#token-note', 'my <laptop>');
  await page.selectOption('#token-expires', '86400');
  await page.click('#request-token-form button[type=submit]');
  await page.locator('#token-result').waitFor({ state: 'visible' });
  const token = await page.inputValue('#token-value');
  assert.match(token, /^[0-9a-f]{64}$/);

  const me = await hub.api('/user', { token });
  assert.equal(me.status, 200);
  assert.equal(me.json.name, 'erin');

  await page.reload();
  const row = page.locator('tr[data-token-id]');
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /my <laptop>/, 'the note is shown as text');
  await row.locator('.revoke-token').click();
  await row.waitFor({ state: 'detached' });
  const after = await hub.api('/user', { token });
  assert.equal(after.status, 403, 'revocation takes effect at once');
});
