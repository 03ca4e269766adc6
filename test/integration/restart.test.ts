/**
 * Hub restarts and shutdown, with the real jupyterhub-singleuser:
 *  - with `cleanup_servers: false`, a restarted hub reattaches to the running server: the same process
 *    answers through the proxy and nothing is spawned again;
 *  - with the default `cleanup_servers` (true), stopping the hub as a site's service manager does
 *    (SIGTERM) stops the user's server before the hub exits, and the hub exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig, readEventStream, waitFor } from '../helpers/fixtures.js';

/** A process as /proc/<pid>/stat shows it: state letter (R, S, Z…), process group and start time (clock ticks after boot). */
function procStat(pid: number): { state: string; pgrp: number; startTime: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces: field 3 (state) is [0].
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]), startTime: Number(fields[19]) };
  } catch {
    return null;
  }
}

/** A server process as the spawner saved it: its pid and start time tell it from a later process with the same pid. */
interface ServerProcess {
  pid: number;
  startTime: number;
}

/** Does the server process still run? One that exited but nobody reaped yet (a zombie) does not. */
function running(server: ServerProcess): boolean {
  const stat = procStat(server.pid);
  return stat !== null && stat.startTime === server.startTime && stat.state !== 'Z';
}

/** What runs at the server's pid, for failure messages. */
function describeProcess(server: ServerProcess): string {
  const stat = procStat(server.pid);
  if (!stat) return 'no process';
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // Gone meanwhile.
  }
  return `state ${stat.state}, started at tick ${stat.startTime} (the server at ${server.startTime}): ${cmdline}`;
}

/** Processes of the server's process group (it leads its own) that still run. */
function runningInGroup(server: ServerProcess): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== null && stat.pgrp === server.pid && stat.state !== 'Z';
    });
}

/** Creates `user`, starts their server through the API and returns its process once the progress stream says ready. */
async function startServer(hub: HubProcess, user: string): Promise<ServerProcess> {
  assert.equal((await hub.api(`/users/${user}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  const start = await hub.api(`/users/${user}/server`, { method: 'POST', token: ADMIN_TOKEN });
  assert.ok([201, 202].includes(start.status), `${start.status} ${start.text}`);
  const events = await readEventStream(await fetch(`${hub.url}hub/api/users/${user}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
  assert.equal(events.at(-1)!.ready, true, JSON.stringify(events.at(-1)));
  const state = (await hub.api(`/users/${user}`, { token: ADMIN_TOKEN })).json.servers[''].state as { pid: number; proc_starttime: number };
  const server = { pid: state.pid, startTime: state.proc_starttime };
  assert.ok(Number.isInteger(server.pid) && running(server), `the server process runs: ${JSON.stringify(state)}`);
  return server;
}

test('with cleanup_servers false, a restarted hub reattaches to the running real server', { timeout: 180_000 }, async (t) => {
  const config = { ...adminServiceConfig(), spawner: REAL_SPAWNER, cleanup_servers: false };
  const first = await startHub({ config });
  let server: ServerProcess | undefined;
  t.after(async () => {
    // Only if the test failed before the server was stopped through the hub.
    if (server && running(server)) process.kill(-server.pid, 'SIGKILL');
  });
  server = await startServer(first, 'carol');
  const tok = await first.api('/users/carol/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { note: 'restart test' } });
  const carolToken: string = tok.json.token;
  const started = (await first.api('/users/carol', { token: ADMIN_TOKEN })).json.servers[''].started;

  const code = await first.stop();
  assert.equal(code, 0, 'hub exits cleanly');
  assert.ok(running(server), 'the server survives the hub with cleanup_servers: false');

  const second = await startHub({ config: { ...config, bind_url: first.url }, dataDir: first.dataDir });
  t.after(() => second.stop().then(() => undefined));
  const after = await second.api('/users/carol', { token: ADMIN_TOKEN });
  assert.equal(after.status, 200);
  assert.equal(after.json.server, '/user/carol/');
  assert.equal(after.json.servers[''].state.pid, server.pid, 'same process');
  assert.equal(after.json.servers[''].started, started, 'not spawned again');
  const res = await fetch(`${second.url}user/carol/api/status`, { headers: { Authorization: `token ${carolToken}` } });
  assert.equal(res.status, 200, 'the server answers through the new hub');
  assert.ok('started' in ((await res.json()) as object));

  // Clean-up: this hub would leave the server running too, so stop it through the hub that now owns it.
  const stop = await second.api('/users/carol/server', { method: 'DELETE', token: ADMIN_TOKEN });
  assert.ok([202, 204].includes(stop.status), `stop answered ${stop.status}`);
  await waitFor(() => !running(server!), 20_000, 'the server to exit');
});

test('with the default cleanup_servers, stopping the hub with SIGTERM stops the user’s server, and the hub exits 0', { timeout: 120_000 }, async (t) => {
  // As shipped: the server under its own uid, stopped through the launcher before the hub exits.
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: { ...REAL_SPAWNER, run_as: 'dynamic' }, log_level: 'info' } });
  const hubLog = () => `\n--- hub log ---\n${(hub.stdout() + hub.stderr()).slice(-4000)}`;
  let server: ServerProcess | undefined;
  t.after(async () => {
    if (server && running(server)) process.kill(-server.pid, 'SIGKILL');
    await hub.stop();
  });
  server = await startServer(hub, 'dora');

  const code = await hub.stop('SIGTERM');
  assert.equal(code, 0, `the hub exits 0${hubLog()}`);
  // Checked as soon as the hub has exited, without waiting: the hub stops its servers before it exits.
  assert.equal(running(server), false, `the server process ${server.pid} is stopped (at its pid: ${describeProcess(server)})${hubLog()}`);
  assert.deepEqual(runningInGroup(server), [], `nothing of the server’s process group runs${hubLog()}`);
  // A stop the hub made itself is no failure: not in the log, not on the server's record.
  assert.doesNotMatch(hub.stdout() + hub.stderr(), /stopped unexpectedly|stopping server failed/, hubLog());
  const db = new Database(path.join(hub.dataDir, 'ganymede.sqlite'), { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("SELECT s.phase, s.failure FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = 'dora'").get(), { phase: 'stopped', failure: null });
});
