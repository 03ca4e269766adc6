/**
 * A participant leaves a running course: their course server stops, the course and its server are
 * closed to them, and the history says so; a teacher removes another participant the same way; a
 * teacher cannot leave like this, and nobody removes someone else without courses:manage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

test('a participant leaves a course and loses its server and access', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: mockCourseHubConfig(),
  });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', 's1', 's2', 's3'] })).status, 201);
  const [teacher, gov, s1, s2, s3] = await Promise.all(['teacher', 'gov', 's1', 's2', 's3'].map((n) => userToken(hub, n)));
  const created = await as(teacher)('/courses', 'POST', courseBody('stats1', 2 * DAY, 10 * DAY, { expected_participants: 5 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  const starts = Date.parse(created.json.starts_at as string);
  assert.equal((await as(gov)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await as(teacher)('/courses/stats1')).json.join.code as string;
  for (const token of [s1, s2, s3]) assert.equal((await as(token!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await as(teacher)('/courses/stats1/participants/accept', 'POST', { users: ['s1', 's2', 's3'] })).status, 200);
  await advanceClockTo(hub, starts + MINUTE);

  assert.ok([201, 202].includes((await as(s1!)('/users/s1/servers/stats1', 'POST')).status));
  await waitFor(async () => (await as(s1!)('/users/s1')).json.servers?.stats1?.ready === true, 30_000, "s1's course server");

  const someoneElse = await as(s2!)('/courses/stats1/members/s3', 'DELETE');
  assert.ok([403, 404].includes(someoneElse.status), `a participant removes nobody else: ${someoneElse.status}`);
  const teacherLeaves = await as(teacher)('/courses/stats1/members/teacher', 'DELETE');
  assert.equal(teacherLeaves.status, 409);
  assert.match(teacherLeaves.json.message, /co_teachers/);

  assert.equal((await as(s1!)('/courses/stats1/members/s1', 'DELETE')).status, 204);
  await waitFor(async () => (await as(ADMIN_TOKEN)('/users/s1')).json.servers?.stats1 === undefined, 30_000, "s1's course server to stop");
  assert.equal((await as(s1!)('/courses/stats1')).status, 404, 'the course is closed to them');
  const again = await as(s1!)('/users/s1/servers/stats1', 'POST');
  assert.equal(again.status, 403, again.text);
  assert.match(again.json.message, /not a participant/);
  const participants = ((await as(teacher)('/courses/stats1/participants')).json as Array<{ name: string }>).map((m) => m.name);
  assert.ok(!participants.includes('s1'));
  const events = (await as(teacher)('/courses/stats1/events')).json as Array<{ actor: string; action: string }>;
  assert.ok(events.some((e) => e.actor === 's1' && e.action === 'leave'));

  // A teacher removes a participant through the same path.
  assert.equal((await as(teacher)('/courses/stats1/members/s3', 'DELETE')).status, 204);
  assert.equal((await as(s3!)('/courses/stats1')).status, 404);
  assert.equal((await as(s2!)('/courses/stats1')).status, 200, 's2 is still in');
});
