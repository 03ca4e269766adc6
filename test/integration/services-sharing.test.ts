/**
 * Managed services and sharing a server, end to end through the hub's public port.
 *
 * A managed service from config (a small Node program, test/fixtures/oauth-service.mjs) gets its
 * environment from the hub, lists users with its token, is reached at /services/{name}/ after an OAuth
 * login with the hub, and is restarted when killed. The hub routes /services/{name}/ before the
 * service listens (it answers 503 until then), so the tests wait until the service itself answers
 * through the proxy, never for a pid.
 *
 * Sharing runs against the real jupyterhub-singleuser, which checks every visitor with the hub: a user
 * shares their server through a share code; before accepting, the recipient is refused; after, they
 * log in to the server through the hub's OAuth flow and read the owner's files; a third user is
 * refused; after revocation the hub refuses the recipient at once (its authorization page, and the
 * recipient's token no longer carries the access scope), and the server refuses them as soon as its
 * cache of the hub's answer lapses (`HubOAuth.cache_max_age`, 300 s by default, 1 s here).
 * The installed server (JupyterHub 3.0's) lets in whoever's token carries one of its
 * JUPYTERHUB_OAUTH_ACCESS_SCOPES (`access:servers!server=alice/`, as a share grants) and then gives
 * them all of it: files, kernels, terminals; it has no finer permissions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN, REAL_SPAWNER, readEventStream, waitFor } from '../helpers/fixtures.js';

const OAUTH_SERVICE = path.resolve('test/fixtures/oauth-service.mjs');
/** How long the single-user server trusts the hub's answer about a token (JupyterHub's default is 300 s). */
const SERVER_AUTH_CACHE_SECONDS = 1;

/**
 * The OAuth access token a single-user server keeps in its login cookie (tornado's signed cookie,
 * `2|1:0|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<signature>`): what the server shows
 * the hub when it asks who the visitor is.
 */
function tokenInServerCookie(cookie: string): string {
  const fields = cookie.replace(/^"|"$/g, '').split('|');
  assert.equal(fields[0], '2', `a tornado v2 signed cookie: ${cookie}`);
  const value = fields[4]!.slice(fields[4]!.indexOf(':') + 1);
  return Buffer.from(value, 'base64').toString('utf8');
}

test('managed services with OAuth login, and sharing a real server', { timeout: 180_000 }, async (t) => {
  const servicePort = await freePort();
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      allow_named_servers: true,
      spawner: { ...REAL_SPAWNER, args: [...REAL_SPAWNER.args, `--HubOAuth.cache_max_age=${SERVER_AUTH_CACHE_SECONDS}`] },
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
  assert.equal((await admin('/users', 'POST', { usernames: ['alice', 'bob', 'carol'] })).status, 201);
  // alice's server (the real one) starts while the service tests run; the sharing test waits for it.
  const aliceServerStart = admin('/users/alice/server', 'POST');

  /** The pid of the service process that answers /services/whoami/ through the proxy, or 0 while none does. */
  async function answeringServicePid(): Promise<number> {
    const res = await fetch(`${origin}/services/whoami/`, { redirect: 'manual' });
    await res.arrayBuffer();
    // Not logged in: the service itself sends the visitor to the hub's authorization page.
    const toHub = res.headers.get('location')?.startsWith('/hub/api/oauth2/authorize?client_id=service-whoami') === true;
    return res.status === 302 && toHub ? Number(res.headers.get('x-service-pid')) : 0;
  }

  let firstPid = 0;
  await t.test('the managed service answers through the proxy, and its model shows it', async () => {
    await waitFor(async () => (firstPid = await answeringServicePid()) > 0, 30_000, 'the service to answer at /services/whoami/');
    const model = (await admin('/services/whoami')).json;
    assert.equal(model.pid, firstPid, 'the model shows the process that answers');
    assert.equal(model.kind, 'service');
    assert.equal(model.url, `http://127.0.0.1:${servicePort}`);
    assert.equal(model.prefix, '/services/whoami/');
    assert.deepEqual(model.roles, ['lister']);
    assert.equal(model.admin, false);
  });

  const alice = new CookieSession(origin);
  await t.test('a person reaches the service after an OAuth login, and the service lists users with its token', async () => {
    await alice.login('/hub/', 'alice');
    const consent = await alice.follow('/services/whoami/hello');
    assert.ok(consent.trail.some((u) => u.includes('/hub/api/oauth2/authorize?client_id=service-whoami')), consent.trail.join(' → '));
    const page = await consent.res.text();
    assert.match(page, /Service whoami/);
    const last = new URL(consent.trail.at(-1)!);
    const authorized = await alice.postForm(last.pathname + last.search, {}, page);
    assert.equal(authorized.status, 302);
    const done = await alice.follow(authorized.headers.get('location')!);
    assert.equal(done.res.status, 200, done.trail.join(' → '));
    const body = (await done.res.json()) as { pid: number; visitor: string; users: string[]; path: string };
    assert.equal(body.visitor, 'alice');
    assert.equal(body.path, '/services/whoami/hello');
    assert.deepEqual(body.users.sort(), ['alice', 'bob', 'carol']);
    assert.equal(body.pid, firstPid);
  });

  await t.test('killing the service makes the hub restart it, and it serves again', async () => {
    assert.ok(firstPid > 1, 'the service reported its pid'); // kill(0) would signal this whole process group
    process.kill(firstPid, 'SIGKILL');
    let newPid = 0;
    await waitFor(async () => {
      newPid = await answeringServicePid();
      return newPid > 0 && newPid !== firstPid;
    }, 30_000, 'a new service process to answer at /services/whoami/');
    assert.equal((await admin('/services/whoami')).json.pid, newPid, 'the model shows the new process');
    // The new process lost the old one's sessions: alice logs in to it again, without a consent page
    // this time (she authorized this service already), and uses it.
    const again = await alice.follow('/services/whoami/hello');
    assert.equal(again.res.status, 200, again.trail.join(' → '));
    assert.equal(new URL(again.trail.at(-1)!).pathname, '/services/whoami/hello', again.trail.join(' → '));
    assert.ok(again.trail.some((u) => u.includes('/hub/api/oauth2/authorize?client_id=service-whoami')), again.trail.join(' → '));
    const body = (await again.res.json()) as { pid: number; visitor: string };
    assert.equal(body.pid, newPid);
    assert.equal(body.visitor, 'alice');
  });

  await t.test("alice shares her server with a code; bob accepts it and uses the server; carol cannot; revoking ends bob's access", async () => {
    const start = await aliceServerStart;
    assert.ok([201, 202].includes(start.status), start.text);
    const progress = await fetch(`${hub.url}hub/api/users/alice/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
    const events = await readEventStream(progress);
    assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));

    // alice writes a file into her server with her own token, so that "it is alice's server" can be seen
    const aliceToken = (await admin('/users/alice/tokens', 'POST', { note: 'sharing' })).json.token as string;
    const note = await fetch(`${origin}/user/alice/api/contents/from-alice.txt`, {
      method: 'PUT',
      headers: { Authorization: `token ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'file', format: 'text', content: 'written by alice' }),
    });
    assert.equal(note.status, 201, await note.text());

    const serverPage = '/user/alice/tree';
    const authorizeStep = '/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice';
    const bob = new CookieSession(origin);
    await bob.login('/hub/', 'bob');
    // Before the share: alice's server sends bob to the hub, which refuses him; her API refuses him too.
    const before = await bob.follow(serverPage);
    assert.ok(before.trail.at(-1)!.includes(authorizeStep), before.trail.join(' → '));
    assert.equal(before.res.status, 403, "bob may not reach alice's server yet");
    assert.equal((await bob.fetch('/user/alice/api/contents')).status, 403);

    const code = await hub.api('/share-codes/alice/', { method: 'POST', token: aliceToken, body: { expires_in: 600 } });
    assert.equal(code.status, 200, code.text);
    assert.match(code.json.accept_url, /^\/hub\/accept-share\?code=/);
    assert.deepEqual(code.json.scopes, ['access:servers!server=alice/']);
    assert.equal(code.json.exchange_count, 0);
    const accept = await bob.fetch(code.json.accept_url);
    assert.equal(accept.status, 200);
    const acceptPage = await accept.text();
    assert.match(acceptPage, /alice/);
    const accepted = await bob.postForm('/hub/accept-share', { code: code.json.code, next: serverPage }, acceptPage);
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.get('location'), serverPage);
    const shared = await admin('/users/bob/shared');
    assert.equal(shared.status, 200);
    assert.equal(shared.json.items.length, 1);
    assert.equal(shared.json.items[0].server.user.name, 'alice');
    assert.equal(shared.json.items[0].kind, 'user');
    assert.equal((await hub.api('/share-codes/alice/', { token: aliceToken })).json.items[0].exchange_count, 1);

    // After: the server sends bob to the hub, which asks him to authorize alice's server (it is not his
    // own), then back to the server, which logs him in with the token the hub gave it.
    const consent = await bob.follow(serverPage);
    assert.equal(consent.res.status, 200, consent.trail.join(' → '));
    const consentUrl = new URL(consent.trail.at(-1)!);
    assert.ok(consentUrl.href.includes(authorizeStep), consent.trail.join(' → '));
    const consentPage = await consent.res.text();
    assert.match(consentPage, /Authorize access/);
    const authorized = await bob.postForm(consentUrl.pathname + consentUrl.search, {}, consentPage);
    assert.equal(authorized.status, 302);
    assert.match(authorized.headers.get('location')!, /^\/user\/alice\/oauth_callback\?code=/);
    const landed = await bob.follow(authorized.headers.get('location')!);
    assert.equal(landed.res.status, 200, landed.trail.join(' → '));
    assert.equal(new URL(landed.trail.at(-1)!).pathname, serverPage);
    // bob uses the server: its API answers his browser session with alice's files
    assert.equal((await bob.fetch('/user/alice/api/status')).status, 200);
    const listing = await bob.fetch('/user/alice/api/contents');
    assert.equal(listing.status, 200);
    const files = ((await listing.json()) as { content: Array<{ name: string }> }).content.map((f) => f.name);
    assert.ok(files.includes('from-alice.txt'), `alice's files: ${files.join(', ')}`);
    const read = await bob.fetch('/user/alice/api/contents/from-alice.txt?type=file&format=text');
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { content: string }).content, 'written by alice');
    // What the server shows the hub when it checks bob: his OAuth token, with access to alice's server.
    const serverCookie = bob.jar.get('jupyterhub-user-alice');
    assert.ok(serverCookie, `the server set its login cookie: ${[...bob.jar.keys()].join(', ')}`);
    const bobServerToken = tokenInServerCookie(serverCookie);
    const bobAsServerSees = await hub.api('/user', { token: bobServerToken });
    assert.equal(bobAsServerSees.status, 200, bobAsServerSees.text);
    assert.equal(bobAsServerSees.json.name, 'bob');
    assert.ok(bobAsServerSees.json.scopes.includes('access:servers!server=alice/'), bobAsServerSees.json.scopes.join(' '));

    // carol, logged in but not shared with, is refused at the hub's authorization step and by the server
    const carol = new CookieSession(origin);
    await carol.login('/hub/', 'carol');
    const carolTry = await carol.follow(serverPage);
    assert.ok(carolTry.trail.at(-1)!.includes(authorizeStep), carolTry.trail.join(' → '));
    assert.equal(carolTry.res.status, 403);
    assert.equal((await carol.fetch('/user/alice/api/contents')).status, 403);

    const revoke = await hub.api('/shares/alice/', { method: 'PATCH', token: aliceToken, body: { user: 'bob' } });
    assert.equal(revoke.status, 200);
    assert.deepEqual(revoke.json, {});
    assert.equal((await admin('/users/bob/shared')).json.items.length, 0);
    // At once, the hub: bob's token no longer carries the access, and a new authorization is refused.
    const afterRevoke = await hub.api('/user', { token: bobServerToken });
    assert.equal(afterRevoke.status, 200);
    assert.ok(!afterRevoke.json.scopes.some((s: string) => s.startsWith('access:servers')), afterRevoke.json.scopes.join(' '));
    const bobAgain = await bob.follow(`${authorizeStep}&response_type=code&redirect_uri=%2Fuser%2Falice%2Foauth_callback`);
    assert.equal(bobAgain.res.status, 403, 'the hub refuses to authorize bob again');
    // The server, once its cached answer about bob's token lapses, asks the hub again and refuses him.
    await waitFor(async () => (await bob.fetch('/user/alice/api/contents')).status === 403, SERVER_AUTH_CACHE_SECONDS * 1000 + 15_000, "alice's server to refuse bob");
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
