/**
 * The request policy's registration rules: a route without a declaration cannot be registered (the
 * hub does not start), a GET cannot be declared as changing state, every route is recorded with its
 * policy, and the resource a path names is read from its parameters as the scopes expect it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { installRoutePolicy, targetOf } from '../../src/http/policy-check.js';
import { anyone, api, caller, page, scopes } from '../../src/rbac/route-policy.js';
import { apiScopeTable, describeAccess } from '../../src/rbac/route-listing.js';

const passThrough = async (): Promise<void> => undefined;

test('a route without a declared policy is refused at registration, so the app does not start', async () => {
  const app = Fastify();
  installRoutePolicy(app, passThrough);
  await assert.rejects(async () => {
    await app.register(async (child) => {
      child.get('/declared', api(anyone()), async () => 'ok');
      child.get('/forgotten', async () => 'secret');
    });
    await app.ready();
  }, /GET \/forgotten declares no request policy/);
});

test('a GET declared as changing state is refused: state changes take POST (or another method)', async () => {
  const app = Fastify();
  installRoutePolicy(app, passThrough);
  assert.throws(() => app.get('/logout-by-link', page(anyone(), { changes: true }), async () => 'bye'), /GET \/logout-by-link changes state/);
});

test('every route is recorded with its policy and whether it changes state; the check runs before the handler', async () => {
  const app = Fastify();
  const seen: string[] = [];
  const routes = installRoutePolicy(app, async (req) => {
    seen.push(`${req.method} ${req.routeOptions.url}`);
  });
  app.get('/users/:name', api(scopes(['read:users'], { user: 'name' })), async () => ({ ok: true }));
  app.post('/users/:name', api(scopes(['admin:users'], { user: 'name' })), async () => ({ ok: true }));
  app.all('/user/:user/*', page(caller('access:servers'), { changes: false }), async () => 'redirect');
  await app.ready();
  const listed = routes.map((r) => `${r.method} ${r.url} ${r.changes ? 'changes' : 'reads'}`);
  assert.deepEqual(listed.sort(), ['ANY /user/:user/* reads', 'GET /users/:name reads', 'HEAD /users/:name reads', 'POST /users/:name changes']);
  assert.equal((await app.inject({ method: 'POST', url: '/users/alice' })).statusCode, 200);
  assert.deepEqual(seen, ['POST /users/:name']);
  await app.close();
});

test('the resource a path names: a user, a group, a server (default when absent), and /shares/{owner}/ as the default server', () => {
  assert.deepEqual(targetOf({ user: 'name' }, { name: 'alice' }, '/users/alice'), { user: 'alice' });
  assert.deepEqual(targetOf({ group: 'name' }, { name: 'physics' }, '/groups/physics'), { group: 'physics' });
  assert.deepEqual(targetOf({ server: ['name', 'server'] }, { name: 'alice' }, '/users/alice/server'), { user: 'alice', server: 'alice/' });
  assert.deepEqual(targetOf({ server: ['name', 'server'] }, { name: 'alice', server: 'gpu' }, '/x'), { user: 'alice', server: 'alice/gpu' });
  const shares = { userOrServer: ['owner', 'server'] } as const;
  assert.deepEqual(targetOf(shares, { owner: 'alice' }, '/shares/alice'), { user: 'alice' });
  assert.deepEqual(targetOf(shares, { owner: 'alice' }, '/shares/alice/?offset=0'), { user: 'alice', server: 'alice/' });
  assert.deepEqual(targetOf(shares, { owner: 'alice', server: 'gpu' }, '/shares/alice/gpu'), { user: 'alice', server: 'alice/gpu' });
  // A page acting on one's own server names no user at all (/hub/spawn).
  assert.deepEqual(targetOf({ server: ['user', 'server'] }, {}, '/hub/spawn'), {});
});

test('the scope table lists API routes only, with JupyterHub-style paths and what each needs', () => {
  const policy = (access: ReturnType<typeof anyone>) => ({ door: 'api' as const, access, beforeSecondFactor: false });
  const table = apiScopeTable(
    [
      { method: 'GET', url: '/hub/api/users/:name', policy: policy({ kind: 'scopes', scopes: ['read:users', 'read:users:name'], on: { user: 'name' } }), changes: false },
      { method: 'HEAD', url: '/hub/api/users/:name', policy: policy(anyone()), changes: false },
      { method: 'DELETE', url: '/hub/api/users/:name', policy: policy({ kind: 'scopes', scopes: ['delete:users'], on: { user: 'name' } }), changes: true },
      { method: 'GET', url: '/hub/home', policy: policy(caller('own')), changes: false },
    ],
    '/hub/api/',
  );
  assert.equal(
    table,
    [
      '| method | path | who may call (any of the scopes) | credentials | changes state |',
      '|---|---|---|---|---|',
      '| GET | `/users/{name}` | read:users or read:users:name on user {name} | token, or cookie + XSRF | no |',
      '| DELETE | `/users/{name}` | delete:users on user {name} | token, or cookie + XSRF | yes |',
      '',
    ].join('\n'),
  );
  assert.equal(describeAccess({ kind: 'list', scope: 'list:users' }), 'list:users (a filtered scope filters the list)');
});
