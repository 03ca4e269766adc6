/**
 * Hand-in and participants' files, with each participant's server under their own uid: at a start a
 * participant's course directory gets `hand-in/`; a teacher collects "week1" from three participants
 * (two handed something in, one nothing); the collection's zip holds what they had handed in, and a
 * participant's later edit does not change it; each participant downloads only their own copy; the
 * teachers download everyone's current files as one zip; participants get none of the teachers' doors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/tmp.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const PARTICIPANTS = ['p1', 'p2', 'p3'];

/** The names and contents of a zip's files, read with Python's zipfile. */
async function unzip(res: Response, dir: string): Promise<Record<string, string>> {
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/zip');
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.zip`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const out = execFileSync('python3', ['-c', 'import json, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(json.dumps({n: z.read(n).decode() for n in z.namelist() if not n.endswith("/")}))', file], { encoding: 'utf8' });
  return JSON.parse(out) as Record<string, string>;
}

test("a teacher collects hand-ins and downloads participants' files; later edits do not change what was collected", { timeout: 180_000 }, async (t) => {
  const work = await tempDir();
  t.after(() => work.cleanup());
  const base = mockCourseHubConfig();
  const hub = await startHub({ clock: {}, config: { ...base, spawner: { ...(base.spawner as object), run_as: 'dynamic' } } });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  const download = (token: string, p: string) => fetch(`${hub.url}hub/api${p}`, { headers: { Authorization: `token ${token}` } });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', ...PARTICIPANTS] })).status, 201);
  const tokens = Object.fromEntries(await Promise.all(['teacher', 'gov', ...PARTICIPANTS].map(async (n) => [n, await userToken(hub, n)] as const)));
  const teacher = as(tokens.teacher!);
  const created = await teacher('/courses', 'POST', courseBody('stats1', 2 * DAY, 10 * DAY, { expected_participants: 3 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(tokens.gov!)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await teacher('/courses/stats1')).json.join.code as string;
  for (const p of PARTICIPANTS) assert.equal((await as(tokens[p]!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await teacher('/courses/stats1/participants/accept', 'POST', { users: PARTICIPANTS })).status, 200);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);
  assert.equal((await teacher('/courses/stats1/servers/start', 'POST', {})).status, 200);
  await waitFor(async () => ((await teacher('/courses/stats1/servers')).json as Array<{ server: { state: string } }>).every((r) => r.server.state === 'running'), 60_000, 'the course servers');

  // Each participant's hand-in/ is theirs; two hand something in (written as them).
  const homes = path.join(`${hub.dataDir}-users`, 'courses', 'stats1');
  const handIn = (p: string) => path.join(homes, p, 'hand-in');
  const writeAs = (p: string, file: string, text: string) => {
    const { uid, gid } = statSync(path.join(homes, p));
    writeFileSync(file, text);
    execFileSync('chown', [`${uid}:${gid}`, file]);
  };
  for (const p of PARTICIPANTS) assert.equal(statSync(handIn(p)).uid, statSync(path.join(homes, p)).uid, `${p}'s hand-in folder is theirs`);
  writeAs('p1', path.join(handIn('p1'), 'answer.txt'), 'p1 week 1');
  writeAs('p2', path.join(handIn('p2'), 'answer.txt'), 'p2 week 1');
  writeAs('p2', path.join(homes, 'p2', 'notes.txt'), 'not handed in');

  assert.equal((await as(tokens.p1!)('/courses/stats1/collect', 'POST', { assignment: 'week1' })).status, 403, 'participants collect nothing');
  assert.equal((await teacher('/courses/stats1/collect', 'POST', { assignment: '../x' })).status, 400);
  const collected = await teacher('/courses/stats1/collect', 'POST', { assignment: 'week1' });
  assert.equal(collected.status, 200, collected.text);
  assert.deepEqual(collected.json.results, [
    { user: 'p1', result: 'collected' },
    { user: 'p2', result: 'collected' },
    { user: 'p3', result: 'empty' },
  ]);
  writeAs('p1', path.join(handIn('p1'), 'answer.txt'), 'p1 changed after the collection');

  const all = await unzip(await download(tokens.teacher!, '/courses/stats1/collections/week1'), work.path);
  assert.deepEqual(all, { 'p1/answer.txt': 'p1 week 1', 'p2/answer.txt': 'p2 week 1' });
  const own = await unzip(await download(tokens.p1!, '/courses/stats1/collections/week1'), work.path);
  assert.deepEqual(own, { 'p1/answer.txt': 'p1 week 1' }, 'a participant gets their own copy only');
  assert.equal((await download(tokens.p3!, '/courses/stats1/collections/week1')).status, 404, 'p3 handed nothing in');
  const listed = (await as(tokens.p2!)('/courses/stats1/collections')).json as Array<{ assignment: string; users: string[] }>;
  assert.deepEqual(listed.map((c) => [c.assignment, c.users]), [['week1', ['p2']]]);
  const history = (await teacher('/courses/stats1/events')).json as Array<{ action: string; detail: string }>;
  assert.ok(history.some((e) => e.action === 'collect' && e.detail === 'week1: 2 collected, 1 with nothing handed in, 0 failed'));

  // Everyone's current files: the teachers' door only.
  assert.equal((await download(tokens.p2!, '/courses/stats1/files')).status, 403);
  const current = await unzip(await download(tokens.teacher!, '/courses/stats1/files'), work.path);
  assert.equal(current['p1/hand-in/answer.txt'], 'p1 changed after the collection');
  assert.equal(current['p2/notes.txt'], 'not handed in');
  assert.ok(Object.keys(current).every((name) => PARTICIPANTS.some((p) => name.startsWith(`${p}/`))), Object.keys(current).join(', '));
});
