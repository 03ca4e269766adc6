/**
 * /hub/metrics has JupyterHub's metric names and labels, so that the community's Grafana dashboards
 * work unchanged; after a server is started and stopped through the API, the histograms count them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

const NAMES = [
  'jupyterhub_total_users',
  'jupyterhub_active_users',
  'jupyterhub_running_servers',
  'jupyterhub_server_spawn_duration_seconds',
  'jupyterhub_server_stop_seconds',
  'jupyterhub_server_poll_duration_seconds',
  'jupyterhub_proxy_poll_duration_seconds',
  'jupyterhub_request_duration_seconds',
  'jupyterhub_check_routes_duration_seconds',
  'jupyterhub_hub_startup_duration_seconds',
  'jupyterhub_init_spawners_duration_seconds',
  'jupyterhub_event_loop_interval_seconds',
];

test("JupyterHub's metrics, counted after a spawn and a stop", { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { class: 'local-process', cmd: [process.execPath, MOCK] } } });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET') => hub.api(p, { method, token: ADMIN_TOKEN });
  const scrape = async () => (await fetch(`${hub.url}hub/metrics`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })).text();
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in:\n${text.split('\n').filter((l) => l.startsWith(series.split('{')[0]!)).join('\n')}`);
    return Number(line.slice(series.length + 1));
  };

  const before = await scrape();
  for (const name of NAMES) assert.match(before, new RegExp(`^# TYPE ${name} (gauge|histogram)$`, 'm'), name);
  for (const status of ['success', 'failure', 'already-pending', 'throttled', 'too-many-users']) {
    assert.equal(value(before, `jupyterhub_server_spawn_duration_seconds_count{status="${status}"}`), 0, `spawn ${status} exists before any spawn`);
  }
  for (const period of ['24h', '7d', '30d']) value(before, `jupyterhub_active_users{period="${period}"}`);
  assert.equal(value(before, 'jupyterhub_hub_startup_duration_seconds_count'), 1);

  assert.equal((await admin('/users/ada', 'POST')).status, 201);
  assert.ok([201, 202].includes((await admin('/users/ada/server', 'POST')).status));
  await waitFor(async () => (await admin('/users/ada')).json.servers?.['']?.ready === true, 20_000, "ada's server");
  assert.ok([202, 204].includes((await admin('/users/ada/server', 'DELETE')).status));
  await waitFor(async () => (await admin('/users/ada')).json.servers?.[''] === undefined, 20_000, "ada's server to stop");

  const after = await scrape();
  assert.equal(value(after, 'jupyterhub_server_spawn_duration_seconds_count{status="success"}'), 1);
  assert.equal(value(after, 'jupyterhub_server_spawn_duration_seconds_count{status="failure"}'), 0);
  assert.equal(value(after, 'jupyterhub_server_stop_seconds_count{status="success"}'), 1);
  assert.ok(value(after, 'jupyterhub_server_spawn_duration_seconds_bucket{le="600",status="success"}') === 1, 'a spawn of less than 10 minutes is in the 600 s bucket');
  assert.ok(value(after, 'jupyterhub_total_users') >= 1);
  // The requests above, by method, route pattern and status code.
  assert.match(after, /^jupyterhub_request_duration_seconds_count\{method="POST",handler="\/hub\/api\/users\/:name\/server",code="20[12]"\} 1$/m);
  assert.match(after, /^jupyterhub_request_duration_seconds_count\{method="GET",handler="\/hub\/api\/users\/:name",code="200"\} \d+$/m);
  assert.ok(value(after, 'jupyterhub_event_loop_interval_seconds_count') >= 1, 'the event loop is measured');
});
