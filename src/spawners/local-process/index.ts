/**
 * Runs each server as a child process of the hub, as the hub's own user (JupyterHub's
 * SimpleLocalProcessSpawner). The child gets its own process group and writes to a log file rather
 * than to pipes, so it can outlive the hub (`cleanup_servers: false`) and be stopped as a group.
 */
import { chmod, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { SpawnerConfig } from '../../config/schema.js';
import type {
  PollResult,
  SpawnReporter,
  SpawnRequest,
  Spawner,
  SpawnerState,
  StartResult,
  StopOptions,
} from '../spawner.js';
import { ephemeralDirectory, logFilePath, workingDirectory } from './names.js';
import { ephemeralOverlap, releasePort, reserveFreePort } from './ports.js';
import { isAlive, isValidPid, readProcStartTime, signalGroup, waitForExit, type ProcessIdentity } from './processes.js';
import { waitForHttp } from '../wait-for-http.js';

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
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
  exited: Promise<ExitInfo>;
}

const LOG_TAIL_LINES = 20;
const LOG_TAIL_BYTES = 16 * 1024;
/** How long a SIGKILLed process may take to disappear before stop gives up. */
const KILL_WAIT_MS = 5000;
/** Exit statuses remembered for poll; old entries are dropped first. */
const MAX_REMEMBERED_EXITS = 1000;

export class LocalProcessSpawner implements Spawner {
  readonly kind = 'local-process';
  /** Children of this instance that have not exited; their 'exit' event ends a stop at once. */
  private readonly children = new Map<number, Child>();
  /** How children of this instance exited, keyed by `exitKey`; nobody else can know a process's exit code. */
  private readonly exits = new Map<string, ExitInfo>();

  constructor(
    private readonly config: LocalProcessSpawnerConfig,
    private readonly log: Logger,
  ) {
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
    };
    try {
      await reporter.saveState(state);
      reporter.progress({ progress: 50, message: `Server process started (pid ${pid})` });
      reporter.progress({ progress: 90, message: 'Waiting for server to answer…' });
      await this.waitUntilAnswering(child, port, request.servicePrefix, signal);
    } catch (error) {
      await this.terminate(child.identity, this.config.stop_timeout * 1000).catch((stopError: unknown) =>
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
    if (isAlive(identity)) return { running: true };
    const exit = this.exits.get(exitKey(identity));
    return exit ? { running: false, exitCode: exit.code, message: describeExit(exit) } : { running: false };
  }

  localRoot(state: SpawnerState): string | null {
    return typeof state.root_dir === 'string' ? state.root_dir : null;
  }

  async stop(state: SpawnerState, options: StopOptions): Promise<void> {
    const identity = identityFromState(state);
    if (identity) await this.terminate(identity, options.graceSeconds * 1000);
    const runDir = state.ephemeral_dir;
    // Only ever a directory this spawner made under <data_dir>/ephemeral/, whatever the state says.
    if (typeof runDir === 'string' && path.dirname(runDir) === path.resolve(this.config.dataDir, 'ephemeral')) {
      await rm(runDir, { recursive: true, force: true });
    }
  }

  /** Create the working directory and log file, then start `cmd + args` detached in its own process group. */
  private async spawnServer(request: SpawnRequest, port: number): Promise<Child> {
    const { user, serverName } = request;
    // Ephemeral: a fresh directory for this run only, its log inside it, all removed at stop.
    const runDir = this.config.ephemeral && !request.profile?.workDir ? ephemeralDirectory(this.config.dataDir, user.name) : null;
    const cwd = runDir ? path.join(runDir, 'home') : (request.profile?.workDir ?? workingDirectory(this.config.cwd, this.config.dataDir, user.name));
    // mkdir's mode is filtered by the umask; the directory holds the user's files, so make it private explicitly.
    if (await mkdir(cwd, { recursive: true, mode: 0o700 })) await chmod(cwd, 0o700);
    const logFile = runDir ? path.join(runDir, 'server.log') : logFilePath(this.config.dataDir, user.name, serverName);
    await mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });

    const [command, ...cmdArgs] = request.profile?.cmd ?? this.config.cmd;
    if (command === undefined) throw new Error('spawner.cmd is empty');
    const args = [...cmdArgs, ...this.config.args];
    // HOME is the user's working directory (as JupyterHub's SimpleLocalProcessSpawner does), so users
    // do not share ~/.jupyter, ~/.ipython and the runtime directory of the account the hub runs as.
    const env: Record<string, string> = {
      HOME: cwd,
      ...request.env,
      JUPYTERHUB_SERVICE_URL: `http://${urlHost(this.config.ip)}:${port}${request.servicePrefix}`,
    };

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
      const child: Child = { identity: { pid, pgid: pid, startTime: readProcStartTime(pid) }, logFile, logOffset, exited, runDir, cwd };
      this.watch(child, port, request);
      this.log.info({ user: user.name, server: serverName, pid, port, cwd, command, args, logFile }, 'server process started');
      return child;
    } finally {
      await log.close(); // the child has its own copy of the descriptor
    }
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
    });
  }

  /** Wait for HTTP answers; fail early if the process exits, the hub aborts, or http_timeout passes. */
  private async waitUntilAnswering(child: Child, port: number, prefix: string, signal: AbortSignal): Promise<void> {
    const exitedEarly = new AbortController();
    void child.exited.then((exit) => exitedEarly.abort(exit));
    const timeout = AbortSignal.timeout(this.config.http_timeout * 1000);
    const origin = `http://${urlHost(connectHost(this.config.ip))}:${port}`;
    try {
      await waitForHttp(origin, prefix, AbortSignal.any([signal, exitedEarly.signal, timeout]));
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (exitedEarly.signal.aborted) {
        const exit = exitedEarly.signal.reason as ExitInfo;
        const tail = await readLogTail(child.logFile, child.logOffset);
        throw new Error(`Server process ${describeExit(exit)}${tail ? `: ${tail}` : ' (no output)'}`);
      }
      if (timeout.aborted) {
        throw new Error(`Server process ${child.identity.pid} did not answer at ${origin}${prefix} within ${this.config.http_timeout} seconds`);
      }
      throw error;
    }
  }

  /** SIGTERM the process group, SIGKILL it if the leader is still there after `graceMs`; resolve once it is gone. */
  private async terminate(identity: ProcessIdentity, graceMs: number): Promise<void> {
    const child = this.children.get(identity.pid);
    // A state naming a pid our current child reuses is stale: then the child's exit says nothing about it.
    const exited = child && exitKey(child.identity) === exitKey(identity) ? child.exited : undefined;
    signalGroup(identity, 'SIGTERM');
    if (await waitForExit(identity, graceMs, exited)) return;
    this.log.warn({ pid: identity.pid, graceMs }, 'server process ignored SIGTERM; sending SIGKILL');
    signalGroup(identity, 'SIGKILL');
    if (await waitForExit(identity, KILL_WAIT_MS, exited)) return;
    throw new Error(`Server process ${identity.pid} still runs after SIGKILL`);
  }
}

function identityFromState(state: SpawnerState): ProcessIdentity | undefined {
  const { pid, pgid = pid, proc_starttime: startTime } = state;
  if (!isValidPid(pid) || !isValidPid(pgid)) return undefined;
  return { pid, pgid, startTime: typeof startTime === 'number' ? startTime : undefined };
}

function exitKey(identity: ProcessIdentity): string {
  return `${identity.pid}@${identity.startTime ?? ''}`;
}

function describeExit(exit: ExitInfo): string {
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
