/**
 * The test harness's hub starter: a hub counts as started only when its own process answers, not
 * another server that took its port first (a port from freePort() is free only when asked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHub } from '../helpers/hub-process.js';
import { listensOn } from '../helpers/processes.js';

test('startHub is not fooled by another server answering on the hub’s port', { timeout: 90_000 }, async (t) => {
  // Answers 200 to everything, /hub/health included, as another hub on the same port would.
  const impostor = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => impostor.close(() => resolve())));
  const { port } = impostor.address() as AddressInfo;
  assert.equal(listensOn(process.pid, port), true, 'the impostor is this process');

  await assert.rejects(startHub({ config: { bind_url: `http://127.0.0.1:${port}/` } }), /address already in use/);

  const hub = await startHub({ config: {} });
  t.after(() => hub.stop());
  assert.equal(listensOn(hub.proc.pid!, hub.port), true, 'the hub that answers is the one started');
  assert.equal(listensOn(process.pid, hub.port), false);
});
