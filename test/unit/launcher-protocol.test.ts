/**
 * The privileged launcher, started for real by its client (these tests run as root): what it
 * refuses, how the servers it starts run, the exit events, signals guarded by the process's start
 * time, and servers that outlive a launcher and are found by the next one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Launcher, LAUNCHER_SCRIPT, type LaunchRequest } from '../../src/spawners/local-process/launcher/client.js';
import { waitFor } from '../helpers/fixtures.js';
import {
  ExitLog,
  HUB_ACCOUNT,
  isRoot,
  launcherConfig,
  launcherDirs,
  procStat,
  procStatus,
  running,
  startLauncher,
  type LauncherDirs,
} from '../helpers/launcher.js';

const ALICE = 200_001;
const BOB = 200_002;
const SERVER_ENV = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', JUPYTERHUB_API_TOKEN: 'token-for-alice' };
const needsRoot = { skip: !isRoot && 'the launcher needs root' };

/** A request for a long-running server of alice's in her directory. */
function sleeper(dirs: LauncherDirs, name: string, overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  return {
    name,
    uid: ALICE,
    gid: ALICE,
    argv: ['sleep', '600'],
    env: SERVER_ENV,
    cwd: path.join(dirs.usersRoot, 'alice'),
    logFile: path.join(dirs.logsRoot, `${name}.log`),
    ...overrides,
  };
}

async function withAlice(t: TestContext) {
  const dirs = await launcherDirs(t);
  const config = launcherConfig(dirs);
  const launcher = await startLauncher(t, config);
  await launcher.mkdir(path.join(dirs.usersRoot, 'alice'), { uid: ALICE, gid: ALICE, mode: 0o700 });
  return { dirs, config, launcher, exits: new ExitLog(launcher) };
}

test('a launcher given a bad configuration says why and does not start', needsRoot, async (t) => {
  const dirs = await launcherDirs(t);
  const log = pino({ level: 'silent' });
  await assert.rejects(Launcher.start({ config: launcherConfig(dirs, { scope: 'Not-A-Scope' }), log }), /scope must match \[a-z0-9\]\{1,32\}/);
  await assert.rejects(
    Launcher.start({ config: launcherConfig(dirs, { usersRoot: path.join(dirs.dir, 'missing') }), log }),
    /users_root .*missing must be an existing directory/,
  );
  await assert.rejects(Launcher.start({ config: launcherConfig(dirs), python: '/nonexistent/python3', log }), /cannot start the launcher with \/nonexistent\/python3/);
});

test('servers are refused for root, the hub, uids outside the ranges or below min_uid, and root or low gids', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  const refusals: Array<[Partial<LaunchRequest>, RegExp]> = [
    [{ uid: 0 }, /uid 0 \(root\) is never allowed/],
    [{ uid: HUB_ACCOUNT.uid }, /uid 200999 is the hub's own account/],
    [{ uid: 400_000 }, /uid 400000 is outside the allowed uid ranges \(100000-299999\)/],
    [{ uid: 150_000 }, /uid 150000 is below min_uid 200000/],
    [{ gid: 0 }, /gid 0 \(root\) is never allowed/],
    [{ gid: HUB_ACCOUNT.gid }, /gid 200999 is the hub's own group/],
    [{ groups: [100, 0] }, /supplementary gid 0 \(root\) is never allowed/],
    [{ groups: [50] }, /supplementary gid 50 is below min_uid 200000 and not in allowed_gids/],
    [{ argv: [] }, /argv must be a non-empty list/],
    [{ name: 'Alice/..' }, /server name must match/],
  ];
  for (const [overrides, reason] of refusals) {
    await assert.rejects(launcher.launch(sleeper(dirs, 'refused', overrides)), reason, JSON.stringify(overrides));
  }
  assert.deepEqual(await launcher.list(), [], 'nothing was started');
  assert.equal(existsSync(path.join(dirs.logsRoot, 'refused.log')), false, 'not even a log file');
});

test('working directories outside users_root, also through a symlink, and logs outside logs_root are refused', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  const outside = path.join(dirs.dir, 'outside');
  await mkdir(outside);
  await symlink(outside, path.join(dirs.usersRoot, 'alice-link'));
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { cwd: outside })), /working directory .*outside is not inside users_root/);
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { cwd: path.join(dirs.usersRoot, 'alice-link') })), /working directory .*alice-link is not inside users_root/);
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { cwd: path.join(dirs.usersRoot, 'alice', '..', '..') })), /is not inside users_root/);
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { cwd: dirs.usersRoot })), /is not inside users_root/, 'users_root itself');
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { logFile: path.join(outside, 'a.log') })), /log file .*outside\/a.log is not inside logs_root/);
  await symlink(outside, path.join(dirs.logsRoot, 'elsewhere'));
  await assert.rejects(launcher.launch(sleeper(dirs, 'a', { logFile: path.join(dirs.logsRoot, 'elsewhere', 'a.log') })), /is not inside logs_root/);
  await symlink('/etc/passwd', path.join(dirs.logsRoot, 'a.log'));
  await assert.rejects(launcher.launch(sleeper(dirs, 'a')), /cannot open log file .*a.log/, 'the log file itself is a symlink');
  assert.deepEqual(await launcher.list(), []);
});

test('mkdir makes root-owned parents and the user-owned directory, and refuses symlinks and others\' directories', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  const deep = path.join(dirs.usersRoot, 'courses', 'c1', 'alice');
  assert.equal(await launcher.mkdir(deep, { uid: ALICE, gid: ALICE, mode: 0o750 }), true);
  const parent = statSync(path.dirname(deep));
  assert.deepEqual([parent.uid, parent.gid, parent.mode & 0o7777], [0, 0, 0o755]);
  const made = statSync(deep);
  assert.deepEqual([made.uid, made.gid, made.mode & 0o7777], [ALICE, ALICE, 0o750], 'the mode asked for, whatever the umask');
  assert.equal(await launcher.mkdir(deep, { uid: ALICE, gid: ALICE, mode: 0o700 }), false, 'exists');
  assert.equal(statSync(deep).mode & 0o7777, 0o700, 'an existing directory of the user gets the new mode');

  await assert.rejects(launcher.mkdir(deep, { uid: BOB, gid: BOB, mode: 0o700 }), /already exists and belongs to uid 200001/);
  const outside = path.join(dirs.dir, 'outside');
  await mkdir(outside);
  await symlink(outside, path.join(dirs.usersRoot, 'link'));
  await assert.rejects(launcher.mkdir(path.join(dirs.usersRoot, 'link', 'sub'), { uid: ALICE, gid: ALICE, mode: 0o700 }), /refusing to follow the symlink .*\/link/);
  await assert.rejects(launcher.mkdir(path.join(dirs.usersRoot, 'link'), { uid: ALICE, gid: ALICE, mode: 0o700 }), /refusing to follow the symlink .*\/link/);
  assert.equal(existsSync(path.join(outside, 'sub')), false);
  assert.equal(statSync(outside).uid, 0, 'the symlink target was not chowned');
  await assert.rejects(launcher.mkdir(path.join(dirs.dir, 'elsewhere'), { uid: ALICE, gid: ALICE, mode: 0o700 }), /is not inside users_root/);
  await assert.rejects(launcher.mkdir(path.join(dirs.usersRoot, 'x'), { uid: 0, gid: 0, mode: 0o700 }), /uid 0 \(root\) is never allowed/);
  await assert.rejects(launcher.mkdir(`${dirs.usersRoot}/x/../y`, { uid: ALICE, gid: ALICE, mode: 0o700 }), /must not contain \. or \.\./);

  // A shared folder: setgid, so that new files keep its group; never setuid or sticky.
  const shared = path.join(dirs.usersRoot, 'course-shared', 'c1', 'shared');
  assert.equal(await launcher.mkdir(shared, { uid: ALICE, gid: BOB, mode: 0o2775 }), true);
  assert.deepEqual([statSync(shared).uid, statSync(shared).gid, statSync(shared).mode & 0o7777], [ALICE, BOB, 0o2775]);
  await assert.rejects(launcher.mkdir(path.join(dirs.usersRoot, 'suid'), { uid: ALICE, gid: ALICE, mode: 0o4755 }), /mode must be an integer from 0 to 1535/);
  await assert.rejects(launcher.mkdir(path.join(dirs.usersRoot, 'sticky'), { uid: ALICE, gid: ALICE, mode: 0o1777 }), /the sticky bit is not for users' folders/);
});

test('a start with makeCwd makes the working directory as mkdir would, with the same refusals', needsRoot, async (t) => {
  const dirs = await launcherDirs(t);
  const launcher = await startLauncher(t, launcherConfig(dirs));
  const exits = new ExitLog(launcher);
  const home = path.join(dirs.usersRoot, 'home', 'alice');
  const server = await launcher.launch(sleeper(dirs, 'made', { cwd: home, makeCwd: true }));
  const made = statSync(home);
  assert.deepEqual([made.uid, made.gid, made.mode & 0o7777], [ALICE, ALICE, 0o700]);
  assert.equal(statSync(path.dirname(home)).uid, 0, 'its parent is root\'s');
  assert.equal(readlinkSync(`/proc/${server.pid}/cwd`), home);
  await launcher.signal(server.pid, server.startTime, 'SIGKILL');
  await exits.of('made');

  await launcher.mkdir(path.join(dirs.usersRoot, 'bobs'), { uid: BOB, gid: BOB, mode: 0o700 });
  await assert.rejects(launcher.launch(sleeper(dirs, 'theft', { cwd: path.join(dirs.usersRoot, 'bobs'), makeCwd: true })), /already exists and belongs to uid 200002/);
  const outside = path.join(dirs.dir, 'outside');
  await mkdir(outside);
  await symlink(outside, path.join(dirs.usersRoot, 'link'));
  await assert.rejects(launcher.launch(sleeper(dirs, 'linked', { cwd: path.join(dirs.usersRoot, 'link', 'sub'), makeCwd: true })), /refusing to follow the symlink/);
  assert.equal(existsSync(path.join(outside, 'sub')), false);
  await assert.rejects(launcher.launch(sleeper(dirs, 'away', { cwd: path.join(dirs.dir, 'elsewhere'), makeCwd: true })), /is not inside users_root/);
  assert.equal(existsSync(path.join(dirs.dir, 'elsewhere')), false);
});

test('remove deletes a tree without following its symlinks, and never users_root itself', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  const outside = path.join(dirs.dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'keep.txt'), 'not alice\'s');
  const tree = path.join(dirs.usersRoot, 'alice', 'project');
  await mkdir(path.join(tree, 'a', 'b'), { recursive: true });
  await writeFile(path.join(tree, 'a', 'b', 'notes.txt'), 'x');
  await symlink(outside, path.join(tree, 'a', 'escape'));
  await symlink(path.join(outside, 'keep.txt'), path.join(tree, 'file-link'));

  assert.equal(await launcher.remove(tree), true);
  assert.equal(existsSync(tree), false);
  assert.equal(readFileSync(path.join(outside, 'keep.txt'), 'utf8'), 'not alice\'s', 'what the symlinks pointed at is untouched');
  assert.equal(await launcher.remove(tree), false, 'already gone');

  await symlink(outside, path.join(dirs.usersRoot, 'alice', 'out'));
  await assert.rejects(launcher.remove(path.join(dirs.usersRoot, 'alice', 'out', 'keep.txt')), /refusing to follow the symlink/);
  assert.equal(await launcher.remove(path.join(dirs.usersRoot, 'alice', 'out')), true, 'the symlink itself goes');
  assert.equal(existsSync(path.join(outside, 'keep.txt')), true);
  await assert.rejects(launcher.remove(dirs.usersRoot), /is users_root itself/);
  await assert.rejects(launcher.remove(`${dirs.usersRoot}/`), /is users_root itself/);
  await assert.rejects(launcher.remove(dirs.dir), /is not inside users_root/);
  assert.equal(existsSync(dirs.usersRoot), true);
});

test('a server runs as the uid, gid and groups asked, in its own session, with its cwd, exactly its environment and umask 077', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  const server = await launcher.launch(sleeper(dirs, 'alice', { groups: [100, 200_500] }));
  const status = procStatus(server.pid);
  assert.equal(status.Uid, `${ALICE}\t${ALICE}\t${ALICE}\t${ALICE}`);
  assert.equal(status.Gid, `${ALICE}\t${ALICE}\t${ALICE}\t${ALICE}`);
  assert.deepEqual(status.Groups?.split(/\s+/).map(Number).sort(), [100, 200_500]);
  assert.equal(status.Umask, '0077');
  const stat = procStat(server.pid)!;
  assert.equal(Number(stat[3]), server.pid, 'session leader (field 6, session id)');
  assert.equal(Number(stat[2]), server.pid, 'process group leader');
  assert.equal(Number(stat[19]), server.startTime);
  assert.equal(readlinkSync(`/proc/${server.pid}/cwd`), path.join(dirs.usersRoot, 'alice'));
  // The start is answered once the process runs the server's program under its uid; the kernel fills
  // in the new program's environment a moment after that (the exec's last step): wait for it.
  await waitFor(() => readFileSync(`/proc/${server.pid}/environ`, 'utf8') !== '', 5_000, 'the exec to finish');
  const environ = readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0').filter(Boolean).sort();
  assert.deepEqual(environ, Object.entries(SERVER_ENV).map(([k, v]) => `${k}=${v}`).sort(), 'nothing of the launcher\'s environment');
  assert.equal(readlinkSync(`/proc/${server.pid}/fd/0`), '/dev/null');
  assert.equal(readlinkSync(`/proc/${server.pid}/fd/1`), path.join(dirs.logsRoot, 'alice.log'));
  assert.deepEqual(readdirSync(`/proc/${server.pid}/fd`).sort(), ['0', '1', '2'], 'no descriptor of the launcher\'s');
  const log = lstatSync(path.join(dirs.logsRoot, 'alice.log'));
  assert.deepEqual([log.uid, log.gid, log.mode & 0o777], [HUB_ACCOUNT.uid, HUB_ACCOUNT.gid, 0o600], 'the hub can read the log, the server writes through its descriptor');
  await assert.rejects(launcher.launch(sleeper(dirs, 'alice')), /a server named alice is already running/);

  // A looser umask only for a group (a course's teachers sharing a folder); others never write.
  const teacher = await launcher.launch({ ...sleeper(dirs, 'teacher'), umask: 0o002 });
  assert.equal(procStatus(teacher.pid).Umask, '0002');
  await assert.rejects(launcher.launch({ ...sleeper(dirs, 'loose'), umask: 0o020 }), /umask 0020 would let everyone write/);
});

test('a server that cannot start says why: a command not found along its PATH, a directory it may not enter', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  await assert.rejects(
    launcher.launch(sleeper(dirs, 'missing', { argv: ['jupyterhub-singleuser-nonexistent'] })),
    /command jupyterhub-singleuser-nonexistent not found in PATH \/usr\/bin:\/bin/,
  );
  await assert.rejects(launcher.launch(sleeper(dirs, 'bob', { uid: BOB, gid: BOB })), /permission denied on .*\/users\/alice \(the working directory, as uid 200002\)/);
  await writeFile(path.join(dirs.usersRoot, 'alice', 'script'), '#!/bin/sh\n', { mode: 0o600 });
  await assert.rejects(launcher.launch(sleeper(dirs, 'noexec', { argv: [path.join(dirs.usersRoot, 'alice', 'script')] })), /permission denied on .*\/script \(the command, as uid 200001\)/);
  await waitFor(async () => (await launcher.list()).length === 0, 10_000, 'the failed servers\' cgroups to be removed');
});

test('exit events carry the exit code or the signal; signals need the process\'s start time and a server\'s uid', needsRoot, async (t) => {
  const { dirs, launcher, exits } = await withAlice(t);
  const quitter = await launcher.launch(sleeper(dirs, 'quitter', { argv: ['sh', '-c', 'exit 3'] }));
  assert.deepEqual(await exits.of('quitter'), { name: 'quitter', pid: quitter.pid, startTime: quitter.startTime, code: 3, signal: null, oomKilled: false });

  const server = await launcher.launch(sleeper(dirs, 'sleeper'));
  assert.equal(await launcher.signal(server.pid, server.startTime + 1, 'SIGTERM'), false, 'another start time: another process');
  assert.ok(running(server.pid));
  await assert.rejects(launcher.signal(process.pid, Number(procStat(process.pid)![19]), 'SIGTERM'), /refusing to signal process \d+: uid 0 \(root\) is never allowed/);
  assert.equal(await launcher.signal(server.pid, server.startTime, 'SIGTERM'), true);
  assert.deepEqual(await exits.of('sleeper'), { name: 'sleeper', pid: server.pid, startTime: server.startTime, code: null, signal: 'SIGTERM', oomKilled: false });
  assert.equal(await launcher.signal(server.pid, server.startTime, 'SIGKILL'), false, 'gone');
});

test("the hub's line goes into the log before the server's output, and the answer says where this run's output starts", needsRoot, async (t) => {
  const { dirs, launcher, exits } = await withAlice(t);
  const request = sleeper(dirs, 'talker', { argv: ['sh', '-c', 'echo from-the-server'] });
  writeFileSync(request.logFile, 'an earlier run\n');
  const started = await launcher.launch({ ...request, logHeader: '[ganymede] starting talker\n' });
  assert.equal(started.logOffset, 'an earlier run\n[ganymede] starting talker\n'.length);
  await exits.of('talker');
  assert.equal(readFileSync(request.logFile, 'utf8'), 'an earlier run\n[ganymede] starting talker\nfrom-the-server\n');
});

test('without cgroups, limits are refused and servers still run', needsRoot, async (t) => {
  const dirs = await launcherDirs(t);
  const launcher = await startLauncher(t, launcherConfig(dirs, { cgroup: { mode: 'none' } }));
  assert.deepEqual(launcher.cgroup, { version: null, base: null, bases: [] });
  await launcher.mkdir(path.join(dirs.usersRoot, 'alice'), { uid: ALICE, gid: ALICE, mode: 0o700 });
  await assert.rejects(launcher.launch(sleeper(dirs, 'limited', { limits: { memoryBytes: 1 << 30 } })), /limits need cgroups, and this launcher has none/);
  const server = await launcher.launch(sleeper(dirs, 'free'));
  assert.deepEqual(await launcher.list(), [{ name: 'free', pids: [server.pid], leader: { pid: server.pid, startTime: server.startTime, uid: ALICE } }]);
});

test('an idle launcher with one server stays within 15 MB resident', needsRoot, async (t) => {
  const { dirs, launcher } = await withAlice(t);
  await launcher.launch(sleeper(dirs, 'alice'));
  await launcher.list();
  const rssKb = Number(procStatus(launcher.pid).VmRSS?.split(/\s+/)[0]);
  t.diagnostic(`launcher VmRSS ${rssKb} kB`);
  assert.ok(rssKb > 0 && rssKb <= 15 * 1024, `VmRSS ${rssKb} kB`);
});

// Runs the launcher under a child subreaper: when the launcher exits, its server is adopted and then
// reaped by this wrapper rather than by PID 1 (which reaps nothing on this machine).
const SUBREAPER = `
import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
if os.fork() == 0:
    os.execv(sys.argv[1], sys.argv[1:])
for fd in (0, 1, 2):
    os.close(fd)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
`;

test('a launcher whose stdin closes leaves its server running, and the next launcher of its scope lists and kills it', { ...needsRoot, skip: needsRoot.skip || (!existsSync('/sys/fs/cgroup/memory/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.controllers') && 'no cgroups') }, async (t) => {
  const dirs = await launcherDirs(t);
  const config = launcherConfig(dirs);
  const first = await startLauncher(t, config); // prepares alice's directory, then hands over
  await first.mkdir(path.join(dirs.usersRoot, 'alice'), { uid: ALICE, gid: ALICE, mode: 0o700 });
  await first.close();

  const python = '/usr/bin/python3';
  const wrapper = spawn(python, ['-I', '-S', '-c', SUBREAPER, python, '-I', '-S', LAUNCHER_SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
  const wrapperExit = new Promise((resolve) => wrapper.once('exit', resolve));
  t.after(() => wrapper.kill('SIGKILL'));
  const lines = createInterface({ input: wrapper.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  wrapper.stdin.write(`${JSON.stringify({ uid_ranges: config.uidRanges, min_uid: config.minUid, users_root: config.usersRoot, logs_root: config.logsRoot, log_owner: [HUB_ACCOUNT.uid, HUB_ACCOUNT.gid], scope: config.scope, cgroup: { mode: 'auto' } })}\n`);
  const ready = await next();
  assert.equal(ready.ready, true);
  const request = sleeper(dirs, 'survivor');
  wrapper.stdin.write(`${JSON.stringify({ id: 1, op: 'start', name: request.name, uid: ALICE, gid: ALICE, argv: request.argv, env: request.env, cwd: request.cwd, log_file: request.logFile })}\n`);
  const started = await next();
  assert.equal(started.ok, true, JSON.stringify(started));
  const pid = started.pid as number;
  const startTime = started.start_time as number;

  wrapper.stdin.end(); // as when the hub dies
  await waitFor(() => !existsSync(`/proc/${ready.pid as number}`), 10_000, 'the launcher to exit');
  assert.ok(running(pid), 'the server runs on');
  assert.equal(Number(procStat(pid)![19]), startTime);

  const second = await startLauncher(t, config);
  const listed = await second.list();
  assert.deepEqual(listed, [{ name: 'survivor', pids: [pid], leader: { pid, startTime, uid: ALICE } }]);
  assert.equal(await second.killCgroup('survivor'), 1);
  await wrapperExit; // it exits once it has reaped the server
  assert.equal(running(pid), false);
  assert.deepEqual(await second.list(), []);
});

test('a launcher leaves no empty cgroups: it sweeps those of servers that ended while none ran, and removes its scope when it exits with no servers', { ...needsRoot, skip: needsRoot.skip || (!existsSync('/sys/fs/cgroup/memory/cgroup.procs') && !existsSync('/sys/fs/cgroup/cgroup.controllers') && 'no cgroups') }, async (t) => {
  const dirs = await launcherDirs(t);
  const config = launcherConfig(dirs);
  const first = await startLauncher(t, config);
  const bases = first.cgroup.bases;
  assert.ok(bases.length > 0);
  for (const base of bases) assert.ok(existsSync(path.join(base, config.scope)), `${base}/${config.scope} made at start`);
  await first.close();
  for (const base of bases) assert.equal(existsSync(path.join(base, config.scope)), false, `${base}/${config.scope} removed at exit`);

  // A server that ended while no launcher watched it leaves its (empty) cgroup behind.
  for (const base of bases) await mkdir(path.join(base, config.scope, 'ghost'), { recursive: true });
  const second = await startLauncher(t, config);
  for (const base of bases) {
    assert.equal(existsSync(path.join(base, config.scope, 'ghost')), false, `the empty cgroup in ${base} was swept`);
    assert.ok(existsSync(path.join(base, config.scope)), 'the scope stays while the launcher runs');
  }
  await second.close();
  for (const base of bases) assert.equal(existsSync(path.join(base, config.scope)), false);
});
