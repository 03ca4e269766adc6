/**
 * A course's shared folder, with every server the real jupyterhub-singleuser under its user's own
 * uid: `shared` in each member's course folder leads to one folder of the course; what a teacher
 * saves there through Jupyter's contents API a participant reads through theirs, and the
 * participant's attempts to write or delete there fail; a second teacher edits the first's file;
 * nobody outside the course gets into it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, waitFor } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

test('teachers write the shared folder, participants only read it', { timeout: 240_000 }, async (t) => {
  const base = mockCourseHubConfig();
  const hub = await startHub({ clock: {}, config: { ...base, spawner: { ...REAL_SPAWNER, run_as: 'dynamic' } } });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  const names = ['teacher', 'teacher2', 'gov', 'p1'];
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: names })).status, 201);
  const tokens = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await userToken(hub, n)] as const)));
  const created = await as(tokens.teacher!)('/courses', 'POST', courseBody('lab', 2 * DAY, 10 * DAY, { co_teachers: ['teacher2'] }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(tokens.gov!)('/courses/lab/approve', 'POST', {})).status, 200);
  const code = (await as(tokens.teacher!)('/courses/lab')).json.join.code as string;
  assert.equal((await as(tokens.p1!)('/courses/lab/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await as(tokens.teacher!)('/courses/lab/participants/accept', 'POST', { users: ['p1'] })).status, 200);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);

  for (const who of ['teacher', 'teacher2', 'p1']) {
    assert.ok([201, 202].includes((await as(tokens[who]!)(`/users/${who}/servers/lab`, 'POST')).status), who);
  }
  for (const who of ['teacher', 'teacher2', 'p1']) {
    await waitFor(async () => (await as(tokens[who]!)(`/users/${who}`)).json.servers?.lab?.ready === true, 120_000, `${who}'s course server`);
  }
  /** Jupyter's contents API of `who`'s course server, with their own token. */
  const contents = (who: string, file: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${hub.url}user/${who}/lab/api/contents/${file}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `token ${tokens[who]}`, 'Content-Type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const save = (who: string, file: string, text: string) => contents(who, file, { method: 'PUT', body: { type: 'file', format: 'text', content: text } });

  const home = (who: string) => path.join(`${hub.dataDir}-users`, 'courses', 'lab', who);
  const shared = path.join(`${hub.dataDir}-users`, 'course-shared', 'lab', 'shared');
  assert.ok(lstatSync(path.join(home('p1'), 'shared')).isSymbolicLink());
  assert.equal(readlinkSync(path.join(home('p1'), 'shared')), shared);
  assert.equal(statSync(shared).mode & 0o7777, 0o2775);
  assert.equal(statSync(path.dirname(shared)).mode & 0o777, 0o750, 'only members enter the folder above it');

  const written = await save('teacher', 'shared/week1.txt', 'Read this first.');
  assert.equal(written.status, 201, await written.text());
  const read = await contents('p1', 'shared/week1.txt?content=1');
  assert.equal(read.status, 200);
  assert.equal(((await read.json()) as { content: string }).content, 'Read this first.');

  const overwrite = await save('p1', 'shared/week1.txt', 'mine now');
  assert.ok(overwrite.status >= 400, `a participant cannot change a teacher's file (${overwrite.status})`);
  const create = await save('p1', 'shared/mine.txt', 'x');
  assert.ok(create.status >= 400, `a participant cannot add a file (${create.status})`);
  assert.ok(!existsSync(path.join(shared, 'mine.txt')));
  const remove = await contents('p1', 'shared/week1.txt', { method: 'DELETE' });
  assert.ok(remove.status >= 400, `a participant cannot delete (${remove.status})`);
  assert.equal(((await (await contents('teacher', 'shared/week1.txt?content=1')).json()) as { content: string }).content, 'Read this first.', 'unchanged');

  const edited = await save('teacher2', 'shared/week1.txt', 'Read this first. (edited)');
  assert.equal(edited.status, 200, `the other teacher edits it: ${await edited.text()}`);
  const file = statSync(path.join(shared, 'week1.txt'));
  assert.equal(file.mode & 0o777, 0o664, "the teachers' files: group-writable, readable by the members");
  assert.equal(file.gid, statSync(shared).gid, "they keep the teachers' group");

  // Someone outside the course (a uid not in its members' group) cannot even list it.
  const stranger = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', shared], { encoding: 'utf8' });
  assert.notEqual(stranger.status, 0);
  assert.match(stranger.stderr, /Permission denied/);
});
