/**
 * JupyterHub services work unchanged: jupyterhub-idle-culler, played request for request.
 * jupyterhub-idle-culler cannot be installed here (it is on PyPI only), so this test makes the same
 * requests it makes, in the same order, and relies on the same fields (jupyterhub_idle_culler/__init__.py,
 * version 2.0): `GET /` for the API version, `GET /users?state=inactive` and `?state=ready` with the
 * pagination media type and a small `limit`, following `_pagination.next.url` verbatim; per server
 * `pending`, `ready`, `url`, `started` and `last_activity` (parsed as ISO 8601, compared with the
 * culler's own clock); `DELETE /users/{name}/server` and `/servers/{name}` with `{"remove": true}`
 * (202 means "slow to stop"); then `DELETE /users/{name}`. The service holds only the scopes the
 * culler's documentation gives it. The hub's clock is the test's: "an hour later" is one step, and
 * the pretend culler reads its now from the hub's clock (hub.now()), as the real one reads the time
 * of the machine the hub runs on. The users exist only through `allowed_users`, as in the culler's
 * own test suite, which starts their servers right after the hub starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const CULLER_TOKEN = 'culler-token-0123456789abcdef';

interface ServerModel {
  name: string;
  pending: string | null;
  ready: boolean;
  url: string;
  started: string | null;
  last_activity: string | null;
}
interface UserModel {
  name: string;
  created: string;
  last_activity: string | null;
  servers: Record<string, ServerModel>;
}

const TIMEOUT_S = 600;

test('the idle culler’s requests work as against JupyterHub', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: {
      allow_named_servers: true,
      // As jupyterhub-idle-culler's own suite: the users come from allowed_users, which the hub creates at start.
      authenticator: { class: 'dummy', allowed_users: ['ann', 'ben', 'cat', 'dan', 'eve'] },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      services: [{ name: 'idle-culler', api_token: CULLER_TOKEN }, { name: 'test-admin', api_token: ADMIN_TOKEN }],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        { name: 'idle-culler', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'], services: ['idle-culler'] },
      ],
    },
  });
  t.after(() => hub.stop());
  const apiUrl = `${hub.url}hub/api`;
  const headers = { Authorization: `token ${CULLER_TOKEN}` };
  const get = async (url: string, accept?: string) => {
    const res = await fetch(url, { headers: { ...headers, ...(accept ? { Accept: accept } : {}) } });
    assert.equal(res.status, 200, `${url}: ${res.status}`);
    return res.json() as Promise<unknown>;
  };

  // set-up as an admin: servers for three of the five allowed users (cat also has a named one); no user is created through the API
  const admin = (p: string, method = 'GET') => hub.api(p, { method, token: ADMIN_TOKEN });
  for (const [name, server] of [['ann', ''], ['ben', ''], ['cat', ''], ['cat', 'lab']] as const) {
    assert.ok([201, 202].includes((await admin(server ? `/users/${name}/servers/${server}` : `/users/${name}/server`, 'POST')).status));
    await waitFor(async () => (await admin(`/users/${name}`)).json.servers?.[server]?.ready === true, 10_000, `${name}/${server}`);
  }
  const refused = await fetch(`${apiUrl}/users/dan/server`, { method: 'POST', headers });
  assert.equal(refused.status, 403, 'the culler may not start servers');

  /** The culler's fetch_paginated: follows `next.url` until there is none; `pages` is how many it fetched. */
  async function fetchPaginated(url: string, pages: number): Promise<UserModel[]> {
    const items: UserModel[] = [];
    let next: string | null = url;
    let fetched = 0;
    while (next) {
      const model = (await get(next, 'application/jupyterhub-pagination+json')) as { items: UserModel[]; _pagination: { next: { url: string } | null } };
      items.push(...model.items);
      next = model._pagination.next?.url ?? null;
      fetched++;
      assert.ok(fetched <= pages, `${url}: a next page after the ${pages} expected (${fetched} fetched so far)`);
    }
    assert.equal(fetched, pages, `${url}: pages followed`);
    return items;
  }

  await t.test('version check, then users by state, page by page', async () => {
    const root = (await get(`${apiUrl}/`)) as { version: string };
    const [major, minor] = root.version.split('.').map(Number);
    assert.ok(major! > 1 || (major === 1 && minor! >= 3), 'new enough for the state filter');
    // Three ready users, two a page: two pages. Two inactive ones: one page, with no next.
    const ready = await fetchPaginated(`${apiUrl}/users?limit=2&state=ready`, 2);
    assert.deepEqual(ready.map((u) => u.name).sort(), ['ann', 'ben', 'cat']);
    const inactive = await fetchPaginated(`${apiUrl}/users?limit=2&state=inactive`, 1);
    assert.deepEqual(inactive.map((u) => u.name).sort(), ['dan', 'eve']);
    for (const user of ready) {
      for (const [name, server] of Object.entries(user.servers)) {
        assert.equal(server.name, name);
        assert.equal(server.pending, null);
        assert.equal(server.ready, true);
        assert.ok(server.started && !Number.isNaN(Date.parse(server.started)));
        assert.ok(server.last_activity === null || !Number.isNaN(Date.parse(server.last_activity)));
      }
    }
  });

  await t.test('idle servers are stopped (named ones removed), then idle users deleted', async () => {
    // An hour later, nobody having used a server: every one is idle past the culler's 600 s timeout.
    await hub.advanceClock(3600 * 1000);
    const now = hub.now();
    const culled: string[] = [];
    for (const user of await fetchPaginated(`${apiUrl}/users?limit=2&state=ready`, 2)) {
      for (const [name, server] of Object.entries(user.servers)) {
        if (server.pending || !server.ready) continue;
        const inactive = now - Date.parse(server.last_activity ?? server.started!);
        assert.ok(inactive > 3600 * 1000 && inactive < 3700 * 1000, `${user.name}/${name}: idle for ${inactive} ms by the hub's own timestamps`);
        if (inactive < TIMEOUT_S * 1000) continue;
        const url = name ? `${apiUrl}/users/${encodeURIComponent(user.name)}/servers/${encodeURIComponent(name)}` : `${apiUrl}/users/${encodeURIComponent(user.name)}/server`;
        const res = await fetch(url, { method: 'DELETE', headers, body: name ? JSON.stringify({ remove: true }) : undefined });
        assert.ok([202, 204].includes(res.status), `${url}: ${res.status}`);
        culled.push(name ? `${user.name}/${name}` : user.name);
      }
    }
    assert.deepEqual(culled.sort(), ['ann', 'ben', 'cat', 'cat/lab']);
    await waitFor(async () => ((await get(`${apiUrl}/users?state=ready`)) as unknown[]).length === 0, 10_000, 'all servers stopped');
    const cat = (await get(`${apiUrl}/users/cat?include_stopped_servers=1`)) as UserModel;
    assert.deepEqual(Object.keys(cat.servers), [''], 'the named server was removed');

    // Five users without a server now, two a page: three pages.
    for (const user of await fetchPaginated(`${apiUrl}/users?limit=2&state=inactive`, 3)) {
      const res = await fetch(`${apiUrl}/users/${user.name}`, { method: 'DELETE', headers });
      assert.equal(res.status, 204);
    }
    assert.deepEqual(await get(`${apiUrl}/users`), []);
  });
});
