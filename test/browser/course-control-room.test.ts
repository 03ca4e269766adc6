/**
 * The teacher's control room on the course page in Chromium, at a phone's width: "Start all" starts
 * every accepted participant's course server and reports each participant's result; a row's "Stop"
 * stops that participant's server only; "Stop all" stops the rest; without JavaScript the buttons post forms. The teacher e-mails two of the three participants and collects a hand-in from the same page; the participant downloads their collected copy from theirs. A participant's page has no
 * control room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';
import { advanceClockTo, courseBody, courseSmtp, mockCourseHubConfig, userToken } from '../helpers/courses.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const PARTICIPANTS = ['s1', 's2', 's3'];

async function logIn(browser: Browser, name: string, url: string, options: { javaScriptEnabled?: boolean } = {}): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, ...options })).newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${url.replace(/\/hub\/.*$/, '/hub/login')}?next=${encodeURIComponent(new URL(url).pathname)}`);
  await page.fill('#username_input', name);
  await Promise.all([page.waitForURL((u) => u.pathname === new URL(url).pathname), page.click('#login_submit')]);
  return page;
}

const stateOf = (page: Page, user: string) => page.locator(`#participant-servers tr[data-server-user="${user}"]`).getAttribute('data-state');

test("a teacher starts and stops participants' servers from the course page", { timeout: 120_000 }, async (t) => {
  const smtp = await startSmtpSink();
  t.after(() => smtp.close());
  const hub = await startHub({ clock: {}, config: mockCourseHubConfig({ smtp: courseSmtp(smtp.port) }) });
  t.after(() => hub.stop());
  const api = (p: string, token: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await api('/users', ADMIN_TOKEN, 'POST', { usernames: ['teacher', 'gov', ...PARTICIPANTS] })).status, 201);
  const [teacher, gov] = await Promise.all(['teacher', 'gov'].map((n) => userToken(hub, n)));
  const created = await api('/courses', teacher!, 'POST', courseBody('stats1', 2 * DAY, 14 * DAY, { expected_participants: 3 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  assert.equal((await api('/courses/stats1/approve', gov!, 'POST', {})).status, 200);
  const code = (await api('/courses/stats1', ADMIN_TOKEN)).json.join.code as string;
  for (const s of PARTICIPANTS) assert.equal((await api('/courses/stats1/participants', await userToken(hub, s), 'POST', { code, accepted_terms_version: '2026-1' })).status, 202);
  assert.equal((await api('/courses/stats1/participants/accept', teacher!, 'POST', { users: PARTICIPANTS })).status, 200);
  await advanceClockTo(hub, Date.parse(created.json.starts_at as string) + MINUTE);

  const browser = await launchBrowser();
  t.after(() => browser.close());
  const courseUrl = `${hub.url}hub/courses/stats1`;
  const page = await logIn(browser, 'teacher', courseUrl);
  const room = page.locator('#servers');
  assert.match(await room.locator('h2').innerText(), /0 of 3 running/);

  await room.getByRole('button', { name: 'Start all' }).click();
  // The page reloads once every participant has a result, and says what happened to each.
  const summary = page.locator('#servers-progress', { hasText: /^Start: / });
  await summary.waitFor();
  for (const s of PARTICIPANTS) assert.match(await summary.innerText(), new RegExp(`${s}: (Ready|Starting…)`));
  for (const s of PARTICIPANTS) {
    await page.waitForFunction(
      async (user) => {
        const res = await fetch(location.href);
        return new DOMParser().parseFromString(await res.text(), 'text/html').querySelector(`tr[data-server-user="${user}"]`)?.getAttribute('data-state') === 'running';
      },
      s,
      { polling: 250, timeout: 30_000 },
    );
  }
  await page.reload();
  assert.match(await room.locator('h2').innerText(), /3 of 3 running/);
  assert.equal(await room.locator('tr[data-server-user="s1"] a', { hasText: 'Open' }).count(), 1);

  await room.locator('tr[data-server-user="s2"]').getByRole('button', { name: 'Stop' }).click();
  await page.locator('#servers-progress', { hasText: 's2: Stopped' }).waitFor();
  assert.equal(await stateOf(page, 's2'), 'stopped');
  assert.equal(await stateOf(page, 's1'), 'running', 'only s2 stopped');

  await room.getByRole('button', { name: 'Stop all' }).click();
  await page.locator('#servers-progress', { hasText: /^Stop: / }).waitFor();
  for (const s of PARTICIPANTS) assert.equal(await stateOf(page, s), 'stopped');
  assert.match(await page.locator('#servers-progress').innerText(), /s2: Not running/);

  // A message to two of the three participants.
  await page.click('#message summary');
  await page.fill('#message-subject', 'Room change');
  await page.fill('#message-text', 'We meet in room 3 today.');
  await page.uncheck('#message-form input[name=users][value=s3]');
  await Promise.all([page.waitForURL((u) => u.hash === '#message-title'), page.click('#message-form button[type=submit]')]);
  assert.match(await page.locator('#message-sent').innerText(), /went to 2 participants/);
  for (const s of ['s1', 's2']) await smtp.waitFor((m) => m.subject === '[Course stats1] Room change' && m.to.includes(`${s}@uni.example`));
  assert.ok(!smtp.messages.some((m) => m.subject.includes('Room change') && m.to.includes('s3@uni.example')));

  // Without JavaScript the same buttons post the form, and the page comes back with the new states.
  assert.equal((await api('/users/s1/servers/stats1', teacher!, 'POST')).status, 201);
  const plain = await logIn(browser, 'teacher', courseUrl, { javaScriptEnabled: false });
  assert.equal(await stateOf(plain, 's1'), 'running');
  await Promise.all([plain.waitForURL((u) => u.hash === '#servers-title'), plain.locator('tr[data-server-user="s1"]').getByRole('button', { name: 'Stop' }).click()]);
  assert.equal(await stateOf(plain, 's1'), 'stopped');

  // Hand-in: s1 put a file into hand-in/ (made at the start); the teacher collects week1 on the page.
  writeFileSync(path.join(hub.dataDir, 'courses', 'stats1', 'home', 's1', 'hand-in', 'answer.txt'), 'mine');
  await page.fill('#collect-assignment', 'week1');
  await Promise.all([page.waitForURL((u) => u.hash === '#hand-in-title'), page.click('#collect-form button[type=submit]')]);
  assert.match(await page.locator('#hand-in li[data-assignment="week1"]').innerText(), /week1 collected .*, 1 participant$/);

  const participant = await logIn(browser, 's1', courseUrl);
  assert.equal(await participant.locator('#servers').count(), 0, 'participants have no control room');
  assert.equal(await participant.locator('#hand-in').count(), 0);
  const mine = participant.locator('#my-hand-ins li[data-assignment="week1"] a');
  const [download] = await Promise.all([participant.waitForEvent('download'), mine.click()]);
  assert.match(download.suggestedFilename(), /^stats1-week1-.*\.zip$/);
  const saved = await download.path();
  assert.ok(saved && readFileSync(saved).subarray(0, 2).toString() === 'PK', 'a zip');
});
