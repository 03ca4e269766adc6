/**
 * Acceptance 3: with cleanup_servers false, a hub restart reattaches to the running server:
 * the same process answers through the proxy and nothing is spawned again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig, processAlive, readEventStream, waitFor } from '../helpers/fixtures.js';

test('a restarted hub reattaches to a running real server', { timeout: 180_000 }, async (t) => {
  const config = { ...adminServiceConfig(), spawner: REAL_SPAWNER, cleanup_servers: false };
  const first = await startHub({ config });
  let pid = 0;
  t.after(async () => {
    if (pid && processAlive(pid)) process.kill(-pid, 'SIGKILL');
  });
  await first.api('/users/carol', { method: 'POST', token: ADMIN_TOKEN });
  const tok = await first.api('/users/carol/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { note: 'restart test' } });
  const carolToken: string = tok.json.token;
  await first.api('/users/carol/server', { method: 'POST', token: ADMIN_TOKEN });
  const events = await readEventStream(await fetch(`${first.url}hub/api/users/carol/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
  assert.equal(events.at(-1)!.ready, true, JSON.stringify(events.at(-1)));
  const before = await first.api('/users/carol', { token: ADMIN_TOKEN });
  pid = before.json.servers[''].state.pid;
  const started = before.json.servers[''].started;
  assert.ok(processAlive(pid));

  const code = await first.stop();
  assert.equal(code, 0, 'hub exits cleanly');
  assert.ok(processAlive(pid), 'the server survives the hub with cleanup_servers: false');

  const second = await startHub({ config: { ...config, bind_url: first.url }, dataDir: first.dataDir });
  t.after(() => second.stop().then(() => undefined));
  const after = await second.api('/users/carol', { token: ADMIN_TOKEN });
  assert.equal(after.status, 200);
  assert.equal(after.json.server, '/user/carol/');
  assert.equal(after.json.servers[''].state.pid, pid, 'same process');
  assert.equal(after.json.servers[''].started, started, 'not spawned again');
  const res = await fetch(`${second.url}user/carol/api/status`, { headers: { Authorization: `token ${carolToken}` } });
  assert.equal(res.status, 200, 'the server answers through the new hub');
  assert.ok('started' in ((await res.json()) as object));

  // With cleanup on (the default), stopping the hub stops the server.
  assert.equal((await second.api('/users/carol/server', { method: 'DELETE', token: ADMIN_TOKEN })).status < 300, true);
  await waitFor(() => !processAlive(pid), 20_000, 'server exit');
});
