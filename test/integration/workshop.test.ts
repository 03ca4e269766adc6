/**
 * Workshop mode (issue 9): temporary users (authenticator.class tmp) with a warm pool, fresh
 * directories that go when the server stops (spawner.ephemeral), a new user and server on each visit
 * to the root (force_new_server), behind the site password. Servers are the mock single-user server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const PASSWORD = 'workshop-2026';
const BASIC = `Basic ${Buffer.from(`x:${PASSWORD}`).toString('base64')}`;

interface UserModel {
  name: string;
  servers: Record<string, { ready: boolean }>;
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
  assert.match(hub.stdout() + hub.stderr(), /visitor handed a pooled server/);

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

test('pooled servers nobody took are replaced after warm_pool_max_age', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'tmp', warm_pool: 2, warm_pool_max_age: 2 },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true },
    },
  });
  t.after(() => hub.stop());
  await waitFor(async () => (await readyTemporaryUsers(hub)).length === 2, 15_000, 'two pooled servers');
  const first = await readyTemporaryUsers(hub);
  await waitFor(
    async () => {
      const now = await readyTemporaryUsers(hub);
      return now.length === 2 && now.every((n) => !first.includes(n));
    },
    20_000,
    'both to be replaced by fresh ones',
  );
  for (const name of first) assert.equal((await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).status, 404, `${name} is deleted`);
});

test('the culler stops an idle temporary server, and its user goes with it', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'tmp' },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], ephemeral: true },
      culler: { enabled: true, timeout: 3, every: 1 },
    },
  });
  t.after(() => hub.stop());
  const visitor = new CookieSession(new URL(hub.url).origin);
  const { trail } = await visitor.follow('/hub/');
  const name = /\/(?:user|spawn-pending)\/(tmp-[a-z0-9]{16})/.exec(trail.join(' '))?.[1];
  assert.ok(name, trail.join(' → '));
  await waitFor(async () => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers?.['']?.ready === true, 15_000, 'the server');
  await waitFor(async () => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).status === 404, 20_000, 'the idle temporary user to be culled and deleted');
  assert.deepEqual(await readyTemporaryUsers(hub), []);
});
