/**
 * Who runs a server, and what the hub process may do: uids handed out per user and kept while
 * their files may remain, system accounts refused below min_uid, the hub's refusal to run every
 * server as itself unless all users are trusted, its data directory made private, and sizes read
 * as JupyterHub reads mem_limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../src/db/connect.js';
import { UserRepo } from '../../src/db/repos/users.js';
import { AuthGeneration } from '../../src/db/repos/generation.js';
import { UidRangeExhausted, UnixIdRepo } from '../../src/db/repos/unix-ids.js';
import { configSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { assertReachable, LAUNCHER_CAPABILITIES, planPrivileges, prepareDataDir } from '../../src/hub/privileges.js';
import { systemAccount } from '../../src/spawners/unix-accounts.js';
import { SpawnFailure } from '../../src/spawners/spawner.js';
import { parseByteSize } from '../../src/spawners/local-process/limits.js';
import { tempDir } from '../helpers/tmp.js';

async function repos(range: [number, number]) {
  const database = await openDatabase('sqlite:///:memory:');
  const users = new UserRepo(database.db, new AuthGeneration());
  return { database, users, ids: new UnixIdRepo(database.db, range) };
}

test('each user gets a uid of its own from the range, the same one at every start', async (t) => {
  const { database, users, ids } = await repos([200000, 200009]);
  t.after(() => database.close());
  const alice = await users.create('alice', false, 'local-process');
  const bob = await users.create('bob', false, 'local-process');
  const [a, b] = await Promise.all([ids.uidFor(alice), ids.uidFor(bob)]);
  assert.equal(a, 200000);
  assert.equal(b, 200001);
  assert.equal(await ids.uidFor(alice), a, 'kept across starts');
  assert.equal(await ids.find(bob.id), b);
});

test("a deleted user's uid goes to nobody else until its files are gone; the same name gets it back", async (t) => {
  const { database, users, ids } = await repos([200000, 200001]);
  t.after(() => database.close());
  const tmp1 = await users.create('tmp1', false, 'local-process');
  const old = await ids.uidFor(tmp1);
  await ids.release(tmp1.id);
  await users.delete(tmp1.id);
  const carol = await users.create('carol', false, 'local-process');
  assert.equal(await ids.uidFor(carol), 200001, 'carol does not get the uid that may still own files');
  const dave = await users.create('dave', false, 'local-process');
  await assert.rejects(ids.uidFor(dave), UidRangeExhausted, 'the range is full while the old files remain');

  const again = await users.create('tmp1', false, 'local-process');
  assert.equal(await ids.uidFor(again), old, 'a user created again under the same name owns its old files again');
  await ids.release(again.id);
  await users.delete(again.id);
  await ids.forget(old);
  assert.equal(await ids.uidFor(dave), old, 'once the files are gone the uid is free');
});

test('a user deleted without release keeps its uid taken (the foreign key only unlinks it)', async (t) => {
  const { database, users, ids } = await repos([200000, 200000]);
  t.after(() => database.close());
  const eve = await users.create('eve', false, 'local-process');
  await ids.uidFor(eve);
  await users.delete(eve.id);
  assert.deepEqual(await ids.released(), [{ uid: 200000, user_name: 'eve' }]);
  const fred = await users.create('fred', false, 'local-process');
  await assert.rejects(ids.uidFor(fred), UidRangeExhausted);
});

test("the hub's groups get gids of their own from the range, kept, and never a user's", async (t) => {
  const { database, users, ids } = await repos([200000, 200009]);
  t.after(() => database.close());
  const ann = await users.create('ann', false, 'local-process');
  const annUid = await ids.uidFor(ann);
  const teachers = await ids.groupId('course-x-teachers');
  const members = await ids.groupId('course-x-members');
  assert.deepEqual(new Set([annUid, teachers, members]).size, 3);
  assert.equal(await new UnixIdRepo(database.db, [200000, 200009]).groupId('course-x-teachers'), teachers, 'recorded, not only cached');
  // A user whose name is a group's row name gets a uid of its own, and no group's row is "released".
  const sneaky = await users.create('group:course-x-teachers', false, 'local-process');
  assert.ok(![teachers, members].includes(await ids.uidFor(sneaky)));
  assert.deepEqual(await ids.released(), []);
  await ids.forget(teachers);
  assert.equal(await new UnixIdRepo(database.db, [200000, 200009]).groupId('course-x-teachers'), teachers, 'forget() is for users\' uids only');
});

test('system accounts: root, daemon and other accounts below min_uid are refused, a missing one too', () => {
  assert.throws(() => systemAccount('root', 1000), (e: unknown) => e instanceof SpawnFailure && /uid 0\) is a system account/.test(e.message));
  assert.throws(() => systemAccount('daemon', 1000), /system account: servers run only as accounts with uid 1000 or above/);
  assert.throws(() => systemAccount('no-such-account-here', 1000), /no Unix account named no-such-account-here/);
  const root = systemAccount('root', 0);
  assert.equal(root.uid, 0, 'the lookup itself works (min_uid 0 is only for this check)');
  assert.ok(root.groups.includes(0));
});

const config = (spawner: Record<string, unknown>, extra: Record<string, unknown> = {}) => configSchema.parse({ spawner, ...extra });
const root = { uid: 0, launcherCapabilities: new Set(LAUNCHER_CAPABILITIES) };
const plain = { uid: 1000, launcherCapabilities: new Set<(typeof LAUNCHER_CAPABILITIES)[number]>() };

test('the hub refuses to run every server as itself unless all users are trusted', () => {
  assert.throws(() => planPrivileges(config({ run_as: 'hub' }), root), (e: unknown) => e instanceof ConfigError && /trust_all_users: true/.test(e.message));
  assert.deepEqual(planPrivileges(config({ run_as: 'hub', trust_all_users: true }), root), { launcher: false, dropTo: 'ganymede' });
  assert.deepEqual(planPrivileges(config({ run_as: 'hub', trust_all_users: true }, { user: 'root' }), root), { launcher: false, dropTo: null });
  assert.deepEqual(planPrivileges(config({ run_as: 'hub', trust_all_users: true }), plain), { launcher: false, dropTo: null });
});

test('isolated servers: started as root the hub keeps a launcher and drops to user; without privileges it names both ways out', () => {
  assert.deepEqual(planPrivileges(config({}), root), { launcher: true, dropTo: 'ganymede' });
  assert.deepEqual(planPrivileges(config({ run_as: 'system' }, { user: 'hubsvc' }), root), { launcher: true, dropTo: 'hubsvc' });
  assert.throws(() => planPrivileges(config({}, { user: 'root' }), root), /user: root keeps the whole hub running as root/);
  assert.throws(
    () => planPrivileges(config({}), plain),
    (e: unknown) => e instanceof ConfigError && /missing CAP_SETUID/.test(e.message) && /start the hub as root/.test(e.message) && /run_as: hub and spawner.trust_all_users: true/.test(e.message),
  );
  const ambient = { uid: 1000, launcherCapabilities: new Set(LAUNCHER_CAPABILITIES) };
  assert.deepEqual(planPrivileges(config({}), ambient), { launcher: true, dropTo: null }, 'capabilities passed down as ambient ones are enough');
});

test('data_dir readable by others is made 0700 and the database 0600, with a warning', async (t) => {
  const dir = await tempDir('ganymede-datadir-');
  t.after(() => dir.cleanup());
  const data = path.join(dir.path, 'data');
  mkdirSync(data, { mode: 0o755 });
  writeFileSync(path.join(data, 'ganymede.sqlite'), '', { mode: 0o644 });
  const warnings: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  prepareDataDir(data, null, log);
  assert.equal(statSync(data).mode & 0o777, 0o700);
  assert.equal(statSync(path.join(data, 'ganymede.sqlite')).mode & 0o777, 0o600);
  assert.match(warnings.join(''), /data_dir was readable by other accounts/);
});

test('a directory the hub account cannot pass through is named with its mode', async (t) => {
  const dir = await tempDir('ganymede-reach-');
  t.after(() => dir.cleanup());
  chmodSync(dir.path, 0o755);
  const closed = path.join(dir.path, 'closed');
  mkdirSync(path.join(closed, 'data'), { recursive: true, mode: 0o700 });
  const account = { name: 'ganymede', uid: 999999, gid: 999999, groups: [999999] };
  assert.throws(() => assertReachable(path.join(closed, 'data'), account, 'data_dir'), /data_dir: .* cannot be reached by the account ganymede: .*closed \(mode 0700, owner uid 0\)/);
  assert.doesNotThrow(() => assertReachable(closed, { ...account, uid: 0 }, 'data_dir'));
});

test('sizes are read as JupyterHub reads mem_limit: binary multiples', () => {
  assert.equal(parseByteSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseByteSize('512m'), 512 * 1024 ** 2);
  assert.equal(parseByteSize('0.5G'), 512 * 1024 ** 2);
  assert.equal(parseByteSize('1000'), 1000);
  assert.throws(() => parseByteSize('2 GB'), /not a size/);
  assert.throws(() => parseByteSize('0'), /not a usable size/);
});
