/**
 * Runs each server as a process of the hub's host. With isolation (spawner.run_as dynamic or system)
 * the privileged launcher starts it under its user's own uid, in a cgroup with the configured limits,
 * in a working directory only that uid can read; otherwise (run_as: hub) it is a child of the hub
 * under the hub's own account, as JupyterHub's SimpleLocalProcessSpawner. Either way the server leads
 * its own process group and writes to a log file rather than to pipes, so it can outlive the hub
 * (`cleanup_servers: false`) and be stopped as a group.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SpawnerConfig } from '../../config/schema.js';
import {
  SpawnFailure,
  type PollResult,
  type SpawnReporter,
  type SpawnRequest,
  type Spawner,
  type SpawnerState,
  type ServerUsage,
  type StartResult,
  type StopOptions,
} from '../spawner.js';
import { createHash } from 'node:crypto';
import { ephemeralDirectory, escapeName, logFilePath, workingDirectory } from './names.js';
import { ephemeralOverlap, releasePort, reserveFreePort } from './ports.js';
import { isAlive, isValidPid, readProcStartTime, signalGroup, waitForExit, type ProcessIdentity } from './processes.js';
import { waitForHttp } from '../wait-for-http.js';
import type { Isolation, ServerExit } from './isolation.js';
import { cgroupLimits, memoryLimitMessage } from './limits.js';
import type { ServerAccount } from '../unix-accounts.js';
import { HubAccountFiles, type UserFiles } from '../user-files.js';
import { isUserFilesTask, LaunchedUserFiles } from './user-files.js';

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The cgroup's memory limit killed it (isolated servers). */
  oomKilled?: boolean;
  /** The memory limit it had, for the message. */
  memLimit?: string;
}

export type LocalProcessSpawnerConfig = SpawnerConfig & { dataDir: string };

/** A server process this hub instance spawned. */
interface Child {
  identity: ProcessIdentity;
  logFile: string;
  /** Where this run's output starts in the (appended) log file. */
  logOffset: number;
  /** The ephemeral run's directory (spawner.ephemeral), removed when the server stops. */
  runDir: string | null;
  /** The server's working directory. */
  cwd: string;
  /** Started by the launcher under another uid, in the cgroup of this name. */
  cgroup: string | null;
  exited: Promise<ExitInfo>;
}

const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 16 * 1024;
/** How long a SIGKILLed process may take to disappear before stop gives up. */
const KILL_WAIT_MS = 5000;
/** How long a poll waits for the exit report of a child that is gone from /proc. */
const EXIT_REPORT_WAIT_MS = 2000;
/** Folders every account may write to: a dynamic uid's files there go before the uid is given to someone else. */
const SHARED_TEMP_DIRS = ['/tmp', '/var/tmp', '/dev/shm'];
/** Exit statuses remembered for poll; old entries are dropped first. */
const MAX_REMEMBERED_EXITS = 1000;

export class LocalProcessSpawner implements Spawner {
  readonly kind = 'local-process';
  /** Children of this instance that have not exited; their 'exit' event ends a stop at once. */
  private readonly children = new Map<number, Child>();
  /** How children of this instance exited, keyed by `exitKey`; nobody else can know a process's exit code. */
  private readonly exits = new Map<string, ExitInfo>();

  /** Waiters for the exit of servers the launcher started, keyed by `exitKey`. */
  private readonly launchedExits = new Map<string, (exit: ExitInfo) => void>();
  /** Exits the launcher reported before their start's answer was handled. */
  private readonly earlyExits = new Map<string, ExitInfo>();
  /** Cgroups of starts under way, which reconcile must not take for orphans. */
  private readonly startingCgroups = new Set<string>();
  private readonly exitListeners: (() => void)[] = [];
  /** The hub's work in users' files: as their uids through the launcher with isolation, else as the hub's account. */
  readonly userFiles: UserFiles;
  private readonly launchedFiles: LaunchedUserFiles | null;

  constructor(
    private readonly config: LocalProcessSpawnerConfig,
    private readonly log: Logger,
    private readonly isolation: Isolation | null = null,
  ) {
    isolation?.launcher.onExit((exit) => this.launchedExited(exit));
    const outputDir = path.resolve(config.dataDir, 'logs', 'tasks');
    this.launchedFiles = isolation ? new LaunchedUserFiles(isolation, outputDir, { memLimit: config.mem_limit, cpuLimit: config.cpu_limit }) : null;
    this.userFiles = this.launchedFiles ?? new HubAccountFiles(outputDir);
    const overlap = ephemeralOverlap(config.port_range);
    if (overlap) {
      log.warn(
        { port_range: config.port_range, ephemeral: overlap },
        'spawner.port_range overlaps the kernel ephemeral port range: under load a server may find its port taken by an outgoing connection',
      );
    }
  }

  async start(request: SpawnRequest, reporter: SpawnReporter, signal: AbortSignal): Promise<StartResult> {
    signal.throwIfAborted();
    reporter.progress({ progress: 10, message: 'Spawning server…' });
    const port = await reserveFreePort(this.config.ip, this.config.port_range);
    let child: Child;
    try {
      signal.throwIfAborted();
      child = await this.spawnServer(request, port);
    } catch (error) {
      releasePort(port);
      throw error;
    }
    const { pid, pgid, startTime } = child.identity;
    const state: SpawnerState = {
      pid,
      pgid,
      port,
      ip: this.config.ip,
      log_file: child.logFile,
      root_dir: request.env.JUPYTERHUB_ROOT_DIR ?? child.cwd,
      ...(child.runDir ? { ephemeral_dir: child.runDir } : {}),
      started_at: new Date().toISOString(),
      ...(startTime === undefined ? {} : { proc_starttime: startTime }),
      ...(child.cgroup === null ? {} : { cgroup: child.cgroup, ...(request.resources.memLimit ? { mem_limit: request.resources.memLimit } : {}) }),
    };
    try {
      // A start the hub does not live to finish is found without it when servers run through the
      // launcher: a restarted hub kills what runs in its cgroups and no running row describes (reconcile).
      if (child.cgroup === null) await reporter.saveState(state);
      reporter.progress({ progress: 50, message: `Server process started (pid ${pid})` });
      reporter.progress({ progress: 90, message: 'Waiting for server to answer…' });
      await this.waitUntilAnswering(child, port, request.servicePrefix, signal);
    } catch (error) {
      await this.terminate(child.identity, child.cgroup, this.config.stop_timeout * 1000).catch((stopError: unknown) =>
        this.log.error({ err: stopError, pid }, 'could not stop a server whose start failed'),
      );
      throw error;
    }
    this.log.info({ user: request.user.name, server: request.serverName, pid, port }, 'server answers');
    return { target: `http://${urlHost(connectHost(this.config.ip))}:${port}`, state, answering: true };
  }

  async poll(state: SpawnerState): Promise<PollResult> {
    const identity = identityFromState(state);
    if (!identity) return { running: false, message: 'no server process recorded' };
    if (isAlive(identity, { otherAccount: isolatedState(state) })) return { running: true };
    // Gone from /proc, but its exit (code, signal, memory limit) may be a moment from being reported.
    const child = this.children.get(identity.pid);
    if (child && exitKey(child.identity) === exitKey(identity)) await Promise.race([child.exited, sleep(EXIT_REPORT_WAIT_MS)]);
    const exit = this.exits.get(exitKey(identity));
    if (!exit) return { running: false };
    if (exit.oomKilled) return { running: false, exitCode: exit.code, message: describeExit(exit), failure: describeExit(exit) };
    return { running: false, exitCode: exit.code, message: describeExit(exit) };
  }

  onServerExit(listener: () => void): void {
    this.exitListeners.push(listener);
  }

  /** From the server's cgroup (isolated servers); unknown for servers without one. */
  async usage(state: SpawnerState): Promise<ServerUsage | null> {
    if (!isolatedState(state) || !this.isolation) return null;
    const stats = await this.isolation.launcher.stats(state.cgroup as string).catch(() => null);
    if (!stats) return null;
    return { memoryBytes: stats.memoryBytes, memoryLimitBytes: stats.memoryLimit, cpuSeconds: stats.cpuUsageNs === null ? null : stats.cpuUsageNs / 1e9 };
  }

  localRoot(state: SpawnerState): string | null {
    return typeof state.root_dir === 'string' ? state.root_dir : null;
  }

  async stop(state: SpawnerState, options: StopOptions): Promise<void> {
    const identity = identityFromState(state);
    const cgroup = isolatedState(state) ? (state.cgroup as string) : null;
    if (identity) await this.terminate(identity, cgroup, options.graceSeconds * 1000);
    else if (cgroup && this.isolation) await this.isolation.launcher.killCgroup(cgroup);
    const runDir = state.ephemeral_dir;
    // Only ever a directory this spawner made for ephemeral runs, whatever the state says.
    if (typeof runDir === 'string' && path.dirname(runDir) === this.ephemeralRoot()) {
      if (this.isolation) await this.isolation.launcher.remove(runDir);
      else await rm(runDir, { recursive: true, force: true });
      if (typeof state.log_file === 'string' && path.dirname(state.log_file) === path.resolve(this.config.dataDir, 'logs', 'ephemeral')) {
        await rm(state.log_file, { force: true });
      }
    }
  }

  async removeUserFiles(user: { id: number; name: string }, states: SpawnerState[] = []): Promise<void> {
    // Ephemeral runs' directories a failed stop left behind, then the working directory this spawner made.
    for (const state of states) {
      const runDir = state.ephemeral_dir;
      if (typeof runDir === 'string' && path.dirname(runDir) === this.ephemeralRoot()) await this.userFiles.remove(runDir);
    }
    if (!this.isolation) {
      await rm(workingDirectory(this.config.cwd, this.config.dataDir, user.name), { recursive: true, force: true });
      return;
    }
    // Only the directory this spawner made: a system account's home is never removed.
    if (this.isolation.accounts.kind === 'system') return;
    await this.isolation.launcher.remove(this.defaultWorkingDirectory(user.name, null));
    const account = await this.isolation.accounts.recorded(user);
    if (account) await this.removeSharedTempFiles(account);
    await this.isolation.accounts.forget(user);
  }

  /**
   * What a dynamic uid left in the folders every account may write to (a kernel's files in /tmp, a
   * shared-memory segment), removed as that uid before the uid may go to someone else; rejects
   * when something of it remains.
   */
  private async removeSharedTempFiles(account: ServerAccount): Promise<void> {
    const dirs = SHARED_TEMP_DIRS.filter((dir) => existsSync(dir));
    if (!dirs.length || !this.launchedFiles || !this.isolation) return;
    // Run from a folder of users_root the uid may enter but not read: the launcher starts nothing elsewhere.
    const files = this.launchedFiles.forAccount(account, { home: path.resolve(this.isolation.usersRoot, 'home') });
    const owned = ['-xdev', '-mindepth', '1', '-user', String(account.uid)];
    await files.run(['find', ...dirs, ...owned, '-delete']);
    // find exits 1 when it met folders of others it may not read: what counts is what it still finds.
    const left = await files.run(['find', ...dirs, ...owned, '-print', '-quit']);
    if ((left.code !== 0 && left.code !== 1) || left.stdout.trim()) {
      throw new Error(`files of uid ${account.uid} remain: ${left.stdout.trim() || left.stderr.trim()}`);
    }
  }

  /**
   * With isolation: servers in this hub's cgroups that no known state describes (a hub killed
   * mid-spawn) are killed, and so is work in users' files a previous hub left running.
   */
  async reconcile(known: SpawnerState[]): Promise<void> {
    const launcher = this.isolation?.launcher;
    if (!launcher) return;
    const keep = new Set(known.filter(isolatedState).map((state) => `${String(state.cgroup)}@${String(state.pid)}@${String(state.proc_starttime)}`));
    for (const server of await launcher.list()) {
      const leader = server.leader;
      if (leader && keep.has(`${server.name}@${leader.pid}@${leader.startTime}`)) continue;
      // A start under way, or the hub's work in a user's files (src/spawners/local-process/user-files.ts).
      if (this.startingCgroups.has(server.name) || this.launchedFiles?.isRunning(server.name)) continue;
      const killed = await launcher.killCgroup(server.name);
      this.log.warn({ cgroup: server.name, pids: server.pids, killed }, 'stopped a server process the hub did not know');
    }
  }

  /** Directories of the hub's own made once: a recursive mkdir of one that exists costs about a millisecond. */
  private readonly madeDirectories = new Set<string>();

  private async ensureDirectory(dir: string): Promise<void> {
    if (this.madeDirectories.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    this.madeDirectories.add(dir);
  }

  /** Where ephemeral runs get their directories: under the users' root with isolation, else under data_dir. */
  private ephemeralRoot(): string {
    return this.isolation ? path.resolve(this.isolation.usersRoot, 'ephemeral') : path.resolve(this.config.dataDir, 'ephemeral');
  }

  /** Create the working directory and log file, then start `cmd + args` detached in its own process group. */
  private async spawnServer(request: SpawnRequest, port: number): Promise<Child> {
    const { user, serverName } = request;
    const account = this.isolation ? await this.isolation.accounts.accountFor(user) : null;
    // Ephemeral: a fresh directory for this run only, removed at stop with its log.
    const runDir = this.config.ephemeral && !request.profile?.workDir ? ephemeralDirectory(path.dirname(this.ephemeralRoot()), user.name) : null;
    const cwd = runDir ? path.join(runDir, 'home') : (request.profile?.workDir ?? this.defaultWorkingDirectory(user.name, account));
    const logFile = runDir
      ? path.resolve(this.config.dataDir, 'logs', 'ephemeral', `${path.basename(runDir)}.log`)
      : logFilePath(this.config.dataDir, user.name, serverName);
    await this.ensureDirectory(path.dirname(logFile));
    if (account && this.isolation) {
      // The working directory itself is made by the launcher as part of the start (makeCwd).
      if (runDir) await this.isolation.launcher.mkdir(runDir, { uid: account.uid, gid: account.gid, mode: 0o700 });
    } else if (await mkdir(cwd, { recursive: true, mode: 0o700 })) {
      // mkdir's mode is filtered by the umask; the directory holds the user's files, so make it private explicitly.
      await chmod(cwd, 0o700);
    }

    const [command, ...cmdArgs] = request.profile?.cmd ?? this.config.cmd;
    if (command === undefined) throw new Error('spawner.cmd is empty');
    const args = [...cmdArgs, ...this.config.args];
    // HOME is the user's working directory (as JupyterHub's SimpleLocalProcessSpawner does), so users
    // do not share ~/.jupyter, ~/.ipython and the runtime directory of the account the hub runs as; a
    // system account keeps its own home. USER and LOGNAME name the user: a dynamic uid has no
    // /etc/passwd entry, and Python's getpass reads them first.
    const env: Record<string, string> = {
      HOME: account?.home ?? cwd,
      ...(account ? { USER: user.name, LOGNAME: user.name, SHELL: '/bin/bash' } : {}),
      ...request.env,
      JUPYTERHUB_SERVICE_URL: `http://${urlHost(this.config.ip)}:${port}${request.servicePrefix}`,
    };
    if (account && this.isolation) return this.launchIsolated(request, account, { command, args, env, cwd, logFile, runDir, port });

    const log = await open(logFile, 'a', 0o600);
    try {
      await log.write(`[ganymede] ${new Date().toISOString()} starting ${[command, ...args].join(' ')} on port ${port}\n`);
      const logOffset = (await log.stat()).size;
      // A file rather than pipes: the child must not die of SIGPIPE when the hub exits.
      const spawned = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', log.fd, log.fd] });
      const exited = new Promise<ExitInfo>((resolve) => spawned.once('exit', (code, signal) => resolve({ code, signal })));
      spawned.on('error', (error) => this.log.warn({ err: error, pid: spawned.pid }, 'server process error'));
      await new Promise<void>((resolve, reject) => {
        spawned.once('spawn', resolve);
        spawned.once('error', reject);
      }).catch((error: NodeJS.ErrnoException) => {
        throw new Error(spawnFailure(command, error, env.PATH));
      });
      const pid = spawned.pid;
      if (pid === undefined) throw new Error(`Could not start ${command}: no process id`);
      spawned.unref(); // the hub may exit while the server runs on
      const child: Child = { identity: { pid, pgid: pid, startTime: readProcStartTime(pid) }, logFile, logOffset, exited, runDir, cwd, cgroup: null };
      this.watch(child, port, request);
      this.log.info({ user: user.name, server: serverName, pid, port, cwd, command, args, logFile }, 'server process started');
      return child;
    } finally {
      await log.close(); // the child has its own copy of the descriptor
    }
  }

  /** The launcher starts the server under the user's uid, in its own cgroup with the limits. */
  private async launchIsolated(
    request: SpawnRequest,
    account: ServerAccount,
    run: { command: string; args: string[]; env: Record<string, string>; cwd: string; logFile: string; runDir: string | null; port: number },
  ): Promise<Child> {
    const { launcher, pidsLimit, accounts } = this.isolation!;
    const name = cgroupName(request.user.id, request.serverName);
    this.startingCgroups.add(name);
    try {
      const extra = await Promise.all((request.profile?.groups ?? []).map((group) => accounts.groupId(group)));
      const launched = await launcher.launch({
        name,
        uid: account.uid,
        gid: account.gid,
        groups: [...new Set([...account.groups, ...extra])],
        ...(request.profile?.umask === undefined ? {} : { umask: request.profile.umask }),
        argv: [run.command, ...run.args],
        env: run.env,
        cwd: run.cwd,
        makeCwd: true,
        logFile: run.logFile,
        logHeader: `[ganymede] ${new Date().toISOString()} starting ${[run.command, ...run.args].join(' ')} on port ${run.port} as uid ${account.uid}\n`,
        limits: cgroupLimits(request.resources, pidsLimit),
      });
      const identity: ProcessIdentity = { pid: launched.pid, pgid: launched.pid, startTime: launched.startTime };
      const exited = new Promise<ExitInfo>((resolve) => {
        const key = exitKey(identity);
        const early = this.earlyExits.get(key);
        if (early) {
          this.earlyExits.delete(key);
          resolve({ ...early, memLimit: request.resources.memLimit });
        } else this.launchedExits.set(key, (exit) => resolve({ ...exit, memLimit: request.resources.memLimit }));
      });
      const child: Child = { identity, logFile: run.logFile, logOffset: launched.logOffset, exited, runDir: run.runDir, cwd: run.cwd, cgroup: name };
      this.watch(child, run.port, request);
      this.log.info({ user: request.user.name, server: request.serverName, pid: identity.pid, uid: account.uid, cgroup: name, port: run.port, cwd: run.cwd }, 'server process started');
      return child;
    } catch (error) {
      throw new SpawnFailure(`Cannot start server: ${(error as Error).message}`);
    } finally {
      this.startingCgroups.delete(name);
    }
  }

  /** The launcher saw a server exit: its start's waiter, its stop and the hub's poll learn it now. */
  private launchedExited(exit: ServerExit): void {
    if (isUserFilesTask(exit.name)) return; // LaunchedUserFiles waits for it
    const key = `${exit.pid}@${exit.startTime}`;
    const info: ExitInfo = { code: exit.code, signal: exit.signal as NodeJS.Signals | null, oomKilled: exit.oomKilled };
    const resolve = this.launchedExits.get(key);
    if (resolve) {
      this.launchedExits.delete(key);
      resolve(info);
    } else {
      this.earlyExits.set(key, info);
      if (this.earlyExits.size > MAX_REMEMBERED_EXITS) this.earlyExits.delete(this.earlyExits.keys().next().value!);
    }
  }

  /** `<users_root>/home/<name>` with isolation (the system account's home for run_as system), else spawner.cwd's default. */
  private defaultWorkingDirectory(userName: string, account: ServerAccount | null): string {
    if (this.config.cwd || !this.isolation) return workingDirectory(this.config.cwd, this.config.dataDir, userName);
    if (account?.home && this.isolation.accounts.kind === 'system') return account.home;
    return path.resolve(this.isolation.usersRoot, 'home', escapeName(userName));
  }

  private watch(child: Child, port: number, request: SpawnRequest): void {
    const key = exitKey(child.identity);
    this.children.set(child.identity.pid, child);
    this.exits.delete(key);
    void child.exited.then((exit) => {
      this.children.delete(child.identity.pid);
      releasePort(port);
      this.exits.set(key, exit);
      if (this.exits.size > MAX_REMEMBERED_EXITS) this.exits.delete(this.exits.keys().next().value!);
      this.log.info({ user: request.user.name, server: request.serverName, pid: child.identity.pid, ...exit }, 'server process exited');
      for (const listener of this.exitListeners) listener();
    });
  }

  /** Wait for HTTP answers; fail early if the process exits, the hub aborts, or http_timeout passes. */
  private async waitUntilAnswering(child: Child, port: number, prefix: string, signal: AbortSignal): Promise<void> {
    // One controller for the three ways the wait ends (the hub's abort, the process's exit, http_timeout):
    // AbortSignal.any and AbortSignal.timeout cost more per spawn than the probe itself.
    const stop = new AbortController();
    let exit: ExitInfo | null = null;
    let timedOut = false;
    const forward = (): void => stop.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort(new Error('http_timeout'));
    }, this.config.http_timeout * 1000);
    void child.exited.then((info) => {
      exit = info;
      stop.abort(new Error('exited'));
    });
    const origin = `http://${urlHost(connectHost(this.config.ip))}:${port}`;
    try {
      await waitForHttp(origin, prefix, stop.signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (exit) {
        const info: ExitInfo = exit;
        if (info.oomKilled) throw new SpawnFailure(describeExit(info));
        const tail = await readLogTail(child.logFile, child.logOffset);
        throw new Error(`Server process ${describeExit(info)}${tail ? `: ${tail}` : ' (no output)'}`);
      }
      if (timedOut) {
        throw new Error(`Server process ${child.identity.pid} did not answer at ${origin}${prefix} within ${this.config.http_timeout} seconds`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', forward);
    }
  }

  /**
   * SIGTERM the process group, SIGKILL it if the leader is still there after `graceMs`; resolve once it
   * is gone. A server in a cgroup is signalled through the launcher, and whatever it left in its cgroup
   * is killed with it.
   */
  private async terminate(identity: ProcessIdentity, cgroup: string | null, graceMs: number): Promise<void> {
    const child = this.children.get(identity.pid);
    // A state naming a pid our current child reuses is stale: then the child's exit says nothing about it.
    const exited = child && exitKey(child.identity) === exitKey(identity) ? child.exited : undefined;
    const launcher = cgroup ? this.isolation?.launcher : undefined;
    if (cgroup && !launcher) throw new Error(`Server process ${identity.pid} runs under another account, and this hub has no launcher to stop it`);
    const send = async (signal: 'SIGTERM' | 'SIGKILL') => {
      if (launcher && identity.startTime !== undefined) await launcher.signal(identity.pid, identity.startTime, signal);
      else signalGroup(identity, signal);
    };
    const options = { otherAccount: launcher !== undefined };
    await send('SIGTERM');
    if (!(await waitForExit(identity, graceMs, exited, options))) {
      this.log.warn({ pid: identity.pid, graceMs }, 'server process ignored SIGTERM; sending SIGKILL');
      await send('SIGKILL');
      if (!(await waitForExit(identity, KILL_WAIT_MS, exited, options))) throw new Error(`Server process ${identity.pid} still runs after SIGKILL`);
    }
    if (launcher && cgroup) await launcher.killCgroup(cgroup);
  }
}

function identityFromState(state: SpawnerState): ProcessIdentity | undefined {
  const { pid, pgid = pid, proc_starttime: startTime } = state;
  if (!isValidPid(pid) || !isValidPid(pgid)) return undefined;
  return { pid, pgid, startTime: typeof startTime === 'number' ? startTime : undefined };
}

/** A state the launcher's server left: it names the server's cgroup. */
function isolatedState(state: SpawnerState): boolean {
  return typeof state.cgroup === 'string';
}

/** `u<user id>` for the default server, `u<user id>-<hash of the name>` for a named one: unique, and safe as a cgroup name. */
function cgroupName(userId: number, serverName: string): string {
  return serverName === '' ? `u${userId}` : `u${userId}-${createHash('sha256').update(serverName).digest('hex').slice(0, 16)}`;
}

function exitKey(identity: ProcessIdentity): string {
  return `${identity.pid}@${identity.startTime ?? ''}`;
}

function describeExit(exit: ExitInfo): string {
  if (exit.oomKilled) return memoryLimitMessage(exit.memLimit);
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function spawnFailure(command: string, error: NodeJS.ErrnoException, searchPath: string | undefined): string {
  if (error.code === 'ENOENT') {
    return command.includes('/')
      ? `Cannot start server: ${command} does not exist`
      : `Cannot start server: command ${command} not found in PATH ${searchPath ?? '(unset)'}`;
  }
  if (error.code === 'EACCES') return `Cannot start server: ${command} is not executable`;
  return `Cannot start server ${command}: ${error.message}`;
}

/** The last lines the server wrote since `offset`, joined with newlines. */
async function readLogTail(file: string, offset: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const from = Math.max(offset, size - LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(size - from);
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } finally {
    await handle.close();
  }
}

/** Servers listening on all interfaces are reached over loopback. */
function connectHost(ip: string): string {
  if (ip === '' || ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return ip;
}

function urlHost(ip: string): string {
  if (ip === '') return '0.0.0.0';
  return ip.includes(':') ? `[${ip}]` : ip;
}
