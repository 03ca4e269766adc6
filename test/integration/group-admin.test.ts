/**
 * The group-admin story. A teacher with the role `physics-teacher`
 * (`admin:servers!group=physics`, `read:users!group=physics`, `list:users!group=physics`,
 * `access:servers!group=physics`) starts, stops and opens the servers of physics students only, and
 * sees no one else. "Opens" is the real thing: the teacher's browser session goes through the real
 * jupyterhub-singleuser's OAuth login with the hub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN, REAL_SPAWNER, readEventStream } from '../helpers/fixtures.js';

test('a group admin manages the servers of their group only', { timeout: 240_000 }, async (t) => {
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      spawner: REAL_SPAWNER,
      services: [{ name: 'test-admin', api_token: ADMIN_TOKEN }],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        {
          name: 'physics-teacher',
          description: 'Teaches physics: manages the servers of the physics students',
          scopes: ['admin:servers!group=physics', 'read:users!group=physics', 'list:users!group=physics', 'access:servers!group=physics'],
          users: ['teacher'],
          groups: ['physics-staff'],
        },
      ],
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });

  assert.equal((await admin('/users', 'POST', { usernames: ['alice', 'carol', 'bob'] })).status, 201);
  assert.equal((await admin('/groups/physics', 'POST', { users: ['alice', 'carol'] })).status, 201);
  assert.equal((await admin('/groups/chem', 'POST', { users: ['bob'] })).status, 201);
  const tok = await admin('/users/teacher/tokens', 'POST', { note: 'teacher script' });
  assert.equal(tok.status, 201, tok.text);
  const teacher = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: tok.json.token as string, body });

  await t.test('the teacher sees the physics students and no one else', async () => {
    const list = await teacher('/users');
    assert.equal(list.status, 200);
    assert.deepEqual((list.json as Array<{ name: string }>).map((u) => u.name).sort(), ['alice', 'carol']);
    const alice = await teacher('/users/alice');
    assert.equal(alice.status, 200);
    assert.deepEqual(alice.json.groups, ['physics']);
    assert.equal((await teacher('/users/bob')).status, 404, 'bob is hidden, not forbidden');
    assert.equal((await teacher('/groups/physics/users', 'POST', { users: ['bob'] })).status, 403, 'no right to change the group');
  });

  await t.test('a role given to a group reaches its members, and leaves with them', async () => {
    assert.equal((await admin('/users/tina', 'POST')).status, 201);
    const tinaToken = (await admin('/users/tina/tokens', 'POST', {})).json.token as string;
    const asTina = () => hub.api('/users', { token: tinaToken });
    assert.equal((await asTina()).status, 403, 'not yet in physics-staff');
    assert.equal((await admin('/groups/physics-staff/users', 'POST', { users: ['tina'] })).status, 200);
    const list = await asTina();
    assert.equal(list.status, 200);
    assert.deepEqual((list.json as Array<{ name: string }>).map((u) => u.name).sort(), ['alice', 'carol']);
    const group = await admin('/groups/physics-staff');
    assert.deepEqual(group.json.roles, ['physics-teacher']);
    assert.equal((await admin('/groups/physics-staff/users', 'DELETE', { users: ['tina'] })).status, 200);
    assert.equal((await asTina()).status, 403, 'leaving the group takes the role away at once');
  });

  await t.test('the teacher starts a physics student server, not a chemistry one', async () => {
    const start = await teacher('/users/alice/server', 'POST');
    assert.ok([201, 202].includes(start.status), `${start.status} ${start.text}`);
    const events = await readEventStream(await fetch(`${hub.url}hub/api/users/alice/server/progress`, { headers: { Authorization: `token ${tok.json.token}` } }));
    assert.equal(events.at(-1)!.ready, true, JSON.stringify(events));
    assert.equal((await teacher('/users/bob/server', 'POST')).status, 404);
  });

  await t.test("the teacher opens the student's server in the browser, but not bob's", async () => {
    // bob's server runs, started by an admin
    assert.ok([201, 202].includes((await admin('/users/bob/server', 'POST')).status));
    const bobEvents = await readEventStream(await fetch(`${hub.url}hub/api/users/bob/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
    assert.equal(bobEvents.at(-1)!.ready, true);

    const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
    await browser.login('/hub/', 'teacher');
    // Not the teacher's own server: the hub asks them to authorize the access first (as JupyterHub does).
    const consent = await browser.follow('/user/alice/tree');
    assert.ok(consent.trail.at(-1)!.includes('/hub/api/oauth2/authorize'), consent.trail.join(' → '));
    const page = await consent.res.text();
    assert.match(page, /Authorize access/);
    const authorized = await browser.postForm(new URL(consent.trail.at(-1)!).pathname + new URL(consent.trail.at(-1)!).search, {}, page);
    assert.equal(authorized.status, 302);
    const open = await browser.follow(authorized.headers.get('location')!);
    assert.equal(open.res.status, 200, `${open.trail.join(' → ')}: ${await open.res.clone().text()}`);
    assert.ok(browser.jar.has('jupyterhub-user-alice'), 'the server set its login cookie');
    const status = await browser.fetch('/user/alice/api/status');
    assert.equal(status.status, 200, 'the Jupyter server accepts the session');
    assert.ok('started' in ((await status.json()) as object));

    const refused = await browser.follow('/user/bob/tree');
    assert.equal(refused.res.status, 403, refused.trail.join(' → '));
    assert.match(await refused.res.text(), /permission/i);
  });

  await t.test('the teacher stops the student server, not bob', async () => {
    assert.equal((await teacher('/users/bob/server', 'DELETE')).status, 404);
    const stop = await teacher('/users/alice/server', 'DELETE');
    assert.ok([202, 204].includes(stop.status), `${stop.status} ${stop.text}`);
    const after = await admin('/users/bob');
    assert.equal(after.json.servers[''].ready, true, "bob's server still runs");
  });
});
