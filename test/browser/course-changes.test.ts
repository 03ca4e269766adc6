/**
 * A change to a running course in Chromium, at a phone's width: the teacher proposes a later end and
 * a higher participant limit and more memory on the course page (a limit below the accepted participants is refused
 * next to the form, with nothing recorded); governance sees the change with the load on the same
 * page and approves it; the course has the new values. A participant leaves the course from its
 * page after being told what happens to their server and files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

async function logIn(browser: Browser, name: string, url: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${url.replace(/\/hub\/.*$/, '/hub/login')}?next=${encodeURIComponent(new URL(url).pathname)}`);
  await page.fill('#username_input', name);
  await Promise.all([page.waitForURL((u) => u.pathname === new URL(url).pathname), page.click('#login_submit')]);
  return page;
}

test('a teacher proposes a change on the course page and governance approves it there', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    clock: {},
    config: mockCourseHubConfig(),
  });
  t.after(() => hub.stop());
  const api = (p: string, token: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await api('/users', ADMIN_TOKEN, 'POST', { usernames: ['teacher', 'gov', 's1', 's2'] })).status, 201);
  const [teacher, gov] = await Promise.all(['teacher', 'gov'].map((n) => userToken(hub, n)));
  const created = await api('/courses', teacher, 'POST', courseBody('stats1', 3 * DAY, 14 * DAY, { expected_participants: 2 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  const starts = Date.parse(created.json.starts_at as string);
  const ends = Date.parse(created.json.ends_at as string);
  assert.equal((await api('/courses/stats1/approve', gov, 'POST', {})).status, 200);
  const code = (await api('/courses/stats1', ADMIN_TOKEN)).json.join.code as string;
  for (const s of ['s1', 's2']) assert.equal((await api('/courses/stats1/participants', await userToken(hub, s), 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await api('/courses/stats1/participants/accept', teacher, 'POST', { users: ['s1', 's2'] })).status, 200);
  await advanceClockTo(hub, starts + MINUTE);

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const courseUrl = `${hub.url}hub/courses/stats1`;
  const newEnd = new Date(ends + 7 * DAY).toISOString().slice(0, 16);

  const teacherPage = await logIn(browser, 'teacher', courseUrl);
  assert.equal(await teacherPage.locator('#change-starts_at').count(), 0, 'the start cannot change once the course started');
  await teacherPage.click('.propose-change summary');
  await teacherPage.fill('#change-expected_participants', '1');
  await teacherPage.click('#propose-change button[type=submit]');
  await teacherPage.locator('#change-errors', { hasText: 'At least the 2 participants accepted already' }).waitFor();
  assert.deepEqual((await api('/courses/stats1/changes', teacher)).json, [], 'nothing recorded');

  await teacherPage.fill('#change-expected_participants', '4');
  await teacherPage.fill('#change-ends_at', newEnd);
  await teacherPage.fill('#change-resources-memory_gb', '3');
  await teacherPage.click('#propose-change button[type=submit]');
  const change = teacherPage.locator('.course-change[data-state="pending"]');
  await change.waitFor();
  assert.match(await change.innerText(), /expected_participants\s+2\s+4/);
  assert.match(await change.innerText(), /resources\s+\{"cpu":1,"memory_gb":2,"storage_gb":1,"gpu":0\}\s+\{"cpu":1,"memory_gb":3,"storage_gb":1,"gpu":0\}/);
  assert.deepEqual(Object.keys((await api('/courses/stats1/changes', teacher)).json[0].changes).sort(), ['ends_at', 'expected_participants', 'resources'], 'only what was changed');
  assert.equal(await change.locator('button', { hasText: 'Approve' }).count(), 0, 'a teacher does not decide');

  const govPage = await logIn(browser, 'gov', courseUrl);
  assert.equal(await govPage.locator('#changes .load-table').count(), 1, 'the load beside the change');
  await govPage.locator('.course-change[data-state="pending"] button', { hasText: 'Approve the change' }).click();
  await govPage.locator('.course-change[data-state="approved"]').waitFor();
  const course = (await api('/courses/stats1', ADMIN_TOKEN)).json;
  assert.equal(course.ends_at, `${newEnd}:00.000Z`);
  assert.equal(course.participants.limit, 4);
  assert.equal(course.resources.memory_gb, 3);

  // A participant leaves, told first what that means for their server and files.
  const student = await logIn(browser, 's2', courseUrl);
  let asked = '';
  student.on('dialog', (d) => {
    asked = d.message();
    void d.accept();
  });
  await student.click('.leave-course summary');
  await Promise.all([student.waitForURL((u) => u.pathname === '/hub/courses'), student.click('#leave-course')]);
  assert.match(asked, /course server stops/);
  assert.match(asked, /archive/);
  const names = ((await api('/courses/stats1/participants', teacher)).json as Array<{ name: string }>).map((m) => m.name);
  assert.ok(!names.includes('s2'), names.join(' '));
});
