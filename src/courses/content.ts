/**
 * A course's content repository: checked by the hub when the course is prepared, cloned into a
 * member's directory at their server's first start (as nbgitpuller's first pull does) by the
 * member's own uid. git runs with an argument list, `--` before the URL, no terminal prompts and a
 * timeout: nothing the teacher typed reaches a shell, and a URL cannot pass itself off as an option.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { UserFileAccess } from '../spawners/user-files.js';

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
 * Clones the repository into `<dir>/<name>` unless it is there already (a later start keeps the
 * member's changes), as the member: `files` acts as them, `dir` is their course directory, which
 * exists (CourseFiles.memberFiles makes it).
 */
export async function cloneContent(files: UserFileAccess, repo: ContentRepo, dir: string, signal?: AbortSignal): Promise<'cloned' | 'present'> {
  const target = path.join(dir, contentDirName(repo.url));
  if (await files.lstat(target)) return 'present';
  const timeout = AbortSignal.timeout(GIT_TIMEOUT_MS);
  const result = await files
    .run(['git', 'clone', '--quiet', '--depth', '1', '--branch', repo.branch, '--', repo.url, target], {
      cwd: dir,
      env: { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })
    .catch((err: unknown) => {
      if (timeout.aborted) return { code: null, stdout: '', stderr: `git took longer than ${GIT_TIMEOUT_MS / 1000} s` };
      throw err;
    });
  if (result.code !== 0) throw new Error(`Could not copy the course content from ${repo.url}: ${lastLine(result.stderr) || `git exited with code ${result.code}`}`);
  return 'cloned';
}
