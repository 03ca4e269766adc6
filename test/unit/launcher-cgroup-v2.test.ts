/**
 * The launcher's cgroup v2 layout, against a temporary directory laid out like a cgroup2fs mount
 * (this machine has v1 controllers): what it writes where. The server itself is a real process; the
 * files only record what the launcher wrote, the kernel enforces nothing here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ExitLog, isRoot, launcherConfig, launcherDirs, startLauncher } from '../helpers/launcher.js';

const ALICE = 200_201;
const read = (file: string) => readFileSync(file, 'utf8').trim();

test('on cgroup v2 the hub moves to a leaf, controllers are delegated, and each server gets memory.max, memory.swap.max, cpu.max and pids.max', { skip: !isRoot && 'the launcher needs root' }, async (t) => {
  const dirs = await launcherDirs(t);
  const root = path.join(dirs.dir, 'cgroup');
  await mkdir(root);
  await writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  await writeFile(path.join(root, 'cgroup.subtree_control'), '');
  await writeFile(path.join(root, 'cgroup.procs'), `${process.pid}\n`);
  const config = launcherConfig(dirs, { cgroup: { mode: 'v2', root } });
  const launcher = await startLauncher(t, config);
  const exits = new ExitLog(launcher);

  const servers = path.join(root, 'servers');
  assert.deepEqual(launcher.cgroup, { version: 2, base: servers, bases: [servers] });
  assert.equal(read(path.join(root, 'hub', 'cgroup.procs')), String(process.pid), 'the processes of its own cgroup moved to <own>/hub');
  for (const dir of [root, servers, path.join(servers, config.scope)]) {
    assert.equal(read(path.join(dir, 'cgroup.subtree_control')), '+memory +cpu +pids', `controllers delegated in ${dir}`);
  }

  const home = path.join(dirs.usersRoot, 'alice');
  await launcher.mkdir(home, { uid: ALICE, gid: ALICE, mode: 0o700 });
  const server = await launcher.launch({
    name: 'alice',
    uid: ALICE,
    gid: ALICE,
    argv: ['sleep', '600'],
    env: { PATH: '/usr/bin:/bin' },
    cwd: home,
    logFile: path.join(dirs.logsRoot, 'alice.log'),
    limits: { memoryBytes: 64 * 1024 * 1024, cpu: 0.25, pids: 30 },
  });
  const cgroup = path.join(servers, config.scope, 'alice');
  assert.equal(server.cgroup, cgroup);
  assert.equal(server.swapLimited, true);
  assert.equal(read(path.join(cgroup, 'memory.max')), '67108864');
  assert.equal(read(path.join(cgroup, 'memory.swap.max')), '0');
  assert.equal(read(path.join(cgroup, 'cpu.max')), '25000 100000');
  assert.equal(read(path.join(cgroup, 'pids.max')), '30');
  // A real kernel lists the server, born there; a plain file keeps the last pid written: the launcher's own,
  // which stepped into the server's cgroup to start it, and then back into its leaf.
  assert.equal(read(path.join(cgroup, 'cgroup.procs')), String(launcher.pid), 'the launcher started the server from inside its cgroup');
  assert.equal(read(path.join(root, 'hub', 'cgroup.procs')), String(launcher.pid), 'and went back to its own leaf');

  // The counters a kernel would keep.
  await writeFile(path.join(cgroup, 'memory.current'), '1048576\n');
  await writeFile(path.join(cgroup, 'cpu.stat'), 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n');
  await writeFile(path.join(cgroup, 'pids.current'), '3\n');
  await writeFile(path.join(cgroup, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n');
  assert.deepEqual(await launcher.stats('alice'), {
    memoryBytes: 1048576,
    memoryLimit: 67108864,
    cpuUsageNs: 2_500_000,
    pidsCurrent: 3,
    pidsLimit: 30,
    oomKills: 1,
  });
  // What a kernel lists in the server's cgroup once the launcher has stepped out: the server.
  await writeFile(path.join(cgroup, 'cgroup.procs'), `${server.pid}\n`);
  assert.deepEqual(await launcher.list(), [{ name: 'alice', pids: [server.pid], leader: { pid: server.pid, startTime: server.startTime, uid: ALICE } }]);

  assert.equal(await launcher.signal(server.pid, server.startTime, 'SIGKILL'), true);
  assert.deepEqual(await exits.of('alice'), { name: 'alice', pid: server.pid, startTime: server.startTime, code: null, signal: 'SIGKILL', oomKilled: true }, 'memory.events counted an OOM kill since the start');
});

test('on cgroup v2 a launcher already in <own>/hub keeps its servers beside it', { skip: !isRoot && 'the launcher needs root' }, async (t) => {
  const dirs = await launcherDirs(t);
  const root = path.join(dirs.dir, 'cgroup');
  await mkdir(path.join(root, 'hub'), { recursive: true });
  await writeFile(path.join(root, 'cgroup.controllers'), 'cpu memory pids\n');
  await writeFile(path.join(root, 'cgroup.procs'), '');
  await writeFile(path.join(root, 'hub', 'cgroup.controllers'), '');
  const launcher = await startLauncher(t, launcherConfig(dirs, { cgroup: { mode: 'v2', root: path.join(root, 'hub') } }));
  assert.equal(launcher.cgroup.base, path.join(root, 'servers'));
  assert.equal(read(path.join(root, 'cgroup.subtree_control')), '+memory +cpu +pids');
});
