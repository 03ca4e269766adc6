/**
 * Bad input gets a clear error and loses nothing: wrong passwords, missing XSRF tokens, unknown users,
 * missing scopes, expired and invalid tokens, double starts, malformed JSON, a server command that
 * exits at once, an unknown config key. Token expiry is checked on the hub's clock, moved by the test.
 */
import { navigate } from '../helpers/cookie-session.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startHub } from '../helpers/hub-process.js';
import { tempDir } from '../helpers/tmp.js';
import { ADMIN_TOKEN, adminServiceConfig, readEventStream } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const mockSpawner = { class: 'local-process', cmd: [process.execPath, MOCK] };

/** The login form's XSRF token and the session cookie that goes with it. */
async function loginForm(url: string): Promise<{ cookie: string; xsrf: string }> {
  // As a browser's page load (Sec-Fetch-Mode: navigate): a script's fetch gets no working token.
  const res = await navigate(`${url}hub/login`);
  assert.equal(res.status, 200);
  const html = await res.text();
  const xsrf = /name="_xsrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(xsrf, 'login form has an _xsrf field');
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { cookie, xsrf };
}

test('bad input', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: { ...adminServiceConfig(), authenticator: { class: 'dummy', password: 'opensesame' }, spawner: mockSpawner, active_server_limit: 1 },
  });
  t.after(() => hub.stop());

  await t.test('a wrong password gets the login page with 403 and stores nothing', async () => {
    const { cookie, xsrf } = await loginForm(hub.url);
    const res = await fetch(`${hub.url}hub/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'mallory', password: 'guess', _xsrf: xsrf }).toString(),
    });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await res.text(), /Invalid username or password/);
    assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('jupyterhub-hub-login=') && !c.includes('Expires=Thu, 01 Jan 1970')), 'no login cookie');
    const user = await hub.api('/users/mallory', { token: ADMIN_TOKEN });
    assert.equal(user.status, 404, 'no user was created');
  });

  await t.test('a form post without the XSRF token is refused', async () => {
    const { cookie } = await loginForm(hub.url);
    const res = await fetch(`${hub.url}hub/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'mallory', password: 'opensesame' }).toString(),
    });
    assert.equal(res.status, 403);
  });

  await t.test('an unknown user in the API is a 404 with a JSON message', async () => {
    const res = await hub.api('/users/nobody-here', { token: ADMIN_TOKEN });
    assert.equal(res.status, 404);
    assert.equal(res.json.status, 404);
    assert.equal(typeof res.json.message, 'string');
  });

  await t.test('a token without the needed scope gets 403 naming the scope', async () => {
    assert.equal((await hub.api('/users/alice', { method: 'POST', token: ADMIN_TOKEN })).status, 201);
    const tok = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { scopes: ['read:users!user=alice'] } });
    assert.equal(tok.status, 201, tok.text);
    const res = await hub.api('/users/alice/server', { method: 'POST', token: tok.json.token });
    assert.equal(res.status, 403);
    assert.match(res.json.message, /requires any of \[start:servers\]/);
    const read = await hub.api('/users/alice', { token: tok.json.token });
    assert.equal(read.status, 200, 'the scope it has still works');
  });

  await t.test('a token is good until it expires and refused from then on', async () => {
    const tok = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { expires_in: 3600 } });
    assert.equal(tok.status, 201);
    assert.ok(tok.json.expires_at.endsWith('Z'));
    assert.equal((await hub.api('/user', { token: tok.json.token })).status, 200);
    // A minute before expires_at (less the real time these requests take) it is still good; at expires_at it is not.
    await hub.advanceClock(59 * 60_000);
    assert.equal((await hub.api('/user', { token: tok.json.token })).status, 200, 'still valid a minute before expires_at');
    await hub.advanceClock(60_000);
    const expired = await hub.api('/user', { token: tok.json.token });
    assert.equal(expired.status, 403, 'refused at expires_at');
    assert.equal(expired.json.status, 403);
  });

  await t.test('a bad token request is a 400 naming the problem', async () => {
    const res = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { scopes: ['read:userz'] } });
    assert.equal(res.status, 400);
    assert.match(res.json.message, /read:userz/);
    const neg = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { expires_in: -5 } });
    assert.equal(neg.status, 400);
  });

  await t.test('an invalid token is refused', async () => {
    const res = await hub.api('/users', { token: 'not-a-token' });
    assert.equal(res.status, 403);
    assert.equal(res.json.status, 403);
  });

  await t.test('starting a running server is a 400', async () => {
    const first = await hub.api('/users/alice/server', { method: 'POST', token: ADMIN_TOKEN });
    assert.ok([201, 202].includes(first.status), first.text);
    await readEventStream(await fetch(`${hub.url}hub/api/users/alice/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
    const again = await hub.api('/users/alice/server', { method: 'POST', token: ADMIN_TOKEN });
    assert.equal(again.status, 400);
    assert.match(again.json.message, /alice is already running/);
    assert.equal((await hub.api('/users/carol', { method: 'POST', token: ADMIN_TOKEN })).status, 201);
    const over = await hub.api('/users/carol/server', { method: 'POST', token: ADMIN_TOKEN });
    assert.equal(over.status, 429, 'active_server_limit is 1');
    assert.match(over.json.message, /Active user limit exceeded/);
    assert.ok(over.headers.get('retry-after'));
    assert.equal((await hub.api('/users/alice/server', { method: 'DELETE', token: ADMIN_TOKEN })).status, 204);
  });

  await t.test('malformed JSON is a 400', async () => {
    const res = await fetch(`${hub.url}hub/api/users`, {
      method: 'POST',
      headers: { Authorization: `token ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"usernames": [',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { status: number }).status, 400);
  });
});

test('a server command that exits at once fails the spawn with its message and leaves no route', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    config: { ...adminServiceConfig(), spawner: { ...mockSpawner, environment: { MOCK_EXIT_AT_ONCE: '3' } } },
  });
  t.after(() => hub.stop());
  assert.equal((await hub.api('/users/bob', { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  const start = await hub.api('/users/bob/server', { method: 'POST', token: ADMIN_TOKEN });
  assert.equal(start.status, 500);
  assert.match(start.json.message, /exited with code 3/);
  assert.match(start.json.message, /failing on purpose/);
  const events = await readEventStream(await fetch(`${hub.url}hub/api/users/bob/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
  const last = events.at(-1)!;
  assert.equal(last.failed, true);
  assert.match(String(last.message), /^Spawn failed: .*exited with code 3/);
  const routes = await hub.api('/proxy', { token: ADMIN_TOKEN });
  assert.equal(routes.status, 200);
  assert.deepEqual(Object.keys(routes.json).filter((r) => r.startsWith('/user/')), []);
  const user = await hub.api('/users/bob', { token: ADMIN_TOKEN });
  assert.equal(user.json.server, null);
  assert.equal(user.json.pending, null);
});

test('a config with an unknown key exits non-zero naming the key and the file', async (t) => {
  const dir = await tempDir('ganymede-badcfg-');
  t.after(() => dir.cleanup());
  const file = path.join(dir.path, 'bad.yaml');
  writeFileSync(file, 'bind_url: http://127.0.0.1:1/\nspawner:\n  cmdd: [x]\n');
  const res = await runCli(['start', '--config', file]);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /spawner\.cmdd: unknown key/);
  assert.ok(res.stderr.includes(file), res.stderr);
  assert.ok(!/\n\s+at /.test(res.stderr), 'no stack trace');
});
