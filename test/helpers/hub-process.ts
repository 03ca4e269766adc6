/**
 * Runs the hub as a child process, as a user would (`src/cli.ts start --config FILE`), for
 * integration and browser tests. Every hub started here is killed when the test process exits,
 * so a failing test never leaves one behind.
 */
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { CLOCK_OFFSET_ENV } from '../../src/hub/clock-control.js';
import { freePort } from './ports.js';
import { adminServiceConfig } from './fixtures.js';
import { descendants, killAll, listProcesses, listensOn } from './processes.js';
import { tempDir } from './tmp.js';

/** The repository root: the hub's working directory. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO_ROOT, 'src', 'cli.ts');
// tsx by absolute URL, so that `--import` finds it whatever the child's working directory.
const TSX = import.meta.resolve('tsx');
// Generous: a hub compiles its TypeScript at start, and CI's two cores are busy.
const HEALTH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const VERBOSE = process.env.GANYMEDE_TEST_VERBOSE === '1';

export interface HubOptions {
  /** Merged over the defaults: bind_url http://127.0.0.1:<free port>/, data_dir <new temp dir>, log_level warn. */
  config: Record<string, unknown>;
  /** Reuse an existing data dir (restart tests); by default a new one is made and removed at exit. */
  dataDir?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /**
   * Gives the test the hub's clock (src/hub/clock-control.ts): the hub starts `offsetMs` ahead of
   * real time, and `advanceClock` moves it. Without it, `advanceClock` rejects.
   */
  clock?: { offsetMs?: number };
}

export interface ApiInit {
  method?: string;
  /** Sent as `Authorization: token <token>`. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The body parsed as JSON, or null when it is empty or not JSON. */
  json: any;
  text: string;
}

export interface HubProcess {
  /** The bind_url, ending with `/`. */
  url: string;
  port: number;
  dataDir: string;
  /** `<dataDir>/ganymede.yaml`, the config the hub was started with. */
  configPath: string;
  proc: ChildProcess;
  /** Everything the hub wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (SIGTERM), SIGKILL after 10 s; resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Calls `<url>hub/api<path>`, e.g. api('/users/alice', { method: 'POST', token }). */
  api(path: string, init?: ApiInit): Promise<ApiResponse>;
  /** The hub's wall clock as this process sees it: Date.now() plus how far the test moved it. */
  now(): number;
  /**
   * Moves the hub's clock forward by `ms` and resolves once the hub has done what fell due (course
   * steps, a culler pass, the warm pool's recycling); `advanceClock(0)` only runs that work.
   * Needs the `clock` option.
   */
  advanceClock(ms: number): Promise<void>;
}

/** Children still running, killed when this process exits; temp data dirs removed then too. */
const children = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
process.on('exit', () => {
  // The hubs' own children too (user servers, services): a killed hub cannot stop them itself.
  const all = listProcesses();
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    killAll(descendants(child.pid, all).map((p) => p.pid));
    child.kill('SIGKILL');
  }
  for (const dir of ownedDirs) for (const each of [dir, `${dir}-users`]) rmSync(each, { recursive: true, force: true });
});

/** A child running `src/cli.ts` through tsx, its output collected (and mirrored with GANYMEDE_TEST_VERBOSE=1). */
function spawnCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; ipc?: boolean }) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  // Set by `node --test` for its own children; the hub is not one of them.
  delete env.NODE_TEST_CONTEXT;
  const proc = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env,
    stdio: opts.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const out = { stdout: '', stderr: '' };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out.stdout += chunk;
    if (VERBOSE) process.stderr.write(chunk);
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out.stderr += chunk;
    if (VERBOSE) process.stderr.write(chunk);
  });
  // Resolves at 'close', when all output has been read, but at most a second after 'exit': a
  // single-user server that outlives the hub may hold the hub's stdout open.
  const closed = new Promise<number | null>((resolve) => {
    proc.once('error', (err) => {
      out.stderr += `${err.message}\n`;
      children.delete(proc);
      resolve(null);
    });
    proc.once('exit', (code) => {
      children.delete(proc);
      const grace = setTimeout(() => resolve(code), 1_000);
      proc.once('close', () => {
        clearTimeout(grace);
        resolve(code);
      });
    });
  });
  return { proc, out, closed };
}

/**
 * Runs `src/cli.ts <args>` to its end, e.g. runCli(['generate-config']) or a start that must fail.
 * A command still running after `timeoutMs` (default 60 s; a start that should have failed and
 * serves instead) is killed, and the result says so: `timedOut`, code null.
 */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const { proc, out, closed } = spawnCli(args, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  try {
    const code = await closed;
    return { code, ...out, timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a hub and resolves once `GET <url>hub/health` answers 200; rejects with its stderr if it exits first. */
export async function startHub(options: HubOptions): Promise<HubProcess> {
  let dataDir = options.dataDir;
  if (!dataDir) {
    dataDir = (await tempDir('ganymede-hub-')).path;
    ownedDirs.add(dataDir);
  }
  const given = typeof options.config.bind_url === 'string' ? options.config.bind_url : undefined;
  await mkdir(dataDir, { recursive: true });
  const configPath = path.join(dataDir, 'ganymede.yaml');
  // A port from freePort() is free only when asked: another process (a user's server, another hub)
  // may take it before the hub binds. The hub then exits, and it is started again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchHub(options, dataDir, configPath, given ?? `http://127.0.0.1:${await freePort()}/`);
    } catch (err) {
      if (!(err instanceof PortTaken) || given !== undefined || attempt === 3) throw err;
    }
  }
}

/**
 * Tests that do not choose spawner.run_as run their servers as the hub's own account, the hub staying
 * root (user: root, trust_all_users): what they test does not depend on the servers' uids. Tests of
 * isolation set run_as (dynamic or system) and get the product's default: a launcher, and the hub
 * as the ganymede account.
 */
function trustedUnlessIsolated(config: Record<string, unknown>, dataDir: string): Record<string, unknown> {
  const spawner = (config.spawner ?? {}) as Record<string, unknown>;
  if (spawner.run_as === 'dynamic' && spawner.uid_range === undefined) {
    // Hubs of tests running at the same time must not hand out the same uids (on a site, each hub on
    // a host has its own uid_range): a block of 1000 for each data_dir, the same when a hub restarts on it.
    return { ...config, spawner: { ...spawner, uid_range: uidBlockOf(dataDir) } };
  }
  if (spawner.run_as !== undefined) return config;
  return { user: 'root', ...config, spawner: { run_as: 'hub', trust_all_users: true, ...spawner } };
}

/** [first, last] of a block of 1000 uids chosen by a hash of the data_dir (a random temporary directory): hubs rarely meet. */
function uidBlockOf(dataDir: string): [number, number] {
  const first = 300_000 + (createHash('sha256').update(dataDir).digest().readUInt32BE(0) % 700) * 1000;
  return [first, first + 999];
}

/** The hub exited because its port was taken between freePort() and its bind. */
class PortTaken extends Error {}

async function launchHub(options: HubOptions, dataDir: string, configPath: string, bindUrl: string): Promise<HubProcess> {
  const config = { bind_url: bindUrl, data_dir: dataDir, log_level: 'warn', ...trustedUnlessIsolated(options.config, dataDir) };
  const bind = new URL(config.bind_url);
  const url = bind.href.endsWith('/') ? bind.href : `${bind.href}/`;
  const port = Number(bind.port || (bind.protocol === 'https:' ? 443 : 80));
  await writeFile(configPath, stringify(config));

  const clockEnv: Record<string, string> = options.clock ? { [CLOCK_OFFSET_ENV]: String(options.clock.offsetMs ?? 0) } : {};
  const { proc, out, closed } = spawnCli(['start', '--config', configPath], { env: { ...options.env, ...clockEnv }, ipc: options.clock !== undefined });
  // Not kept alive by the hub: a test that forgets stop() still ends, and the exit handler kills it.
  proc.unref();
  for (const stream of [proc.stdout, proc.stderr]) (stream as unknown as { unref(): void }).unref();
  const clock = options.clock ? new ClockRemote(proc, options.clock.offsetMs ?? 0, closed) : null;

  const hub: HubProcess = {
    url,
    port,
    dataDir,
    configPath,
    proc,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    stop: (signal = 'SIGTERM') => stopProcess(proc, closed, signal),
    api: (apiPath, init) => callApi(`${url}hub/api${apiPath}`, init),
    now: () => Date.now() + (clock?.offsetMs ?? 0),
    advanceClock: (ms) => (clock ? clock.advance(ms) : Promise.reject(new Error('startHub({ clock }) gives the test the hub\'s clock'))),
  };
  try {
    await waitForHealth(`${url}hub/health`, () => listensOn(proc.pid!, port), closed, () => out.stderr);
  } catch (err) {
    await hub.stop('SIGKILL');
    if (/address already in use/.test(out.stderr)) throw new PortTaken(out.stderr);
    throw err;
  }
  return hub;
}

/** The test's end of the hub's clock control: one request at a time, answered once the due work is done. */
class ClockRemote {
  offsetMs: number;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();

  constructor(
    private readonly proc: ChildProcess,
    offsetMs: number,
    closed: Promise<number | null>,
  ) {
    this.offsetMs = offsetMs;
    // The channel keeps this process alive only while an answer is awaited.
    proc.channel?.unref();
    proc.on('message', (message: { ganymede?: string; id?: number; error?: string }) => {
      if (message?.ganymede !== 'clock-advanced' || message.id === undefined) return;
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      if (this.waiting.size === 0) proc.channel?.unref();
      if (message.error) waiter.reject(new Error(`the hub could not run its due work: ${message.error}`));
      else waiter.resolve();
    });
    void closed.then(() => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error('the hub exited before it answered'));
      this.waiting.clear();
    });
  }

  advance(ms: number): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.proc.channel?.ref();
      this.offsetMs += ms;
      this.proc.send({ ganymede: 'advance-clock', id, ms }, (err) => {
        if (!err) return;
        this.waiting.delete(id);
        reject(err);
      });
    });
  }
}

/**
 * Resolves once `GET /hub/health` answers 200 from this hub: the answer counts only when the hub's
 * own process holds the listening socket (`ours`), not another server that took the port first.
 */
async function waitForHealth(healthUrl: string, ours: () => boolean, closed: Promise<number | null>, stderr: () => string): Promise<void> {
  let exited: number | null | undefined;
  void closed.then((code) => {
    exited = code;
  });
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`hub exited with code ${exited} before it was ready:\n${stderr()}`);
    try {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200 && ours()) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`hub did not answer ${healthUrl} with 200 within ${HEALTH_TIMEOUT_MS} ms:\n${stderr()}`);
}

async function stopProcess(proc: ChildProcess, closed: Promise<number | null>, signal: NodeJS.Signals): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return closed;
  proc.kill(signal);
  const force = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    return await closed;
  } finally {
    clearTimeout(force);
  }
}

async function callApi(url: string, init: ApiInit = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.Authorization = `token ${init.token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (an HTML error page, say): callers read `text`.
  }
  return { status: res.status, headers: res.headers, json, text };
}

/**
 * A hub with per-user origins on `*.localhost` names (all on 127.0.0.1): subdomain_host
 * `http://hub.localhost:<port>`, the admin service, and `config` merged over that.
 */
export async function startSubdomainHub(config: Record<string, unknown>): Promise<{ hub: HubProcess; port: number; hubOrigin: string; originOf(user: string): string }> {
  const port = await freePort();
  const hubOrigin = `http://hub.localhost:${port}`;
  const hub = await startHub({ config: { ...adminServiceConfig(), bind_url: `http://127.0.0.1:${port}/`, subdomain_host: hubOrigin, ...config } });
  return { hub, port, hubOrigin, originOf: (user) => `http://${user}.hub.localhost:${port}` };
}
