/**
 * The built-in idle culler, configured in the hub's config file and observed through the API, on a
 * clock the test moves (realistic durations: a 600 s timeout, an hour of max_age; `every: 3600`, so only the
 * passes the test drives happen):
 *  - a server idle past `timeout` is stopped and, with `cull_users`, its user deleted, as is a user
 *    with no server; a server used through the proxy between passes stays, and so does its user;
 *  - `max_age` stops a server however busy it is;
 *  - `remove_named_servers`: a culled named server is deleted, not kept as a stopped server;
 *  - `cull_admin_users: false` keeps idle admins that `cull_users` would delete;
 *  - `concurrency`: at most that many servers are being stopped at once.
 * Two hubs: one with max_age and the defaults of the last three keys, one with other values (and servers
 * that take 1.5 s to stop, so that overlapping stops can be seen). Each test uses its own users and
 * deletes those it leaves, so the tests of a hub do not see each other's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const TIMEOUT_S = 600;
const MAX_AGE_S = 3600;
/** How long a server of the second hub takes to exit after SIGTERM. */
const SLOW_STOP_MS = 1500;

interface ServerModel {
  name: string;
  ready: boolean;
  stopped: boolean;
  pending: string | null;
}
interface UserModel {
  name: string;
  admin: boolean;
  servers: Record<string, ServerModel>;
}

/**
 * Waits until the hub's output shows `line`: the hub logs before it answers, but its output comes
 * through another pipe than its answers (HTTP, the clock's IPC), so it may arrive a moment later.
 */
async function logShows(hub: HubProcess, line: RegExp): Promise<void> {
  await waitFor(() => line.test(hub.stdout() + hub.stderr()), 10_000, `the hub's log to show ${line}`);
}

function cullerHub(culler: Record<string, unknown>, environment: Record<string, string> = {}): Promise<HubProcess> {
  return startHub({
    clock: {},
    config: {
      ...adminServiceConfig(),
      allow_named_servers: true,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], environment },
      culler: { enabled: true, timeout: TIMEOUT_S, every: 3600, cull_users: true, ...culler },
      log_level: 'info',
    },
  });
}

const admin = (hub: HubProcess, apiPath: string, method = 'GET', body?: unknown) => hub.api(apiPath, { method, token: ADMIN_TOKEN, body });
const userModel = async (hub: HubProcess, name: string, query = ''): Promise<UserModel | null> => {
  const res = await admin(hub, `/users/${name}${query}`);
  if (res.status === 404) return null;
  assert.equal(res.status, 200, res.text);
  return res.json as UserModel;
};

async function createUsers(hub: HubProcess, names: string[], adminFlag = false): Promise<void> {
  const res = await admin(hub, '/users', 'POST', { usernames: names, admin: adminFlag });
  assert.equal(res.status, 201, res.text);
}

async function startReady(hub: HubProcess, user: string, server = ''): Promise<void> {
  const res = await admin(hub, server ? `/users/${user}/servers/${server}` : `/users/${user}/server`, 'POST');
  assert.ok([201, 202].includes(res.status), `${user}/${server}: ${res.status} ${res.text}`);
  await waitFor(async () => (await userModel(hub, user))?.servers[server]?.ready === true, 15_000, `${user}/${server} to be ready`);
}

/** A browser with the user's token: one request through the proxy to the user's server (not to the hub). */
async function browser(hub: HubProcess, user: string): Promise<() => Promise<void>> {
  const token = (await admin(hub, `/users/${user}/tokens`, 'POST', { note: 'browser' })).json.token as string;
  return async () => {
    const res = await fetch(`${hub.url}user/${user}/api/status`, { headers: { Authorization: `token ${token}` }, redirect: 'manual' });
    assert.equal(res.status, 200, `${user}'s server answers through the proxy`);
    assert.deepEqual(await res.json(), { version: 'mock' });
  };
}

async function deleteUsers(hub: HubProcess, names: string[]): Promise<void> {
  for (const name of names) assert.ok([204, 404].includes((await admin(hub, `/users/${name}`, 'DELETE')).status), name);
}

/** Two idle passes apart: a named server left idle while its user works in the default server. */
async function idleNamedServer(hub: HubProcess, user: string): Promise<void> {
  await createUsers(hub, [user]);
  await startReady(hub, user);
  await startReady(hub, user, 'lab');
  const browse = await browser(hub, user);
  await hub.advanceClock(300_000);
  await browse();
  await hub.advanceClock(400_000);
}

/** An admin and a user, neither with a server, both idle past the timeout at the next pass. */
async function idleAdminAndUser(hub: HubProcess, adminName: string, userName: string): Promise<void> {
  await createUsers(hub, [adminName], true);
  await createUsers(hub, [userName]);
  assert.equal((await userModel(hub, adminName))?.admin, true);
  await hub.advanceClock(300_000);
  assert.ok(await userModel(hub, userName), 'idle for less than the timeout: the user stays');
  await hub.advanceClock(400_000);
}

describe('culler with cull_users and max_age (remove_named_servers, cull_admin_users, concurrency at their defaults)', { timeout: 180_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await cullerHub({ max_age: MAX_AGE_S });
  });
  after(() => hub?.stop());

  test('idle servers and users are culled, active ones stay', async () => {
    await createUsers(hub, ['idle', 'busy', 'serverless']);
    await startReady(hub, 'idle');
    await startReady(hub, 'busy');
    const browse = await browser(hub, 'busy');

    // 400 s: nobody is idle past the timeout yet.
    await browse();
    await hub.advanceClock(400_000);
    assert.equal((await userModel(hub, 'idle'))?.servers['']?.ready, true, 'idle for 400 s of 600: stays');
    assert.ok(await userModel(hub, 'serverless'), 'created 400 s ago: stays');

    // 800 s: idle and serverless are past the timeout; busy used its server 400 s ago.
    await browse();
    await hub.advanceClock(400_000);
    assert.equal(await userModel(hub, 'idle'), null, 'the idle server is stopped and its user deleted');
    assert.equal(await userModel(hub, 'serverless'), null, 'a user inactive past the timeout with no server is deleted');
    assert.equal((await userModel(hub, 'busy'))?.servers['']?.ready, true, 'the server in use stays');

    // 1200 s: twice the timeout since busy's server started, and still in use: it stays.
    await browse();
    await hub.advanceClock(400_000);
    assert.equal((await userModel(hub, 'busy'))?.servers['']?.ready, true, 'the server in use stays');
    await logShows(hub, /"user":"idle",.*"culling idle server"/);

    // In the metrics, as JupyterHub's /hub/metrics, for holders of read:metrics.
    assert.equal((await fetch(`${hub.url}hub/metrics`)).status, 403);
    const metrics = await (await fetch(`${hub.url}hub/metrics`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })).text();
    assert.match(metrics, /^ganymede_culled\{kind="servers"\} 1$/m);
    assert.match(metrics, /^ganymede_culled\{kind="users"\} 2$/m);
    assert.match(metrics, /^jupyterhub_running_servers 1$/m);
    await deleteUsers(hub, ['busy']);
  });

  test('max_age stops a server however busy it is', async () => {
    await createUsers(hub, ['old']);
    await startReady(hub, 'old');
    const browse = await browser(hub, 'old');
    // In use every 500 s (never idle past the 600 s timeout) up to 3500 s: younger than max_age, it stays.
    for (let age = 500; age < MAX_AGE_S; age += 500) {
      await browse();
      await hub.advanceClock(500_000);
      assert.equal((await userModel(hub, 'old'))?.servers['']?.ready, true, `${age} s old and in use: it stays`);
    }
    await browse();
    await hub.advanceClock(500_000);
    const old = await userModel(hub, 'old');
    assert.equal(old?.servers[''], undefined, 'older than max_age, though never idle past the timeout: stopped');
    assert.ok(old, 'its user, active 500 s ago, stays');
    await logShows(hub, /"user":"old",.*"reason":"max_age".*"culling server \(max age\)"/);
    await deleteUsers(hub, ['old']);
  });

  test('without remove_named_servers, a culled named server stays as a stopped server', async () => {
    await idleNamedServer(hub, 'nora');
    const nora = await userModel(hub, 'nora');
    assert.deepEqual(Object.keys(nora?.servers ?? {}), [''], 'lab is stopped; the default server in use stays');
    const withStopped = await userModel(hub, 'nora', '?include_stopped_servers=1');
    assert.equal(withStopped?.servers.lab?.stopped, true, 'lab is kept, stopped');
    assert.equal(withStopped?.servers.lab?.ready, false);
    await deleteUsers(hub, ['nora']);
  });

  test('with cull_admin_users on (the default), an idle admin is deleted like any user', async () => {
    await idleAdminAndUser(hub, 'ada', 'ned');
    assert.equal(await userModel(hub, 'ned'), null);
    assert.equal(await userModel(hub, 'ada'), null, 'the idle admin is deleted');
  });
});

describe('culler with remove_named_servers, cull_admin_users off and concurrency 2', { timeout: 180_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await cullerHub({ remove_named_servers: true, cull_admin_users: false, concurrency: 2 }, { MOCK_EXIT_DELAY_MS: String(SLOW_STOP_MS) });
  });
  after(() => hub?.stop());

  test('with remove_named_servers, a culled named server is deleted, not only stopped', async () => {
    await idleNamedServer(hub, 'nora');
    assert.deepEqual(Object.keys((await userModel(hub, 'nora'))?.servers ?? {}), [''], 'the default server in use stays');
    const withStopped = await userModel(hub, 'nora', '?include_stopped_servers=1');
    assert.deepEqual(Object.keys(withStopped?.servers ?? {}), [''], 'lab is gone, even among stopped servers');
    await logShows(hub, /"user":"nora","server":"lab",.*"culling idle server"/);
    await deleteUsers(hub, ['nora']);
  });

  test('with cull_admin_users off, an idle admin stays while an idle user is deleted', async () => {
    await idleAdminAndUser(hub, 'ada', 'ned');
    assert.equal(await userModel(hub, 'ned'), null, 'the idle user is deleted in that pass');
    assert.equal((await userModel(hub, 'ada'))?.admin, true, 'the idle admin stays');
    await deleteUsers(hub, ['ada']);
  });

  test('with concurrency 2, two of three idle servers are stopped at once, never three', async () => {
    const names = ['s1', 's2', 's3'];
    await createUsers(hub, names);
    for (const name of names) await startReady(hub, name);

    // While the pass runs, count the servers the API shows stopping (each takes 1.5 s to exit).
    let passDone = false;
    let most = 0;
    const seenStopping = new Set<string>();
    const watching = (async () => {
      while (!passDone) {
        const users = (await admin(hub, '/users')).json as UserModel[];
        const stopping = users.filter((u) => u.servers['']?.pending === 'stop').map((u) => u.name);
        for (const name of stopping) seenStopping.add(name);
        most = Math.max(most, stopping.length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await hub.advanceClock((TIMEOUT_S + 100) * 1000).finally(() => {
      passDone = true;
    });
    await watching;
    for (const name of names) assert.equal(await userModel(hub, name), null, `${name}: server stopped, user deleted`);
    assert.deepEqual([...seenStopping].sort(), names, 'every stop was seen under way');
    assert.equal(most, 2, 'at most two servers stopping at once, and two did stop together');
  });
});
