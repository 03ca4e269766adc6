/**
 * Course hubs in Chromium. A teacher requests a course through the form (first with a mistake the
 * form points out), governance approves it, a student applies with the join link, the teacher
 * accepts them; once the course starts (the test moves the hub's clock to its start date) the student
 * starts their course server from the home page and finds the course content cloned from its git
 * repository. Then the review decisions, editing a request sent back, join codes, participants and
 * cancelling, all in the browser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, adminServiceConfig } from '../helpers/fixtures.js';
import { advanceClockTo, makeContentRepo } from '../helpers/courses.js';
import { tempDir } from '../helpers/tmp.js';

const SLUG = 'intro-py';
const REPO_NAME = 'intro-course';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A datetime-local value, in UTC as the form reads it. */
function utcInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

async function logIn(browser: Browser, name: string, url: string, expect: RegExp): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(url);
  assert.match(page.url(), /\/hub\/login/, `${name} is asked to log in first`);
  await page.fill('input[name=username]', name);
  await page.fill('input[name=password]', 'anything');
  await Promise.all([page.waitForURL(expect), page.click('button[type=submit], input[type=submit]')]);
  return page;
}

test('a course from request to review, join link, acceptance and the participant’s notebook', { timeout: 300_000 }, async (t) => {
  const tmp = await tempDir('ganymede-course-content-');
  t.after(() => tmp.cleanup());
  const repo = makeContentRepo(tmp.path, REPO_NAME);

  const admin = adminServiceConfig();
  const hub = await startHub({
    // The test moves the hub's clock to the course's start; the scheduler runs only then (and after the approval).
    clock: {},
    config: {
      ...admin,
      authenticator: { class: 'dummy' },
      spawner: REAL_SPAWNER,
      courses: { enabled: true, scheduler_interval: 3600, environments: { python: { description: 'Python 3' } }, allow_file_repos: true },
      load_roles: [...(admin.load_roles as object[]), { name: 'course-requester', users: ['teacher'] }, { name: 'course-governance', users: ['gov'] }],
    },
  });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  // The teacher requests a course, on a phone-sized screen.
  const teacher = await logIn(browser, 'teacher', `${hub.url}hub/courses`, /\/hub\/courses$/);
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/new$/), teacher.click('#request-course')]);
  assert.ok(await teacher.evaluate(() => document.documentElement.scrollWidth <= 390), 'the request form fits a 390 px wide screen');

  await teacher.fill('#course-title', 'Introduction to Python');
  await teacher.fill('#course-slug', SLUG);
  await teacher.fill('#course-description', 'Variables, loops and functions.');
  await teacher.fill('#course-starts-at', utcInput(hub.now() + HOUR));
  await teacher.fill('#course-ends-at', utcInput(hub.now() + 10 * MINUTE));
  await teacher.fill('#course-expected-participants', '5');
  await teacher.selectOption('#course-environment', 'python');
  await teacher.fill('#course-content-repo-url', `file://${repo}`);
  await teacher.fill('#course-content-repo-branch', 'main');
  await teacher.check('#course-accepted-terms-version');
  const refused = await Promise.all([teacher.waitForResponse((r) => r.request().method() === 'POST'), teacher.click('button[type=submit]')]);
  assert.equal(refused[0].status(), 400);
  await teacher.waitForLoadState();
  assert.match((await teacher.textContent('#course-ends-at-error')) ?? '', /after the start/, 'the problem shows next to the end date');
  assert.equal(await teacher.inputValue('#course-title'), 'Introduction to Python', 'what was typed is kept');
  assert.ok(await teacher.isChecked('#course-accepted-terms-version'));

  // Starts in two days (prepared a day before, prepare_before's default) and lasts two weeks.
  await teacher.fill('#course-starts-at', utcInput(hub.now() + 2 * DAY));
  await teacher.fill('#course-ends-at', utcInput(hub.now() + 16 * DAY));
  await Promise.all([teacher.waitForURL(new RegExp(`/hub/courses/${SLUG}$`)), teacher.click('button[type=submit]')]);
  assert.equal(await teacher.getAttribute('#course', 'data-state'), 'pending');

  // Governance approves it from the review page.
  const gov = await logIn(browser, 'gov', `${hub.url}hub/courses/review`, /\/hub\/courses\/review$/);
  const item = gov.locator(`.review-item[data-course="${SLUG}"]`);
  assert.match((await item.textContent()) ?? '', /Introduction to Python/);
  await item.locator('textarea[name=comment]').first().fill('Enjoy!');
  await Promise.all([gov.waitForURL(/\/hub\/courses\/review$/), item.locator('button:has-text("Approve")').click()]);
  assert.equal(await gov.locator(`.review-item[data-course="${SLUG}"]`).count(), 0, 'the approved request leaves the review page');
  const approved = await hub.api(`/courses/${SLUG}`, { token: ADMIN_TOKEN });
  assert.equal(approved.json.state, 'scheduled', 'two days ahead, nothing is due yet');
  const startsAt = Date.parse(approved.json.starts_at as string);

  // The teacher's page shows the join link; a student applies with it.
  await teacher.reload();
  const joinUrl = await teacher.inputValue('#join-url');
  assert.ok(await teacher.evaluate(() => document.documentElement.scrollWidth <= 390), 'the course page fits a 390 px wide screen');
  assert.match(joinUrl, new RegExp(`/hub/courses/${SLUG}/join\\?code=\\w+`));
  const student = await logIn(browser, 'student', joinUrl, new RegExp(`/hub/courses/${SLUG}/join`));
  // The terms of use must be accepted to apply: the box is required, and the version is recorded.
  await student.click('#apply');
  assert.ok(await student.evaluate(() => !(document.getElementById('accept-terms') as HTMLInputElement).validity.valid), 'the browser asks for the terms first');
  await student.check('#accept-terms');
  await Promise.all([student.waitForURL(new RegExp(`/hub/courses/${SLUG}$`)), student.click('#apply')]);
  assert.match((await student.textContent('#my-status')) ?? '', /waiting for the teacher/);

  // The teacher accepts the student.
  await teacher.reload();
  const row = teacher.locator('tr[data-participant="student"]');
  await Promise.all([teacher.waitForURL(new RegExp(`/hub/courses/${SLUG}`)), row.locator('button:has-text("Accept")').click()]);
  await teacher.waitForLoadState();
  assert.match((await teacher.locator('tr[data-participant="student"]').textContent()) ?? '', /Accepted/);

  await advanceClockTo(hub, startsAt + MINUTE);
  assert.equal((await hub.api(`/courses/${SLUG}`, { token: ADMIN_TOKEN })).json.state, 'active', 'a minute after its start');

  // The student starts the course server from the home page and finds the content.
  await student.goto(`${hub.url}hub/home`);
  const course = student.locator(`#my-courses tr[data-course="${SLUG}"]`);
  assert.match((await course.textContent()) ?? '', /Introduction to Python/);
  await Promise.all([student.waitForURL(new RegExp(`/user/student/${SLUG}/(tree|lab)`), { timeout: 90_000 }), course.locator('a:has-text("Start")').click()]);
  await student.goto(`${hub.url}user/student/${SLUG}/tree/${REPO_NAME}`);
  await student.locator('text=intro.ipynb').first().waitFor({ timeout: 30_000 });
  const listing = await student.request.get(`${hub.url}user/student/${SLUG}/api/contents/${REPO_NAME}`);
  assert.equal(listing.status(), 200);
  const names = ((await listing.json()) as { content: Array<{ name: string }> }).content.map((f) => f.name);
  assert.ok(names.includes('intro.ipynb'), `the course folder holds ${names.join(', ')}`);

  // Back on the home page, the course server shows as running, with Open.
  await student.goto(`${hub.url}hub/home`);
  assert.match((await student.locator(`#my-courses tr[data-course="${SLUG}"]`).textContent()) ?? '', /Running/);
});

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');

/** Fills and sends the request form for a course starting in two days (so approving it prepares nothing yet). */
async function requestCourse(page: Page, hubUrl: string, slug: string, title: string): Promise<void> {
  await page.goto(`${hubUrl}hub/courses/new`);
  await page.fill('#course-title', title);
  await page.fill('#course-slug', slug);
  await page.fill('#course-starts-at', utcInput(Date.now() + 2 * DAY).slice(0, 16));
  await page.fill('#course-ends-at', utcInput(Date.now() + 3 * DAY).slice(0, 16));
  await page.check('#course-accepted-terms-version');
  await Promise.all([page.waitForURL(new RegExp(`/hub/courses/${slug}$`)), page.click('button[type=submit]')]);
}

test('review decisions, editing a sent-back request, join codes, participants and cancelling', { timeout: 120_000 }, async (t) => {
  const admin = adminServiceConfig();
  const hub = await startHub({
    config: {
      ...admin,
      authenticator: { class: 'dummy' },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      courses: { enabled: true, environments: { python: { description: 'Python 3' } } },
      load_roles: [...(admin.load_roles as object[]), { name: 'course-requester', users: ['teacher'] }, { name: 'course-governance', users: ['gov'] }],
    },
  });
  t.after(() => hub.stop());
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const state = async (slug: string) => (await hub.api(`/courses/${slug}`, { token: ADMIN_TOKEN })).json.state as string;

  const teacher = await logIn(browser, 'teacher', `${hub.url}hub/courses`, /\/hub\/courses$/);
  teacher.on('dialog', (d) => void d.accept());
  assert.equal((await teacher.goto(`${hub.url}hub/courses/review`))?.status(), 403, 'only governance reviews');
  await requestCourse(teacher, hub.url, 'second', 'Second course');
  await requestCourse(teacher, hub.url, 'third', 'Third course');

  // Governance sends one back and rejects the other; a reason is required for both.
  const gov = await logIn(browser, 'gov', `${hub.url}hub/courses/review`, /\/hub\/courses\/review$/);
  assert.equal(await gov.locator('.review-item').count(), 2);
  await gov.goto(`${hub.url}hub/courses/second`);
  await gov.fill('#comment-second', 'Ask for 3 GB of memory.');
  await Promise.all([gov.waitForURL(/\/hub\/courses\/second$/), gov.click('button:has-text("Send back for changes")')]);
  assert.equal(await state('second'), 'changes_requested');
  await gov.goto(`${hub.url}hub/courses/review`);
  const third = gov.locator('.review-item[data-course="third"]');
  await third.locator('textarea[name=reason]').fill('Not this term.');
  await Promise.all([gov.waitForURL(/\/hub\/courses\/review$/), third.locator('button:has-text("Reject")').click()]);
  assert.equal(await state('third'), 'rejected');

  // The teacher reads the comment, edits the prefilled request, which resubmits it.
  await teacher.goto(`${hub.url}hub/courses/second`);
  assert.match((await teacher.textContent('#review-comment')) ?? '', /3 GB of memory/);
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second\/edit$/), teacher.click('#edit-course')]);
  assert.equal(await teacher.inputValue('#course-title'), 'Second course');
  await teacher.fill('#course-resources-memory-gb', '3');
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second$/), teacher.click('button[type=submit]')]);
  assert.equal(await state('second'), 'pending');
  assert.equal((await hub.api('/courses/second', { token: ADMIN_TOKEN })).json.resources.memory_gb, 3);

  await gov.goto(`${hub.url}hub/courses/second`);
  await Promise.all([gov.waitForURL(/\/hub\/courses\/second$/), gov.click('button:has-text("Approve")')]);
  assert.equal(await state('second'), 'scheduled');

  // Auto-accept, then a new code: the old link stops working.
  await teacher.reload();
  const oldLink = await teacher.inputValue('#join-url');
  await teacher.click('summary:has-text("Change the code")');
  await teacher.check('input[name=auto_accept]');
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second/), teacher.click('button:has-text("New code")')]);
  const link = await teacher.inputValue('#join-url');
  assert.notEqual(link, oldLink);
  const first = await logIn(browser, 'first', link, /\/hub\/courses\/second\/join/);
  assert.equal((await first.goto(oldLink))?.status(), 404, 'the old link no longer works');
  await first.goto(link);
  await first.check('#accept-terms');
  await Promise.all([first.waitForURL(/\/hub\/courses\/second$/), first.click('#apply:has-text("Join")')]);
  assert.match((await first.textContent('#my-status')) ?? '', /You are a participant/);

  // Without auto-accept, an applicant waits; the teacher rejects them in bulk and removes the first.
  await teacher.reload();
  await teacher.click('summary:has-text("Change the code")');
  await teacher.uncheck('input[name=auto_accept]');
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second/), teacher.click('button:has-text("Save settings")')]);
  assert.equal(await teacher.inputValue('#join-url'), link, 'saving settings keeps the code');
  const second = await logIn(browser, 'second-student', link, /\/hub\/courses\/second\/join/);
  await second.check('#accept-terms');
  await Promise.all([second.waitForURL(/\/hub\/courses\/second$/), second.click('#apply:has-text("Apply")')]);
  await teacher.reload();
  await teacher.check('tr[data-participant="second-student"] input[name=users]');
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second/), teacher.click('button:has-text("Reject selected")')]);
  assert.match((await teacher.textContent('tr[data-participant="second-student"]')) ?? '', /Rejected/);
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second/), teacher.click('tr[data-participant="first"] button:has-text("Remove")')]);
  assert.equal(await teacher.locator('tr[data-participant="first"]').count(), 0);
  await second.reload();
  assert.match((await second.textContent('#my-status')) ?? '', /not accepted/);

  // The teacher cancels the course.
  await teacher.click('summary:has-text("Cancel the course")');
  await teacher.fill('#cancel-reason', 'Too few participants.');
  await Promise.all([teacher.waitForURL(/\/hub\/courses\/second/), teacher.click('button:has-text("Cancel the course")')]);
  assert.equal(await state('second'), 'cancelled');
  assert.equal(await teacher.getAttribute('#course', 'data-state'), 'cancelled');
});
