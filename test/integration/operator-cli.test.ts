/**
 * The operator's commands beside a running hub, as a person types them: `ganymede users add|list|
 * set-admin|delete`, `ganymede token create`, `ganymede db backup` while servers start (the copy then
 * starts a hub of its own) and `ganymede db upgrade`. What they change, the running hub honours at
 * once: a new token works, an admin flag taken away takes the admin's powers with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { runCli, startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('operators manage users, tokens and the database from the command line, beside a running hub', { timeout: 180_000 }, async (t) => {
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { class: 'local-process', cmd: [process.execPath, MOCK] } } });
  t.after(() => hub.stop());
  const cli = (...args: string[]) => runCli([...args, '--config', hub.configPath]);
  const api = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });

  await t.test('users add, list and set-admin; the hub sees them at once', async () => {
    const added = await cli('users', 'add', 'Carol', 'dave', '--admin');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr, /added 2 user\(s\) as admins: carol, dave/);
    assert.equal((await api('/users/carol')).json.admin, true);
    const again = await cli('users', 'add', 'carol', 'erin');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already there \(left as they are\): carol/);
    assert.equal((await api('/users/erin')).json.admin, false);

    const list = await cli('users', 'list', '--format', 'json');
    assert.equal(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as Array<{ name: string; admin: boolean }>).map((u) => `${u.name}:${u.admin}`);
    assert.deepEqual(names, ['carol:true', 'dave:true', 'erin:false']);
    const text = await cli('users', 'list');
    assert.match(text.stdout, /^NAME\s+ADMIN\s+SERVERS/);
    assert.match(text.stdout, /\ncarol\s+yes\s+-\s+never/);
  });

  await t.test('token create prints a token the running hub accepts, within its scopes', async () => {
    const made = await cli('token', 'create', '--user', 'erin', '--scopes', 'read:users:name,read:servers!user=erin', '--expires-in', '3600', '--note', 'backup script');
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal((await hub.api('/users/erin', { token })).status, 200);
    assert.equal((await hub.api('/users', { token })).status, 403, 'no list:users in its scopes');
    const listed = (await api('/users/erin/tokens')).json.api_tokens as Array<{ note: string; expires_at: string | null }>;
    assert.ok(listed.some((tk) => tk.note === 'backup script' && tk.expires_at !== null));

    for (const [args, message] of [
      [['--user', 'nobody'], /no such user: nobody/],
      [['--user', 'erin', '--scopes', 'read:everything'], /--scopes: .*read:everything/],
      [['--user', 'erin', '--expires-in', 'soon'], /--expires-in: a positive number of seconds/],
    ] as const) {
      const res = await cli('token', 'create', ...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.equal(res.stdout, '', 'no token printed');
    }
  });

  await t.test("taking the admin flag away takes the admin's powers with it, in the running hub", async () => {
    const made = await cli('token', 'create', '--user', 'dave');
    const token = made.stdout.trim();
    assert.equal((await hub.api('/users', { token })).status, 200, 'an admin lists users');
    const removed = await cli('users', 'set-admin', 'dave', '--remove');
    assert.equal(removed.code, 0, removed.stderr);
    // The hub caches who a token is; a commit by another process drops that cache within half a second.
    await waitFor(async () => (await hub.api('/users', { token })).status === 403, 5_000, "dave's token to lose list:users");
    assert.equal((await api('/users/dave')).json.admin, false);
  });

  await t.test('users delete refuses users with servers, and deleted users lose their tokens at once', async () => {
    const made = await cli('token', 'create', '--user', 'carol');
    const token = made.stdout.trim();
    assert.ok([201, 202].includes((await api('/users/carol/server', 'POST')).status));
    await waitFor(async () => (await api('/users/carol')).json.servers?.['']?.ready === true, 30_000, "carol's server");
    const refused = await cli('users', 'delete', 'carol', 'erin');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /these users have servers: carol \(default:running\); stop them first .*nothing was deleted/);
    assert.equal((await api('/users/erin')).status, 200, 'erin was not deleted either');
    const missing = await cli('users', 'delete', 'nosuchuser');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such user: nosuchuser/);

    assert.ok([202, 204].includes((await api('/users/carol/server', 'DELETE')).status));
    await waitFor(async () => (await api('/users/carol')).json.servers?.[''] === undefined, 30_000, "carol's server to stop");
    assert.equal((await hub.api('/user', { token })).status, 200);
    const deleted = await cli('users', 'delete', 'carol');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((await api('/users/carol')).status, 404);
    await waitFor(async () => (await hub.api('/user', { token })).status === 403, 5_000, "the deleted user's token to stop working");
  });

  await t.test('db backup while servers start gives a copy another hub starts from', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `b${i}`);
    assert.equal((await api('/users', 'POST', { usernames: names })).status, 201);
    const tmp = await tempDir('ganymede-backup-');
    t.after(() => tmp.cleanup());
    // The restored hub's account must pass through it.
    chmodSync(tmp.path, 0o755);
    const dir = tmp.path;
    const file = path.join(dir, 'copy.sqlite');
    // Starts under way while the copy is taken.
    const starting = Promise.all(names.map((n) => api(`/users/${n}/server`, 'POST')));
    const backup = await cli('db', 'backup', file);
    await starting;
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the copy is private');
    const check = new SQLite(file, { readonly: true });
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    check.close();
    const twice = await cli('db', 'backup', file);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /exists already/);

    const restoredDir = path.join(dir, 'restored');
    mkdirSync(restoredDir, { mode: 0o700 });
    copyFileSync(file, path.join(restoredDir, 'ganymede.sqlite'));
    const restored = await startHub({ dataDir: restoredDir, config: { ...adminServiceConfig(), spawner: { class: 'local-process', cmd: [process.execPath, MOCK] } } });
    t.after(() => restored.stop());
    const dave = await restored.api('/users/dave', { token: ADMIN_TOKEN });
    assert.equal(dave.status, 200, dave.text);
    assert.equal((await restored.api('/users/b3', { token: ADMIN_TOKEN })).status, 200);
  });

  await t.test('db upgrade makes a new database; other commands refuse one that lacks an upgrade', async () => {
    const tmp = await tempDir('ganymede-upgrade-');
    t.after(() => tmp.cleanup());
    const dir = tmp.path;
    const config = path.join(dir, 'ganymede.yaml');
    writeFileSync(config, `data_dir: ${path.join(dir, 'data')}\n`);
    const noDb = await runCli(['users', 'list', '--config', config]);
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /no database at .*ganymede\.sqlite/);
    const first = await runCli(['db', 'upgrade', '--config', config]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /applied 001-initial, 002-sharing/);
    assert.match((await runCli(['db', 'upgrade', '--config', config])).stderr, /already up to date/);

    // As a database from an older Ganymede: its last upgrade not yet recorded.
    const file = path.join(dir, 'data', 'ganymede.sqlite');
    const raw = new SQLite(file);
    const last = raw.prepare('SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1').pluck().get() as string;
    raw.prepare('DELETE FROM kysely_migration WHERE name = ?').run(last);
    raw.close();
    const old = await runCli(['users', 'add', 'x', '--config', config]);
    assert.equal(old.code, 2);
    assert.match(old.stderr, new RegExp(`needs 1 schema upgrade\\(s\\) \\(${last}\\): run \`ganymede db upgrade\``));
    assert.ok(existsSync(file));
  });
});
