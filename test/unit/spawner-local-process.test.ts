import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { spawnerSchema, type SpawnerConfig } from '../../src/config/schema.js';
import { LocalProcessSpawner } from '../../src/spawners/local-process/index.js';
import { ephemeralOverlap } from '../../src/spawners/local-process/ports.js';
import { escapeName, logFilePath, workingDirectory } from '../../src/spawners/local-process/names.js';
import { readProcStartTime } from '../../src/spawners/local-process/processes.js';
import type { ProgressEvent, SpawnRequest, SpawnerState } from '../../src/spawners/spawner.js';

const MOCK_SERVER = fileURLToPath(new URL('../fixtures/mock-singleuser.mjs', import.meta.url));
const silent = pino({ level: 'silent' });

async function setup(t: TestContext, overrides: Partial<SpawnerConfig> = {}) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ganymede-spawner-'));
  const config = { ...spawnerSchema.parse({ cmd: [process.execPath, MOCK_SERVER], stop_timeout: 2 }), ...overrides, dataDir };
  const pids = new Set<number>();
  t.after(async () => {
    for (const pid of pids) killGroup(pid);
    await rm(dataDir, { recursive: true, force: true });
  });
  const reporter = {
    events: [] as ProgressEvent[],
    states: [] as SpawnerState[],
    progress(event: ProgressEvent) {
      this.events.push(event);
    },
    async saveState(state: SpawnerState) {
      this.states.push(state);
      if (typeof state.pid === 'number') pids.add(state.pid);
    },
  };
  return { dataDir, config, reporter, pids, spawner: new LocalProcessSpawner(config, silent) };
}

function spawnRequest(name: string, env: Record<string, string> = {}, serverName = ''): SpawnRequest {
  const servicePrefix = serverName ? `/user/${name}/${serverName}/` : `/user/${name}/`;
  return {
    user: { id: 1, name, admin: false, groups: [] },
    serverName,
    servicePrefix,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      JUPYTERHUB_USER: name,
      JUPYTERHUB_SERVICE_PREFIX: servicePrefix,
      JUPYTERHUB_API_TOKEN: 'not-a-secret',
      ...env,
    },
    userOptions: {},
    resources: {},
    previousState: {},
    authState: null,
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A zombie (dead, not yet reaped by the test process) counts as gone. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self/stat');
  }
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return response.json();
}

test('start runs the server in its working directory with the request environment; stop ends it', async (t) => {
  const { spawner, reporter, dataDir } = await setup(t);
  const result = await spawner.start(spawnRequest('alice'), reporter, new AbortController().signal);

  const { pid, port } = result.state;
  assert.equal(typeof pid, 'number');
  assert.equal(typeof port, 'number');
  assert.equal(result.target, `http://127.0.0.1:${port}`);
  assert.deepEqual(reporter.states, [result.state], 'state is saved before start resolves');
  assert.deepEqual(
    reporter.events.map((event) => event.progress),
    [10, 50, 90],
  );

  assert.deepEqual(await getJson(`${result.target}/user/alice/api`), { version: 'mock' });
  const seen = (await getJson(`${result.target}/user/alice/env`)) as { cwd: string; pid: number; env: Record<string, string> };
  const cwd = path.join(dataDir, 'users', 'alice');
  assert.equal(seen.cwd, cwd);
  assert.equal(seen.pid, pid);
  assert.equal(seen.env.JUPYTERHUB_USER, 'alice');
  assert.equal(seen.env.JUPYTERHUB_API_TOKEN, 'not-a-secret');
  assert.equal(seen.env.JUPYTERHUB_SERVICE_URL, `http://127.0.0.1:${port}/user/alice/`);
  assert.equal((await stat(cwd)).mode & 0o777, 0o700);

  const log = await readFile(path.join(dataDir, 'logs', 'alice.log'), 'utf8');
  assert.match(log, /mock-singleuser: listening on/);
  assert.equal(result.state.log_file, path.join(dataDir, 'logs', 'alice.log'));

  assert.deepEqual(await spawner.poll(result.state), { running: true });
  await spawner.stop(result.state, { graceSeconds: 5 });
  assert.equal(processExists(pid as number), false);
  const poll = await spawner.poll(result.state);
  assert.equal(poll.running, false);
  assert.match(poll.running ? '' : (poll.message ?? ''), /SIGTERM/);
});

test('two servers started together get different ports within port_range', async (t) => {
  const { spawner, reporter } = await setup(t, { port_range: [50100, 50139] });
  const signal = new AbortController().signal;
  const [a, b] = await Promise.all([
    spawner.start(spawnRequest('ann'), reporter, signal),
    spawner.start(spawnRequest('ann', {}, 'gpu'), reporter, signal),
  ]);
  assert.notEqual(a.state.port, b.state.port);
  for (const { state } of [a, b]) assert.ok((state.port as number) >= 50100 && (state.port as number) <= 50139);
  await Promise.all([a, b].map(({ state }) => spawner.stop(state, { graceSeconds: 5 })));
});

test('a server that exits at once fails the start with its exit code and its last output', async (t) => {
  const { spawner, reporter } = await setup(t);
  await assert.rejects(
    spawner.start(spawnRequest('bob', { MOCK_EXIT_AT_ONCE: '3' }), reporter, new AbortController().signal),
    (error: Error) => {
      assert.match(error.message, /exited with code 3/);
      assert.match(error.message, /mock-singleuser: failing on purpose with code 3/);
      return true;
    },
  );
  const [state] = reporter.states;
  assert.ok(state);
  assert.deepEqual(await spawner.poll(state), { running: false, exitCode: 3, message: 'exited with code 3' });
});

test('a command that does not exist fails the start with a clear message', async (t) => {
  const { config, reporter } = await setup(t);
  const signal = new AbortController().signal;
  const byName = new LocalProcessSpawner({ ...config, cmd: ['ganymede-no-such-command'] }, silent);
  await assert.rejects(byName.start(spawnRequest('carol'), reporter, signal), /command ganymede-no-such-command not found in PATH/);
  const byPath = new LocalProcessSpawner({ ...config, cmd: ['/nonexistent/jupyterhub-singleuser'] }, silent);
  await assert.rejects(byPath.start(spawnRequest('carol'), reporter, signal), /\/nonexistent\/jupyterhub-singleuser does not exist/);
  assert.deepEqual(reporter.states, []);
});

test('aborting a start kills the process and rejects with the abort reason', async (t) => {
  const { spawner, reporter } = await setup(t);
  const controller = new AbortController();
  const reason = new Error('user cancelled');
  // Aborted while the spawner waits for the server to answer (it listens only after 60 s): on the turn of
  // the event loop after the spawner said so, when its wait has begun.
  const progress = reporter.progress.bind(reporter);
  reporter.progress = (event) => {
    progress(event);
    if (event.progress === 90) setImmediate(() => controller.abort(reason));
  };
  await assert.rejects(spawner.start(spawnRequest('dave', { MOCK_LISTEN_DELAY_MS: '60000' }), reporter, controller.signal), reason);
  const pid = reporter.states[0]?.pid as number;
  assert.equal(processExists(pid), false);
});

test('a server that never answers is stopped after http_timeout', async (t) => {
  const { spawner, reporter } = await setup(t, { http_timeout: 0.3 });
  await assert.rejects(
    spawner.start(spawnRequest('erin', { MOCK_LISTEN_DELAY_MS: '60000' }), reporter, new AbortController().signal),
    /did not answer .* within 0.3 seconds/,
  );
  assert.equal(processExists(reporter.states[0]?.pid as number), false);
});

test('another hub instance can poll and stop a server from its saved state alone', async (t) => {
  const { spawner, reporter, config } = await setup(t);
  const { state } = await spawner.start(spawnRequest('frank'), reporter, new AbortController().signal);
  const restarted = new LocalProcessSpawner(config, silent);
  assert.deepEqual(await restarted.poll(JSON.parse(JSON.stringify(state))), { running: true });
  await restarted.stop(state, { graceSeconds: 5 });
  assert.equal(processExists(state.pid as number), false);
  assert.deepEqual(await restarted.poll(state), { running: false });
});

test('a server ignoring SIGTERM is killed after the grace period', async (t) => {
  const { spawner, reporter } = await setup(t);
  const { state } = await spawner.start(spawnRequest('grace', { MOCK_IGNORE_SIGTERM: '1' }), reporter, new AbortController().signal);
  const begun = Date.now();
  await spawner.stop(state, { graceSeconds: 0.5 });
  assert.ok(Date.now() - begun >= 450, 'waited for the grace period');
  assert.equal(processExists(state.pid as number), false);
  const poll = await spawner.poll(state);
  assert.match(poll.running ? '' : (poll.message ?? ''), /SIGKILL/);
});

test('stop is idempotent and poll of empty state says not running', async (t) => {
  const { spawner, reporter } = await setup(t);
  const { state } = await spawner.start(spawnRequest('heidi'), reporter, new AbortController().signal);
  await spawner.stop(state, { graceSeconds: 5 });
  await spawner.stop(state, { graceSeconds: 5 });
  await spawner.stop({}, { graceSeconds: 5 });
  assert.equal((await spawner.poll({})).running, false);
  assert.equal((await spawner.poll({ pid: 1 })).running, false, 'pid 1 is never taken as a server');
});

test('a reused pid is not taken for the server, and not signalled', { skip: !existsSync('/proc/self/stat') }, async (t) => {
  const { spawner } = await setup(t);
  const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  const pid = stranger.pid as number;
  t.after(() => killGroup(pid));
  await new Promise((resolve) => stranger.once('spawn', resolve));
  const startTime = readProcStartTime(pid);
  assert.equal(typeof startTime, 'number');
  const staleState = { pid, pgid: pid, proc_starttime: (startTime as number) - 1 };
  assert.deepEqual(await spawner.poll(staleState), { running: false });
  await spawner.stop(staleState, { graceSeconds: 0 });
  assert.equal(processExists(pid), true);
  assert.deepEqual(await spawner.poll({ ...staleState, proc_starttime: startTime as number }), { running: true });
});

test('user and server names are escaped into one safe path component', () => {
  assert.equal(escapeName('alice'), 'alice');
  assert.equal(escapeName('a.b_C9'), 'a.b_C9');
  assert.equal(escapeName('a/b'), 'a-2fb');
  assert.equal(escapeName('jean-luc'), 'jean-2dluc');
  assert.equal(escapeName('zoë'), 'zo-c3-ab');
  assert.notEqual(escapeName('a/'), escapeName('a-2f'));
  assert.throws(() => escapeName('..'), /cannot be used as a directory name/);
  assert.throws(() => escapeName(''), /cannot be used/);
  assert.equal(escapeName('../x'), '..-2fx');
  assert.equal(workingDirectory('/home/{username}/work', '/data', 'a/b'), '/home/a-2fb/work');
  assert.equal(workingDirectory(undefined, '/data', 'alice'), '/data/users/alice');
  assert.equal(logFilePath('/data', 'ann', 'gpu'), '/data/logs/ann-gpu.log');
  assert.equal(logFilePath('/data', 'ann-gpu', ''), '/data/logs/ann-2dgpu.log');
});

test('a port_range inside the kernel ephemeral range is reported, one outside it is not', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganymede-ports-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ip_local_port_range');
  await writeFile(file, '32768\t60999\n');
  assert.deepEqual(ephemeralOverlap([49152, 65535], file), [49152, 60999]);
  assert.equal(ephemeralOverlap([61000, 65535], file), null);
  assert.equal(ephemeralOverlap([61000, 65535], path.join(dir, 'missing')), null);
});
