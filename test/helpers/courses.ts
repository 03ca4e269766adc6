/** Course and content-link fixtures: git, a content repository, a request body, moving the hub to a date. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HubProcess } from './hub-process.js';

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

/**
 * A course request body starting `startsInMs` after `now` and lasting `lastsMs`. Pass the hub's
 * clock (`hub.now()`) as `now` when the test moved it: dates are checked against the hub's time.
 */
export function courseBody(slug: string, startsInMs: number, lastsMs: number, extra: Record<string, unknown> = {}, now = Date.now()): Record<string, unknown> {
  const start = now + startsInMs;
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

/**
 * Moves the hub's clock forward to the moment `at` (ms since the epoch) and resolves once the hub has
 * run what fell due by then (startHub's `clock` option). Real time keeps running, so `at` is a lower
 * bound: check "just before" a due time with a margin (a minute) that no test step takes.
 */
export async function advanceClockTo(hub: Pick<HubProcess, 'now' | 'advanceClock'>, at: number): Promise<void> {
  const ms = at - hub.now();
  if (ms < 0) throw new Error(`the hub's clock is already ${-ms} ms past ${new Date(at).toISOString()}`);
  await hub.advanceClock(ms);
}
