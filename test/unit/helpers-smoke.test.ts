/** The test helpers themselves: ports, temp dirs, the browser, and the CLI runner. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { launchBrowser } from '../helpers/browser.js';
import { runCli } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

test('freePort gives a port that can be listened on', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((resolve) => server.close(resolve));
});

test('tempDir makes a directory and cleanup removes it', async () => {
  const dir = await tempDir('ganymede-smoke-');
  assert.ok(existsSync(dir.path));
  assert.match(dir.path, /ganymede-smoke-/);
  await dir.cleanup();
  assert.ok(!existsSync(dir.path));
});

test('runCli reports the exit code and output of a failing command', async () => {
  const res = await runCli(['no-such-command']);
  assert.notEqual(res.code, 0);
  assert.ok(res.stderr.length > 0, 'something on stderr');
});

test('launchBrowser opens a page in headless Chromium', { timeout: 60_000 }, async (t) => {
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto('data:text/html,<title>Ganymede smoke</title><p id=p>42</p>');
  assert.equal(await page.title(), 'Ganymede smoke');
  assert.equal(await page.locator('#p').innerText(), '42');
});
