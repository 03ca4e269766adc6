/**
 * The Slurm spawner's options form, in Chromium, against a real single-node Slurm
 * (test/helpers/slurm-cluster.ts); the API side is in test/integration/slurm-spawner.test.ts.
 *   1  the form: partition, CPUs, memory and time chosen, Start, the progress page, the running server,
 *      the job's details on the home page (matching squeue), Stop My Server cancels the job
 *   2  a full partition: the progress page shows PENDING (Resources|Priority) and goes on to the
 *      server by itself once the partition frees up
 *   3  a value beyond the partition's bounds: 400, the form again with an error naming cpus, no job
 *   4  at a phone's width (390×844) neither the form nor the home page with job details scrolls sideways
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchBrowser } from '../helpers/browser.js';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { ACTIVE_JOB_STATES, createUnixUser, startSlurm, type TestSlurm, type UnixUser, slurmTestSpawner, slurmSkipReason } from '../helpers/slurm-cluster.js';

const skip = slurmSkipReason() || (!existsSync(CHROMIUM_PATH) ? `no Chromium at ${CHROMIUM_PATH} (scripts/install-system-deps.sh test)` : false);

const PHONE = { width: 390, height: 844 };

describe('the Slurm options form in Chromium', { skip, timeout: 150_000 }, () => {
  let slurm: TestSlurm | undefined;
  let hub: HubProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const users: UnixUser[] = [];

  const h = () => hub!;
  const s = () => slurm!;
  const userJobs = async (name: string) => (await s().jobs()).filter((j) => j.user === name);
  const activeJobs = async (name: string) => (await userJobs(name)).filter((j) => ACTIVE_JOB_STATES.includes(j.state));
  const serverModel = async (name: string) => (await h().api(`/users/${name}`, { token: ADMIN_TOKEN })).json?.servers?.[''] as { ready: boolean; state: Record<string, unknown> } | undefined;
  const hubLog = () => h().stderr().slice(-3000);

  /** A Unix account; `known` also makes the hub user by API (browser users come into being at login). */
  const newUser = async (known = false): Promise<string> => {
    const u = await createUnixUser(`gs${randomBytes(3).toString('hex')}`);
    users.push(u);
    if (known) {
      const created = await h().api(`/users/${u.name}`, { method: 'POST', token: ADMIN_TOKEN });
      assert.equal(created.status, 201, created.text);
    }
    return u.name;
  };

  /** A new browser context logged in as `name` with the dummy authenticator's form, left on /hub/spawn. */
  const logInToSpawn = async (name: string, viewport = { width: 1200, height: 900 }): Promise<Page> => {
    const context = await browser!.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${h().url}hub/spawn`);
    assert.match(page.url(), /\/hub\/login/, 'asked to log in first');
    await page.fill('input[name=username]', name);
    await page.fill('input[name=password]', 'anything');
    await Promise.all([page.waitForURL(/\/hub\/(spawn|home)/), page.click('button[type=submit], input[type=submit]')]);
    if (!/\/hub\/spawn$/.test(new URL(page.url()).pathname)) await page.goto(`${h().url}hub/spawn`);
    await page.locator('#slurm-options').waitFor();
    return page;
  };

  /** Fills the options form; values the form should take as they are. */
  const fillForm = async (page: Page, o: { partition: string; cpus: number; memory_gb: number; time_minutes?: number }) => {
    await page.selectOption('#slurm-options select[name=partition]', o.partition);
    await page.fill('#slurm-options input[name=cpus]', String(o.cpus));
    await page.fill('#slurm-options input[name=memory_gb]', String(o.memory_gb));
    if (o.time_minutes !== undefined) await page.fill('#slurm-options input[name=time_minutes]', String(o.time_minutes));
  };

  /** A URL of the user's running server itself (past the OAuth round-trip). */
  const inServer = (name: string) => (url: URL) => url.pathname.startsWith(`/user/${name}/`) && !url.pathname.includes('oauth_callback');

  const stopByApi = async (name: string) => {
    const stop = await h().api(`/users/${name}/server`, { method: 'DELETE', token: ADMIN_TOKEN });
    assert.ok([202, 204].includes(stop.status), `stop answered ${stop.status}: ${stop.text}`);
    await waitFor(async () => (await serverModel(name)) === undefined, 30_000, `${name}'s server to stop`);
    await waitFor(async () => (await activeJobs(name)).length === 0, 15_000, `${name}'s job to end`);
  };

  before(async () => {
    slurm = await startSlurm();
    hub = await startHub({ config: { ...adminServiceConfig(), authenticator: { class: 'dummy' }, spawner: slurmTestSpawner() }, env: slurm.env });
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await hub?.stop();
    await slurm?.stop();
    for (const u of users) await u.remove();
  });

  test('choose partition and resources, start, see the job on the home page, stop cancels it', { timeout: 60_000 }, async () => {
    const name = await newUser();
    const page = await logInToSpawn(name);
    for (const field of ['partition', 'cpus', 'memory_gb', 'time_minutes']) {
      assert.equal(await page.locator(`#slurm-options [name=${field}]`).count(), 1, `the form has a ${field} field`);
    }
    await fillForm(page, { partition: 'debug', cpus: 2, memory_gb: 1, time_minutes: 15 });
    await Promise.all([page.waitForURL(new RegExp(`/hub/spawn-pending/${name}`)), page.click('#spawn_form button[type=submit]')]);
    assert.equal(await page.locator('#progress-bar').count(), 1, 'the progress page');

    await page.waitForURL(inServer(name), { timeout: 40_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nat ${page.url()}: ${await page.locator('body').innerText().catch(() => '')}\n${hubLog()}`);
    });

    assert.match(await page.title(), /Home|Jupyter/, 'the single-user server’s own page');
    const [job, ...others] = await activeJobs(name);
    assert.equal(others.length, 0, 'one job');
    assert.equal(job?.state, 'RUNNING');
    assert.equal(job?.partition, 'debug');

    // Time left is whole minutes of the 15 from when the server started running, however long the
    // start took on a loaded machine: between what is left before the page is made and after.
    const runningSince = Date.parse(String((await serverModel(name))?.state.running_since));
    assert.ok(Number.isFinite(runningSince), 'the server state says since when it runs');
    const minutesLeft = () => Math.floor((runningSince + 15 * 60_000 - Date.now()) / 60_000);
    const most = minutesLeft();
    await page.goto(`${h().url}hub/home`);
    const detail = (key: string) => page.locator(`dd[data-detail="${key}"]`).innerText();
    assert.match(await detail('job'), /^\d+$/);
    assert.equal(await detail('job'), job!.id, 'the job number is the one squeue lists for the user');
    assert.equal(await detail('partition'), 'debug');
    assert.equal(await detail('resources'), '2 CPUs, 1 GB');
    const shown = await detail('time-left');
    const least = minutesLeft();
    assert.ok(least >= 10 && most <= 15, `the server started running ${15 - least} minutes ago`);
    const left = Number(/^(\d+) min$/.exec(shown)?.[1]);
    assert.ok(left >= least && left <= most, `time left "${shown}", expected ${least === most ? least : `${least}–${most}`} min`);

    await page.click('#stop');
    // home.js reloads the page once the server is gone: Start My Server again, no job details.
    await page.locator('#start', { hasText: 'Start My Server' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('dd[data-detail="job"]').count(), 0);
    assert.deepEqual(await activeJobs(name), [], 'squeue lists no active job of the user');
    assert.notEqual((await userJobs(name)).find((j) => j.id === job!.id)?.state, 'RUNNING');
  });

  test('a full partition: the progress page shows the queue reason and goes on once there is room', { timeout: 75_000 }, async () => {
    const holder = await newUser(true);
    const waiting = await newUser();

    const start = await h().api(`/users/${holder}/server`, { method: 'POST', token: ADMIN_TOKEN, body: { partition: 'small' } });
    assert.ok([201, 202].includes(start.status), `start answered ${start.status}: ${start.text}`);
    await waitFor(async () => (await serverModel(holder))?.ready === true, 40_000, `${holder}'s server on small to be ready`);

    const page = await logInToSpawn(waiting);
    await fillForm(page, { partition: 'small', cpus: 1, memory_gb: 1 });
    await Promise.all([page.waitForURL(new RegExp(`/hub/spawn-pending/${waiting}`)), page.click('#spawn_form button[type=submit]')]);
    const queued = /PENDING \((Resources|Priority)\)/;
    await page
      .waitForFunction(
        (source) => {
          const re = new RegExp(source);
          const texts = [document.getElementById('progress-message')?.textContent ?? '', ...Array.from(document.querySelectorAll('#progress-log li'), (li) => li.textContent ?? '')];
          return texts.some((t) => re.test(t));
        },
        queued.source,
        { timeout: 20_000 },
      )
      .catch(async (err: Error) => {
        throw new Error(`${err.message}\nprogress log:\n${await page.locator('#progress-log').innerText()}`);
      });
    assert.equal((await activeJobs(waiting))[0]?.state, 'PENDING', 'squeue agrees the job waits');

    await stopByApi(holder);
    await page.waitForURL(inServer(waiting), { timeout: 30_000 }).catch(async (err: Error) => {
      throw new Error(`${err.message}\nat ${page.url()}\n${hubLog()}`);
    });
    assert.equal((await activeJobs(waiting))[0]?.state, 'RUNNING');
    await stopByApi(waiting);
  });

  test('a value beyond the partition’s bounds: the form again with the error, and no job', { timeout: 30_000 }, async () => {
    const name = await newUser();
    const page = await logInToSpawn(name);
    await page.selectOption('#slurm-options select[name=partition]', 'debug');
    // Past the browser's own check of max: the hub must refuse it itself.
    await page.evaluate(() => document.querySelector('#slurm-options input[name=cpus]')!.removeAttribute('max'));
    await page.fill('#slurm-options input[name=cpus]', '99');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/hub/spawn'),
      page.click('#spawn_form button[type=submit]'),
    ]);
    assert.equal(res.status(), 400);
    await page.waitForLoadState();
    const error = page.locator('#spawn-form-error');
    assert.ok(await error.isVisible(), 'the error is shown');
    assert.match((await error.innerText()).trim(), /cpus/);
    assert.ok(await page.locator('#slurm-options input[name=cpus]').isVisible(), 'the form is shown again');
    assert.equal(await page.locator('#slurm-options input[name=cpus]').inputValue(), '99', 'with what was typed in it');
    assert.deepEqual(await userJobs(name), [], 'no job was submitted');
    assert.equal(await serverModel(name), undefined, 'no server either');
  });

  test('at a phone’s width neither the form nor the home page with job details scrolls sideways', { timeout: 60_000 }, async () => {
    const name = await newUser();
    const page = await logInToSpawn(name, PHONE);
    const scrollWidth = () => page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok((await scrollWidth()) <= PHONE.width, `the form is ${await scrollWidth()} px wide`);

    await fillForm(page, { partition: 'debug', cpus: 4, memory_gb: 4, time_minutes: 60 });
    await Promise.all([page.waitForURL(new RegExp(`/hub/spawn-pending/${name}`)), page.click('#spawn_form button[type=submit]')]);
    assert.ok((await scrollWidth()) <= PHONE.width, `the progress page is ${await scrollWidth()} px wide`);
    await page.waitForURL(inServer(name), { timeout: 40_000 });

    await page.goto(`${h().url}hub/home`);
    await page.locator('dd[data-detail="job"]').waitFor();
    assert.equal(await page.locator('dd[data-detail="resources"]').innerText(), '4 CPUs, 4 GB');
    assert.ok(await page.locator('#stop').isVisible());
    assert.ok((await scrollWidth()) <= PHONE.width, `the home page is ${await scrollWidth()} px wide`);
    await stopByApi(name);
  });
});
