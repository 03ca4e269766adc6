/**
 * The built-in idle culler (issue 9, acceptance 3): a server idle past `timeout` is stopped and, with
 * `cull_users`, its user deleted; a server used through the proxy meanwhile stays, and so does its
 * user; `max_age` stops a server however busy it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

test('idle servers and users are culled, active ones stay', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      culler: { enabled: true, timeout: 4, every: 1, cull_users: true },
      log_level: 'info',
    },
  });
  t.after(() => hub.stop());
  assert.equal((await hub.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: ['idle', 'busy', 'serverless'] } })).status, 201);
  for (const name of ['idle', 'busy']) {
    assert.ok([201, 202].includes((await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN })).status));
    await waitFor(async () => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers?.['']?.ready === true, 10_000, `${name}'s server`);
  }
  // busy's browser keeps using the server through the proxy.
  const tok = await hub.api('/users/busy/tokens', { method: 'POST', token: ADMIN_TOKEN, body: {} });
  let traffic = true;
  const browsing = (async () => {
    while (traffic) {
      await fetch(`${hub.url}user/busy/api/status`, { headers: { Authorization: `token ${tok.json.token}` } })
        .then((r) => r.arrayBuffer())
        .catch(() => undefined); // the hub stopping at the end
      await new Promise((r) => setTimeout(r, 300));
    }
  })();

  await waitFor(async () => (await hub.api('/users/idle', { token: ADMIN_TOKEN })).status === 404, 20_000, 'idle to be culled with its server');
  assert.equal((await hub.api('/users/serverless', { token: ADMIN_TOKEN })).status, 404, 'a user inactive past timeout with no server is culled too');
  const busy = await hub.api('/users/busy', { token: ADMIN_TOKEN });
  assert.equal(busy.status, 200);
  assert.equal(busy.json.servers[''].ready, true, 'the server in use stays');
  assert.match(hub.stderr() + hub.stdout(), /culling idle server/);
  // In the metrics, as JupyterHub's /hub/metrics, for holders of read:metrics.
  assert.equal((await fetch(`${hub.url}hub/metrics`)).status, 403);
  const metrics = await (await fetch(`${hub.url}hub/metrics`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })).text();
  assert.match(metrics, /^ganymede_culled\{kind="servers"\} 1$/m);
  assert.match(metrics, /^ganymede_culled\{kind="users"\} 2$/m);
  assert.match(metrics, /^jupyterhub_running_servers 1$/m);
  traffic = false;
  await browsing;
});

test('max_age stops a server however busy it is', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: {
      ...adminServiceConfig(),
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      culler: { enabled: true, timeout: 86_400, max_age: 7200, every: 3600 },
      log_level: 'info',
    },
  });
  t.after(() => hub.stop());
  const server = async () => (await hub.api('/users/old', { token: ADMIN_TOKEN })).json.servers?.[''];
  assert.equal((await hub.api('/users/old', { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  assert.ok([201, 202].includes((await hub.api('/users/old/server', { method: 'POST', token: ADMIN_TOKEN })).status));
  await waitFor(async () => (await server())?.ready === true, 10_000, 'the server');
  await hub.advanceClock(3000 * 1000);
  assert.equal((await server())?.ready, true, 'younger than max_age: it stays');
  await hub.advanceClock(4300 * 1000);
  assert.equal(await server(), undefined, 'older than max_age, though never idle past the timeout: stopped');
  assert.equal((await hub.api('/users/old', { token: ADMIN_TOKEN })).status, 200, 'without cull_users the user stays');
  assert.match(hub.stdout() + hub.stderr(), /culling server \(max age\)/);
});
