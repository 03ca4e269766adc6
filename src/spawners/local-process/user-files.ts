/**
 * The hub's work in users' files under isolation (src/spawners/user-files.ts): each step is a
 * short-lived process the launcher starts as the user's uid, in a directory below users_root and a
 * cgroup with the user's limits, exactly as it starts a server, through its existing `start`: the
 * launcher needs no operation for it. The process is user-files-helper.py, passed with `-c` (so
 * the uid needs no read access to the hub's installation): it runs the command or the file
 * operation and writes its answer to the log file the launcher opened for it, in
 * <data_dir>/logs/tasks and owned by the hub's account; the hub reads the answer after the exit
 * event and deletes the file. Directories at the top of a user's tree are created and removed by
 * the launcher's mkdir and remove.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ResourceLimits } from '../spawner.js';
import type { CommandResult, FileInfo, RunOptions, UserFileAccess, UserFiles } from '../user-files.js';
import type { Isolation, ServerExit, ServerLimits } from './isolation.js';
import { cgroupLimits } from './limits.js';
import type { ServerAccount } from '../unix-accounts.js';

/** Debian's interpreter, as the launcher's: only its standard library is used. */
const PYTHON = '/usr/bin/python3';
const HELPER = readFileSync(new URL('./user-files-helper.py', import.meta.url), 'utf8');
/** Cgroup names of these processes; servers' are `u<id>…`. */
const TASK_PREFIX = 'task-';
/** Longest a step may run when its caller gives no deadline (a big course archive). */
const DEFAULT_DEADLINE_MS = 60 * 60_000;
/** How much of a failed step's output its error message keeps. */
const ERROR_TAIL_BYTES = 4000;

/** Whether a launcher's process (its exit event, its cgroup) is one of these steps rather than a server. */
export function isUserFilesTask(name: string): boolean {
  return name.startsWith(TASK_PREFIX);
}

export class LaunchedUserFiles implements UserFiles {
  /** Steps under way, by cgroup name: their exit ends the wait. */
  private readonly waiting = new Map<string, (exit: ServerExit) => void>();

  constructor(
    private readonly isolation: Isolation,
    /** The launcher's logs_root or a folder below it, the hub's: where the steps' answers are written. */
    private readonly outputDir: string,
    /** The limits of a step whose caller gives none: the spawner's for servers. */
    private readonly defaultLimits: ResourceLimits,
  ) {
    isolation.launcher.onExit((exit) => this.waiting.get(exit.name)?.(exit));
  }

  get usersRoot(): string {
    return this.isolation.usersRoot;
  }

  /** A step of this hub is running in the cgroup `name` (reconcile must leave it alone). */
  isRunning(name: string): boolean {
    return this.waiting.has(name);
  }

  async forUser(user: { id: number; name: string }, options: { home: string; limits?: ResourceLimits }): Promise<UserFileAccess> {
    return this.forAccount(await this.isolation.accounts.accountFor(user), { ...options, user: user.name });
  }

  /** Acting as `account` (one already known: nothing is allocated). */
  forAccount(account: ServerAccount, options: { home: string; user?: string; limits?: ResourceLimits }): UserFileAccess {
    return new LaunchedAccess(this, account, { home: account.home ?? options.home, user: options.user ?? null, limits: this.limits(options.limits) });
  }

  async forOwnerOf(dir: string, options: { limits?: ResourceLimits } = {}): Promise<UserFileAccess> {
    const info = await lstat(dir);
    if (!info.isDirectory()) throw new Error(`${dir} is not a directory`);
    const owner: ServerAccount = { uid: info.uid, gid: info.gid, groups: [info.gid], home: null };
    return new LaunchedAccess(this, owner, { home: dir, user: null, limits: this.limits(options.limits) });
  }

  async remove(dir: string): Promise<void> {
    await this.isolation.launcher.remove(dir);
  }

  async groupDirectory(dir: string, { owner, group, mode }: { owner: string; group: string; mode: number }): Promise<void> {
    const { accounts, launcher } = this.isolation;
    await launcher.mkdir(dir, { uid: await accounts.groupId(owner), gid: await accounts.groupId(group), mode });
  }

  async mkdir(dir: string, account: ServerAccount): Promise<void> {
    await this.isolation.launcher.mkdir(dir, { uid: account.uid, gid: account.gid, mode: 0o700 });
  }

  /**
   * Starts the helper with `args` as `account` and waits for its exit. Resolves with its exit code and
   * the file holding what it wrote, which the caller reads and deletes.
   */
  async step(account: ServerAccount, args: string[], run: { cwd: string; env: Record<string, string>; limits: ServerLimits; signal?: AbortSignal }): Promise<{ code: number | null; file: string }> {
    const deadline = AbortSignal.any([AbortSignal.timeout(DEFAULT_DEADLINE_MS), ...(run.signal ? [run.signal] : [])]);
    deadline.throwIfAborted();
    const { launcher } = this.isolation;
    const name = `${TASK_PREFIX}${randomBytes(8).toString('hex')}`;
    await mkdir(this.outputDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.outputDir, `${name}.out`);
    const exited = new Promise<ServerExit>((resolve) => this.waiting.set(name, resolve));
    let onAbort: (() => void) | undefined;
    try {
      await launcher.launch({
        name,
        uid: account.uid,
        gid: account.gid,
        groups: account.groups,
        argv: [PYTHON, '-I', '-S', '-c', HELPER, ...args],
        env: run.env,
        cwd: run.cwd,
        logFile: file,
        limits: run.limits,
      });
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          void launcher.killCgroup(name).catch(() => undefined);
          reject(deadline.reason);
        };
        deadline.addEventListener('abort', onAbort, { once: true });
      });
      const exit = await Promise.race([exited, aborted]);
      return { code: exit.code, file };
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    } finally {
      if (onAbort) deadline.removeEventListener('abort', onAbort);
      this.waiting.delete(name);
    }
  }

  private limits(limits: ResourceLimits | undefined): ServerLimits {
    return cgroupLimits(limits ?? this.defaultLimits, this.isolation.pidsLimit);
  }
}

/** One user's files, each operation a run of the helper as that user. */
class LaunchedAccess implements UserFileAccess {
  constructor(
    private readonly files: LaunchedUserFiles,
    private readonly account: ServerAccount,
    private readonly context: { home: string; user: string | null; limits: ServerLimits },
  ) {}

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const answer = await this.ask(['run', ...argv], options);
    const decode = (field: unknown) => Buffer.from(typeof field === 'string' ? field : '', 'base64').toString('utf8');
    const code = typeof answer.code === 'number' ? answer.code : null;
    const stderr = decode(answer.stderr);
    return { code, stdout: decode(answer.stdout), stderr: stderr || (typeof answer.signal === 'string' ? `${argv[0]} was killed by ${answer.signal}` : '') };
  }

  async runToFile(argv: string[], options: RunOptions = {}): Promise<string> {
    const { code, file } = await this.files.step(this.account, ['stream', ...argv], this.runContext(options));
    if (code === 0) return file;
    const said = await readTail(file);
    await rm(file, { force: true });
    throw new Error(said || `${argv[0]} exited with code ${code}`);
  }

  async lstat(file: string): Promise<FileInfo | null> {
    const { info } = await this.ask(['lstat', file]);
    if (info === null || typeof info !== 'object') return null;
    const { kind, mtime_ms: mtimeMs } = info as { kind: FileInfo['kind']; mtime_ms: number };
    return { kind, mtimeMs };
  }

  async readdir(dir: string): Promise<string[]> {
    return (await this.ask(['readdir', dir])).names as string[];
  }

  async realpath(file: string): Promise<string> {
    return (await this.ask(['realpath', file])).path as string;
  }

  async rename(from: string, to: string): Promise<void> {
    await this.ask(['rename', from, to]);
  }

  async unlink(file: string): Promise<void> {
    await this.ask(['unlink', file]);
  }

  mkdir(dir: string): Promise<void> {
    return this.files.mkdir(dir, this.account);
  }

  /** Runs one helper operation and returns its JSON answer; an operation that failed rejects like node's fs, with `code`. */
  private async ask(args: string[], options: RunOptions = {}): Promise<Record<string, unknown>> {
    const { code, file } = await this.files.step(this.account, args, this.runContext(options));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } finally {
      await rm(file, { force: true });
    }
    const answer = parseAnswer(text);
    if (answer && typeof answer.error === 'string') {
      throw Object.assign(new Error(answer.error), { code: typeof answer.errno === 'string' && answer.errno ? answer.errno : undefined });
    }
    if (code !== 0 || !answer) throw new Error(`${args[0]} as uid ${this.account.uid} failed: ${tail(text) || `exit code ${code}`}`);
    return answer;
  }

  private runContext(options: RunOptions): { cwd: string; env: Record<string, string>; limits: ServerLimits; signal?: AbortSignal } {
    const { home, user, limits } = this.context;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      ...(user ? { USER: user, LOGNAME: user } : {}),
      ...options.env,
    };
    return { cwd: options.cwd ?? home, env, limits, ...(options.signal ? { signal: options.signal } : {}) };
  }
}

/** The helper's answer: its last line, a JSON object; undefined when there is none. */
function parseAnswer(text: string): Record<string, unknown> | undefined {
  const last = text.trimEnd().split('\n').pop() ?? '';
  try {
    const value = JSON.parse(last) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function tail(text: string): string {
  return text.slice(-ERROR_TAIL_BYTES).trim();
}

async function readTail(file: string): Promise<string> {
  return tail(await readFile(file, 'utf8').catch(() => ''));
}
