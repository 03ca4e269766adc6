/**
 * The permission matrix. For every endpoint of the REST API, a token holding exactly the scope it
 * requires succeeds; a token holding an unrelated scope gets 403; and a token holding the scope
 * filtered to a group (or a service) succeeds inside the filter and gets JupyterHub's 404 "No access
 * to resources or resources not found" outside it, so that it cannot tell what exists.
 *
 * Each attempt gets fresh users, groups and servers, so that writes (deletes, stops, revocations)
 * never depend on the order of the checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { runCli, startHub, type ApiResponse, type HubProcess } from '../helpers/hub-process.js';
import type { DeclaredRoute } from '../../src/rbac/route-policy.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const ECHO_SERVICE = path.resolve('test/fixtures/echo-service.mjs');

/** The resources one attempt works on. */
interface Res {
  /** A user in `group`, with a running default server when the endpoint needs one. */
  user: string;
  group: string;
  /** The server's name ('' = default) and, for sharing endpoints, its owner (else `user`). */
  server: string;
  owner: string;
  /** A token id of `user` (token endpoints), a share code id (code endpoints). */
  id: string;
  service: string;
}

type Resource = 'user' | 'group' | 'server' | 'service' | 'recipient' | 'recipient-group';

interface Endpoint {
  method: string;
  path: (r: Res) => string;
  scope: string;
  /** What the scope's filter applies to; undefined: no resource in the path (lists, hub-wide endpoints). */
  resource?: Resource;
  ok: number[];
  body?: (r: Res) => unknown;
  /** Scopes every attempt holds as well (a share needs `read:users:name` to name its recipient). */
  also?: string[];
  /**
   * The answer to a token with an unrelated scope: 403, or 404 where every token holds the scope for
   * its owner (JupyterHub adds `read:users:name!user=<owner>` to every token), so that the filtered
   * rule applies.
   */
  denied?: number;
  /** What the attempt needs besides a user in a group. */
  needs?: Array<'running' | 'named' | 'token' | 'share' | 'shared-out' | 'group-share' | 'code'>;
}

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: () => '/info', scope: 'read:hub', ok: [200] },
  { method: 'GET', path: () => '/users', scope: 'list:users', ok: [200] },
  { method: 'POST', path: (r) => '/users', scope: 'admin:users', ok: [201], body: (r) => ({ usernames: [`${r.user}-new`] }) },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:users', resource: 'user', ok: [200], denied: 404 },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:users:name', resource: 'user', ok: [200], denied: 404 },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:servers', resource: 'user', ok: [200], denied: 404 },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:users:groups', resource: 'user', ok: [200], denied: 404 },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:users:activity', resource: 'user', ok: [200], denied: 404 },
  { method: 'GET', path: (r) => `/users/${r.user}`, scope: 'read:roles:users', resource: 'user', ok: [200], denied: 404 },
  { method: 'POST', path: (r) => `/users/${r.user}-x`, scope: 'admin:users', ok: [201] },
  { method: 'PATCH', path: (r) => `/users/${r.user}`, scope: 'admin:users', resource: 'user', ok: [200], body: () => ({ admin: false }) },
  { method: 'DELETE', path: (r) => `/users/${r.user}`, scope: 'delete:users', resource: 'user', ok: [204] },
  {
    method: 'POST',
    path: (r) => `/users/${r.user}/activity`,
    scope: 'users:activity',
    resource: 'user',
    ok: [200],
    body: () => ({ last_activity: new Date().toISOString() }),
  },
  { method: 'POST', path: (r) => `/users/${r.user}/server`, scope: 'start:servers', resource: 'server', ok: [201, 202] },
  { method: 'DELETE', path: (r) => `/users/${r.user}/server`, scope: 'delete:servers', resource: 'server', ok: [202, 204], needs: ['running'] },
  { method: 'GET', path: (r) => `/users/${r.user}/server/progress`, scope: 'read:servers', resource: 'server', ok: [200], needs: ['running'] },
  { method: 'POST', path: (r) => `/users/${r.user}/servers/lab`, scope: 'start:servers', resource: 'server', ok: [201, 202] },
  { method: 'DELETE', path: (r) => `/users/${r.user}/servers/lab`, scope: 'delete:servers', resource: 'server', ok: [202, 204], needs: ['named'] },
  { method: 'GET', path: (r) => `/users/${r.user}/servers/lab/progress`, scope: 'read:servers', resource: 'server', ok: [200], needs: ['named'] },
  { method: 'GET', path: (r) => `/users/${r.user}/tokens`, scope: 'read:tokens', resource: 'user', ok: [200] },
  {
    method: 'POST',
    path: (r) => `/users/${r.user}/tokens`,
    scope: 'tokens',
    resource: 'user',
    ok: [201],
    body: (r) => ({ scopes: [`read:tokens!user=${r.user}`], note: 'matrix' }),
  },
  { method: 'GET', path: (r) => `/users/${r.user}/tokens/${r.id}`, scope: 'read:tokens', resource: 'user', ok: [200], needs: ['token'] },
  { method: 'DELETE', path: (r) => `/users/${r.user}/tokens/${r.id}`, scope: 'tokens', resource: 'user', ok: [204], needs: ['token'] },
  { method: 'GET', path: () => '/groups', scope: 'list:groups', ok: [200] },
  { method: 'POST', path: () => '/groups', scope: 'admin:groups', ok: [201], body: (r) => ({ groups: [`${r.group}-new`] }) },
  { method: 'GET', path: (r) => `/groups/${r.group}`, scope: 'read:groups', resource: 'group', ok: [200] },
  { method: 'GET', path: (r) => `/groups/${r.group}`, scope: 'read:groups:name', resource: 'group', ok: [200] },
  { method: 'GET', path: (r) => `/groups/${r.group}`, scope: 'read:roles:groups', resource: 'group', ok: [200] },
  { method: 'POST', path: (r) => `/groups/${r.group}-y`, scope: 'admin:groups', ok: [201] },
  { method: 'DELETE', path: (r) => `/groups/${r.group}`, scope: 'delete:groups', resource: 'group', ok: [204] },
  { method: 'POST', path: (r) => `/groups/${r.group}/users`, scope: 'groups', resource: 'group', ok: [200], body: (r) => ({ users: [r.owner] }) },
  { method: 'DELETE', path: (r) => `/groups/${r.group}/users`, scope: 'groups', resource: 'group', ok: [200], body: (r) => ({ users: [r.user] }) },
  { method: 'PUT', path: (r) => `/groups/${r.group}/properties`, scope: 'groups', resource: 'group', ok: [200], body: () => ({ course: 'PHY-101' }) },
  { method: 'GET', path: (r) => `/groups/${r.group}/shared`, scope: 'read:groups:shares', resource: 'group', ok: [200] },
  {
    method: 'GET',
    path: (r) => `/groups/${r.group}/shared/${r.owner}/`,
    scope: 'read:groups:shares',
    resource: 'group',
    ok: [200],
    needs: ['group-share'],
  },
  {
    method: 'DELETE',
    path: (r) => `/groups/${r.group}/shared/${r.owner}/`,
    scope: 'groups:shares',
    resource: 'group',
    ok: [204],
    needs: ['group-share'],
  },
  { method: 'GET', path: () => '/services', scope: 'list:services', ok: [200] },
  { method: 'GET', path: (r) => `/services/${r.service}`, scope: 'read:services', resource: 'service', ok: [200] },
  { method: 'GET', path: (r) => `/services/${r.service}`, scope: 'read:services:name', resource: 'service', ok: [200] },
  { method: 'GET', path: (r) => `/services/${r.service}`, scope: 'read:roles:services', resource: 'service', ok: [200] },
  // The scope lets the request through to the body's check: a bad body keeps the hub running.
  { method: 'POST', path: () => '/shutdown', scope: 'shutdown', ok: [400], body: () => ({ servers: 'not-a-boolean' }) },
  { method: 'GET', path: () => '/proxy', scope: 'proxy', ok: [200] },
  { method: 'POST', path: () => '/proxy', scope: 'proxy', ok: [200] },
  { method: 'PATCH', path: () => '/proxy', scope: 'proxy', ok: [200] },
  { method: 'GET', path: (r) => `/shares/${r.user}`, scope: 'read:shares', resource: 'user', ok: [200] },
  { method: 'GET', path: (r) => `/shares/${r.user}/`, scope: 'read:shares', resource: 'server', ok: [200] },
  {
    method: 'POST',
    path: (r) => `/shares/${r.user}/`,
    scope: 'shares',
    resource: 'server',
    also: ['read:users:name'],
    ok: [200],
    body: (r) => ({ user: r.owner }),
  },
  {
    method: 'PATCH',
    path: (r) => `/shares/${r.user}/`,
    scope: 'shares',
    resource: 'server',
    ok: [200],
    body: (r) => ({ user: r.owner }),
    needs: ['shared-out'],
  },
  { method: 'DELETE', path: (r) => `/shares/${r.user}/`, scope: 'shares', resource: 'server', ok: [204], needs: ['shared-out'] },
  { method: 'GET', path: (r) => `/users/${r.user}/shared`, scope: 'read:users:shares', resource: 'recipient', ok: [200] },
  { method: 'GET', path: (r) => `/users/${r.user}/shared/${r.owner}/`, scope: 'read:users:shares', resource: 'recipient', ok: [200], needs: ['share'] },
  { method: 'DELETE', path: (r) => `/users/${r.user}/shared/${r.owner}/`, scope: 'users:shares', resource: 'recipient', ok: [204], needs: ['share'] },
  { method: 'GET', path: (r) => `/share-codes/${r.user}`, scope: 'read:shares', resource: 'user', ok: [200] },
  { method: 'GET', path: (r) => `/share-codes/${r.user}/`, scope: 'read:shares', resource: 'server', ok: [200] },
  { method: 'POST', path: (r) => `/share-codes/${r.user}/`, scope: 'shares', resource: 'server', ok: [200], body: () => ({ expires_in: 3600 }) },
  { method: 'DELETE', path: (r) => `/share-codes/${r.user}/?id=${r.id}`, scope: 'shares', resource: 'server', ok: [204], needs: ['code'] },
];

/** The path pattern of a declared route as a regular expression for concrete paths. */
function routePattern(url: string): RegExp {
  return new RegExp(`^${url.replace(/:[A-Za-z_]+/g, '[^/?]*')}/?(\\?.*)?$`);
}

test('the matrix tries every scope that every API route declares, and only declared ones', { timeout: 60_000 }, async () => {
  const out = await runCli(['routes', '--format', 'json'], { cwd: mkdtempSync(path.join(os.tmpdir(), 'matrix-routes-')) });
  assert.equal(out.code, 0, out.stderr);
  const routes = (JSON.parse(out.stdout) as DeclaredRoute[]).filter((r) => r.policy.door === 'api' && r.method !== 'HEAD' && r.url.startsWith('/hub/api/'));
  const sample: Res = { user: 'u1', group: 'g1', server: '', owner: 'o1', id: 'a1', service: 'ext' };
  // `/shares/o1/` is both `/shares/:owner` with its slash and `/shares/:owner/:server` with an empty name.
  const routesOf = (ep: Endpoint) => routes.filter((r) => r.method === ep.method && routePattern(r.url).test(`/hub/api${ep.path(sample)}`));
  const declaredScopes = (r: DeclaredRoute): readonly string[] =>
    r.policy.access.kind === 'scopes' ? r.policy.access.scopes : r.policy.access.kind === 'list' ? [r.policy.access.scope] : [];
  for (const ep of ENDPOINTS) {
    const matching = routesOf(ep);
    assert.ok(matching.length > 0, `${ep.method} ${ep.path(sample)} is a declared route`);
    for (const route of matching) {
      assert.ok(declaredScopes(route).includes(ep.scope), `${ep.method} ${route.url} declares ${ep.scope} (it declares ${declaredScopes(route).join(', ')})`);
    }
  }
  const missing: string[] = [];
  for (const route of routes) {
    for (const scope of declaredScopes(route)) {
      if (!ENDPOINTS.some((ep) => ep.scope === scope && routesOf(ep).includes(route))) missing.push(`${route.method} ${route.url} with ${scope}`);
    }
  }
  assert.deepEqual(missing, [], 'declared scopes the matrix does not try');
});

test('permission matrix: every endpoint, its scope, and filters', { timeout: 300_000 }, async (t) => {
  const servicePort = await freePort();
  const base = adminServiceConfig();
  const hub: HubProcess = await startHub({
    config: {
      ...base,
      allow_named_servers: true,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], poll_interval: 0 },
      services: [
        ...(base.services as object[]),
        { name: 'ext', url: `http://127.0.0.1:${servicePort}`, command: [process.execPath, ECHO_SERVICE] },
        { name: 'ext2', url: 'http://127.0.0.1:9/' },
      ],
      // The token owner holds everything; each token asks for exactly what a check needs.
      load_roles: [{ name: 'admin', services: ['test-admin'], users: ['matrix'] }],
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });

  const tokens = new Map<string, string>();
  /** A token of user `matrix` (an admin) holding exactly `scopes`. */
  async function tokenWith(scopes: string[]): Promise<string> {
    const key = scopes.join(' ');
    const cached = tokens.get(key);
    if (cached) return cached;
    const res = await admin('/users/matrix/tokens', 'POST', { scopes, note: key });
    assert.equal(res.status, 201, `token with ${key}: ${res.text}`);
    tokens.set(key, res.json.token as string);
    return res.json.token as string;
  }

  let n = 0;
  async function startAndWait(user: string, server: string): Promise<void> {
    const url = server ? `/users/${user}/servers/${server}` : `/users/${user}/server`;
    const res = await admin(url, 'POST');
    assert.ok([201, 202].includes(res.status), `start ${user}/${server}: ${res.status} ${res.text}`);
    await waitFor(async () => (await admin(`/users/${user}`)).json.servers?.[server]?.ready === true, 30_000, `${user}/${server} to be ready`);
  }
  /** Fresh resources for one attempt: user u-N in group g-N, another user o-N (owner or helper). */
  async function prepare(ep: Endpoint): Promise<Res> {
    n++;
    const r: Res = { user: `u${n}`, group: `g${n}`, server: '', owner: `o${n}`, id: '', service: 'ext' };
    assert.equal((await admin('/users', 'POST', { usernames: [r.user, r.owner] })).status, 201);
    assert.equal((await admin(`/groups/${r.group}`, 'POST', { users: [r.user] })).status, 201);
    for (const need of ep.needs ?? []) {
      if (need === 'running') await startAndWait(r.user, '');
      if (need === 'named') await startAndWait(r.user, 'lab');
      if (need === 'token') r.id = (await admin(`/users/${r.user}/tokens`, 'POST', { scopes: [`read:users:name!user=${r.user}`] })).json.id as string;
      if (need === 'share') assert.equal((await admin(`/shares/${r.owner}/`, 'POST', { user: r.user })).status, 200);
      if (need === 'shared-out') assert.equal((await admin(`/shares/${r.user}/`, 'POST', { user: r.owner })).status, 200);
      if (need === 'group-share') assert.equal((await admin(`/shares/${r.owner}/`, 'POST', { group: r.group })).status, 200);
      if (need === 'code') {
        const code = await admin(`/share-codes/${r.user}/`, 'POST', {});
        assert.equal(code.status, 200, code.text);
        r.id = code.json.id as string;
      }
    }
    return r;
  }
  /** The filter that puts the attempt's resources inside it. */
  function filterFor(resource: Resource, r: Res): string {
    if (resource === 'service') return `!service=${r.service}`;
    return `!group=${r.group}`;
  }
  async function call(ep: Endpoint, r: Res, token: string): Promise<ApiResponse> {
    return hub.api(ep.path(r), { method: ep.method, token, body: ep.body?.(r) });
  }
  const label = (ep: Endpoint) => `${ep.method} ${ep.path({ user: '{user}', group: '{group}', server: '', owner: '{owner}', id: '{id}', service: '{service}' })} [${ep.scope}]`;

  for (const ep of ENDPOINTS) {
    await t.test(label(ep), async () => {
      const also = ep.also ?? [];
      // 1. exactly the required scope
      const r1 = await prepare(ep);
      const exact = await call(ep, r1, await tokenWith([ep.scope, ...also]));
      assert.ok(ep.ok.includes(exact.status), `with ${ep.scope}: ${exact.status} ${exact.text}`);

      // 2. an unrelated scope: 403 with a JSON message
      const r2 = await prepare(ep);
      const unrelated = ep.scope === 'read:hub' ? 'read:metrics' : 'read:hub';
      const denied = await call(ep, r2, await tokenWith([unrelated, ...also]));
      assert.equal(denied.status, ep.denied ?? 403, `with ${unrelated} only: ${denied.status} ${denied.text}`);
      assert.equal(typeof denied.json?.message, 'string');

      // 3. the scope filtered: works inside the filter, 404 outside it
      if (ep.resource) {
        const inside = await prepare(ep);
        const outside = await prepare(ep);
        const filtered = `${ep.scope}${filterFor(ep.resource, inside)}`;
        const token = await tokenWith([filtered, ...also]);
        const ok = await call(ep, inside, token);
        assert.ok(ep.ok.includes(ok.status), `with ${filtered} inside: ${ok.status} ${ok.text}`);
        const hidden = await call(ep, { ...outside, service: 'ext2' }, token);
        assert.equal(hidden.status, 404, `with ${filtered} outside: ${hidden.status} ${hidden.text}`);
        assert.equal(hidden.json?.message, 'No access to resources or resources not found');
      }
    });
  }

  await t.test('filtered list scopes list only what is inside the filter', async () => {
    const r = await prepare({ method: 'GET', path: () => '', scope: '', ok: [] });
    const other = await prepare({ method: 'GET', path: () => '', scope: '', ok: [] });
    const users = await hub.api('/users', { token: await tokenWith([`list:users!group=${r.group}`]) });
    assert.equal(users.status, 200);
    assert.deepEqual((users.json as Array<{ name: string }>).map((u) => u.name), [r.user]);
    const groups = await hub.api('/groups', { token: await tokenWith([`list:groups!group=${r.group}`]) });
    assert.equal(groups.status, 200);
    assert.deepEqual((groups.json as Array<{ name: string }>).map((g) => g.name), [r.group]);
    assert.ok(!JSON.stringify(groups.json).includes(other.group));
    // a user filter on list:groups must not widen to every group
    const wrong = await hub.api('/groups', { token: await tokenWith([`list:groups!user=${r.user}`]) });
    assert.equal(wrong.status, 403);
    const services = await hub.api('/services', { token: await tokenWith(['list:services!service=ext']) });
    assert.deepEqual(Object.keys(services.json as object), ['ext']);
  });

  await t.test('GET /user needs no scope and reports the resolved scopes', async () => {
    const me = await hub.api('/user', { token: await tokenWith(['read:hub']) });
    assert.equal(me.status, 200);
    assert.equal(me.json.name, 'matrix');
    // as JupyterHub: every token may identify its owner
    assert.deepEqual(me.json.scopes, ['read:hub', 'read:users:groups!user=matrix', 'read:users:name!user=matrix']);
  });

  await t.test('POST /shutdown: 403 without the scope, 202 with it, and the hub stops', async () => {
    const denied = await hub.api('/shutdown', { method: 'POST', token: await tokenWith(['read:hub']) });
    assert.equal(denied.status, 403);
    const bad = await hub.api('/shutdown', { method: 'POST', token: await tokenWith(['shutdown']), body: { servers: 'yes' } });
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /servers must be true or false/);
    const res = await hub.api('/shutdown', { method: 'POST', token: await tokenWith(['shutdown']), body: { servers: true } });
    assert.equal(res.status, 202);
    assert.equal(res.json.message, 'Shutting down Hub');
    await waitFor(() => hub.proc.exitCode !== null, 30_000, 'the hub to exit');
    assert.equal(hub.proc.exitCode, 0);
  });
});
