/**
 * Issue 5, acceptance 3 and sharing end to end. A managed service from config (a small Node program,
 * test/fixtures/oauth-service.mjs) gets its environment from the hub, lists users with its token, is
 * reached at /services/{name}/ after an OAuth login with the hub, and is restarted when killed.
 * A user shares their server with another through a share code accepted on the hub's page, and the
 * recipient then reaches it; revoking the share takes effect at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const OAUTH_SERVICE = path.resolve('test/fixtures/oauth-service.mjs');

test('managed services with OAuth login, and sharing a server', { timeout: 120_000 }, async (t) => {
  const servicePort = await freePort();
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      allow_named_servers: true,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      services: [
        { name: 'test-admin', api_token: ADMIN_TOKEN },
        { name: 'whoami', url: `http://127.0.0.1:${servicePort}`, command: [process.execPath, OAUTH_SERVICE] },
      ],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        { name: 'lister', scopes: ['list:users', 'read:users:name'], services: ['whoami'] },
        // as in JupyterHub, users reach services and share servers only when a role says so
        { name: 'user', scopes: ['self', 'shares!user', 'access:services!service=whoami'] },
      ],
    },
  });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  assert.equal((await admin('/users', 'POST', { usernames: ['alice', 'bob'] })).status, 201);

  await t.test('the service model shows the running managed service', async () => {
    await waitFor(async () => (await admin('/services/whoami')).json.pid > 0, 15_000, 'the service to start');
    const model = (await admin('/services/whoami')).json;
    assert.equal(model.kind, 'service');
    assert.equal(model.url, `http://127.0.0.1:${servicePort}`);
    assert.equal(model.prefix, '/services/whoami/');
    assert.deepEqual(model.roles, ['lister']);
    assert.equal(model.admin, false);
  });

  let firstPid = 0;
  await t.test('a person reaches the service after an OAuth login, and the service lists users with its token', async () => {
    const browser = new CookieSession(origin);
    await browser.login('/hub/', 'alice');
    const consent = await browser.follow('/services/whoami/hello');
    assert.ok(consent.trail.some((u) => u.includes('/hub/api/oauth2/authorize?client_id=service-whoami')), consent.trail.join(' → '));
    const page = await consent.res.text();
    assert.match(page, /Service whoami/);
    const last = new URL(consent.trail.at(-1)!);
    const authorized = await browser.postForm(last.pathname + last.search, {}, page);
    assert.equal(authorized.status, 302);
    const done = await browser.follow(authorized.headers.get('location')!);
    assert.equal(done.res.status, 200, done.trail.join(' → '));
    const body = (await done.res.json()) as { pid: number; visitor: string; users: string[]; path: string };
    assert.equal(body.visitor, 'alice');
    assert.equal(body.path, '/services/whoami/hello');
    assert.deepEqual(body.users.sort(), ['alice', 'bob']);
    firstPid = body.pid;
  });

  await t.test('killing the service makes the hub restart it', async () => {
    assert.ok(firstPid > 1, 'the service reported its pid'); // kill(0) would signal this whole process group
    process.kill(firstPid, 'SIGKILL');
    await waitFor(async () => {
      const pid = (await admin('/services/whoami')).json.pid as number;
      return pid > 0 && pid !== firstPid;
    }, 15_000, 'the service to be restarted');
    // the new process answers, and asks for a login (its sessions died with the old one)
    const browser = new CookieSession(origin);
    await waitFor(async () => (await browser.fetch('/services/whoami/')).status === 302, 15_000, 'the new process to answer');
  });

  await t.test('alice shares her server with a code; bob accepts it and reaches the server', async () => {
    assert.ok([201, 202].includes((await admin('/users/alice/server', 'POST')).status));
    await waitFor(async () => (await admin('/users/alice')).json.servers?.['']?.ready === true, 10_000, "alice's server");
    const aliceToken = (await admin('/users/alice/tokens', 'POST', { note: 'sharing' })).json.token as string;
    const code = await hub.api('/share-codes/alice/', { method: 'POST', token: aliceToken, body: { expires_in: 600 } });
    assert.equal(code.status, 200, code.text);
    assert.match(code.json.accept_url, /^\/hub\/accept-share\?code=/);
    assert.deepEqual(code.json.scopes, ['access:servers!server=alice/']);
    assert.equal(code.json.exchange_count, 0);

    const bob = new CookieSession(origin);
    await bob.login('/hub/', 'bob');
    // The mock server does not check logins; the hub's OAuth authorization for alice's server does.
    const authorizeUrl = '/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&response_type=code&redirect_uri=%2Fuser%2Falice%2Foauth_callback';
    const before = await bob.follow(authorizeUrl);
    assert.equal(before.res.status, 403, "bob may not reach alice's server yet");
    const accept = await bob.fetch(code.json.accept_url);
    assert.equal(accept.status, 200);
    const page = await accept.text();
    assert.match(page, /alice/);
    const accepted = await bob.postForm('/hub/accept-share', { code: code.json.code, next: '/user/alice/' }, page);
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.get('location'), '/user/alice/');

    const shared = await admin('/users/bob/shared');
    assert.equal(shared.status, 200);
    assert.equal(shared.json.items.length, 1);
    assert.equal(shared.json.items[0].server.user.name, 'alice');
    assert.equal(shared.json.items[0].kind, 'user');
    const codes = await hub.api('/share-codes/alice/', { token: aliceToken });
    assert.equal(codes.json.items[0].exchange_count, 1);

    const authorize = await bob.follow(authorizeUrl);
    assert.equal(authorize.res.status, 200, 'the consent page, not a 403');
    assert.match(await authorize.res.text(), /Authorize access/);

    const revoke = await hub.api('/shares/alice/', { method: 'PATCH', token: aliceToken, body: { user: 'bob' } });
    assert.equal(revoke.status, 200);
    assert.deepEqual(revoke.json, {});
    assert.equal((await admin('/users/bob/shared')).json.items.length, 0);
    const after = await bob.follow(authorizeUrl);
    assert.equal(after.res.status, 403, 'revocation takes effect at once');
  });

  await t.test('bad share requests get clear 4xx errors', async () => {
    const both = await admin('/shares/alice/', 'POST', { user: 'bob', group: 'x' });
    assert.equal(both.status, 400);
    assert.match(both.json.message, /exactly one of `user` or `group`/);
    const otherFilter = await admin('/shares/alice/', 'POST', { user: 'bob', scopes: ['access:servers!server=bob/'] });
    assert.equal(otherFilter.status, 400);
    assert.match(otherFilter.json.message, /only !server=alice\//);
    const unknown = await admin('/shares/alice/', 'POST', { user: 'nobody' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.message, 'No such user: nobody');
    const noServer = await admin('/shares/alice/', 'POST', {});
    assert.equal(noServer.status, 400);
    const listOnly = await admin('/shares/alice', 'POST', { user: 'bob' });
    assert.equal(listOnly.status, 405);
    const shortCode = await admin('/share-codes/alice/', 'POST', { expires_in: 5 });
    assert.equal(shortCode.status, 400);
    assert.match(shortCode.json.message, /expires_in/);
    const badAccept = await new CookieSession(origin).fetch('/hub/accept-share?code=nope');
    assert.equal(badAccept.status, 302, 'not logged in: to the login page');
  });
});
