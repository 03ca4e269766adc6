/**
 * The hub's side of the launcher: the small privileged process (ganymede-launcher.py) that the hub
 * starts while still root and that then starts every user's server as that user's uid, in a cgroup
 * of its own with the server's limits.
 *
 * Protocol, newline-delimited JSON over the launcher's stdin and stdout:
 * - first line in: the configuration (`LauncherConfig`, snake_case); first line out:
 *   `{"ready": true, "cgroup": {...}, "pid": n}`, or `{"ready": false, "error": "..."}` and exit 2;
 * - then requests `{"id": n, "op": ..., ...}`, each answered `{"id": n, "ok": true, ...}` or
 *   `{"id": n, "ok": false, "error": "reason"}`; a start is answered once the server's exec succeeded
 *   or failed, so answers may come in another order than the requests;
 * - events without an id: `{"event": "exit", name, pid, start_time, code, signal, oom_killed}`;
 * - stderr: the launcher's diagnostics, one JSON object a line, logged here through pino.
 * EOF on its stdin (the hub died) or `shutdown` makes it exit 0 and leaves the servers running: the
 * cgroup tree remembers them, and a new launcher of the same scope lists them.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { z } from 'zod';

/** The launcher script, next to this module in src (run by tsx) and in dist (copied by `npm run build`). */
export const LAUNCHER_SCRIPT = fileURLToPath(new URL('./ganymede-launcher.py', import.meta.url));

/** Debian's interpreter: its standard library is what the launcher relies on, not a pyenv or venv python on PATH. */
const DEFAULT_PYTHON = '/usr/bin/python3';
const READY_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 10_000;

export interface LauncherConfig {
  /** Inclusive [first, last] uid ranges a server may run as; `[[minUid, 4294967294]]` for Unix accounts. */
  uidRanges: Array<[number, number]>;
  /** No server runs as a uid below this, and no gid below it unless listed in allowedGids (default 1000). */
  minUid?: number;
  /** Gids below minUid that servers may still have, e.g. 100 (users). */
  allowedGids?: number[];
  /** Servers' working directories lie below it; mkdir and remove act only below it. */
  usersRoot: string;
  /** Servers' log files lie in it or below. */
  logsRoot: string;
  /** The hub's unprivileged account: owns the log files so the hub can read them; never a server's uid or gid. */
  logOwner: { uid: number; gid: number };
  /** This hub's short id ([a-z0-9]{1,32}): its servers' cgroups are `<base>/<scope>/<name>`. */
  scope: string;
  /** `auto` picks cgroup v2, else v1, else none (then limits are refused); `root` replaces the base, for tests. */
  cgroup: { mode: 'auto' | 'v1' | 'v2' | 'none'; root?: string };
}

export interface LauncherStartOptions {
  /** The interpreter (default /usr/bin/python3), run with -I -S. */
  python?: string;
  config: LauncherConfig;
  log: Logger;
}

export interface ServerLimits {
  /** Memory plus swap, in bytes (at least 1 MiB). */
  memoryBytes?: number;
  /** Cores, as a CFS quota over 100 ms periods (at least 0.01). */
  cpu?: number;
  /** Processes and threads. */
  pids?: number;
}

export interface LaunchRequest {
  /** Unique among running servers, [a-z0-9._-]{1,100}: the server's cgroup is named after it. */
  name: string;
  uid: number;
  gid: number;
  /** Supplementary gids (default none). */
  groups?: number[];
  /** The server's umask (default 0o077); it must keep others from writing (0o002 set). */
  umask?: number;
  /** argv[0] is looked up along env.PATH when it has no slash. */
  argv: string[];
  /** The server's whole environment: nothing of the launcher's own is added. */
  env: Record<string, string>;
  /** Below usersRoot (after resolving symlinks), entered as the server's uid. */
  cwd: string;
  /** Make `cwd` first, as mkdir() with mode 0700 would (one request instead of two). */
  makeCwd?: boolean;
  /** In or below logsRoot: stdout and stderr, appended, mode 0600, owned by logOwner. */
  logFile: string;
  /** A line written to the log before the server's output (at most 4096 characters). */
  logHeader?: string;
  limits?: ServerLimits;
}

export type LauncherSignal = 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP';

const count = z.number().int().nonnegative();

const cgroupLayoutSchema = z.object({
  version: z.union([z.literal(1), z.literal(2), z.null()]),
  /** The first of `bases`; null without cgroups. */
  base: z.string().nullable(),
  /** v1: one base per hierarchy (memory, cpu, cpuacct, pids); v2: one. */
  bases: z.array(z.string()),
});
export type CgroupLayout = z.infer<typeof cgroupLayoutSchema>;

const readySchema = z.union([
  z.object({ ready: z.literal(true), pid: count, cgroup: cgroupLayoutSchema }),
  z.object({ ready: z.literal(false), error: z.string() }),
]);

const answerSchema = z.union([
  z.looseObject({ id: z.number().int(), ok: z.literal(true) }),
  z.object({ id: z.number().int().nullable(), ok: z.literal(false), error: z.string() }),
]);

const exitEventSchema = z
  .object({
    event: z.literal('exit'),
    name: z.string(),
    pid: count,
    start_time: count,
    code: z.number().int().nullable(),
    signal: z.string().nullable(),
    oom_killed: z.boolean(),
  })
  .transform((e) => ({ name: e.name, pid: e.pid, startTime: e.start_time, code: e.code, signal: e.signal, oomKilled: e.oom_killed }));
/** A server the launcher started has exited: `code` when it exited, `signal` (e.g. SIGKILL) when killed. */
export type ServerExit = z.output<typeof exitEventSchema>;

const launchedSchema = z
  .object({ pid: count, start_time: count, cgroup: z.string().nullable(), swap_limited: z.boolean().optional(), log_offset: count })
  .transform((a) => ({
    pid: a.pid,
    startTime: a.start_time,
    cgroup: a.cgroup,
    /** Where this run's output starts in the log file (after logHeader). */
    logOffset: a.log_offset,
    ...(a.swap_limited === undefined ? {} : { swapLimited: a.swap_limited }),
  }));
/** `swapLimited` (with a memory limit): false when the kernel has no swap accounting, so only memory is limited. */
export type LaunchedServer = z.output<typeof launchedSchema>;

const listSchema = z
  .object({
    servers: z.array(
      z.object({
        name: z.string(),
        pids: z.array(count),
        leader: z.object({ pid: count, start_time: count, uid: count }).nullable(),
      }),
    ),
  })
  .transform((a) =>
    a.servers.map((s) => ({
      name: s.name,
      pids: s.pids,
      leader: s.leader && { pid: s.leader.pid, startTime: s.leader.start_time, uid: s.leader.uid },
    })),
  );
/** A server found in this scope's cgroups: its live processes and its leader (null when the leader is gone). */
export type ListedServer = z.output<typeof listSchema>[number];

const statsSchema = z
  .object({
    memory_bytes: count,
    memory_limit: count.nullable(),
    cpu_usage_ns: count.nullable(),
    pids_current: count.nullable(),
    pids_limit: count.nullable(),
    oom_kills: count,
  })
  .transform((s) => ({
    memoryBytes: s.memory_bytes,
    memoryLimit: s.memory_limit,
    cpuUsageNs: s.cpu_usage_ns,
    pidsCurrent: s.pids_current,
    pidsLimit: s.pids_limit,
    oomKills: s.oom_kills,
  }));
/** A server's cgroup counters; a null limit is no limit, a null counter one this machine does not keep. */
export type ServerStats = z.output<typeof statsSchema>;

const sentSchema = z.object({ sent: z.boolean() }).transform((a) => a.sent);
const killedSchema = z.object({ killed: count }).transform((a) => a.killed);
const createdSchema = z.object({ created: z.boolean() }).transform((a) => a.created);
const removedSchema = z.object({ removed: z.boolean() }).transform((a) => a.removed);
const emptySchema = z.object({});

/** How the launcher process ended. */
export interface LauncherDeath {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The launcher refused or could not carry out a request; the message is its reason, written for people. */
export class LauncherRequestError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(message);
    this.name = 'LauncherRequestError';
  }
}

/** The launcher did not start, has exited, or was closed: nothing can be asked of it. */
export class LauncherUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LauncherUnavailableError';
  }
}

interface PendingRequest {
  op: string;
  resolve(body: Record<string, unknown>): void;
  reject(error: Error): void;
}

export class Launcher {
  /** The launcher's process id (its RSS is in /proc/<pid>/status). */
  readonly pid: number;
  private layout: CgroupLayout = { version: null, base: null, bases: [] };
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly exitListeners = new Set<(exit: ServerExit) => void>();
  private readonly diedListeners = new Set<(death: LauncherDeath) => void>();
  private readonly ready: Promise<CgroupLayout>;
  private readonly exited: Promise<LauncherDeath>;
  private death: LauncherDeath | null = null;
  private closing = false;
  private resolveReady: (layout: CgroupLayout) => void = () => {};
  private rejectReady: (error: Error) => void = () => {};
  private isReady = false;
  /** The last diagnostics, to explain a launcher that exits before it is ready. */
  private readonly recentStderr: string[] = [];

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    pid: number,
    private readonly log: Logger,
  ) {
    this.pid = pid;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const death = { code, signal };
        this.death = death;
        this.onLauncherExit(death);
        resolve(death);
      });
    });
    child.stdin.on('error', (error) => this.log.debug({ err: error }, 'launcher stdin closed'));
    createInterface({ input: child.stdout }).on('line', (line) => this.onStdoutLine(line));
    createInterface({ input: child.stderr }).on('line', (line) => this.onStderrLine(line));
  }

  /** Start the launcher (as root) with `config` and wait until it is ready. */
  static async start(options: LauncherStartOptions): Promise<Launcher> {
    const python = options.python ?? DEFAULT_PYTHON;
    // An empty environment: the launcher needs none, and servers get only the environment asked for.
    const child = spawn(python, ['-I', '-S', LAUNCHER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    try {
      await once(child, 'spawn');
    } catch (error) {
      throw new LauncherUnavailableError(`cannot start the launcher with ${python}: ${(error as Error).message}`);
    }
    const launcher = new Launcher(child, child.pid!, options.log);
    child.stdin.write(`${JSON.stringify(wireConfig(options.config))}\n`);
    const timer = setTimeout(() => launcher.rejectReady(new LauncherUnavailableError(`the launcher was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    try {
      launcher.layout = await launcher.ready;
    } catch (error) {
      child.kill('SIGKILL');
      await launcher.exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return launcher;
  }

  /** Where this launcher keeps its servers' cgroups. */
  get cgroup(): CgroupLayout {
    return this.layout;
  }

  /** Start a server; resolves once it has been exec'd, rejects with the reason it was refused or failed. */
  launch(request: LaunchRequest): Promise<LaunchedServer> {
    const { memoryBytes, cpu, pids } = request.limits ?? {};
    return this.request(
      'start',
      {
        name: request.name,
        uid: request.uid,
        gid: request.gid,
        groups: request.groups ?? [],
        ...(request.umask === undefined ? {} : { umask: request.umask }),
        argv: request.argv,
        env: request.env,
        cwd: request.cwd,
        ...(request.makeCwd ? { make_cwd: true } : {}),
        log_file: request.logFile,
        ...(request.logHeader ? { log_header: request.logHeader } : {}),
        limits: { memory_bytes: memoryBytes, cpu, pids },
      },
      launchedSchema,
    );
  }

  /**
   * Send `signal` to the process group led by `pid`, if that process still started at `startTime` and
   * runs as a server's uid: false when it is gone (or the pid is another process's now).
   */
  signal(pid: number, startTime: number, signal: LauncherSignal): Promise<boolean> {
    return this.request('signal', { pid, start_time: startTime, signal }, sentSchema);
  }

  /** SIGKILL every process in the server's cgroup and remove it: for servers left by an earlier hub. Resolves to how many were killed. */
  killCgroup(name: string): Promise<number> {
    return this.request('kill_cgroup', { name }, killedSchema);
  }

  /** The servers of this scope, read from the cgroup tree (it outlives the launcher), or this launcher's own without cgroups. */
  list(): Promise<ListedServer[]> {
    return this.request('list', {}, listSchema);
  }

  stats(name: string): Promise<ServerStats> {
    return this.request('stats', { name }, statsSchema);
  }

  /**
   * Create `path` below usersRoot, owned by uid:gid with `mode` (parents it creates: root's, 0755).
   * Resolves to false when it existed already (then it is chowned and chmodded if it was the user's or root's).
   */
  /** `mode` may carry the setgid bit (0o2000, a shared folder's files keep its group), never setuid. */
  mkdir(path: string, owner: { uid: number; gid: number; mode: number }): Promise<boolean> {
    return this.request('mkdir', { path, uid: owner.uid, gid: owner.gid, mode: owner.mode }, createdSchema);
  }

  /** Delete `path` below usersRoot and everything in it, without following symlinks; false when it did not exist. */
  remove(path: string): Promise<boolean> {
    return this.request('remove', { path }, removedSchema);
  }

  /** Listen to server exits; returns the function that stops listening. */
  onExit(listener: (exit: ServerExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Called if the launcher exits without being closed (then its servers run on, unwatched). */
  onDied(listener: (death: LauncherDeath) => void): () => void {
    this.diedListeners.add(listener);
    return () => this.diedListeners.delete(listener);
  }

  /** Stop the launcher; its servers keep running. */
  async close(): Promise<void> {
    if (this.death) return;
    this.closing = true;
    await this.request('shutdown', {}, emptySchema).catch(() => {}); // it may have died meanwhile
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private request<S extends z.ZodType>(op: string, params: Record<string, unknown>, schema: S): Promise<z.output<S>> {
    if (this.death) return Promise.reject(new LauncherUnavailableError(`the launcher has exited (${describeDeath(this.death)}); cannot ${op}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        op,
        reject,
        resolve: (body) => {
          const parsed = schema.safeParse(body);
          if (parsed.success) resolve(parsed.data);
          else reject(new LauncherRequestError(op, `the launcher's answer to ${op} is not understood: ${parsed.error.message}`));
        },
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...params })}\n`);
    });
  }

  private onStdoutLine(line: string): void {
    const message = parseJson(line);
    if (message === undefined) {
      this.log.warn({ line }, 'launcher wrote a line that is not JSON');
      return;
    }
    if (!this.isReady) {
      this.onReadyLine(message);
      return;
    }
    const exit = exitEventSchema.safeParse(message);
    if (exit.success) {
      for (const listener of this.exitListeners) listener(exit.data);
      return;
    }
    const answer = answerSchema.safeParse(message);
    if (!answer.success || answer.data.id === null) {
      this.log.error({ message }, 'launcher message not understood');
      return;
    }
    const pending = this.pending.get(answer.data.id);
    if (!pending) {
      this.log.error({ id: answer.data.id }, 'launcher answered a request nobody made');
      return;
    }
    this.pending.delete(answer.data.id);
    if (answer.data.ok) {
      const { id: _id, ok: _ok, ...body } = answer.data;
      pending.resolve(body);
    } else {
      pending.reject(new LauncherRequestError(pending.op, answer.data.error));
    }
  }

  private onReadyLine(message: unknown): void {
    const ready = readySchema.safeParse(message);
    if (!ready.success) {
      this.rejectReady(new LauncherUnavailableError(`the launcher's first line is not a ready answer: ${JSON.stringify(message)}`));
    } else if (!ready.data.ready) {
      this.rejectReady(new LauncherUnavailableError(`the launcher refused its configuration: ${ready.data.error}`));
    } else {
      this.isReady = true;
      this.resolveReady(ready.data.cgroup);
    }
  }

  private onStderrLine(line: string): void {
    this.recentStderr.push(line);
    if (this.recentStderr.length > 20) this.recentStderr.shift();
    const entry = parseJson(line);
    if (typeof entry !== 'object' || entry === null) {
      this.log.warn({ line }, 'launcher stderr'); // a Python traceback, say
      return;
    }
    const { level, msg, ...fields } = entry as Record<string, unknown>;
    // Nested, so that the launcher's `pid` (a server's) does not collide with pino's own.
    const text = `launcher: ${typeof msg === 'string' ? msg : line}`;
    if (level === 'error') this.log.error({ launcher: fields }, text);
    else if (level === 'warn') this.log.warn({ launcher: fields }, text);
    else this.log.info({ launcher: fields }, text);
  }

  private onLauncherExit(death: LauncherDeath): void {
    const how = describeDeath(death);
    if (!this.isReady) {
      const said = this.recentStderr.length ? `: ${this.recentStderr.join('\n')}` : '';
      this.rejectReady(new LauncherUnavailableError(`the launcher exited before it was ready (${how})${said}`));
    }
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new LauncherUnavailableError(`the launcher exited (${how}) before it answered ${pending.op}`));
    }
    if (this.closing || !this.isReady) return;
    this.log.error({ code: death.code, signal: death.signal }, 'the launcher exited; servers run on but cannot be started or watched');
    for (const listener of this.diedListeners) listener(death);
  }
}

function wireConfig(config: LauncherConfig): Record<string, unknown> {
  return {
    uid_ranges: config.uidRanges,
    min_uid: config.minUid ?? 1000,
    allowed_gids: config.allowedGids ?? [],
    users_root: config.usersRoot,
    logs_root: config.logsRoot,
    log_owner: [config.logOwner.uid, config.logOwner.gid],
    scope: config.scope,
    cgroup: config.cgroup.root === undefined ? { mode: config.cgroup.mode } : { mode: config.cgroup.mode, root: config.cgroup.root },
  };
}

/** The value of a JSON line; undefined when it is not JSON. */
function parseJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

function describeDeath(death: LauncherDeath): string {
  return death.signal ? `killed by ${death.signal}` : `exit code ${death.code}`;
}
