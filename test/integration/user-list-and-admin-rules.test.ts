/**
 * GET /hub/api/users as the admin page uses it: JupyterHub 5's `name_filter` (any part of the name,
 * any case) and `sort`, and Ganymede's `admin`, `group` and `sort=running`; and JupyterHub's rule
 * that only admins make admins or change them, which a group's admin (admin:users!group=…) must
 * not get around.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('the user list filters and sorts in the database, and only admins make admins', { timeout: 120_000 }, async (t) => {
  const admin = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...admin,
      authenticator: { class: 'dummy', admin_users: ['root_admin'] },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      load_groups: { physics: { users: ['alpha', 'beta_1', 'chief'] } },
      load_roles: [
        ...(admin.load_roles as unknown[]),
        { name: 'physics-admin', scopes: ['list:users!group=physics', 'read:users!group=physics', 'admin:users!group=physics', 'delete:users!group=physics'], users: ['prof'] },
        { name: 'user-manager', scopes: ['admin:users'], users: ['manager'] },
      ],
    },
  });
  t.after(() => hub.stop());
  const api = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  const names = async (query: string) => {
    const res = await api(`/users?${query}`);
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    return (res.json as Array<{ name: string }>).map((u) => u.name);
  };

  assert.equal((await api('/users', 'POST', { usernames: ['beta%2', 'gamma', 'delta'] })).status, 201);
  await api('/users/gamma/activity', 'POST', { last_activity: '2026-03-01T00:00:00Z' });
  await api('/users/delta/activity', 'POST', { last_activity: '2026-05-01T00:00:00Z' });
  assert.ok([201, 202].includes((await api('/users/gamma/server', 'POST')).status));
  await waitFor(async () => (await api('/users/gamma')).json.servers?.['']?.ready === true, 30_000, "gamma's server");
  // An admin that is a member of the group, for the group admin's tests below.
  assert.equal((await api('/users/chief', 'PATCH', { admin: true })).status, 200);

  await t.test('name_filter matches any part of the name, any case, and takes % and _ literally', async () => {
    assert.deepEqual(await names('name_filter=ETA'), ['beta_1', 'beta%2']);
    assert.deepEqual(await names('name_filter=a_'), ['beta_1']);
    assert.deepEqual(await names('name_filter=%25'), ['beta%2']);
    assert.deepEqual(await names('name_filter=LpH'), ['alpha']);
  });

  await t.test('sort by name, last activity (JupyterHub\'s nulls rule) and running first', async () => {
    const all = await names('sort=name');
    assert.deepEqual(all, [...all].sort());
    assert.deepEqual(await names('sort=-name&limit=2'), [...all].sort().reverse().slice(0, 2));
    const byActivity = await names('sort=last_activity&name_filter=a');
    assert.deepEqual(byActivity.slice(-2), ['gamma', 'delta'], 'ascending: never-active users first, then the oldest');
    assert.deepEqual((await names('sort=-last_activity')).slice(0, 2), ['delta', 'gamma'], 'descending: the newest first, never-active last');
    assert.equal((await names('sort=running'))[0], 'gamma');
    assert.notEqual((await names('sort=-running'))[0], 'gamma');
    const bad = await api('/users?sort=created');
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /sort must be 'id', 'name', 'last_activity' or 'running'/);
  });

  await t.test('admin and group filters, and the total the admin page pages through', async () => {
    assert.deepEqual(await names('admin=true&sort=name'), ['chief', 'root_admin']);
    assert.ok(!(await names('admin=false')).includes('chief'));
    assert.deepEqual(await names('group=physics&sort=name'), ['alpha', 'beta_1', 'chief']);
    assert.deepEqual(await names('group=nosuchgroup'), []);
    assert.equal((await api('/users?admin=maybe')).status, 400);
    const page = await hub.api('/users?group=physics&limit=2', { token: ADMIN_TOKEN, headers: { Accept: 'application/jupyterhub-pagination+json' } });
    assert.equal(page.json._pagination.total, 3);
    assert.equal(page.json.items.length, 2);
  });

  await t.test("a group's admin may not make admins, change them or delete them", async () => {
    const tok = await api('/users/prof/tokens', 'POST', { note: 'group admin' });
    assert.equal(tok.status, 201, tok.text);
    const prof = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: tok.json.token as string, body });

    const grant = await prof('/users/alpha', 'PATCH', { admin: true });
    assert.equal(grant.status, 403);
    assert.equal(grant.json.message, 'Only admins can grant admin permissions');
    assert.equal((await api('/users/alpha')).json.admin, false);

    const demote = await prof('/users/chief', 'PATCH', { admin: false });
    assert.equal(demote.status, 403);
    assert.equal(demote.json.message, 'Only admins can modify other admins');
    const rename = await prof('/users/chief', 'PATCH', { name: 'chief2' });
    assert.equal(rename.status, 403);
    assert.equal((await api('/users/chief')).json.admin, true);

    const remove = await prof('/users/chief', 'DELETE');
    assert.equal(remove.status, 403);
    assert.equal((await api('/users/chief')).status, 200);

    // What the group admin may do, it still may.
    assert.equal((await prof('/users/beta_1', 'PATCH', { name: 'beta_one' })).status, 200);
    assert.equal((await prof('/users/beta_one', 'DELETE')).status, 204);
    // And a hub admin may do all of it.
    assert.equal((await api('/users/alpha', 'PATCH', { admin: true })).status, 200);
  });

  await t.test('creating admins needs an admin, whatever the scopes on users', async () => {
    assert.equal((await api('/users', 'POST', { usernames: ['newadmin'], admin: true })).status, 201);
    const tok = await api('/users/manager/tokens', 'POST', { note: 'manager' });
    assert.equal(tok.status, 201, tok.text);
    const manager = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: tok.json.token as string, body });
    for (const [p, body] of [
      ['/users', { usernames: ['evil1'], admin: true }],
      ['/users/evil2', { admin: true }],
    ] as const) {
      const res = await manager(p, 'POST', body);
      assert.equal(res.status, 403, p);
      assert.equal(res.json.message, 'Only admins can grant admin permissions');
    }
    assert.equal((await api('/users/evil1')).status, 404, 'nothing created');
    assert.equal((await api('/users/evil2')).status, 404);
    assert.equal((await manager('/users', 'POST', { usernames: ['plain'] })).status, 201, 'plain users it may create');
  });
});
