/**
 * Starts Ganymede and JupyterHub with equivalent configurations for the benchmark: dummy
 * authenticator, local processes, SQLite in a fresh data dir, a service token with the admin role,
 * the same user-server command. JupyterHub 3.0.0 is Debian's /usr/bin/jupyterhub, with
 * configurable-http-proxy from node_modules (Debian's own copy does not start on Node 20).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const JUPYTERHUB = '/usr/bin/jupyterhub';
const CHP = path.join(ROOT, 'node_modules', '.bin', 'configurable-http-proxy');
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 120_000;

export interface HubOptions {
  /** The user server: command and arguments. */
  serverCmd: string[];
  /** Reuse a data dir (restart figure); else a new temp dir, removed by stop() unless kept for reuse. */
  dataDir?: string;
  /** Public port; else a free one. */
  port?: number;
  /** Stop user servers when the hub stops (default true). */
  cleanupServers?: boolean;
  /** Most servers starting at once; 0 = no limit (default: the hub's own default). */
  concurrentSpawnLimit?: number;
  /** Seconds a server may take to answer (default 60). */
  startTimeout?: number;
  /** Ganymede only: keys merged over the config (e.g. a tmp authenticator with a warm pool). */
  ganymedeConfig?: Record<string, unknown>;
}

export interface RunningHub {
  name: 'ganymede' | 'jupyterhub';
  /** Public URL, ending with `/`. */
  url: string;
  /** A token with the admin role. */
  apiToken: string;
  dataDir: string;
  /** The hub's own processes (Ganymede: hub and launcher; JupyterHub: hub and proxy), not the user servers. */
  pids(): number[];
  /** The main hub process, whose CPU time the storm's per-spawn figure reads. */
  hubPid(): number | null;
  /** Ganymede's launcher, when servers run under their users' uids (the default); null for JupyterHub. */
  launcherPid(): number | null;
  /** Stops the hub; with cleanupServers, also kills any user server left in the data dir. */
  stop(): Promise<void>;
}

export function jupyterHubAvailable(): boolean {
  return existsSync(JUPYTERHUB) && existsSync(CHP) && process.env.BENCH_JUPYTERHUB !== '0';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function launch(cmd: string, args: string[], cwd: string, logFile: string): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.once('exit', () => writeFileSync(logFile, output));
  return { proc, output: () => output };
}

async function waitReady(url: string, proc: ChildProcess, output: () => string, name: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${name} exited before it was ready:\n${output().slice(-4000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not yet listening
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} did not answer ${url} within ${READY_TIMEOUT_MS} ms:\n${output().slice(-4000)}`);
}

function waitExit(proc: ChildProcess, timeoutMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
  });
}

/** Kills every process whose working directory is inside `dir` (user servers a hub left behind). */
function killProcessesIn(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone, or not ours
    }
  }
}

function newDataDir(given: string | undefined): string {
  return given ?? mkdtempSync(path.join(os.tmpdir(), 'ganymede-bench-'));
}

async function finishStop(proc: ChildProcess, dataDir: string, cleanup: boolean, extra: () => void = () => {}): Promise<void> {
  proc.kill('SIGTERM');
  await waitExit(proc, STOP_TIMEOUT_MS);
  extra();
  if (cleanup) {
    // Ganymede's servers work in <data_dir>-users (its users_root), JupyterHub's in the data dir.
    for (const dir of [dataDir, `${dataDir}-users`]) {
      killProcessesIn(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Data dir, URL and admin token of a run; a restart (given dataDir) keeps the token of the first start. */
async function prepare(opts: HubOptions): Promise<{ dataDir: string; url: string; apiToken: string; cleanup: boolean }> {
  const dataDir = newDataDir(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const tokenFile = path.join(dataDir, 'bench-token');
  const apiToken = opts.dataDir ? readFileSync(tokenFile, 'utf8') : randomBytes(24).toString('hex');
  writeFileSync(tokenFile, apiToken);
  return { dataDir, url: `http://127.0.0.1:${port}/`, apiToken, cleanup: opts.cleanupServers ?? true };
}

export async function startGanymede(opts: HubOptions): Promise<RunningHub> {
  const { dataDir, url, apiToken, cleanup } = await prepare(opts);
  const config: Record<string, unknown> = {
    bind_url: url,
    data_dir: dataDir,
    log_level: 'warn',
    cleanup_servers: cleanup,
    authenticator: { class: 'dummy' },
    spawner: {
      class: 'local-process',
      cmd: opts.serverCmd.slice(0, 1),
      args: opts.serverCmd.slice(1),
      // run_as stays at its default (dynamic): each user's server under its own uid, through the launcher.
      start_timeout: opts.startTimeout ?? 60,
    },
    services: [{ name: 'bench', api_token: apiToken }],
    load_roles: [{ name: 'admin', services: ['bench'] }],
  };
  if (opts.concurrentSpawnLimit !== undefined) config.concurrent_spawn_limit = opts.concurrentSpawnLimit;
  Object.assign(config, opts.ganymedeConfig ?? {});
  const configPath = path.join(dataDir, 'ganymede.yaml');
  writeFileSync(configPath, stringify(config));
  // BENCH_CPU_PROF=DIR writes a V8 CPU profile of each Ganymede run to DIR (open it in Chrome's DevTools);
  // BENCH_CPU_PROF_INTERVAL=µs samples more often than V8's default 1000 µs.
  const interval = process.env.BENCH_CPU_PROF_INTERVAL ? [`--cpu-prof-interval=${Number(process.env.BENCH_CPU_PROF_INTERVAL)}`] : [];
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`, ...interval] : [];
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean) : [];
  const { proc, output } = launch(process.execPath, [...extra, ...profile, path.join(ROOT, 'bin', 'ganymede.js'), 'start', '--config', configPath], ROOT, path.join(dataDir, 'hub.log'));
  try {
    await waitReady(`${url}hub/health`, proc, output, 'ganymede');
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    name: 'ganymede',
    url,
    apiToken,
    dataDir,
    pids: () => (proc.pid && proc.exitCode === null ? [proc.pid, ...childrenOf(proc.pid).filter(isLauncher)] : []),
    hubPid: () => (proc.exitCode === null ? (proc.pid ?? null) : null),
    launcherPid: () => (proc.pid && proc.exitCode === null ? (childrenOf(proc.pid).find(isLauncher) ?? null) : null),
    stop: () => finishStop(proc, dataDir, cleanup),
  };
}

/** A Python literal for the config file: JSON strings, numbers, lists and dicts of them are valid Python. */
const py = (v: string | number | boolean | string[] | Array<Record<string, string | string[]>>): string =>
  typeof v === 'boolean' ? (v ? 'True' : 'False') : JSON.stringify(v);

export async function startJupyterHub(opts: HubOptions): Promise<RunningHub> {
  const { dataDir, url, apiToken, cleanup } = await prepare(opts);
  const lines = [
    `c.JupyterHub.bind_url = ${py(url)}`,
    `c.JupyterHub.hub_port = ${await freePort()}`,
    `c.ConfigurableHTTPProxy.api_url = ${py(`http://127.0.0.1:${await freePort()}`)}`,
    `c.ConfigurableHTTPProxy.command = ${py([CHP])}`,
    `c.ConfigurableHTTPProxy.pid_file = ${py(path.join(dataDir, 'jupyterhub-proxy.pid'))}`,
    `c.JupyterHub.db_url = ${py(`sqlite:///${path.join(dataDir, 'jupyterhub.sqlite')}`)}`,
    `c.JupyterHub.cookie_secret_file = ${py(path.join(dataDir, 'jupyterhub_cookie_secret'))}`,
    `c.JupyterHub.pid_file = ${py(path.join(dataDir, 'jupyterhub.pid'))}`,
    `c.JupyterHub.log_level = 'WARN'`,
    `c.JupyterHub.authenticator_class = 'dummy'`,
    `c.JupyterHub.spawner_class = 'simple'`,
    `c.JupyterHub.cleanup_servers = ${py(cleanup)}`,
    `c.JupyterHub.services = ${py([{ name: 'bench', api_token: apiToken }])}`,
    `c.JupyterHub.load_roles = ${py([{ name: 'admin', services: ['bench'] }])}`,
    `c.Spawner.cmd = ${py(opts.serverCmd.slice(0, 1))}`,
    `c.Spawner.args = ${py(opts.serverCmd.slice(1))}`,
    `c.Spawner.start_timeout = ${opts.startTimeout ?? 60}`,
    `c.SimpleLocalProcessSpawner.home_dir_template = ${py(path.join(dataDir, 'users', '{username}'))}`,
  ];
  if (opts.concurrentSpawnLimit !== undefined) lines.push(`c.JupyterHub.concurrent_spawn_limit = ${opts.concurrentSpawnLimit}`);
  const configPath = path.join(dataDir, 'jupyterhub_config.py');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const { proc, output } = launch(JUPYTERHUB, ['-f', configPath], dataDir, path.join(dataDir, 'hub.log'));
  try {
    await waitReady(`${url}hub/health`, proc, output, 'jupyterhub');
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const proxyPid = (): number | null => {
    try {
      return Number(readFileSync(path.join(dataDir, 'jupyterhub-proxy.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  return {
    name: 'jupyterhub',
    url,
    apiToken,
    dataDir,
    pids: () => [proc.exitCode === null ? proc.pid : undefined, proxyPid()].filter((p): p is number => typeof p === 'number'),
    hubPid: () => (proc.exitCode === null ? (proc.pid ?? null) : null),
    launcherPid: () => null,
    stop: () =>
      finishStop(proc, dataDir, cleanup, () => {
        // cleanup_proxy stops it; this is for a hub that was killed.
        const pid = proxyPid();
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }),
  };
}

/** The direct children of `pid`, from /proc (each thread's children file). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      out.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function isLauncher(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('ganymede-launcher');
  } catch {
    return false;
  }
}

/** User plus system CPU time of one process in milliseconds (/proc/<pid>/stat fields 14 and 15), 0 when it is gone. */
/** A process's CPU time so far in user and in system (kernel) mode, ms; zero for a gone process. */
export function cpuSplitOf(pid: number | null): { user: number; system: number } {
  if (pid === null) return { user: 0, system: 0 };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on Linux
    return { user: (Number(fields[11]) * 1000) / ticksPerSecond, system: (Number(fields[12]) * 1000) / ticksPerSecond };
  } catch {
    return { user: 0, system: 0 };
  }
}
