/**
 * The test harness's hub starter: a hub counts as started only when its own process answers, not
 * another server that took its port first (a port from freePort() is free only when asked); and a
 * test process that ends leaves no hub and no server of a hub running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { listensOn } from '../helpers/processes.js';
import { processAlive, waitFor } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

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

test('a test process that ends without stopping its hub leaves none of the hub’s servers behind', { timeout: 90_000 }, async () => {
  // A test file that forgets hub.stop(): it starts a hub and a server, then exits.
  const script = `
    const { startHub } = await import(${JSON.stringify(new URL('../helpers/hub-process.ts', import.meta.url).href)});
    const { ADMIN_TOKEN, adminServiceConfig, waitFor } = await import(${JSON.stringify(new URL('../helpers/fixtures.ts', import.meta.url).href)});
    const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { class: 'local-process', cmd: [process.execPath, ${JSON.stringify(MOCK)}] } } });
    await hub.api('/users/forgotten', { method: 'POST', token: ADMIN_TOKEN });
    await hub.api('/users/forgotten/server', { method: 'POST', token: ADMIN_TOKEN });
    let pid = 0;
    await waitFor(async () => (pid = (await hub.api('/users/forgotten', { token: ADMIN_TOKEN })).json.servers?.['']?.state?.pid ?? 0) > 0, 30000, 'the server');
    console.log(JSON.stringify({ hub: hub.proc.pid, server: pid }));
    process.exit(0);
  `;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  assert.equal(await new Promise((resolve) => child.once('close', resolve)), 0);
  const pids = JSON.parse(out.trim().split('\n').at(-1)!) as { hub: number; server: number };
  assert.ok(pids.hub > 1 && pids.server > 1, out);
  await waitFor(() => !processAlive(pids.hub) && !processAlive(pids.server), 10_000, 'the hub and its server to be gone');
});
