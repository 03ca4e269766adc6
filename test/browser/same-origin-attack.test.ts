/**
 * A hostile page on another user's server, opened by a logged-in user in Chromium: mallory's server
 * (test/fixtures/attacker-singleuser.mjs) shares the hub's origin and serves a page that tries to read
 * bob's XSRF token from hub pages (by fetch, in a frame, in a window it opens), to read bob's user
 * model, to create an API token in bob's name, and to register a service worker for the whole site.
 * Before the hub's fetch-metadata rules, framing and opener policies, the first fetch found the
 * token and the token request answered 201. The same page on mallory's own origin (subdomain_host)
 * aims at the hub's origin across origins, and gets nothing either.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

const ATTACKER = path.resolve('test/fixtures/attacker-singleuser.mjs');

interface Outcome {
  fetchHome: string | null;
  fetchToken: string | null;
  frame: string | null;
  window: string | null;
  readUser: number | 'blocked';
  createToken: number | 'blocked';
  stolen: string | null;
  serviceWorker: string;
}

/** One hub, with or without per-user origins; bob logs in, then opens mallory's page and runs it. */
async function attack(t: TestContext, subdomains: boolean): Promise<void> {
  const port = await freePort();
  const hubOrigin = subdomains ? `http://hub.localhost:${port}` : `http://127.0.0.1:${port}`;
  const malloryOrigin = subdomains ? `http://mallory.hub.localhost:${port}` : hubOrigin;
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      bind_url: `http://127.0.0.1:${port}/`,
      ...(subdomains ? { subdomain_host: hubOrigin } : {}),
      spawner: { class: 'local-process', cmd: [process.execPath, ATTACKER] },
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  assert.equal((await admin('/users', 'POST', { usernames: ['mallory', 'bob'] })).status, 201);
  const started = await admin('/users/mallory/server', 'POST');
  assert.ok(started.status === 201 || started.status === 202, `mallory's server: ${started.status}`);

  const browser = await launchBrowser(['--host-resolver-rules=MAP *.localhost 127.0.0.1']);
  t.after(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${hubOrigin}/hub/login?next=${encodeURIComponent('/hub/home')}`);
  await page.fill('#username_input', 'bob');
  await Promise.all([page.waitForURL(/\/hub\/home$/), page.click('#login_submit')]);
  const bobsToken = await page.locator('meta[name="xsrf-token"]').getAttribute('content');
  assert.ok(bobsToken, "bob's own page has his token");

  await page.goto(`${malloryOrigin}/user/mallory/steal.html`);
  await page.click('#go');
  await page.locator('#result:not(:empty)').waitFor({ timeout: 30_000 });
  const outcome = JSON.parse(await page.locator('#result').innerText()) as Outcome;

  assert.deepEqual(
    { fetchHome: outcome.fetchHome, fetchToken: outcome.fetchToken, frame: outcome.frame, window: outcome.window },
    { fetchHome: null, fetchToken: null, frame: null, window: null },
    'no hub page gave its XSRF token to the page',
  );
  assert.notEqual(outcome.readUser, 200, "bob's user model is not readable");
  assert.notEqual(outcome.createToken, 201);
  assert.equal(outcome.stolen, null);
  assert.notEqual(outcome.serviceWorker, 'registered', 'no service worker for the whole site');
  const tokens = await admin('/users/bob/tokens');
  assert.deepEqual((tokens.json as { api_tokens: unknown[] }).api_tokens, [], 'bob has no token');
}

test("bob opens mallory's page on the hub's origin: it gets no token, reads nothing of bob's and creates nothing", { timeout: 90_000 }, (t) => attack(t, false));

test("bob opens mallory's page on her own origin (subdomain_host): the same, across origins", { timeout: 90_000 }, (t) => attack(t, true));
