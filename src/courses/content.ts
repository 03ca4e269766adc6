/**
 * A course's content repository: checked by the hub when the course is prepared, cloned into a
 * member's directory at their server's first start and brought up to date at every later start (as
 * nbgitpuller does), by the member's own uid. git runs with an argument list, `--` before the URL, no terminal prompts and a
 * timeout: nothing the teacher typed reaches a shell, and a URL cannot pass itself off as an option.
 */
import { execFile } from 'node:child_process';
import type { UserFileAccess } from '../spawners/user-files.js';
import { GitPullError, pullRepository } from '../content/git-pull.js';

export interface ContentRepo {
  url: string;
  branch: string;
}

const GIT_TIMEOUT_MS = 120_000;

function git(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { timeout: GIT_TIMEOUT_MS, signal, maxBuffer: 4 * 1024 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', HOME: process.env.HOME ?? '/tmp' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(lastLine(String(stderr)) || err.message));
        else resolve(String(stdout));
      },
    );
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

/** The directory a repository is cloned into: its last path segment without `.git` (nbgitpuller's default target). */
export function contentDirName(url: string): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? 'content';
  const name = last.replace(/\.git$/, '');
  return /^[\w.-]+$/.test(name) && name !== '.' && name !== '..' ? name : 'content';
}

/** Throws an Error saying why when the repository or branch cannot be read. */
export async function checkContent(repo: ContentRepo): Promise<void> {
  let out: string;
  try {
    out = await git(['ls-remote', '--heads', '--', repo.url, repo.branch]);
  } catch (err) {
    throw new Error(`The content repository ${repo.url} cannot be read: ${(err as Error).message}`);
  }
  if (!out.trim()) throw new Error(`The content repository ${repo.url} has no branch ${repo.branch}`);
}

/**
 * Brings the member's copy of the course content up to date, as the member (`files` acts as them;
 * `dir` is their course directory, which exists: CourseFiles.memberFiles makes it): cloned into
 * `<dir>/<name>` the first time, then pulled with nbgitpuller's rule at every later start or when a
 * teacher pushes an update (src/content/git-pull.ts): the member's edits win a conflict, files they
 * deleted come back, new files appear, nothing of theirs is lost.
 */
export async function pullContent(files: UserFileAccess, repo: ContentRepo, dir: string, signal?: AbortSignal): Promise<'cloned' | 'updated'> {
  try {
    const pulled = await pullRepository({ files, repo: repo.url, branch: repo.branch, root: dir, targetpath: contentDirName(repo.url), timeoutMs: GIT_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    return pulled.action;
  } catch (err) {
    if (err instanceof GitPullError) throw new Error(`Could not bring the course content from ${repo.url}: ${err.message}`);
    throw err;
  }
}
