/**
 * The hub's work in users' files (cloning a course's content, pulling a content link, archiving a
 * course member's directory) done with the user's own rights. With isolation (spawner.run_as
 * dynamic or system) the hub's account cannot even read a user's directory, so every step runs as
 * the user's uid through the launcher: a command in a cgroup with limits, as a server would be.
 * Without it (run_as hub) the same steps run as the hub's account. Callers see one interface and
 * write the same code for both.
 *
 * Nothing here goes through a shell: commands are argument lists, paths are arguments.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ResourceLimits } from './resources.js';

/** What a command printed and how it ended. */
export interface CommandResult {
  /** The exit code; null when it was killed by a signal or could not be started. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The working directory; default the access's home (without isolation: the hub's own while the home does not exist yet). */
  cwd?: string;
  /** Added to the command's environment (PATH and HOME are set already). */
  env?: Record<string, string>;
  /** Aborting kills the command; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface FileInfo {
  kind: 'directory' | 'file' | 'symlink' | 'other';
  mtimeMs: number;
}

/** One user's files, acted on as that user. Paths are absolute. */
export interface UserFileAccess {
  /** Runs `argv` (argv[0] looked up along PATH) and resolves with its output whatever its exit code. */
  run(argv: string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Runs `argv` with its standard output going to a new file of the hub's own (under data_dir, mode
   * 0600) and resolves with that file's path, for the caller to move into place. Rejects with the
   * command's last error lines when it exits with another code than 0 (the file is then removed).
   */
  runToFile(argv: string[], options?: RunOptions): Promise<string>;
  /** Like lstat: a symbolic link is described, not followed; null when nothing is there. */
  lstat(path: string): Promise<FileInfo | null>;
  readdir(path: string): Promise<string[]>;
  /** The path with every symbolic link resolved, as far as it exists; the rest is appended as it is. */
  realpath(path: string): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; one that is not there is fine. */
  unlink(path: string): Promise<void>;
  /**
   * Creates `path` as a top directory of the user's own (a course home): the user's, mode 0700; an
   * existing one is fine. Missing parents are created searchable but not the user's.
   */
  mkdir(path: string): Promise<void>;
}

export interface UserFiles {
  /**
   * With isolation, the directory below which users' directories must lie (spawner.users_root):
   * features that keep users' files of their own (a course's homes) put them there. Null without
   * isolation: they stay under data_dir.
   */
  readonly usersRoot: string | null;
  /**
   * Acting as `user`: the uid of its servers (allocated now for run_as dynamic when it has none),
   * or the hub's account without isolation. `home` is HOME for its commands (with isolation) and
   * their default working directory; `limits` bound each command as they would a server.
   */
  forUser(user: { id: number; name: string }, options: { home: string; limits?: ResourceLimits }): Promise<UserFileAccess>;
  /** Acting as whoever owns the existing directory `dir`, e.g. to archive the files of someone no longer a user. */
  forOwnerOf(dir: string, options?: { limits?: ResourceLimits }): Promise<UserFileAccess>;
  /**
   * Makes `dir` (idempotent) a folder of the hub's groups: owned by the uid of the same number as the
   * group `owner`'s gid (an account nobody runs as) and by the group `group`, with `mode` (which may
   * carry the setgid bit); the gids come from spawner.uid_range. Without isolation, a folder of the
   * hub's account with `mode`.
   */
  groupDirectory(dir: string, owner: { owner: string; group: string; mode: number }): Promise<void>;
  /** Deletes `dir` and everything in it whoever owns it, never following a symbolic link; a missing one is fine. */
  remove(dir: string): Promise<void>;
}

/** Largest output kept from a command run as the hub's account, as for git's biggest listings. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How much of a failed command's standard error its error message keeps. */
const ERROR_TAIL_BYTES = 4000;

/**
 * Without isolation (run_as hub, or a spawner whose servers are elsewhere): the hub's own account
 * does the work. HOME stays the hub's, never a user's directory, so that no file of a user's (a
 * `.gitconfig`) configures what the hub's account runs.
 */
export class HubAccountFiles implements UserFiles {
  readonly usersRoot = null;

  /** `outputDir`: where runToFile's files go, a private directory of the hub's (<data_dir>/logs/tasks). */
  constructor(private readonly outputDir: string) {}

  async forUser(_user: { id: number; name: string }, options: { home: string }): Promise<UserFileAccess> {
    return new HubAccountAccess(this.outputDir, options.home);
  }

  async forOwnerOf(dir: string): Promise<UserFileAccess> {
    return new HubAccountAccess(this.outputDir, dir);
  }

  async groupDirectory(dir: string, { mode }: { owner: string; group: string; mode: number }): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, mode);
  }

  async remove(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }
}

class HubAccountAccess implements UserFileAccess {
  constructor(
    private readonly outputDir: string,
    private readonly home: string,
  ) {}

  async run(argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const spawnOptions = await this.options(options);
    return new Promise((resolve, reject) => {
      execFile(argv[0]!, argv.slice(1), { ...spawnOptions, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (options.signal?.aborted) return reject(options.signal.reason);
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr: stderr || (err && code === null ? err.message : '') });
      });
    });
  }

  async runToFile(argv: string[], options: RunOptions = {}): Promise<string> {
    await mkdir(this.outputDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.outputDir, `task-${randomBytes(8).toString('hex')}.out`);
    const out = await open(file, 'wx', 0o600);
    let failure: string | null = null;
    try {
      const child = spawn(argv[0]!, argv.slice(1), { ...(await this.options(options)), stdio: ['ignore', out.fd, 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-ERROR_TAIL_BYTES);
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
        child.once('error', (error) => {
          stderr ||= error.message;
          resolve([null, null]);
        });
        child.once('close', (c, s) => resolve([c, s]));
      });
      if (options.signal?.aborted) throw options.signal.reason;
      if (code !== 0) failure = stderr.trim() || `${argv[0]} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`;
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    } finally {
      await out.close();
    }
    if (failure !== null) {
      await rm(file, { force: true });
      throw new Error(failure);
    }
    return file;
  }

  async lstat(file: string): Promise<FileInfo | null> {
    const info = await lstat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (!info) return null;
    const kind = info.isDirectory() ? 'directory' : info.isFile() ? 'file' : info.isSymbolicLink() ? 'symlink' : 'other';
    return { kind, mtimeMs: info.mtimeMs };
  }

  readdir(dir: string): Promise<string[]> {
    return readdir(dir);
  }

  async realpath(file: string): Promise<string> {
    let existing = path.resolve(file);
    while (!(await this.lstat(existing)) && existing !== path.dirname(existing)) existing = path.dirname(existing);
    const real = await realpath(existing).catch(() => existing);
    return path.join(real, path.relative(existing, path.resolve(file)));
  }

  rename(from: string, to: string): Promise<void> {
    return rename(from, to);
  }

  unlink(file: string): Promise<void> {
    return rm(file, { force: true });
  }

  async mkdir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask, and an existing directory keeps its own.
    await chmod(dir, 0o700);
  }

  /** The working directory (the home when it exists: a command may create it) and environment of a command. */
  private async options(options: RunOptions): Promise<{ cwd?: string; env: NodeJS.ProcessEnv; signal?: AbortSignal }> {
    const cwd = options.cwd ?? ((await this.lstat(this.home))?.kind === 'directory' ? this.home : undefined);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env };
    return { ...(cwd ? { cwd } : {}), env, ...(options.signal ? { signal: options.signal } : {}) };
  }
}
