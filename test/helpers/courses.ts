/** Course fixtures: a content repository and a request body. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A git repository with one notebook on branch main, as a teacher's content repository. */
export function makeContentRepo(dir: string, name = 'stats-material'): string {
  const repo = path.join(dir, name);
  mkdirSync(repo, { recursive: true });
  const notebook = { cells: [{ cell_type: 'markdown', metadata: {}, source: ['# Welcome'] }], metadata: {}, nbformat: 4, nbformat_minor: 5 };
  writeFileSync(path.join(repo, 'intro.ipynb'), JSON.stringify(notebook));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Teacher', '-c', 'user.email=t@uni.example', ...args], { cwd: repo, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'material');
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

