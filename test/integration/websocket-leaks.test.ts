/**
 * WebSockets through the built-in proxy leave nothing behind: 500 connections to a user's server,
 * each opened, used for a round trip and closed (every fifth torn down without a closing handshake,
 * as a browser tab that is killed), and the hub holds afterwards as many descriptors as before and
 * hardly more memory. (The soak at full size is bench/'s; configurable-http-proxy leaks sockets in
 * such use: configurable-http-proxy#388, #434.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const CYCLES = 500;
const AT_ONCE = 10;

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Opens a WebSocket to the user's server, echoes one message, then closes it (or kills it). */
function cycle(url: string, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
    socket.once('error', reject);
    socket.once('open', () => socket.send(`hello ${i}`));
    socket.once('message', (data) => {
      if (String(data) !== `hello ${i}`) return reject(new Error(`echo ${String(data)}`));
      if (i % 5 === 0) {
        socket.terminate();
        resolve();
      } else {
        socket.once('close', () => resolve());
        socket.close();
      }
    });
  });
}

test('500 WebSocket connections through the proxy leave no descriptor and little memory behind', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    config: { ...adminServiceConfig(), authenticator: { class: 'dummy' }, spawner: { class: 'local-process', cmd: [process.execPath, path.resolve('bench/mock/ws-echo.mjs')] } },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET') => hub.api(p, { method, token: ADMIN_TOKEN });
  assert.equal((await admin('/users/w', 'POST')).status, 201);
  assert.ok([201, 202].includes((await admin('/users/w/server', 'POST')).status));
  await waitFor(async () => (await admin('/users/w')).json.servers?.['']?.ready === true, 30_000, "w's server");
  const url = `${hub.url.replace(/^http/, 'ws')}user/w/api/kernels/k/channels`;
  const pid = hub.proc.pid!;

  // A first round warms the hub up (its code compiled, its pools made), then the measured rounds.
  for (let i = 0; i < 50; i += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, (_, j) => cycle(url, i + j)));
  await waitFor(async () => fds(pid) === fds(pid), 5_000, 'a steady descriptor count');
  const before = { fds: fds(pid), rss: rssMb(pid) };
  for (let i = 0; i < CYCLES; i += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, (_, j) => cycle(url, i + j)));
  // Closed sockets go away as their last packets are handled: wait for that, not for a time.
  await waitFor(async () => fds(pid) <= before.fds, 10_000, `the hub's descriptors back to ${before.fds} (now ${fds(pid)})`);
  const growth = rssMb(pid) - before.rss;
  t.diagnostic(`descriptors ${before.fds} → ${fds(pid)}, RSS ${before.rss.toFixed(1)} → ${rssMb(pid).toFixed(1)} MB`);
  assert.ok(growth <= 10, `RSS grew by ${growth.toFixed(1)} MB over ${CYCLES} connections`);
});
