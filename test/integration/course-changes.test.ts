/**
 * Changes to a course after its approval, through the API and with their e-mails, on the hub's clock:
 * a running course's end and participant limit are changed (proposed by the teacher, shown to
 * governance with the load, approved, applied: the end step moves and the limit holds); a rejected
 * change leaves the course as it was; changes that break a rule are refused by field; a change the
 * site lets through without review applies at once. A course whose preparation failed (its content
 * repository missing) gets a fixed repository and is retried: it goes back through preparation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { tempDir } from '../helpers/tmp.js';
import { advanceClockTo, courseBody, courseRoles, courseSmtp, homeTrusting, makeContentRepo, userToken } from '../helpers/courses.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const MINUTE = 60_000;
const DAY = 86_400_000;

test('an approved course changes only through review, and a failed one is retried', { timeout: 180_000 }, async (t) => {
  const smtp = await startSmtpSink();
  t.after(() => smtp.close());
  const work = await tempDir();
  t.after(() => work.cleanup());
  chmodSync(work.path, 0o755);
  const repo = makeContentRepo(work.path);
  const hubHome = homeTrusting(work.path, repo);
  const hub = await startHub({
    clock: {},
    env: { HOME: hubHome },
    config: {
      authenticator: { class: 'dummy' },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      ...courseRoles(),
      courses: {
        enabled: true,
        environments: { python: { description: 'Python 3' } },
        scheduler_interval: 3600,
        allow_file_repos: true,
        terms_of_use: { version: '2026-1' },
        capacity: { cpu: 5, memory_gb: 100, storage_gb: 100, gpu: 0 },
        changes_without_review: ['description'],
        smtp: courseSmtp(smtp.port),
      },
    },
  });
  t.after(() => hub.stop());
  assert.equal((await hub.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: ['teacher', 'gov', 's1', 's2'] } })).status, 201);
  const [teacher, gov, s1] = await Promise.all(['teacher', 'gov', 's1'].map((n) => userToken(hub, n)));
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  const course = async (slug = 'stats1') => (await as(ADMIN_TOKEN)(`/courses/${slug}`)).json;
  const mailTo = (address: string, subjectPart: string) => smtp.waitFor((m) => m.to.includes(address) && m.subject.includes(subjectPart), 30_000);

  const created = await as(teacher)('/courses', 'POST', courseBody('stats1', 3 * DAY, 28 * DAY, { expected_participants: 3 }, hub.now()));
  assert.equal(created.status, 201, created.text);
  // The course's own dates: the hub's clock moves on between any two reads of it.
  const starts = Date.parse(created.json.starts_at as string);
  const ends = Date.parse(created.json.ends_at as string);
  assert.equal((await as(gov)('/courses/stats1/approve', 'POST', {})).status, 200);
  const join = (await course()).join as { code: string };
  for (const [name, token] of [['s1', s1], ['s2', await userToken(hub, 's2')]] as const) {
    assert.equal((await as(token!)('/courses/stats1/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 202, name);
  }
  assert.equal((await as(teacher)('/courses/stats1/participants/accept', 'POST', { users: ['s1', 's2'] })).status, 200);
  await advanceClockTo(hub, starts + MINUTE);
  assert.equal((await course()).state, 'active');

  await t.test('changes that break a rule are refused by field, and change nothing', async () => {
    const refused: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ expected_participants: 1 }, 'expected_participants', /At least the 2 participants accepted already/],
      [{ starts_at: new Date(starts + DAY).toISOString() }, 'starts_at', /has started/],
      // After the start, but already past.
      [{ ends_at: new Date(hub.now() - 30_000).toISOString() }, 'ends_at', /in the future/],
      [{ resources: { cpu: 2, memory_gb: 2, storage_gb: 1, gpu: 0 } }, 'resources.cpu', /needs 6 CPUs .* more than the site's 5/],
      [{ slug: 'other' }, 'slug', /cannot change/],
      [{ title: 'Statistics stats1' }, 'request', /Nothing to change/],
    ];
    for (const [body, field, message] of refused) {
      const res = await as(teacher)('/courses/stats1/changes', 'POST', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.json.errors[field], message, JSON.stringify(res.json.errors));
    }
    assert.deepEqual((await as(teacher)('/courses/stats1/changes')).json, [], 'nothing recorded');
    const student = await as(s1)('/courses/stats1/changes', 'POST', { title: 'Mine now' });
    assert.ok([403, 404].includes(student.status), `a participant may not change the course: ${student.status}`);
  });

  await t.test('a change to the end and the limit: proposed, shown to governance, approved, applied', async () => {
    const newEnd = new Date(ends + 7 * DAY).toISOString();
    const proposed = await as(teacher)('/courses/stats1/changes', 'POST', { ends_at: newEnd, expected_participants: 5 });
    assert.equal(proposed.status, 201, proposed.text);
    assert.equal(proposed.json.state, 'pending');
    assert.equal(proposed.json.requested_by, 'teacher');
    assert.deepEqual(proposed.json.changes, { ends_at: newEnd, expected_participants: 5 });
    assert.deepEqual(proposed.json.previous, { ends_at: new Date(ends).toISOString(), expected_participants: 3 });
    assert.equal((await course()).ends_at, new Date(ends).toISOString(), 'nothing applies before review');
    const mail = await mailTo('governance@uni.example', 'Change requested');
    assert.match(mail.text, /expected_participants: 3 → 5/);

    // Governance sees the change beside the course and its load.
    const seen = await as(gov)('/courses/stats1/changes');
    assert.equal(seen.json[0].state, 'pending');
    assert.ok((await as(gov)('/courses/stats1')).json.load, 'the load against capacity');
    assert.equal((await as(teacher)(`/courses/stats1/changes/${proposed.json.id}/approve`, 'POST', {})).status, 403, 'a teacher does not approve');

    const approved = await as(gov)(`/courses/stats1/changes/${proposed.json.id}/approve`, 'POST', { comment: 'fine' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.state, 'approved');
    assert.equal(approved.json.decided_by, 'gov');
    const now = await course();
    assert.equal(now.ends_at, newEnd);
    assert.equal(now.participants.limit, 5);
    await mailTo('teacher@uni.example', 'was approved');
    const again = await as(gov)(`/courses/stats1/changes/${proposed.json.id}/approve`, 'POST', {});
    assert.equal(again.status, 409);
    const events = ((await as(teacher)('/courses/stats1/events')).json as Array<{ action: string }>).map((e) => e.action);
    assert.ok(events.includes('change_requested') && events.includes('change_approved'), events.join(' '));
  });

  await t.test('a rejected change leaves the course as it was', async () => {
    const proposed = await as(teacher)('/courses/stats1/changes', 'POST', { title: 'Statistics, extended' });
    assert.equal(proposed.status, 201);
    assert.equal((await as(gov)(`/courses/stats1/changes/${proposed.json.id}/reject`, 'POST', {})).status, 400, 'a rejection says why');
    const rejected = await as(gov)(`/courses/stats1/changes/${proposed.json.id}/reject`, 'POST', { comment: 'keep the title of the catalogue' });
    assert.equal(rejected.status, 200, rejected.text);
    assert.equal(rejected.json.state, 'rejected');
    assert.equal((await course()).title, 'Statistics stats1');
    const mail = await mailTo('teacher@uni.example', 'was not approved');
    assert.match(mail.text, /keep the title of the catalogue/);
  });

  await t.test('a change the site lets through without review applies at once', async () => {
    const res = await as(teacher)('/courses/stats1/changes', 'POST', { description: 'Now with exercises' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.state, 'approved');
    assert.equal((await course()).description, 'Now with exercises');
    await mailTo('governance@uni.example', 'Course changed');
  });

  await t.test('the end step follows the new end date', async () => {
    await advanceClockTo(hub, ends + MINUTE);
    assert.equal((await course()).state, 'active', 'not at the old end');
    await advanceClockTo(hub, ends + 7 * DAY + MINUTE);
    assert.equal((await course()).state, 'ended', 'at the new one');
  });

  await t.test('a course whose preparation failed is fixed and retried', async () => {
    const start2 = hub.now() + 3 * DAY;
    const missing = `file://${path.join(work.path, 'no-such-repo')}`;
    const body = courseBody('stats2', start2 - hub.now(), 10 * DAY, { content_repo: { url: missing, branch: 'main' } }, hub.now());
    assert.equal((await as(teacher)('/courses', 'POST', body)).status, 201);
    assert.equal((await as(gov)('/courses/stats2/approve', 'POST', {})).status, 200);
    await advanceClockTo(hub, start2 - DAY + MINUTE);
    assert.equal((await course('stats2')).state, 'failed');
    assert.match((await course('stats2')).failure, /no-such-repo|repository/i);
    const early = await as(teacher)('/courses/stats2/retry', 'POST', {});
    assert.equal(early.status, 200, 'a retry with the same repository is allowed: it fails again at preparation');
    await waitFor(async () => (await course('stats2')).state === 'failed', 30_000, 'the retry to fail again');

    const fix = await as(teacher)('/courses/stats2/changes', 'POST', { content_repo: { url: `file://${repo}`, branch: 'main' } });
    assert.equal(fix.status, 201, fix.text);
    assert.equal((await as(gov)(`/courses/stats2/changes/${fix.json.id}/approve`, 'POST', {})).status, 200);
    const retried = await as(teacher)('/courses/stats2/retry', 'POST', {});
    assert.equal(retried.status, 200, retried.text);
    await waitFor(async () => (await course('stats2')).state === 'ready', 30_000, 'the course to be prepared');
    assert.equal((await course('stats2')).failure, null);
    assert.equal((await as(teacher)('/courses/stats2/retry', 'POST', {})).status, 409, 'only a failed course is retried');
  });
});
