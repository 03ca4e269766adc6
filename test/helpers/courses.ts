/** Course and content-link fixtures: git, a content repository, a request body, moving the hub to a date. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import type { HubProcess } from './hub-process.js';
import { ADMIN_TOKEN } from './fixtures.js';

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

/** A new API token of user `name`, made with the admin's token. */
export async function userToken(hub: Pick<HubProcess, 'api'>, name: string): Promise<string> {
  const res = await hub.api(`/users/${name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'test' } });
  assert.equal(res.status, 201, res.text);
  return res.json.token as string;
}

/** The admin service and the course roles these tests use: `requesters` request courses, `gov` reviews them. */
export function courseRoles(requesters: string[] = ['teacher']): Record<string, unknown> {
  return {
    services: [{ name: 'test-admin', api_token: ADMIN_TOKEN }],
    load_roles: [
      { name: 'admin', services: ['test-admin'] },
      { name: 'course-requester', users: requesters },
      { name: 'course-governance', users: ['gov'] },
    ],
  };
}

/** courses.smtp for a test's SMTP sink: governance@uni.example, users at <name>@uni.example. */
export function courseSmtp(port: number): Record<string, unknown> {
  return { host: '127.0.0.1', port, from: 'Jupyter courses <jupyter@uni.example>', governance: ['governance@uni.example'], user_email_template: '{username}@uni.example', retry_delay: 0.1 };
}

/**
 * A HOME for the hub whose .gitconfig trusts `repo` (safe.directory): git reads another account's
 * repository only then, and the hub's account checks the content repository when it prepares a
 * course, as a site would trust it in /etc/gitconfig.
 */
export function homeTrusting(dir: string, repo: string): string {
  const home = path.join(dir, 'hub-home');
  mkdirSync(home, { mode: 0o755 });
  writeFileSync(path.join(home, '.gitconfig'), `[safe]\n\tdirectory = ${repo}/.git\n`, { mode: 0o644 });
  return home;
}

/**
 * The config of a course hub with the mock server (no real Jupyter): dummy logins, the roles of
 * courseRoles(), one environment, terms version 2026-1, and a scheduler that runs only when the test
 * moves the clock or an approval wakes it; `courses` is merged over that.
 */
export function mockCourseHubConfig(courses: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    authenticator: { class: 'dummy' },
    spawner: { class: 'local-process', cmd: [process.execPath, path.resolve('test/fixtures/mock-singleuser.mjs')] },
    ...courseRoles(),
    courses: { enabled: true, scheduler_interval: 3600, environments: { python: { description: 'Python 3' } }, terms_of_use: { version: '2026-1' }, ...courses },
  };
}
