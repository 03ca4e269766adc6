/** Course and content-link fixtures: git, a content repository and a request body. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Runs git in `cwd` with a fixed identity, new repositories on branch main. */
export function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=Teacher', '-c', 'user.email=t@uni.example', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe' });
}

/** A git repository with one notebook on branch main, as a teacher's content repository. */
export function makeContentRepo(dir: string, name = 'stats-material'): string {
  const repo = path.join(dir, name);
  mkdirSync(repo, { recursive: true });
  const notebook = { cells: [{ cell_type: 'markdown', metadata: {}, source: ['# Welcome'] }], metadata: {}, nbformat: 4, nbformat_minor: 5 };
  writeFileSync(path.join(repo, 'intro.ipynb'), JSON.stringify(notebook));
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'material');
  return repo;
}

export function courseBody(slug: string, startsInMs: number, lastsMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const start = Date.now() + startsInMs;
  return {
    title: `Statistics ${slug}`,
    slug,
    description: 'Introduction to statistics with Python',
    starts_at: new Date(start).toISOString(),
    ends_at: new Date(start + lastsMs).toISOString(),
    expected_participants: 1,
    environment: 'python',
    resources: { cpu: 1, memory_gb: 2, storage_gb: 1, gpu: 0 },
    accepted_terms_version: '2026-1',
    ...extra,
  };
}

