/**
 * Pulls a content repository into a user's files the way nbgitpuller does, so that following a
 * content link again never costs the user their work: the first time it clones; afterwards it
 * fetches, keeps untracked files an upstream file would overwrite under a new name, brings back
 * files the user deleted, commits the user's changes and merges upstream with `-Xours` (the user's
 * lines win a conflict, new upstream files appear).
 *
 * git runs with an argument list (no shell), `--` before positional arguments, no terminal
 * prompts, no hooks and no fsmonitor, and one deadline for the whole pull. Every command and file
 * operation goes through `files`, which acts as the owner of the files (src/spawners/user-files.ts):
 * git itself refuses a checkout owned by someone else (`safe.directory`), a checkout's own
 * `.git/config` is the owner's to write, and with isolation the hub cannot read the folder at all.
 */
import path from 'node:path';
import type { UserFileAccess } from '../spawners/user-files.js';

export interface PullOptions {
  /** The user's files, acted on as the user. */
  files: UserFileAccess;
  /** Repository URL, already checked (see parseGitPullQuery). */
  repo: string;
  /** Branch or tag; undefined: the repository's default branch (its HEAD), asked for at every pull. */
  branch?: string;
  /** The user's server root; the checkout goes to `<root>/<targetpath>` and never outside it. */
  root: string;
  targetpath: string;
  /** Deadline for the whole pull, counted once this pull has the directory to itself. */
  timeoutMs: number;
  /** Added to git's environment, e.g. GIT_SSH_COMMAND for a deploy key. */
  env?: Record<string, string>;
  /** Commits of history for the first clone; 0: all of it. Default 1, as nbgitpuller (NBGITPULLER_DEPTH). */
  depth?: number;
  /** Stops git when it aborts (a start that was cancelled), as the deadline does. */
  signal?: AbortSignal;
}

export interface PullResult {
  action: 'cloned' | 'updated';
  /** Absolute path of the checkout. */
  dir: string;
}

/** A pull that could not be done; the message is meant for the user, with git's own last lines when git failed. */
export class GitPullError extends Error {
  constructor(
    message: string,
    /** What git printed (trimmed, a few lines), '' when git was not the one to fail. */
    readonly gitOutput = '',
  ) {
    super(message);
    this.name = 'GitPullError';
  }
}

/** The author and committer of the commit that records the user's changes before a merge. */
const COMMITTER = ['-c', 'user.name=Ganymede', '-c', 'user.email=content@ganymede.invalid'];
const WIP_MESSAGE = 'Automatic commit of local changes before pulling new content (Ganymede)';
/** An index.lock older than this was left by a git that died; a younger one belongs to a running git. */
const STALE_LOCK_MS = 10 * 60_000;
/** How many of git's last output lines an error carries. */
const ERROR_LINES = 4;

export async function pullRepository(opts: PullOptions): Promise<PullResult> {
  const dir = checkoutDir(opts.root, opts.targetpath);
  return withDirLock(dir, async () => {
    const deadline = AbortSignal.timeout(opts.timeoutMs);
    const git = new Git(opts, opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline);
    const { files } = opts;
    await ensureInsideRoot(files, opts.root, dir, opts.targetpath);
    const fresh = await isAbsentOrEmpty(files, dir);
    if (!fresh) await ensureCheckoutOf(git, dir, opts);
    const upstream = await resolveUpstream(git, opts.repo, opts.branch);
    if (fresh) {
      await git.run(cloneArgs(opts, upstream.name, dir), `Could not clone ${opts.repo}`);
      return { action: 'cloned', dir };
    }
    await update(git, files, dir, opts.repo, upstream);
    return { action: 'updated', dir };
  });
}

/** The ref upstream (`refs/heads/x` or `refs/tags/x`) and where the fetch keeps it locally. */
interface Upstream {
  name: string;
  remoteRef: string;
  localRef: string;
}

/** nbgitpuller's `resolve_default_branch` / `branch_exists`: the branch must be there before anything is touched. */
async function resolveUpstream(git: Git, repo: string, branch: string | undefined): Promise<Upstream> {
  if (branch === undefined) {
    const out = await git.run(['ls-remote', '--symref', '--', repo, 'HEAD'], `Could not read ${repo}`);
    const name = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out)?.[1];
    if (!name) throw new GitPullError(`Could not find the default branch of ${repo}; give the branch in the link`);
    return headUpstream(name);
  }
  const out = await git.run(['ls-remote', '--', repo, `refs/heads/${branch}`, `refs/tags/${branch}`], `Could not read ${repo}`);
  const refs = out.split('\n').map((line) => line.split('\t')[1]);
  if (refs.includes(`refs/heads/${branch}`)) return headUpstream(branch);
  if (refs.includes(`refs/tags/${branch}`)) return { name: branch, remoteRef: `refs/tags/${branch}`, localRef: `refs/tags/${branch}` };
  throw new GitPullError(`${repo} has no branch or tag ${branch}`);
}

function headUpstream(name: string): Upstream {
  return { name, remoteRef: `refs/heads/${name}`, localRef: `refs/remotes/origin/${name}` };
}

function cloneArgs(opts: PullOptions, name: string, dir: string): string[] {
  const depth = opts.depth ?? 1;
  return ['clone', '--quiet', ...(depth > 0 ? ['--depth', String(depth)] : []), '--branch', name, '--', opts.repo, dir];
}

/** nbgitpuller's `GitPuller.update`, step by step. */
async function update(git: Git, files: UserFileAccess, dir: string, repo: string, upstream: Upstream): Promise<void> {
  await ensureNoIndexLock(files, dir);
  // By URL, not by the remote's name: a checkout's remote settings (e.g. uploadpack) are not ours to run.
  await git.run(['fetch', '--quiet', '--no-tags', '--', repo, `+${upstream.remoteRef}:${upstream.localRef}`], `Could not fetch ${repo}`, dir);

  const changed = await upstreamChanges(git, dir, upstream.localRef);
  await renameCollidingUntracked(files, dir, changed.added);
  await restoreDeleted(git, files, dir, upstream.localRef, changed.deleted);

  // Unstaged, every change of the user's is in the working tree and goes into one commit.
  await git.run(['reset', '--quiet', '--mixed'], 'Could not unstage the local changes', dir);
  if (await isDirty(git, dir)) {
    await ensureNoIndexLock(files, dir);
    await commitAll(git, dir);
  }
  await ensureNoIndexLock(files, dir);
  await merge(git, dir, upstream.localRef);
}

/** Files added and deleted upstream since HEAD (nbgitpuller's `find_upstream_changed`); a rename counts as both. */
async function upstreamChanges(git: Git, dir: string, localRef: string): Promise<{ added: string[]; deleted: Set<string> }> {
  const out = await git.run(['diff', '--no-renames', '--no-ext-diff', '--name-status', '-z', 'HEAD', localRef, '--'], 'Could not compare with upstream', dir);
  const fields = out.split('\0');
  const added: string[] = [];
  const deleted = new Set<string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'A') added.push(fields[i + 1]!);
    if (fields[i] === 'D') deleted.add(fields[i + 1]!);
  }
  return { added, deleted };
}

/** nbgitpuller's `rename_local_untracked`: `notes.ipynb` becomes `notes__20250101120000.ipynb` and upstream's takes its place. */
async function renameCollidingUntracked(files: UserFileAccess, dir: string, added: string[]): Promise<void> {
  const stamp = `__${timestamp(new Date())}`;
  for (const file of added) {
    const local = path.join(dir, file);
    if (!(await realDirectoriesUpTo(files, dir, file)) || !(await files.lstat(local))) continue;
    const ext = path.extname(local);
    const base = local.slice(0, local.length - ext.length) + stamp;
    let target = base + ext;
    for (let n = 1; await files.lstat(target); n += 1) target = `${base}_${n}${ext}`;
    await files.rename(local, target);
  }
}

/** nbgitpuller's `reset_deleted_files`: deleting a file and following the link again gives a fresh copy. */
async function restoreDeleted(git: Git, files: UserFileAccess, dir: string, localRef: string, deletedUpstream: Set<string>): Promise<void> {
  const out = await git.run(['ls-files', '--deleted', '-z'], 'Could not list the deleted files', dir);
  const missing = out.split('\0').filter(Boolean);
  // Gone upstream too: restored from HEAD, so that the merge deletes it without a conflict.
  const fromHead = missing.filter((f) => deletedUpstream.has(f));
  const fromUpstream = missing.filter((f) => !deletedUpstream.has(f));
  for (const [ref, paths] of [['HEAD', fromHead], [localRef, fromUpstream]] as const) {
    for (let i = 0; i < paths.length; i += 200) {
      await ensureNoIndexLock(files, dir);
      await git.run(['--literal-pathspecs', 'checkout', ref, '--', ...paths.slice(i, i + 200)], 'Could not restore the deleted files', dir);
    }
  }
}

async function isDirty(git: Git, dir: string): Promise<boolean> {
  const { code } = await git.attempt(['diff-files', '--quiet'], dir);
  if (code === 0) return false;
  if (code === 1) return true;
  throw new GitPullError('Could not tell whether there are local changes');
}

async function commitAll(git: Git, dir: string): Promise<void> {
  // --allow-empty: on some network file systems diff-files reports changes that are not there.
  await git.run([...COMMITTER, 'commit', '--quiet', '--no-verify', '--allow-empty', '-am', WIP_MESSAGE], 'Could not save the local changes', dir);
}

/** nbgitpuller's `merge`: `-Xours` keeps the user's side of a conflict; a file edited here and deleted upstream is kept. */
async function merge(git: Git, dir: string, localRef: string): Promise<void> {
  const result = await git.attempt([...COMMITTER, 'merge', '--no-edit', '-Xours', localRef], dir);
  if (result.code === 0) return;
  if (/^CONFLICT \(modify\/delete\)/m.test(result.stdout)) {
    await commitAll(git, dir);
    return;
  }
  throw git.failure('Could not merge the upstream changes', result);
}

/** The checkout must be a git checkout of its own (not a folder inside another), cloned from this repository. */
async function ensureCheckoutOf(git: Git, dir: string, opts: PullOptions): Promise<void> {
  const notCheckout = `${opts.targetpath} already exists and is not a git checkout of ${opts.repo}; rename it or choose another targetpath`;
  const { files } = opts;
  if ((await files.lstat(path.join(dir, '.git')))?.kind !== 'directory') throw new GitPullError(notCheckout);
  const top = (await git.run(['rev-parse', '--show-toplevel'], `Could not read the git checkout ${opts.targetpath}`, dir)).trim();
  if ((await files.realpath(top)) !== (await files.realpath(dir))) throw new GitPullError(notCheckout);
  const origin = (await git.attempt(['config', '--get', 'remote.origin.url'], dir)).stdout.trim();
  if (sameRepo(origin, opts.repo)) return;
  throw new GitPullError(origin ? `${opts.targetpath} is a checkout of ${origin}, not of ${opts.repo}; rename it or choose another targetpath` : notCheckout);
}

function sameRepo(a: string, b: string): boolean {
  const norm = (url: string) => url.replace(/\/+$/, '').replace(/\.git$/, '');
  return norm(a) === norm(b);
}

/** nbgitpuller's `ensure_lock`: a fresh index.lock means another git is at work here; a stale one is removed. */
async function ensureNoIndexLock(files: UserFileAccess, dir: string): Promise<void> {
  const lock = path.join(dir, '.git', 'index.lock');
  const info = await files.lstat(lock);
  if (!info) return;
  if (Date.now() - info.mtimeMs <= STALE_LOCK_MS) {
    throw new GitPullError('Another git operation is running in this folder (.git/index.lock); try again in a few minutes');
  }
  await files.unlink(lock).catch(() => undefined);
}

function checkoutDir(root: string, targetpath: string): string {
  const base = path.resolve(root);
  const dir = path.resolve(base, targetpath);
  if (dir === base || !dir.startsWith(base + path.sep)) throw new GitPullError(`targetpath ${targetpath} is outside the server's folder`);
  return dir;
}

/** A symbolic link on the way (`<root>/course -> /elsewhere`) must not take the checkout out of the root. */
async function ensureInsideRoot(files: UserFileAccess, root: string, dir: string, targetpath: string): Promise<void> {
  const realRoot = await files.realpath(root);
  const real = await files.realpath(dir);
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new GitPullError(`targetpath ${targetpath} leads outside the server's folder`);
}

/** Whether every folder between `dir` and `file` is a real folder: a symbolic link on the way could point anywhere. */
async function realDirectoriesUpTo(files: UserFileAccess, dir: string, file: string): Promise<boolean> {
  const parts = file.split('/').slice(0, -1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return false;
  let at = dir;
  for (const part of parts) {
    at = path.join(at, part);
    const info = await files.lstat(at);
    if (!info) return true; // nothing there yet, so nothing of the user's to move
    if (info.kind !== 'directory') return false;
  }
  return true;
}

async function isAbsentOrEmpty(files: UserFileAccess, dir: string): Promise<boolean> {
  const info = await files.lstat(dir);
  if (!info) return true;
  return info.kind === 'directory' && (await files.readdir(dir)).length === 0;
}

function timestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/** Pulls into one directory run one after the other; the next waits for the previous to finish. */
const dirLocks = new Map<string, Promise<void>>();

async function withDirLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const previous = dirLocks.get(dir) ?? Promise.resolve();
  let release!: () => void;
  const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
  dirLocks.set(dir, mine);
  await previous;
  try {
    return await work();
  } finally {
    release();
    if (dirLocks.get(dir) === mine) dirLocks.delete(dir);
  }
}

interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** git for one pull: the same safety settings, environment and deadline for every command. */
class Git {
  private readonly config: string[];
  private readonly env: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly files: UserFileAccess;

  constructor(
    opts: PullOptions,
    private readonly signal: AbortSignal,
  ) {
    this.timeoutMs = opts.timeoutMs;
    this.files = opts.files;
    this.config = [
      '-c', 'core.hooksPath=/dev/null',
      '-c', 'core.fsmonitor=false',
      '-c', 'commit.gpgSign=false',
      '-c', 'submodule.recurse=false',
      // file:// only when the repository itself is one; never for anything it might point to.
      '-c', `protocol.file.allow=${opts.repo.startsWith('file://') ? 'always' : 'never'}`,
    ];
    // PATH and HOME come from `files`: the hub's own, or the user's with isolation.
    this.env = {
      LC_ALL: 'C',
      ...opts.env,
      GIT_TERMINAL_PROMPT: '0',
    };
    if (!('GIT_ASKPASS' in this.env)) this.env.GIT_ASKPASS = 'true';
  }

  /** Runs git; resolves with its output whatever the exit code. */
  async attempt(args: string[], cwd?: string): Promise<GitResult> {
    try {
      const result = await this.files.run(['git', ...this.config, ...args], { ...(cwd ? { cwd } : {}), env: this.env, signal: this.signal });
      return { ...result, timedOut: this.signal.aborted };
    } catch (error) {
      if (!this.signal.aborted) throw error;
      return { code: null, stdout: '', stderr: '', timedOut: true };
    }
  }

  /** Runs git; throws a GitPullError starting with `what` and ending with git's last lines when it fails. */
  async run(args: string[], what: string, cwd?: string): Promise<string> {
    const result = await this.attempt(args, cwd);
    if (result.code !== 0) throw this.failure(what, result);
    return result.stdout;
  }

  failure(what: string, result: GitResult): GitPullError {
    if (result.timedOut) {
      const limit = this.timeoutMs < 1000 ? `${this.timeoutMs} ms` : `${Math.round(this.timeoutMs / 1000)} s`;
      return new GitPullError(`${what}: git took longer than the ${limit} allowed`);
    }
    const output = lastLines(result.stderr) || lastLines(result.stdout);
    return new GitPullError(output ? `${what}: ${output}` : what, output);
  }
}

function lastLines(text: string): string {
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-ERROR_LINES)
    .join('\n');
}
