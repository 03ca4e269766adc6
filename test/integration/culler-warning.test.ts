/**
 * The culler warns before it stops an idle server: the participant's course page and home page say
 * when their course server will be stopped, with "Keep it running", which counts as use and so
 * keeps the next culler pass from stopping it; left alone afterwards, it is stopped. A course that
 * ends within a day says so on its participants' pages. Times move on the hub's clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

test('a warning before the idle culler stops a course server, and "Keep it running"', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: { ...mockCourseHubConfig(), culler: { enabled: true, timeout: 600, warn_before: 300, every: 3600 } },
  });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', 'p1'] })).status, 201);
  const [teacher, gov, p1] = await Promise.all(['teacher', 'gov', 'p1'].map((n) => userToken(hub, n)));
  // The course lasts 20 hours: from its start on, its end is less than a day away.
  const created = await as(teacher!)('/courses', 'POST', courseBody('stats1', 2 * DAY, 20 * HOUR, {}, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(gov!)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await as(teacher!)('/courses/stats1')).json.join.code as string;
  assert.equal((await as(p1!)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await as(teacher!)('/courses/stats1/participants/accept', 'POST', { users: ['p1'] })).status, 200);
  const starts = Date.parse(created.json.starts_at as string);
  await advanceClockTo(hub, starts + MINUTE);
  assert.ok([201, 202].includes((await as(p1!)('/users/p1/servers/stats1', 'POST')).status));
  await waitFor(async () => (await as(p1!)('/users/p1')).json.servers?.stats1?.ready === true, 30_000, "p1's course server");
  const started = Date.parse((await as(ADMIN_TOKEN)('/users/p1')).json.servers.stats1.started as string);
  const running = async () => (await as(ADMIN_TOKEN)('/users/p1')).json.servers?.stats1?.ready === true;

  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  await browser.login('/hub/', 'p1');
  const coursePage = async () => (await browser.fetch('/hub/courses/stats1')).text();
  const first = await coursePage();
  assert.doesNotMatch(first, /data-cull-warning/, 'no warning while the stop is more than 5 minutes away');
  assert.match(first, /data-course-ending="Statistics stats1"/, 'the course ends within a day');

  // 6 minutes idle: the stop is 4 minutes away.
  await advanceClockTo(hub, started + 6 * MINUTE);
  assert.ok(await running(), 'not culled yet');
  const warned = await coursePage();
  assert.match(warned, /data-cull-warning="stats1"/);
  assert.match(warned, /Your course server for Statistics stats1 will be stopped <time datetime="[^"]+">[^<]+<\/time>\s*because nobody has used it for 10 minutes/);
  assert.match(await (await browser.fetch('/hub/home')).text(), /data-cull-warning="stats1"/, 'the home page warns too');

  const kept = await browser.postForm('/hub/keep-running', { server: 'stats1', next: '/hub/courses/stats1' }, warned);
  assert.equal(kept.status, 303);
  assert.equal(kept.headers.get('location'), '/hub/courses/stats1');
  assert.doesNotMatch(await coursePage(), /data-cull-warning/, 'used just now: no warning');

  // 12 minutes after the start, 6 after "keep it running": a pass does not stop it.
  await advanceClockTo(hub, started + 12 * MINUTE);
  assert.ok(await running(), 'kept running');
  // 17 minutes after the start, 11 idle: stopped.
  await advanceClockTo(hub, started + 17 * MINUTE);
  await waitFor(async () => !(await running()), 30_000, 'the idle server to be culled');
  const gone = await browser.postForm('/hub/keep-running', { server: 'stats1' }, await coursePage());
  assert.equal(gone.status, 404, 'nothing to keep once it is stopped');
});
