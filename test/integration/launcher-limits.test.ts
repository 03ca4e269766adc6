/**
 * The launcher's limits on this machine's real cgroup v1 hierarchies (memory, cpu, cpuacct, pids):
 * each server in a cgroup of its own, an allocation past the memory limit OOM-killed and reported
 * so, a fork loop stopped at the pids limit, a CPU-bound loop held to its CPU share.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { LaunchRequest } from '../../src/spawners/local-process/launcher/client.js';
import { waitFor } from '../helpers/fixtures.js';
import { ExitLog, isRoot, launcherConfig, launcherDirs, startLauncher } from '../helpers/launcher.js';

const ALICE = 200_101;
const PYTHON = '/usr/bin/python3';
const MiB = 1024 * 1024;
const skip = !isRoot ? 'the launcher needs root' : !existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') && 'no cgroup v1 memory hierarchy';

async function v1Launcher(t: TestContext) {
  const dirs = await launcherDirs(t);
  const config = launcherConfig(dirs, { cgroup: { mode: 'v1' } });
  const launcher = await startLauncher(t, config);
  const home = path.join(dirs.usersRoot, 'alice');
  await launcher.mkdir(home, { uid: ALICE, gid: ALICE, mode: 0o700 });
  const request = (name: string, argv: string[], limits: LaunchRequest['limits']): LaunchRequest => ({
    name,
    uid: ALICE,
    gid: ALICE,
    argv,
    env: { PATH: '/usr/bin:/bin' },
    cwd: home,
    logFile: path.join(dirs.logsRoot, `${name}.log`),
    limits,
  });
  return { dirs, scope: config.scope, launcher, request, exits: new ExitLog(launcher) };
}

/** `<base>/<scope>/<name>` in the hierarchy of `controller` (v1 bases end in /<controller>/.../ganymede). */
function serverCgroup(bases: string[], controller: string, scope: string, name: string): string {
  const base = bases.find((b) => b.startsWith(`/sys/fs/cgroup/${controller}/`));
  assert.ok(base, `a ${controller} hierarchy among ${bases.join(', ')}`);
  return path.join(base, scope, name);
}

const read = (file: string) => readFileSync(file, 'utf8').trim();

test('a server runs in a cgroup of its own in each hierarchy, with its limits written, removed after it exits', { skip }, async (t) => {
  const { scope, launcher, request, exits } = await v1Launcher(t);
  const server = await launcher.launch(request('limited', ['sleep', '600'], { memoryBytes: 64 * MiB, cpu: 0.5, pids: 30 }));
  const dirOf = (controller: string) => serverCgroup(launcher.cgroup.bases, controller, scope, 'limited');
  const memory = dirOf('memory');
  assert.equal(server.cgroup, memory);
  assert.equal(server.swapLimited, existsSync(path.join(memory, 'memory.memsw.limit_in_bytes')));
  assert.equal(read(path.join(memory, 'memory.limit_in_bytes')), String(64 * MiB));
  if (server.swapLimited) assert.equal(read(path.join(memory, 'memory.memsw.limit_in_bytes')), String(64 * MiB), 'memory + swap: no swap');
  assert.equal(read(path.join(dirOf('cpu'), 'cpu.cfs_period_us')), '100000');
  assert.equal(read(path.join(dirOf('cpu'), 'cpu.cfs_quota_us')), '50000');
  assert.equal(read(path.join(dirOf('pids'), 'pids.max')), '30');

  const membership = read(`/proc/${server.pid}/cgroup`);
  for (const controller of ['memory', 'cpu', 'cpuacct', 'pids']) {
    const expected = dirOf(controller).slice(`/sys/fs/cgroup/${controller}`.length);
    assert.match(membership, new RegExp(`^\\d+:${controller}:${expected.replaceAll('.', '\\.')}$`, 'm'), `${controller} cgroup`);
  }
  const stats = await launcher.stats('limited');
  assert.equal(stats.memoryLimit, 64 * MiB);
  assert.equal(stats.pidsLimit, 30);
  assert.equal(stats.pidsCurrent, 1);
  assert.equal(stats.oomKills, 0);

  assert.equal(await launcher.signal(server.pid, server.startTime, 'SIGKILL'), true);
  assert.equal((await exits.of('limited')).signal, 'SIGKILL');
  await waitFor(() => ['memory', 'cpu', 'cpuacct', 'pids'].every((c) => !existsSync(dirOf(c))), 10_000, 'the server\'s cgroups to be removed');
});

test('a server that allocates past its memory limit is OOM-killed and reported so', { skip }, async (t) => {
  const { launcher, request, exits } = await v1Launcher(t);
  const hog = `data = b'x' * ${256 * MiB}\nprint('allocated', len(data), flush=True)`;
  const server = await launcher.launch(request('hog', [PYTHON, '-I', '-S', '-c', hog], { memoryBytes: 64 * MiB }));
  const exit = await exits.of('hog');
  assert.deepEqual(exit, { name: 'hog', pid: server.pid, startTime: server.startTime, code: null, signal: 'SIGKILL', oomKilled: true });

  const calm = await launcher.launch(request('calm', [PYTHON, '-I', '-S', '-c', `data = b'x' * ${8 * MiB}`], { memoryBytes: 64 * MiB }));
  assert.deepEqual(await exits.of('calm'), { name: 'calm', pid: calm.pid, startTime: calm.startTime, code: 0, signal: null, oomKilled: false });
});

test("a child process over the server's memory limit stops the whole server, not only itself", { skip }, async (t) => {
  const { launcher, request, exits } = await v1Launcher(t);
  // The server (a shell standing for jupyterhub-singleuser) waits; its child (standing for a kernel) allocates.
  const hog = `data = b'x' * ${256 * MiB}`;
  const server = await launcher.launch(request('kernel-hog', ['/bin/sh', '-c', `${PYTHON} -I -S -c "${hog}"; sleep 600`], { memoryBytes: 64 * MiB }));
  const exit = await exits.of('kernel-hog');
  assert.deepEqual(exit, { name: 'kernel-hog', pid: server.pid, startTime: server.startTime, code: null, signal: 'SIGKILL', oomKilled: true });
});

test('a fork loop stops at the pids limit', { skip }, async (t) => {
  const { dirs, launcher, request, exits } = await v1Launcher(t);
  const forkLoop = [
    'import os, signal',
    'children = 0',
    'try:',
    '    while children < 1000:',
    '        if os.fork() == 0:',
    '            signal.pause()',
    '            os._exit(0)',
    '        children += 1',
    'except OSError as error:',
    "    print('fork failed after', children, 'children:', error.strerror, flush=True)",
    'signal.pause()',
  ].join('\n');
  await launcher.launch(request('forker', [PYTHON, '-I', '-S', '-c', forkLoop], { pids: 20 }));
  const log = path.join(dirs.logsRoot, 'forker.log');
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('fork failed'), 30_000, 'the fork loop to hit the limit');
  const children = Number(/fork failed after (\d+) children/.exec(readFileSync(log, 'utf8'))?.[1]);
  assert.ok(children < 20, `forked ${children} children`);
  const stats = await launcher.stats('forker');
  assert.equal(stats.pidsLimit, 20);
  assert.ok(stats.pidsCurrent !== null && stats.pidsCurrent <= 20, `pids.current ${stats.pidsCurrent}`);
  assert.equal(stats.pidsCurrent, children + 1, 'the server and its children, all alive');

  assert.equal(await launcher.killCgroup('forker'), children + 1);
  assert.equal((await exits.of('forker')).signal, 'SIGKILL');
});

test('a CPU-bound loop gets at most its cpu limit, measured from cpuacct usage', { skip }, async (t) => {
  const { launcher, request } = await v1Launcher(t);
  await launcher.launch(request('spinner', [PYTHON, '-I', '-S', '-c', 'while True: pass'], { cpu: 0.5 }));
  // The window is one second of CPU used, whatever wall-clock time that takes on a busy machine.
  const first = await launcher.stats('spinner');
  const start = process.hrtime.bigint();
  let usedNs = 0;
  await waitFor(
    async () => {
      usedNs = ((await launcher.stats('spinner')).cpuUsageNs ?? 0) - (first.cpuUsageNs ?? 0);
      return usedNs >= 1e9;
    },
    60_000,
    'one second of CPU time',
  );
  const wallNs = Number(process.hrtime.bigint() - start);
  const cores = usedNs / wallNs;
  t.diagnostic(`${(usedNs / 1e9).toFixed(2)} s of CPU in ${(wallNs / 1e9).toFixed(2)} s: ${cores.toFixed(2)} cores`);
  assert.ok(cores <= 0.65, `${cores.toFixed(2)} cores with a limit of 0.5`);
});
