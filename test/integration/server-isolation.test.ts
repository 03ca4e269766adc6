/**
 * Each user's real jupyterhub-singleuser runs under a uid of its own (spawner.run_as: dynamic, the
 * default), started by the launcher while the hub itself drops to the unprivileged ganymede account.
 * From alice's kernel, reached through the hub's proxy as a person would: the hub's database and
 * cookie secret, bob's files and bob's server's environment (his API token) are all out of reach;
 * her own files work; her uid has no /etc/passwd entry and the server does not mind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runCli, startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, readEventStream, waitFor } from '../helpers/fixtures.js';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { executeAndForget, runInKernel } from '../helpers/kernel.js';
import { tempDir } from '../helpers/tmp.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { lookupAccount } from '../../src/spawners/unix-accounts.js';
import { buildMock } from '../../bench/lib/mock.js';

const ISOLATED_SPAWNER = { class: 'local-process', cmd: ['jupyterhub-singleuser'], run_as: 'dynamic', start_timeout: 90, http_timeout: 60 };

/** The spawner.uid_range the hub was started with (the harness gives each hub a block of its own). */
function uidRangeOf(hub: HubProcess): [number, number] {
  return (parse(readFileSync(hub.configPath, 'utf8')) as { spawner: { uid_range: [number, number] } }).spawner.uid_range;
}

/** The real, effective, saved and filesystem uids of a process, from /proc. */
function uidsOf(pid: number): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return line.trim().split(/\s+/).map(Number);
}

async function startServer(hub: HubProcess, name: string): Promise<{ token: string; pid: number; root: string }> {
  assert.equal((await hub.api(`/users/${name}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  const token = (await hub.api(`/users/${name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'isolation test' } })).json.token as string;
  const start = await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN });
  assert.ok([201, 202].includes(start.status), `start answered ${start.status}: ${start.text}`);
  const progress = await fetch(`${hub.url}hub/api/users/${name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
  const events = await readEventStream(progress);
  assert.equal(events.at(-1)?.ready, true, JSON.stringify(events));
  const state = (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''].state as { pid: number; root_dir: string };
  return { token, pid: state.pid, root: state.root_dir };
}

test("servers run under their users' own uids; one user's code cannot read the hub's secrets or another user's files", { timeout: 300_000 }, async (t) => {
  const ganymede = lookupAccount('ganymede');
  assert.ok(ganymede, 'make test creates the ganymede account (scripts/create-hub-account.sh)');
  // A data_dir that exists, readable by everyone, as an admin might have made it.
  const parent = await tempDir('ganymede-isolation-');
  chmodSync(parent.path, 0o755);
  const dataDir = path.join(parent.path, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  chmodSync(dataDir, 0o755);
  const hub = await startHub({ dataDir, config: { ...adminServiceConfig(), spawner: ISOLATED_SPAWNER } });
  t.after(async () => {
    await hub.stop();
    await rm(`${dataDir}-users`, { recursive: true, force: true });
    await parent.cleanup();
  });

  assert.deepEqual(uidsOf(hub.proc.pid!), [ganymede.uid, ganymede.uid, ganymede.uid, ganymede.uid], 'the hub runs as ganymede after its start');
  assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'data_dir was 0755 and is now 0700');
  assert.equal(statSync(dataDir).uid, ganymede.uid);
  assert.equal(statSync(path.join(dataDir, 'ganymede.sqlite')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(dataDir, 'cookie_secret')).mode & 0o777, 0o600);

  const alice = await startServer(hub, 'alice');
  const bob = await startServer(hub, 'bob');
  const [aliceUid] = uidsOf(alice.pid);
  const [bobUid] = uidsOf(bob.pid);
  for (const uid of [aliceUid!, bobUid!]) {
    const [low, high] = uidRangeOf(hub);
    assert.ok(uid >= low && uid <= high, `uid ${uid} comes from spawner.uid_range`);
    assert.ok(uid !== 0 && uid !== ganymede.uid);
  }
  assert.notEqual(aliceUid, bobUid);
  assert.equal(statSync(alice.root).uid, aliceUid, "alice's directory is hers");
  assert.equal(statSync(alice.root).mode & 0o777, 0o700);

  // bob keeps something in his directory.
  assert.equal((await runInKernel(hub.url, 'user/bob/', bob.token, "open('diary.txt', 'w').write('bob only'); print('saved')")).trim(), 'saved');

  const probe = `
import getpass, json, os, pwd
def attempt(action):
    try:
        action()
        return 'ok'
    except PermissionError:
        return 'denied'
    except Exception as error:
        return type(error).__name__
def read(path):
    return lambda: open(path, 'rb').read(1)
def own():
    open('mine.txt', 'w').write('alice')
    assert open('mine.txt').read() == 'alice'
def no_passwd_entry():
    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        raise PermissionError()
print(json.dumps({
    'database': attempt(read(${JSON.stringify(path.join(dataDir, 'ganymede.sqlite'))})),
    'cookie_secret': attempt(read(${JSON.stringify(path.join(dataDir, 'cookie_secret'))})),
    'data_dir': attempt(lambda: os.listdir(${JSON.stringify(dataDir)})),
    'bob_file': attempt(read(${JSON.stringify(path.join(bob.root, 'diary.txt'))})),
    'bob_dir': attempt(lambda: os.listdir(${JSON.stringify(bob.root)})),
    'bob_environ': attempt(read('/proc/${bob.pid}/environ')),
    'own_files': attempt(own),
    'user': getpass.getuser(),
    'no_passwd_entry': attempt(no_passwd_entry),
    'cwd': os.getcwd(),
}))
`;
  const seen = JSON.parse(await runInKernel(hub.url, 'user/alice/', alice.token, probe)) as Record<string, string>;
  assert.deepEqual(seen, {
    database: 'denied',
    cookie_secret: 'denied',
    data_dir: 'denied',
    bob_file: 'denied',
    bob_dir: 'denied',
    bob_environ: 'denied',
    own_files: 'ok',
    user: 'alice',
    no_passwd_entry: 'denied',
    cwd: alice.root,
  });
});

/** A process's start time (clock ticks after boot), or null when it is gone or a zombie. */
function startTimeOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : Number(fields[19]);
  } catch {
    return null;
  }
}

const MOCK_ISOLATED = { class: 'local-process', cmd: [process.execPath, new URL('../fixtures/mock-singleuser.mjs', import.meta.url).pathname], run_as: 'dynamic' };

test('a restarted hub reattaches to isolated servers without restarting them, and adopts none whose process is not the one it started', { timeout: 120_000 }, async (t) => {
  const config = { ...adminServiceConfig(), spawner: MOCK_ISOLATED, cleanup_servers: false };
  const first = await startHub({ config });
  const servers: { name: string; pid: number; startTime: number }[] = [];
  t.after(() => {
    for (const s of servers) if (startTimeOf(s.pid) === s.startTime) process.kill(-s.pid, 'SIGKILL');
  });
  for (const name of ['carol', 'dave']) {
    assert.equal((await first.api(`/users/${name}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
    assert.ok([201, 202].includes((await first.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN })).status));
    await waitFor(async () => (await first.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers['']?.ready === true, 30_000, `${name}'s server`);
    const state = (await first.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''].state as { pid: number; proc_starttime: number };
    servers.push({ name, pid: state.pid, startTime: state.proc_starttime });
  }
  const carolToken = (await first.api('/users/carol/tokens', { method: 'POST', token: ADMIN_TOKEN, body: {} })).json.token as string;
  const started = (await first.api('/users/carol', { token: ADMIN_TOKEN })).json.servers[''].started;
  assert.equal(await first.stop(), 0);
  for (const s of servers) assert.equal(startTimeOf(s.pid), s.startTime, `${s.name}'s server outlives the hub (and its launcher)`);

  // While the hub is down, dave's record comes to name another process: the same pid, a later start.
  const db = new Database(path.join(first.dataDir, 'ganymede.sqlite'));
  const row = db.prepare("SELECT s.id, s.spawner_state FROM servers s JOIN users u ON u.id = s.user_id WHERE u.name = 'dave'").get() as { id: number; spawner_state: string };
  const forged = { ...JSON.parse(row.spawner_state), proc_starttime: servers[1]!.startTime + 1 };
  db.prepare('UPDATE servers SET spawner_state = ? WHERE id = ?').run(JSON.stringify(forged), row.id);
  db.close();

  const second = await startHub({ config: { ...config, bind_url: first.url }, dataDir: first.dataDir });
  t.after(() => second.stop().then(() => undefined));
  const carol = (await second.api('/users/carol', { token: ADMIN_TOKEN })).json;
  assert.equal(carol.servers[''].state.pid, servers[0]!.pid, 'carol: the same process');
  assert.equal(carol.servers[''].started, started, 'carol: not spawned again');
  const res = await fetch(`${second.url}user/carol/api/status`, { headers: { Authorization: `token ${carolToken}` } });
  assert.equal(res.status, 200, "carol's server answers through the new hub");
  assert.equal((await second.api('/users/dave', { token: ADMIN_TOKEN })).json.server, null, 'dave: a process that is not the one started is not adopted');
  await waitFor(async () => startTimeOf(servers[1]!.pid) === null, 15_000, "what ran in dave's server's cgroup to be stopped");

  // The reattached server is stopped through the new hub's launcher, which did not start it.
  assert.equal((await second.api('/users/carol/server', { method: 'DELETE', token: ADMIN_TOKEN })).status < 300, true);
  await waitFor(async () => (await second.api('/users/carol', { token: ADMIN_TOKEN })).json.server === null, 30_000, "carol's server to stop");
  assert.equal(startTimeOf(servers[0]!.pid), null);
});

/** A server's cgroup directory in one v1 hierarchy: `<top>/ganymede/<scope>/<name>` (the launcher's layout; scope from data_dir). */
function serverCgroup(controller: string, dataDir: string, name: string): string {
  const scope = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return `/sys/fs/cgroup/${controller}/ganymede/${scope}/${name}`;
}

test("a server's limits hold: CPU at most cpu_limit, forks stop at pids_limit, and memory over mem_limit stops the server with a message on the API and the home page", { timeout: 300_000, skip: !existsSync('/sys/fs/cgroup/memory/cgroup.procs') && 'needs cgroup v1 (the v2 layout is unit-tested against a fake tree)' }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'dummy', allow_all: true },
      spawner: { ...ISOLATED_SPAWNER, mem_limit: '400M', cpu_limit: 0.5, pids_limit: 64 },
    },
  });
  t.after(() => hub.stop());
  const alice = await startServer(hub, 'alice');
  const userId = (await hub.api('/users/alice', { token: ADMIN_TOKEN })).json.servers[''].state.cgroup as string;
  assert.equal(readFileSync(`${serverCgroup('memory', hub.dataDir, userId)}/memory.limit_in_bytes`, 'utf8').trim(), String(400 * 1024 ** 2));

  // CPU: two spinning processes for 3 s of wall time; the server's cgroup counter (cpuacct.usage, as
  // the kernel sees it from inside) is read right before and after, so the kernel's own start is not counted.
  const measured = JSON.parse(
    await runInKernel(
      hub.url,
      'user/alice/',
      alice.token,
      `
import json, time, multiprocessing
path = next(l.split(':', 2)[2] for l in open('/proc/self/cgroup').read().splitlines() if l.split(':')[1] == 'cpuacct')
def usage():
    return int(open('/sys/fs/cgroup/cpuacct' + path + '/cpuacct.usage').read())
def spin():
    end = time.time() + 3
    while time.time() < end:
        pass
procs = [multiprocessing.Process(target=spin) for _ in range(2)]
before, start = usage(), time.time()
for p in procs: p.start()
for p in procs: p.join()
print(json.dumps({'cpu': (usage() - before) / 1e9, 'wall': time.time() - start, 'cgroup': path}))
`,
    ),
  ) as { cpu: number; wall: number; cgroup: string };
  assert.equal(measured.cgroup, serverCgroup('cpuacct', hub.dataDir, userId).slice('/sys/fs/cgroup/cpuacct'.length), "the kernel reads its server's cgroup");
  const cores = measured.cpu / measured.wall;
  assert.ok(measured.wall >= 3, `the loop ran ${measured.wall} s`);
  assert.ok(cores <= 0.65, `two spinning processes got ${cores.toFixed(2)} cores with cpu_limit 0.5`);
  assert.ok(cores >= 0.3, `and they did get about their share (${cores.toFixed(2)} cores)`);

  // Processes: a fork loop in the kernel stops below pids_limit (threads of the server and kernel count too).
  const forks = JSON.parse(
    await runInKernel(
      hub.url,
      'user/alice/',
      alice.token,
      `
import errno, json, os, signal, time
children, refusal = [], None
try:
    for _ in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
except OSError as error:
    refusal = errno.errorcode[error.errno]
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
print(json.dumps({'forked': len(children), 'refusal': refusal}))
`,
    ),
  ) as { forked: number; refusal: string | null };
  assert.equal(forks.refusal, 'EAGAIN', 'fork refused by the pids limit');
  assert.ok(forks.forked > 0 && forks.forked < 64, `forked ${forks.forked} before the limit`);

  // Memory: a kernel allocating twice the limit takes the whole server down, and people are told why.
  await executeAndForget(hub.url, 'user/alice/', alice.token, `data = b'x' * ${800 * 1024 ** 2}`);
  const expected = 'The server was stopped: it used more than its memory limit of 400M';
  // Stopped (not still stopping, which takes the rest of the server's processes down): the reason
  // is written with the stop, so a stopped server always says why.
  const phase = async () => ((await hub.api('/users/alice', { token: ADMIN_TOKEN })).json.servers as Record<string, unknown>)[''];
  await waitFor(async () => (await phase()) === undefined, 30_000, 'the hub to see the server stopped');
  const progress = await readEventStream(await fetch(`${hub.url}hub/api/users/alice/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } }));
  assert.deepEqual(progress, [{ progress: 100, failed: true, message: `Spawn failed: ${expected}` }]);
  assert.equal(uidsOfOrNull(alice.pid), null, 'the server process is gone');
  const browser = new CookieSession(hub.url.replace(/\/$/, ''));
  await browser.login('/hub/', 'alice');
  const home = await browser.fetch('/hub/home');
  assert.equal(home.status, 200);
  assert.match(await home.text(), new RegExp(`class="alert alert-error server-failure"[^>]*>${expected}<`));
});

function uidsOfOrNull(pid: number): number[] | null {
  try {
    return uidsOf(pid);
  } catch {
    return null;
  }
}

test('run_as system: a Unix account of the same name runs the server in its home; accounts below min_uid and missing ones are refused with a message', { timeout: 120_000 }, async (t) => {
  const name = `gsys${Date.now().toString(36).slice(-6)}`;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  let hub: HubProcess | undefined;
  t.after(async () => {
    await hub?.stop();
    execFileSync('userdel', ['--force', '--remove', name], { stdio: 'ignore' });
  });
  const account = lookupAccount(name)!;
  assert.ok(account.uid >= 1000);
  hub = await startHub({ config: { ...adminServiceConfig(), spawner: { ...MOCK_ISOLATED, run_as: 'system' } } });

  for (const user of [name, 'daemon', 'nobody-here']) assert.equal((await hub.api(`/users/${user}`, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  assert.ok([201, 202].includes((await hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN })).status));
  await waitFor(async () => (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers['']?.ready === true, 30_000, `${name}'s server`);
  const state = (await hub.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''].state as { pid: number; port: number };
  assert.deepEqual(uidsOf(state.pid), [account.uid, account.uid, account.uid, account.uid]);
  const env = (await (await fetch(`http://127.0.0.1:${state.port}/user/${name}/env`)).json()) as { cwd: string; env: Record<string, string> };
  assert.equal(env.cwd, account.home, 'the server runs in the account\'s home');

  const refusals: Record<string, RegExp> = {
    daemon: /The Unix account daemon \(uid 1\) is a system account: servers run only as accounts with uid 1000 or above/,
    'nobody-here': /There is no Unix account named nobody-here/,
  };
  for (const [user, message] of Object.entries(refusals)) {
    const start = await hub.api(`/users/${user}/server`, { method: 'POST', token: ADMIN_TOKEN });
    const events = start.status === 202 ? await readEventStream(await fetch(`${hub.url}hub/api/users/${user}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })) : [];
    const said = start.status === 202 ? String(events.at(-1)?.message) : String(start.json?.message);
    assert.match(said, message, `${user}: ${start.status} ${said}`);
    assert.equal((await hub.api(`/users/${user}`, { token: ADMIN_TOKEN })).json.server, null);
  }
});

/** Live (not zombie) processes running `exe`, from /proc. */
function processesOf(exe: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) !== exe) continue;
      if (startTimeOf(Number(entry)) !== null) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

test('a hub killed in the middle of a 100-server storm and started again knows every server process left, and every server it reports ready answers', { timeout: 240_000 }, async (t) => {
  const bin = await tempDir('ganymede-storm-');
  chmodSync(bin.path, 0o755);
  const mock = buildMock(bin.path);
  const config = { ...adminServiceConfig(), spawner: { class: 'local-process', cmd: [mock], run_as: 'dynamic', start_timeout: 120, http_timeout: 60 }, cleanup_servers: false };
  const first = await startHub({ config });
  let second: HubProcess | undefined;
  t.after(async () => {
    // cleanup_servers is false: the servers are killed here, before the hub stops, so that its launcher
    // finds their cgroups empty at exit and removes them (else they would stay on the machine).
    for (const pid of processesOf(mock)) process.kill(pid, 'SIGKILL');
    await waitFor(() => processesOf(mock).length === 0, 10_000, 'the storm\'s servers to be gone');
    await second?.stop();
    await bin.cleanup();
  });
  const names = Array.from({ length: 100 }, (_, i) => `storm${i}`);
  assert.equal((await first.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: names } })).status, 201);
  const starts = names.map((name) => first.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN }).catch(() => null));
  // Killed while servers are being started: some run, some are forked but not yet recorded.
  await waitFor(async () => processesOf(mock).length >= 30, 60_000, '30 servers of the storm to be running');
  await first.stop('SIGKILL');
  await Promise.all(starts);
  const left = processesOf(mock).length;
  assert.ok(left >= 30, `${left} server processes outlive the killed hub`);

  second = await startHub({ config: { ...config, bind_url: first.url }, dataDir: first.dataDir });
  const ready = new Map<number, number>();
  for (const name of names) {
    const server = (await second.api(`/users/${name}`, { token: ADMIN_TOKEN })).json.servers[''];
    if (server?.ready) ready.set(server.state.pid as number, server.state.port as number);
  }
  await waitFor(async () => processesOf(mock).every((pid) => ready.has(pid)), 15_000, 'every server process the hub does not know to be stopped');
  assert.deepEqual(processesOf(mock).sort(), [...ready.keys()].sort(), 'the server processes left are exactly those the hub reports ready');
  for (const [pid, port] of ready) {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200, `server ${pid} answers`);
  }
});

test("any hub user name gets a uid: a name from an identity provider with '@' and an apostrophe runs with its name in USER and LOGNAME and a directory of its own", { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: { ...adminServiceConfig(), spawner: MOCK_ISOLATED } });
  t.after(() => hub.stop());
  const name = "o'neil@uni.example";
  const path_ = `/users/${encodeURIComponent(name)}`;
  assert.equal((await hub.api(path_, { method: 'POST', token: ADMIN_TOKEN })).status, 201);
  assert.ok([201, 202].includes((await hub.api(`${path_}/server`, { method: 'POST', token: ADMIN_TOKEN })).status));
  await waitFor(async () => (await hub.api(path_, { token: ADMIN_TOKEN })).json.servers['']?.ready === true, 30_000, 'the server');
  const server = (await hub.api(path_, { token: ADMIN_TOKEN })).json.servers[''] as { url: string; state: { pid: number; port: number } };
  const seen = (await (await fetch(`http://127.0.0.1:${server.state.port}${server.url}env`)).json()) as { cwd: string; env: Record<string, string> };
  const [uid] = uidsOf(server.state.pid);
  const [low, high] = uidRangeOf(hub);
  assert.ok(uid! >= low && uid! <= high);
  assert.equal(seen.env.USER, name);
  assert.equal(seen.env.LOGNAME, name);
  assert.equal(seen.env.HOME, seen.cwd);
  assert.equal(seen.cwd, path.join(`${hub.dataDir}-users`, 'home', 'o-27neil-40uni.example'));
  assert.equal(statSync(seen.cwd).uid, uid);
});

test('a hub told to run every server as itself refuses to start unless all users are trusted, and says why and how', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir('ganymede-runas-hub-');
  t.after(() => dir.cleanup());
  const configFile = path.join(dir.path, 'hub.yaml');
  writeFileSync(configFile, stringify({ bind_url: 'http://127.0.0.1:1/', data_dir: path.join(dir.path, 'data'), spawner: { run_as: 'hub' } }));
  const refused = await runCli(['start', '--config', configFile]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /spawner\.run_as: hub runs every server as the hub's own account, so every user could read the hub's secrets and become admin/);
  assert.match(refused.stderr, /set spawner\.trust_all_users: true/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
});
