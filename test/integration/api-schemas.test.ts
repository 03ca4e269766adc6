/**
 * API responses have JupyterHub's field names and types. The schemas are written
 * from JupyterHub's documented REST API (docs/source/_static/rest-api.yml, components/schemas) and the
 * models its handlers build; they are strict, so a field JupyterHub does not have fails the test too.
 * Timestamps are ISO 8601 in UTC with a 'Z', as JupyterHub writes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

const timestamp = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'ISO 8601 UTC with Z');
const names = z.array(z.string());

const Server = z
  .object({
    name: z.string(),
    full_name: z.string(),
    last_activity: timestamp.nullable(),
    started: timestamp.nullable(),
    pending: z.enum(['spawn', 'stop']).nullable(),
    ready: z.boolean(),
    stopped: z.boolean(),
    url: z.string(),
    user_options: z.record(z.string(), z.unknown()),
    progress_url: z.string(),
    full_url: z.string().nullable(),
    full_progress_url: z.string().nullable(),
    state: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const User = z
  .object({
    kind: z.literal('user'),
    name: z.string(),
    admin: z.boolean(),
    roles: names,
    groups: names,
    server: z.string().nullable(),
    pending: z.enum(['spawn', 'stop']).nullable(),
    created: timestamp,
    last_activity: timestamp.nullable(),
    servers: z.record(z.string(), Server).optional(),
    auth_state: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .strict();

const Pagination = z
  .object({
    offset: z.number(),
    limit: z.number(),
    total: z.number(),
    next: z.object({ offset: z.number(), limit: z.number(), url: z.string() }).strict().nullable(),
  })
  .strict();
const paginated = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), _pagination: Pagination }).strict();

const Group = z
  .object({ kind: z.literal('group'), name: z.string(), roles: names, users: names, properties: z.record(z.string(), z.unknown()) })
  .strict();

const Token = z
  .object({
    id: z.string().regex(/^a\d+$/),
    kind: z.literal('api_token'),
    user: z.string().optional(),
    service: z.string().optional(),
    roles: names,
    scopes: names,
    created: timestamp,
    last_activity: timestamp.nullable(),
    expires_at: timestamp.nullable(),
    note: z.string(),
    session_id: z.string().nullable(),
    oauth_client: z.string(),
  })
  .strict();

const Service = z
  .object({
    kind: z.literal('service'),
    name: z.string(),
    roles: names,
    admin: z.boolean(),
    url: z.string(),
    prefix: z.string(),
    command: z.array(z.string()),
    pid: z.number(),
    info: z.record(z.string(), z.unknown()),
    display: z.boolean(),
  })
  .strict();

/** A route of GET /proxy: configurable-http-proxy's shape, last_activity included. */
const Route = z
  .object({ routespec: z.string(), target: z.string(), data: z.object({ last_activity: timestamp }).catchall(z.union([z.string(), z.boolean()])) })
  .strict();

/** Keys and JSON types, recursively: what a client depends on, without the values. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value === null) return 'null';
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
  return typeof value;
}

const SharedServer = z
  .object({ user: z.object({ name: z.string() }).strict(), name: z.string(), url: z.string(), full_url: z.string().nullable(), ready: z.boolean() })
  .strict();
const Share = z
  .object({
    server: SharedServer,
    scopes: names,
    user: z.object({ name: z.string() }).strict().nullable(),
    group: z.object({ name: z.string() }).strict().nullable(),
    kind: z.enum(['user', 'group']),
    created_at: timestamp,
  })
  .strict();
const ShareCode = z
  .object({
    server: SharedServer,
    scopes: names,
    id: z.string().regex(/^sc_\d+$/),
    created_at: timestamp,
    expires_at: timestamp.nullable(),
    exchange_count: z.number(),
    last_exchanged_at: timestamp.nullable(),
    code: z.string().optional(),
    accept_url: z.string().optional(),
    full_accept_url: z.string().nullable().optional(),
  })
  .strict();

function check<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  assert.ok(result.success, `${what}: ${result.success ? '' : JSON.stringify(result.error.issues)}\n${JSON.stringify(value)}`);
  return result.data;
}

test('response models have JupyterHub field names and types', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    config: { ...adminServiceConfig(), allow_named_servers: true, spawner: { class: 'local-process', cmd: [process.execPath, MOCK] } },
  });
  t.after(() => hub.stop());
  const api = (p: string, method = 'GET', body?: unknown, headers?: Record<string, string>) => hub.api(p, { method, token: ADMIN_TOKEN, body, headers });

  assert.equal((await api('/users', 'POST', { usernames: ['alice', 'bob'] })).status, 201);
  assert.equal((await api('/groups/physics', 'POST', { users: ['alice'] })).status, 201);
  assert.ok([201, 202].includes((await api('/users/alice/server', 'POST')).status));
  await waitFor(async () => (await api('/users/alice')).json.servers?.['']?.ready === true, 30_000, "alice's server");
  await api('/users/alice/activity', 'POST', { last_activity: '2026-01-02T03:04:05.678Z' });

  await t.test('users and servers', async () => {
    const alice = check(User, (await api('/users/alice')).json, 'GET /users/alice');
    assert.equal(alice.servers![''] !== undefined, true);
    check(Server.required({ state: true }), alice.servers![''], 'server model with admin:server_state');
    assert.equal(alice.last_activity, '2026-01-02T03:04:05.678Z');
    for (const u of (await api('/users?include_stopped_servers=1')).json as unknown[]) check(User, u, 'GET /users item');
    check(paginated(User), (await api('/users', 'GET', undefined, { Accept: 'application/jupyterhub-pagination+json' })).json, 'paginated users');
  });

  await t.test('groups', async () => {
    check(Group, (await api('/groups/physics')).json, 'GET /groups/physics');
    for (const g of (await api('/groups')).json as unknown[]) check(Group, g, 'GET /groups item');
    check(paginated(Group), (await api('/groups', 'GET', undefined, { Accept: 'application/jupyterhub-pagination+json' })).json, 'paginated groups');
  });

  await t.test('tokens', async () => {
    const created = await api('/users/alice/tokens', 'POST', { note: 'schema', expires_in: 3600, scopes: ['read:users!user=alice'] });
    assert.equal(created.status, 201);
    check(Token.extend({ token: z.string() }), created.json, 'POST /users/alice/tokens');
    check(Token, (await api(`/users/alice/tokens/${created.json.id}`)).json, 'GET token');
    const list = (await api('/users/alice/tokens')).json as { api_tokens: unknown[] };
    assert.deepEqual(Object.keys(list), ['api_tokens'], 'since JupyterHub 2, OAuth tokens are in api_tokens too');
    for (const tok of list.api_tokens) check(Token, tok, 'api_tokens item');
  });

  await t.test("the proxy's and the services' models are JupyterHub's, key for key and type for type (recorded from JupyterHub)", async () => {
    // test/fixtures/jupyterhub-responses.json: JupyterHub's own answers, recorded by bench/record-jupyterhub.ts.
    const recorded = JSON.parse(readFileSync(path.resolve('test/fixtures/jupyterhub-responses.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const theirProxy = recorded['GET /proxy']!;
    const ourProxy = (await api('/proxy')).json as Record<string, unknown>;
    assert.deepEqual(shapeOf(ourProxy['/']), shapeOf(theirProxy['/']), "the hub's default route");
    assert.deepEqual(shapeOf(ourProxy['/user/alice/']), shapeOf(theirProxy['/user/alice/']), "a user's route");
    const theirService = Object.values(recorded['GET /services']!)[0];
    const ourService = ((await api('/services')).json as Record<string, unknown>)['test-admin'];
    assert.deepEqual(shapeOf(ourService), shapeOf(theirService), 'an external service (no url, no command)');
  });

  await t.test('services and the identity model', async () => {
    check(Service, (await api('/services/test-admin')).json, 'GET /services/test-admin');
    for (const s of Object.values((await api('/services')).json as Record<string, unknown>)) check(Service, s, 'GET /services item');
    const me = (await api('/user')).json as Record<string, unknown>;
    check(Service.extend({ session_id: z.string().nullable(), scopes: names, token_id: z.string().nullable() }), me, 'GET /user for a service');
  });

  await t.test('shares and share codes', async () => {
    const share = await api('/shares/alice/', 'POST', { user: 'bob' });
    check(Share, share.json, 'POST /shares/alice/');
    check(paginated(Share), (await api('/shares/alice')).json, 'GET /shares/alice');
    check(paginated(Share), (await api('/users/bob/shared')).json, 'GET /users/bob/shared');
    check(Share, (await api('/users/bob/shared/alice/')).json, 'GET /users/bob/shared/alice/');
    const code = await api('/share-codes/alice/', 'POST', {});
    check(ShareCode.required({ code: true, accept_url: true, full_accept_url: true }), code.json, 'POST /share-codes/alice/');
    check(paginated(ShareCode), (await api('/share-codes/alice')).json, 'GET /share-codes/alice');
  });

  await t.test('hub info and the root', async () => {
    const root = (await hub.api('/')).json as { version: string };
    assert.match(root.version, /^\d+\.\d+\.\d+/);
    const info = (await api('/info')).json as Record<string, unknown>;
    for (const key of ['version', 'python', 'sys_executable', 'spawner', 'authenticator']) assert.ok(key in info, `info.${key}`);
    const proxy = (await api('/proxy')).json as Record<string, unknown>;
    for (const [spec, r] of Object.entries(proxy)) check(Route, r, `GET /proxy ${spec}`);
    const route = proxy['/user/alice/'] as z.infer<typeof Route>;
    assert.ok(route, JSON.stringify(proxy));
    assert.match(route.target, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(route.data).sort(), ['last_activity', 'server_name', 'user']);
    // The hub's own default route, as JupyterHub's proxy lists it.
    const hubRoute = proxy['/'] as z.infer<typeof Route>;
    assert.equal(hubRoute?.data.hub, true, JSON.stringify(proxy));
    assert.match(hubRoute.target, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
