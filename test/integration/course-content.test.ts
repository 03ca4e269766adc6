/**
 * A course's material after the first start, with the participant's server under their own uid: a
 * teacher's new commit reaches the participant's running server when the teacher pushes it
 * (`POST /courses/{slug}/content/update`) and a stopped one at its next start, by nbgitpuller's rule:
 * new files appear, the participant's own edit of a file the update also changed is kept, a file they
 * deleted comes back; everything stays the participant's. Participants push nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';
import { advanceClockTo, courseBody, git, homeTrusting, makeContentRepo, mockCourseHubConfig, userToken } from '../helpers/courses.js';
import { notOwnedBy } from '../helpers/ownership.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** spawner.uid_range: p1 is the first user whose files are worked on, so p1's uid is its first. */
const UIDS: [number, number] = [232_000, 232_009];

test("a course's new material reaches running servers on a push and stopped ones at their next start, keeping the participant's edits", { timeout: 180_000 }, async (t) => {
  const work = await tempDir();
  t.after(() => work.cleanup());
  chmodSync(work.path, 0o755);
  const repo = makeContentRepo(work.path);
  // The repository is p1's own (git reads a local repository only as its owner); the hub's account trusts it.
  const ownRepo = () => execFileSync('chown', ['-R', `${UIDS[0]}:${UIDS[0]}`, repo]);
  ownRepo();
  const commit = (files: Record<string, string>, message: string) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(repo, name), text);
    git(repo, '-c', 'safe.directory=*', 'add', '.');
    git(repo, '-c', 'safe.directory=*', 'commit', '-q', '-m', message);
    ownRepo();
  };
  const base = mockCourseHubConfig({ allow_file_repos: true });
  const hub = await startHub({
    clock: {},
    env: { HOME: homeTrusting(work.path, repo) },
    config: { ...base, spawner: { ...(base.spawner as object), run_as: 'dynamic', uid_range: UIDS } },
  });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', 'p1'] })).status, 201);
  const [teacher, gov, p1] = await Promise.all(['teacher', 'gov', 'p1'].map((n) => userToken(hub, n)));
  const created = await as(teacher!)('/courses', 'POST', courseBody('stats1', 2 * DAY, 10 * DAY, { content_repo: { url: `file://${repo}`, branch: 'main' } }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(gov!)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await as(teacher!)('/courses/stats1')).json.join.code as string;
  assert.equal((await as(p1!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await as(teacher!)('/courses/stats1/participants/accept', 'POST', { users: ['p1'] })).status, 200);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);
  assert.equal((await as(ADMIN_TOKEN)('/courses/stats1')).json.state, 'active');

  const start = async () => {
    assert.ok([201, 202].includes((await as(p1!)('/users/p1/servers/stats1', 'POST')).status));
    await waitFor(async () => (await as(p1!)('/users/p1')).json.servers?.stats1?.ready === true, 60_000, "p1's course server");
  };
  await start();
  const material = path.join(`${hub.dataDir}-users`, 'courses', 'stats1', 'p1', 'stats-material');
  const read = (name: string) => readFileSync(path.join(material, name), 'utf8');
  assert.match(read('intro.ipynb'), /Welcome/, 'cloned at the first start');

  // p1 edits the notebook and deletes nothing yet; the teacher changes the same notebook and adds week 2.
  writeFileSync(path.join(material, 'intro.ipynb'), 'my answers');
  execFileSync('chown', [`${UIDS[0]}:${UIDS[0]}`, path.join(material, 'intro.ipynb')]);
  commit({ 'intro.ipynb': 'the teacher’s new introduction', 'week2.md': 'week 2' }, 'week 2');

  const refused = await as(p1!)('/courses/stats1/content/update', 'POST', {});
  assert.equal(refused.status, 403, 'participants push nothing');
  const pushed = await as(teacher!)('/courses/stats1/content/update', 'POST', {});
  assert.equal(pushed.status, 200, pushed.text);
  const results = Object.fromEntries((pushed.json.results as Array<{ user: string; result: string; message?: string }>).map((r) => [r.user, r.message ? `${r.result}: ${r.message}` : r.result]));
  assert.deepEqual(results, { p1: 'updated', teacher: 'at next start' });
  assert.equal(read('week2.md'), 'week 2', 'the new file is in the running server');
  assert.equal(read('intro.ipynb'), 'my answers', 'the participant’s edit is kept');
  const history = (await as(teacher!)('/courses/stats1/events')).json as Array<{ actor: string; action: string; detail: string }>;
  assert.ok(history.some((e) => e.actor === 'teacher' && e.action === 'push_content' && e.detail.includes('1 updated')));

  // Stopped: the next update waits for the next start, which brings it, and back what p1 deleted.
  assert.equal((await as(p1!)('/users/p1/servers/stats1', 'DELETE')).status, 204);
  rmSync(path.join(material, 'week2.md'));
  commit({ 'week3.md': 'week 3' }, 'week 3');
  const whileStopped = await as(teacher!)('/courses/stats1/content/update', 'POST', { users: ['p1'] });
  assert.deepEqual(whileStopped.json.results, [{ user: 'p1', result: 'at next start' }]);
  assert.ok(!existsSync(path.join(material, 'week3.md')));
  await start();
  assert.equal(read('week3.md'), 'week 3', 'the update arrives with the next start');
  assert.equal(read('week2.md'), 'week 2', 'a deleted file of the course comes back');
  assert.equal(read('intro.ipynb'), 'my answers');
  assert.deepEqual(notOwnedBy(path.dirname(material), UIDS[0]), [], "everything in p1's course directory is p1's");
});
