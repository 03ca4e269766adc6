/**
 * The real jupyterhub-singleuser behind the hub. Create a user by API, start the server, follow the
 * progress stream, run `print(6*7)` in a kernel with @jupyterlab/services through the hub's public
 * URL, stop the server and see it gone: nothing answers at its own address, and no route is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig, answersHttp, readEventStream, serverAddress, waitFor } from '../helpers/fixtures.js';

test('a real jupyterhub-singleuser runs a kernel through the hub', { timeout: 180_000 }, async (t) => {
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: REAL_SPAWNER } });
  t.after(() => hub.stop());

  const created = await hub.api('/users/alice', { method: 'POST', token: ADMIN_TOKEN });
  assert.equal(created.status, 201);
  assert.equal(created.json.name, 'alice');

  const tok = await hub.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { note: 'kernel test' } });
  assert.equal(tok.status, 201, tok.text);
  const userToken: string = tok.json.token;
  assert.match(userToken, /^[0-9a-f]{64}$/);

  const start = await hub.api('/users/alice/server', { method: 'POST', token: ADMIN_TOKEN });
  assert.ok([201, 202].includes(start.status), `start answered ${start.status}: ${start.text}`);

  const progress = await fetch(`${hub.url}hub/api/users/alice/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
  assert.equal(progress.headers.get('content-type'), 'text/event-stream');
  const events = await readEventStream(progress);
  const last = events.at(-1)!;
  assert.equal(last.ready, true, JSON.stringify(events));
  assert.equal(last.url, '/user/alice/');
  assert.equal(last.progress, 100);

  const model = await hub.api('/users/alice', { token: ADMIN_TOKEN });
  assert.equal(model.json.server, '/user/alice/');
  const own = `${serverAddress(model.json.servers[''].state as { port: number })}/user/alice/api`;
  assert.equal(await answersHttp(own), true, 'the server answers at its own address');

  const settings = ServerConnection.makeSettings({
    baseUrl: `${hub.url}user/alice/`,
    wsUrl: `${hub.url.replace(/^http/, 'ws')}user/alice/`,
    token: userToken,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const kernels = new KernelManager({ serverSettings: settings });
  const kernel = await kernels.startNew({ name: 'python3' });
  let output = '';
  const future = kernel.requestExecute({ code: 'print(6*7)' });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') output += (msg.content as { text: string }).text;
  };
  const reply = await future.done;
  assert.equal(reply.content.status, 'ok');
  assert.equal(output.trim(), '42');
  await kernel.shutdown();
  kernels.dispose();

  const stop = await hub.api('/users/alice/server', { method: 'DELETE', token: ADMIN_TOKEN });
  assert.ok([202, 204].includes(stop.status), `stop answered ${stop.status}`);
  // 202: the stop goes on in the background; the hub's model says when it is over.
  await waitFor(async () => (await hub.api('/users/alice', { token: ADMIN_TOKEN })).json.server === null, 30_000, 'the hub to report the server stopped');
  const after = await hub.api('/users/alice', { token: ADMIN_TOKEN });
  assert.deepEqual(after.json.servers, {});
  assert.equal(await answersHttp(own), false, 'the server process is gone: nothing listens at its address');
  const proxied = await fetch(`${hub.url}user/alice/api`, { redirect: 'manual', headers: { Authorization: `token ${userToken}` } });
  assert.equal(proxied.status, 302, 'no route is left: the hub answers with a redirect');
});
