/**
 * Workshop mode in Chromium, with the real jupyterhub-singleuser: temporary users from a warm pool,
 * ephemeral servers, the site password, a content link, and visitors kept out of each other's servers.
 *   1  without the site password the hub answers 401
 *   2  with it, a content link (`/hub/user-redirect/git-pull?repo=file://…`) lands on the cloned
 *      notebook, open in the notebook UI of a new temporary user's server
 *   3  a second visit to the root gives a new temporary user with its own server; the first user is
 *      deleted with its server
 *   4  another visitor gets its own user and cannot open the first visitor's server (403)
 *
 * The UI is Debian's classic Notebook 6 (spawner.cmd set to it, not the default JupyterLab): the
 * link's `urlpath` is `notebooks/<repo>/hello.ipynb`, which nbgitpuller links use for the classic UI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchBrowser } from '../helpers/browser.js';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { git } from '../helpers/courses.js';
import { tempDir, type TempDir } from '../helpers/tmp.js';

const SINGLEUSER = '/usr/bin/jupyterhub-singleuser';
const skip = !existsSync(CHROMIUM_PATH)
  ? `no Chromium at ${CHROMIUM_PATH} (scripts/install-system-deps.sh test)`
  : !existsSync(SINGLEUSER)
    ? `no ${SINGLEUSER} (scripts/install-system-deps.sh run)`
    : false;

const PASSWORD = 'workshop password 2026';
const REPO_DIR = 'workshop-material';
const CELL_TEXT = 'hello from the workshop';
const TEMPORARY = /^tmp-[a-z0-9]{16}$/;
/** `/user/<temporary user>/…` in a URL's path; group 1 is the user. */
const USER_PATH = /^\/user\/(tmp-[a-z0-9]{16})\//;

const NOTEBOOK = {
  cells: [{ cell_type: 'code', id: 'greeting', source: `print("${CELL_TEXT}")`, metadata: {}, outputs: [], execution_count: null }],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  nbformat: 4,
  nbformat_minor: 5,
};


function userInUrl(url: string): string | undefined {
  return USER_PATH.exec(new URL(url).pathname)?.[1];
}

describe('workshop mode in Chromium with the real single-user server', { skip, timeout: 180_000 }, () => {
  let tmp: TempDir | undefined;
  let hub: HubProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  let upstream = '';
  /** Visitor A's page and users, in the order A got them. */
  let pageA: Page | undefined;
  const usersA: string[] = [];
  let firstDir = '';

  const h = () => hub!;
  const hubLog = () => `\n--- hub log ---\n${(h().stdout() + h().stderr()).slice(-3000)}`;
  /** The last lines of every single-user server's log (they live in the servers' ephemeral directories). */
  const serverLogs = () => {
    const dir = path.join(h().dataDir, 'ephemeral');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .map((run) => path.join(dir, run, 'server.log'))
      .filter((log) => existsSync(log))
      .map((log) => `\n--- ${log} ---\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('');
  };
  const userStatus = async (name: string) => (await h().api(`/users/${name}`, { token: ADMIN_TOKEN })).status;
  /** Where the local-process spawner runs a user's server: its fresh directory and the server's root in it. */
  const serverDirs = async (name: string): Promise<{ ephemeral_dir: string; root_dir: string }> => {
    const state = (await h().api(`/users/${name}`, { token: ADMIN_TOKEN })).json?.servers?.['']?.state;
    assert.ok(typeof state?.ephemeral_dir === 'string' && typeof state?.root_dir === 'string', `${name}'s server state names its directories`);
    assert.equal(path.dirname(state.ephemeral_dir), path.join(h().dataDir, 'ephemeral'), 'an ephemeral directory');
    return state;
  };
  const readyTemporaryUsers = async (): Promise<string[]> => {
    const users = (await h().api('/users', { token: ADMIN_TOKEN })).json as Array<{ name: string; servers: Record<string, { ready: boolean }> }>;
    return users.filter((u) => TEMPORARY.test(u.name) && u.servers['']?.ready).map((u) => u.name);
  };
  const newPage = async (options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> => {
    const context = await browser!.newContext({ viewport: { width: 1200, height: 900 }, ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    return page;
  };
  const withPassword = { httpCredentials: { username: 'x', password: PASSWORD } };

  before(async () => {
    tmp = await tempDir('ganymede-workshop-browser-');
    upstream = path.join(tmp.path, REPO_DIR);
    mkdirSync(upstream);
    git(upstream, 'init', '-q');
    writeFileSync(path.join(upstream, 'hello.ipynb'), `${JSON.stringify(NOTEBOOK, null, 1)}\n`);
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-qm', 'workshop material');

    hub = await startHub({
      config: {
        ...adminServiceConfig(),
        authenticator: { class: 'tmp', force_new_server: true, warm_pool: 2 },
        spawner: { ...REAL_SPAWNER, cmd: [SINGLEUSER], ephemeral: true, default_url: '/tree' },
        shared_password: { password: PASSWORD },
        content: { allowed_repos: [`file://${tmp.path}/*`] },
        log_level: 'info',
      },
    });
    browser = await launchBrowser();
    // Both pooled servers up, so that visitors are handed running servers and the timings stay steady.
    await waitFor(async () => (await readyTemporaryUsers()).length === 2, 60_000, 'two pooled servers').catch((err: Error) => {
      throw new Error(`${err.message}${hubLog()}${serverLogs()}`);
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await hub?.stop();
    await tmp?.cleanup();
  });

  test('without the site password the hub answers 401 and nothing is created', async () => {
    const page = await newPage();
    for (const url of [h().url, `${h().url}hub/login`]) {
      // Chromium with no credentials to give ends the navigation (net::ERR_INVALID_AUTH_CREDENTIALS)
      // after the 401; the response is still seen.
      const answered = page.waitForResponse((res) => res.url() === url);
      const navigated = await page.goto(url).catch((err: Error) => err);
      const res = await answered;
      assert.equal(res.status(), 401, url);
      assert.match((await res.allHeaders())['www-authenticate'] ?? '', /^Basic /, url);
      assert.ok(navigated instanceof Error || navigated?.status() === 401, `${url}: no page but the 401`);
    }
    // A wrong password: the browser shows the hub's 401 page.
    const wrong = await newPage({ httpCredentials: { username: 'x', password: 'not the password' } });
    const res = await wrong.goto(h().url);
    assert.equal(res?.status(), 401);
    assert.match((await wrong.textContent('h1')) ?? '', /Password needed/);
    const users = (await h().api('/users', { token: ADMIN_TOKEN })).json as unknown[];
    assert.equal(users.length, 2, 'no user besides the two pooled ones');
  });

  test('with it, a content link lands on the cloned notebook in a new temporary user’s server', async () => {
    const pooled = await readyTemporaryUsers();
    pageA = await newPage(withPassword);
    const urlpath = `notebooks/${REPO_DIR}/hello.ipynb`;
    const link =
      `${h().url}hub/user-redirect/git-pull?repo=${encodeURIComponent(`file://${upstream}`)}` +
      `&branch=${encodeURIComponent('main')}&urlpath=${encodeURIComponent(urlpath)}`;
    await pageA.goto(link);
    // Past the site password, tmplogin, the clone, the server's OAuth round-trip with the hub.
    await pageA.waitForURL((url) => url.pathname.endsWith(`/${urlpath}`), { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\nat ${pageA!.url()}${hubLog()}`);
    });
    const user = userInUrl(pageA.url());
    assert.ok(user, `landed under /user/tmp-…/: ${pageA.url()}`);
    assert.match(user, TEMPORARY);
    assert.ok(pooled.includes(user), `a pooled server nobody had used (${user} of ${pooled.join(', ')})`);
    assert.equal(new URL(pageA.url()).pathname, `/user/${user}/${urlpath}`);
    usersA.push(user);
    const dirs = await serverDirs(user);
    assert.ok(existsSync(path.join(dirs.root_dir, REPO_DIR, 'hello.ipynb')), 'cloned into the server’s fresh directory');
    firstDir = dirs.ephemeral_dir;

    // The notebook is open: its cell, as CodeMirror renders it.
    await pageA.locator('.cell .input_area').filter({ hasText: CELL_TEXT }).first().waitFor({ timeout: 60_000 });
    assert.match(await pageA.title(), /hello/);
  });

  test('a second visit to the root gives a new temporary user and server; the first is deleted', async () => {
    assert.ok(pageA && usersA.length === 1, 'visitor A landed on the notebook first');
    const [first] = usersA as [string];
    await pageA.goto(h().url);
    await pageA.waitForURL((url) => USER_PATH.test(url.pathname) && !url.pathname.startsWith(`/user/${first}/`) && url.pathname.endsWith('/tree'), { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\nat ${pageA!.url()}${hubLog()}`);
    });
    const second = userInUrl(pageA.url())!;
    assert.match(second, TEMPORARY);
    assert.notEqual(second, first);
    await pageA.locator('#notebook_list').waitFor();
    usersA.push(second);
    const dirs = await serverDirs(second);
    assert.notEqual(dirs.ephemeral_dir, firstDir);
    assert.ok(!existsSync(path.join(dirs.root_dir, REPO_DIR)), 'nothing of the first user’s files in the new server');

    await waitFor(async () => (await userStatus(first)) === 404, 30_000, `the first temporary user ${first} to be deleted`);
    assert.ok(!existsSync(firstDir), 'its directory went with it');
    assert.equal(await userStatus(second), 200);
  });

  test('another visitor gets its own user and cannot open visitor A’s server', async () => {
    assert.equal(usersA.length, 2, 'visitor A has its second user');
    const a = usersA[1]!;
    const pageB = await newPage(withPassword);
    await pageB.goto(h().url);
    await pageB.waitForURL((url) => USER_PATH.test(url.pathname) && url.pathname.endsWith('/tree'), { timeout: 60_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\nat ${pageB.url()}${hubLog()}`);
    });
    const b = userInUrl(pageB.url())!;
    assert.match(b, TEMPORARY);
    assert.ok(!usersA.includes(b), `B (${b}) is not one of A's users`);
    await pageB.locator('#notebook_list').waitFor();
    assert.notEqual((await serverDirs(b)).ephemeral_dir, (await serverDirs(a)).ephemeral_dir, 'B has its own server and directory');

    // A's server asks the hub who B is (OAuth); the hub refuses.
    const refused = await pageB.goto(`${h().url}user/${a}/tree`);
    assert.equal(refused?.status(), 403, `at ${pageB.url()}`);
    assert.ok(!new URL(pageB.url()).pathname.startsWith(`/user/${a}/`), `B stays out of A's server: ${pageB.url()}`);
    assert.equal(await pageB.locator('#notebook_list, #notebook, #jp-main-dock-panel').count(), 0, 'no notebook UI of A');
    assert.match((await pageB.textContent('body')) ?? '', new RegExp(`do not have permission to access .*/user/${a}/`));
    assert.equal(await userStatus(a), 200, 'A is untouched');
  });
});
