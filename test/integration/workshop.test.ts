/**
 * Workshop mode: temporary users (authenticator.class tmp) with a warm pool, fresh directories that
 * go when the server stops (spawner.ephemeral), a new user and server on each visit to the root
 * (force_new_server), behind the site password; pooled servers nobody took replaced after
 * warm_pool_max_age, and never culled while they wait; a temporary user culled with its idle server.
 * The ages are on a clock the test moves (an hour, not seconds), so recycling and culling happen
 * when the test drives them. Under isolation (run_as dynamic), pooled and ephemeral servers run
 * under uids of their own, and a deleted temporary user's uid goes to another visitor only once its
 * files are gone. Servers are the mock single-user server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { uidOf } from '../helpers/ownership.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const PASSWORD = 'workshop-2026';
const BASIC = `Basic ${Buffer.from(`x:${PASSWORD}`).toString('base64')}`;

interface UserModel {
  name: string;
  servers: Record<string, { ready: boolean }>;
}

/**
 * Waits until the hub's output shows `line`: the hub logs before it answers, but its output comes
 * through another pipe than its answers (HTTP, the clock's IPC), so it may arrive a moment later.
 */
async function logShows(hub: HubProcess, line: RegExp): Promise<void> {
  await waitFor(() => line.test(hub.stdout() + hub.stderr()), 10_000, `the hub's log to show ${line}`);
}

async function readyTemporaryUsers(hub: HubProcess): Promise<string[]> {
  const users = (await hub.api('/users', { token: ADMIN_TOKEN })).json as UserModel[];
  return users.filter((u) => /^tmp-[a-z0-9]{16}$/.test(u.name) && u.servers['']?.ready).map((u) => u.name);
}

/** A visitor's browser: the site password once, then the site cookie; lands where the hub sends it. */
async function visit(hub: HubProcess, session: CookieSession): Promise<{ user: string; landed: string }> {
  const first = await session.fetch('/hub/', { headers: { Authorization: BASIC } });
  assert.equal(first.status, 302);
  const { res, trail } = await session.follow(new URL(first.headers.get('location')!, hub.url).pathname);
  assert.equal(res.status, 200, trail.join(' → '));
  const landed = new URL(trail.at(-1)!).pathname;
  const user = /^\/user\/(tmp-[a-z0-9]{16})\//.exec(landed)?.[1];
  assert.ok(user, `landed in a temporary user's server: ${trail.join(' → ')}`);
  return { user, landed };
}

test('visitors get pooled servers at once, the pool refills, a new visit gives a new user, and nothing stays on disk', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'tmp', force_new_server: true, warm_pool: 3 },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true },
      shared_password: { password: PASSWORD },
      log_level: 'info',
    },
  });
  t.after(() => hub.stop());
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 3, 20_000, 'three pooled servers');
  const pooled = await readyTemporaryUsers(hub);

  const a = new CookieSession(new URL(hub.url).origin);
  const first = await visit(hub, a);
  assert.ok(pooled.includes(first.user), 'visitor A was handed a pooled server');
  const env = (await (await a.fetch(`/user/${first.user}/env`)).json()) as { cwd: string };
  assert.equal(path.dirname(path.dirname(env.cwd)), path.join(hub.dataDir, 'ephemeral'), `a fresh directory: ${env.cwd}`);

  const b = new CookieSession(new URL(hub.url).origin);
  const second = await visit(hub, b);
  assert.notEqual(second.user, first.user, 'visitor B gets another user');
  await logShows(hub, /visitor handed a pooled server/);

  // The pool refills in the background: three ready ones besides the two taken.
  await waitFor(async () => (await readyTemporaryUsers(hub)).filter((n) => n !== first.user && n !== second.user).length === 3, 20_000, 'the pool to refill');

  // A's second visit to the root: a new user and server; the old user and its directory are gone.
  const again = await visit(hub, a);
  assert.notEqual(again.user, first.user);
  await waitFor(async () => (await hub.api(`/users/${first.user}`, { token: ADMIN_TOKEN })).status === 404, 15_000, 'the old temporary user to be deleted');
  assert.equal(existsSync(path.dirname(env.cwd)), false, 'its ephemeral directory is deleted');
  assert.equal((await hub.api(`/users/${second.user}`, { token: ADMIN_TOKEN })).status, 200, 'B is untouched');

  // Stopping a temporary user's server deletes the user.
  assert.ok([202, 204].includes((await hub.api(`/users/${second.user}/server`, { method: 'DELETE', token: ADMIN_TOKEN })).status));
  await waitFor(async () => (await hub.api(`/users/${second.user}`, { token: ADMIN_TOKEN })).status === 404, 15_000, 'B to be deleted with its server');
});

test('with warm_pool 10, ten visitors at once each land in a ready pooled server, and the pool refills', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'tmp', warm_pool: 10 },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true },
      concurrent_spawn_limit: 4,
    },
  });
  t.after(() => hub.stop());
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 10, 30_000, 'ten pooled servers (four at a time)');
  const pooled = new Set(await readyTemporaryUsers(hub));

  const visitors = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const session = new CookieSession(new URL(hub.url).origin);
      const { res, trail } = await session.follow('/hub/');
      assert.equal(res.status, 200, trail.join(' → '));
      // Straight into the server: login, then the server; never the spawn or pending pages.
      assert.ok(!trail.some((u) => /\/hub\/spawn/.test(u)), trail.join(' → '));
      return /\/user\/(tmp-[a-z0-9]{16})\//.exec(trail.at(-1)!)?.[1];
    }),
  );
  assert.equal(new Set(visitors).size, 10, 'ten different users');
  for (const name of visitors) assert.ok(name && pooled.has(name), `${name} came from the pool`);

  const metrics = await (await fetch(`${hub.url}hub/metrics`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })).text();
  assert.match(metrics, /^ganymede_warm_pool_visitors\{pooled="true"\} 10$/m);
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 20, 30_000, 'the pool to refill to ten besides the ten taken');
});

describe('a warm pool with warm_pool_max_age 3600 and the culler on (timeout 600)', { timeout: 120_000 }, () => {
  let hub: HubProcess;
  before(async () => {
    hub = await startHub({
      clock: {},
      config: {
        ...adminServiceConfig(),
        authenticator: { class: 'tmp', warm_pool: 2, warm_pool_max_age: 3600 },
        spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true },
        culler: { enabled: true, timeout: 600, every: 3600 },
        log_level: 'info',
      },
    });
  });
  after(() => hub?.stop());
  const userStatus = async (name: string) => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).status;

  test('pooled servers nobody took are never culled, and are replaced after warm_pool_max_age', async () => {
    await waitFor(async () => (await readyTemporaryUsers(hub)).length === 2, 15_000, 'two pooled servers');
    const first = (await readyTemporaryUsers(hub)).sort();

    await hub.advanceClock(1800 * 1000);
    assert.deepEqual((await readyTemporaryUsers(hub)).sort(), first, 'idle for 1800 s (past the culler’s timeout) but younger than warm_pool_max_age: kept');

    await hub.advanceClock(1900 * 1000);
    for (const name of first) assert.equal(await userStatus(name), 404, `${name}, 3700 s in the pool, is stopped and deleted`);
    await logShows(hub, /recycled pooled servers nobody took/);
    await waitFor(
      async () => {
        const now = await readyTemporaryUsers(hub);
        return now.length === 2 && now.every((n) => !first.includes(n));
      },
      15_000,
      'two fresh pooled servers',
    );
  });

  test('the culler stops an idle temporary server, and its user goes with it', async () => {
    await waitFor(async () => (await readyTemporaryUsers(hub)).length === 2, 15_000, 'two pooled servers');
    const visitor = new CookieSession(new URL(hub.url).origin);
    const { res, trail } = await visitor.follow('/hub/');
    assert.equal(res.status, 200, trail.join(' → '));
    const name = /\/user\/(tmp-[a-z0-9]{16})\//.exec(trail.at(-1)!)?.[1];
    assert.ok(name, `landed in a pooled server: ${trail.join(' → ')}`);
    const server = (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers?.[''];
    assert.equal(server?.ready, true);
    const dir = server.state.ephemeral_dir as string;
    assert.ok(existsSync(dir), `its fresh directory ${dir}`);

    await hub.advanceClock(300 * 1000);
    assert.equal(await userStatus(name), 200, 'idle for 300 s of 600: stays');
    await hub.advanceClock(400 * 1000);
    assert.equal(await userStatus(name), 404, 'idle for 700 s: its server is stopped and the temporary user deleted');
    assert.equal(existsSync(dir), false, 'its directory is deleted with it');
  });
});

/** The rows of the hub's unix_ids table: which uid is whose (user_id null: released, its files may remain). */
function unixIds(dataDir: string): Array<{ uid: number; user_id: number | null; user_name: string }> {
  const db = new Database(path.join(dataDir, 'ganymede.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT uid, user_id, user_name FROM unix_ids ORDER BY uid').all() as Array<{ uid: number; user_id: number | null; user_name: string }>;
  } finally {
    db.close();
  }
}

test("isolated (run_as dynamic): pooled, ephemeral servers run under uids of their own; a deleted temporary user's uid is handed on only once its files are gone", { timeout: 120_000 }, async (t) => {
  // Two uids for the whole hub: the pool must give a freed one again.
  const [first, second] = [241_000, 241_001];
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'tmp', warm_pool: 1 },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true, run_as: 'dynamic', uid_range: [first, second] },
      log_level: 'info',
    },
  });
  t.after(() => hub.stop());
  const usersRoot = `${hub.dataDir}-users`;
  const serverOf = async (name: string) => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''] as { state: { pid: number; ephemeral_dir: string; root_dir: string } };
  const visitor = async () => {
    const session = new CookieSession(new URL(hub.url).origin);
    const { res, trail } = await session.follow('/hub/');
    assert.equal(res.status, 200, trail.join(' → '));
    const name = /\/user\/(tmp-[a-z0-9]{16})\//.exec(trail.at(-1)!)?.[1];
    assert.ok(name, `landed in a temporary user's server: ${trail.join(' → ')}`);
    const { state } = await serverOf(name);
    return { name, uid: uidOf(state.pid), dir: state.ephemeral_dir, root: state.root_dir };
  };
  const stopServer = async (name: string) => {
    assert.ok([202, 204].includes((await hub.api(`/users/${name}/server`, { method: 'DELETE', token: ADMIN_TOKEN })).status));
    await waitFor(async () => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).status === 404, 15_000, `${name} to be deleted with its server`);
  };

  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 1, 20_000, 'a pooled server');
  const a = await visitor();
  assert.equal(a.uid, first, "the pooled server runs under the pool member's own uid");
  assert.equal(path.dirname(a.dir), path.join(usersRoot, 'ephemeral'), `a fresh directory below users_root: ${a.dir}`);
  assert.equal(lstatSync(a.root).uid, first);
  assert.equal(lstatSync(a.root).mode & 0o777, 0o700);
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 2, 20_000, 'the pool to refill');
  assert.deepEqual(unixIds(hub.dataDir).map((r) => r.uid), [first, second], 'the pool member has the other uid');

  // What A's code left in the shared temporary folders is A's too.
  const leftovers = [`/tmp/ganymede-workshop-${a.name}.txt`, `/dev/shm/ganymede-workshop-${a.name}`];
  for (const file of leftovers) {
    writeFileSync(file, 'A was here');
    chownSync(file, first, first);
  }
  t.after(() => leftovers.forEach((file) => rmSync(file, { force: true })));

  // A leaves: the user, its files and then its uid go; the pool's next member gets that uid.
  await stopServer(a.name);
  assert.equal(existsSync(a.dir), false, 'its directory is deleted');
  for (const file of leftovers) assert.equal(existsSync(file), false, `${file} is deleted before the uid is freed`);
  const b = await visitor();
  assert.equal(b.uid, second);
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 2, 20_000, 'the pool to refill with the freed uid');
  const c = await visitor();
  assert.equal(c.uid, first, "the uid of A, whose files are gone, went to a later visitor");
  assert.notEqual(c.dir, a.dir);

  // C's files cannot be deleted (an immutable file): C is deleted, but its uid stays reserved.
  const stuck = path.join(c.root, 'stuck.txt');
  writeFileSync(stuck, 'cannot be deleted');
  execFileSync('chattr', ['+i', stuck]);
  t.after(() => execFileSync('chattr', ['-i', stuck]));
  await stopServer(c.name);
  await logShows(hub, /could not delete a temporary user's files; its uid stays reserved/);
  assert.ok(existsSync(stuck), "C's file is still there");
  assert.deepEqual(
    unixIds(hub.dataDir).find((r) => r.uid === first),
    { uid: first, user_id: null, user_name: c.name },
    "C's uid is released, not freed: nobody gets it while C's files remain",
  );
  // B leaves too: the pool refills with B's uid, never C's.
  await stopServer(b.name);
  await waitFor(async () => (await readyTemporaryUsers(hub)).length >= 1, 20_000, 'the pool to refill');
  const pooled = (await readyTemporaryUsers(hub))[0]!;
  assert.equal(uidOf((await serverOf(pooled)).state.pid), second);
  assert.equal(unixIds(hub.dataDir).find((r) => r.uid === first)?.user_id, null, "C's uid is still reserved");
});
