/**
 * Course requests and actions that must be refused, and the hub's robustness around them: every bad
 * request is a 4xx JSON error with a message and changes nothing; with the SMTP server down the
 * workflow completes and the failure is logged; a course step that fell due while the hub was down
 * happens when it starts again. The tests share one hub (its SMTP server is down throughout, which
 * the bad-input tests do not notice); the last one stops it and starts it again nine days later.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, waitFor } from '../helpers/fixtures.js';
import { courseBody, courseRoles } from '../helpers/courses.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function hubWithCourses(extra: Record<string, unknown> = {}, dataDir?: string, clock?: { offsetMs?: number }): Promise<HubProcess> {
  return startHub({
    dataDir,
    clock,
    config: {
      authenticator: { class: 'dummy' },
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      ...courseRoles(['teacher', 'other']),
      courses: {
        enabled: true,
        environments: { python: { description: 'Python 3' } },
        limits: { cpu: 2, memory_gb: 4, storage_gb: 5, gpu: 0 },
        max_participants: 50,
        max_duration_days: 100,
        // An hour: no periodic tick happens during a test; the catch-up at start and the tick after an approval do.
        scheduler_interval: 3600,
        prepare_before: 2,
        terms_of_use: { version: '2026-1' },
        ...extra,
      },
    },
  });
}

async function tokens(hub: HubProcess, names: string[]): Promise<Record<string, string>> {
  await hub.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: names } });
  const out: Record<string, string> = {};
  for (const n of names) out[n] = (await hub.api(`/users/${n}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: {} })).json.token as string;
  return out;
}

// No SMTP server listens on this port: every notice fails and is given up after one retry.
const DEAD_SMTP = (port: number) => ({ smtp: { host: '127.0.0.1', port, from: 'hub@uni.example', governance: ['gov@uni.example'], user_email_template: '{username}@uni.example', retries: 1, retry_delay: 0.1 } });

let hub: HubProcess;
let tok: Record<string, string>;
before(async () => {
  hub = await hubWithCourses(DEAD_SMTP(await freePort()));
  tok = await tokens(hub, ['teacher', 'other', 'gov', 'student', 'nobody']);
});
after(() => hub.stop());

test('bad course input is refused with a message and changes nothing', { timeout: 120_000 }, async (t) => {
  const as = (who: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: who === 'admin' ? ADMIN_TOKEN : tok[who], body });
  const count = async () => ((await as('admin')('/courses')).json as unknown[]).length;

  assert.equal((await as('teacher')('/courses', 'POST', courseBody('algebra', HOUR, 10 * HOUR))).status, 201);
  assert.equal((await as('other')('/courses', 'POST', courseBody('physics', HOUR, 10 * HOUR, { expected_participants: 1 }))).status, 201);
  assert.equal((await as('gov')('/courses/physics/approve', 'POST', {})).status, 200);

  await t.test('every request field is checked', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['start in the past', courseBody('case-1', -HOUR, HOUR), 'starts_at'],
      ['end before start', { ...courseBody('case-2', HOUR, HOUR), ends_at: new Date(Date.now() + HOUR / 2).toISOString() }, 'ends_at'],
      ['too long', courseBody('case-3', HOUR, 101 * 24 * HOUR), 'ends_at'],
      ['not a date', { ...courseBody('case-4', HOUR, HOUR), starts_at: 'next monday' }, 'starts_at'],
      ['invalid slug', courseBody('Bad_Slug!', HOUR, HOUR), 'slug'],
      ['slug too short', courseBody('ab', HOUR, HOUR), 'slug'],
      ['duplicate slug', courseBody('algebra', HOUR, HOUR), 'slug'],
      ['too many CPUs', courseBody('case-5', HOUR, HOUR, { resources: { cpu: 3, memory_gb: 1, storage_gb: 1, gpu: 0 } }), 'resources.cpu'],
      ['too much memory', courseBody('case-6', HOUR, HOUR, { resources: { cpu: 1, memory_gb: 99, storage_gb: 1, gpu: 0 } }), 'resources.memory_gb'],
      ['a GPU', courseBody('case-7', HOUR, HOUR, { resources: { cpu: 1, memory_gb: 1, storage_gb: 1, gpu: 1 } }), 'resources.gpu'],
      ['too many participants', courseBody('case-8', HOUR, HOUR, { expected_participants: 51 }), 'expected_participants'],
      ['no participants', courseBody('case-9', HOUR, HOUR, { expected_participants: 0 }), 'expected_participants'],
      ['unknown environment', courseBody('case-10', HOUR, HOUR, { environment: 'matlab' }), 'environment'],
      ['custom image missing', courseBody('case-11', HOUR, HOUR, { environment: 'custom' }), 'custom_image'],
      ['terms not accepted', courseBody('case-12', HOUR, HOUR, { accepted_terms_version: '2025-1' }), 'accepted_terms_version'],
      ['file repository', courseBody('case-13', HOUR, HOUR, { content_repo: { url: 'file:///etc', branch: 'main' } }), 'content_repo.url'],
      ['option as branch', courseBody('case-14', HOUR, HOUR, { content_repo: { url: 'https://example.org/r.git', branch: '--upload-pack=x' } }), 'content_repo.branch'],
      ['unknown co-teacher', courseBody('case-15', HOUR, HOUR, { co_teachers: ['ghost'] }), 'co_teachers'],
      ['unknown field', { ...courseBody('case-16', HOUR, HOUR), budget: 5 }, 'request'],
    ];
    const before = await count();
    for (const [what, body, field] of cases) {
      const res = await as('teacher')('/courses', 'POST', body);
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(typeof res.json.message, 'string', what);
      assert.ok(field in res.json.errors, `${what}: errors name ${field}: ${JSON.stringify(res.json.errors)}`);
    }
    const invalidJson = await fetch(`${hub.url}hub/api/courses`, { method: 'POST', headers: { Authorization: `token ${tok.teacher}` }, body: '{"title":' });
    assert.equal(invalidJson.status, 400);
    assert.equal(await count(), before, 'no course was created');
  });

  await t.test('only requesters request; only governance reviews', async () => {
    const res = await as('student')('/courses', 'POST', courseBody('mine', HOUR, HOUR));
    assert.equal(res.status, 403);
    assert.match(res.json.message, /courses:request/);
    assert.equal((await as('gov')('/courses/algebra/reject', 'POST', {})).status, 400, 'a rejection needs a reason');
    assert.equal((await as('gov')('/courses/algebra/comment', 'POST', { comment: '  ' })).status, 400, 'a comment needs text');
    const twice = await as('gov')('/courses/physics/approve', 'POST', {});
    assert.equal(twice.status, 409);
    assert.match(twice.json.message, /cannot be approved/);
    assert.equal((await as('admin')('/courses/algebra')).json.state, 'pending');
  });

  await t.test("a teacher cannot act on another teacher's course", async () => {
    const before = JSON.stringify((await as('admin')('/courses/physics')).json);
    const attempts: Array<[string, string, unknown?]> = [
      ['/courses/physics', 'PATCH', { title: 'Mine now' }],
      ['/courses/physics/cancel', 'POST', {}],
      ['/courses/physics/participants', 'GET'],
      ['/courses/physics/join-code', 'POST', {}],
      ['/courses/physics/archive', 'GET'],
      ['/courses/physics/approve', 'POST', {}],
    ];
    for (const [p, method, body] of attempts) {
      const res = await as('teacher')(p, method, body);
      assert.ok(res.status === 404 || res.status === 403, `${method} ${p}: ${res.status}`);
      assert.equal(typeof res.json.message, 'string');
    }
    assert.equal(JSON.stringify((await as('admin')('/courses/physics')).json), before, 'the course is unchanged');
  });

  await t.test('an edit with a bad field changes nothing', async () => {
    const before = (await as('teacher')('/courses/algebra')).json;
    const res = await as('teacher')('/courses/algebra', 'PATCH', { title: 'Algebra II', expected_participants: 1000 });
    assert.equal(res.status, 400);
    assert.ok('expected_participants' in res.json.errors);
    assert.equal((await as('teacher')('/courses/algebra')).json.title, before.title);
    const renamed = await as('teacher')('/courses/algebra', 'PATCH', { slug: 'other-slug' });
    assert.equal(renamed.status, 400);
  });

  await t.test('wrong and expired join codes, and the participant limit', async () => {
    const join = (await as('other')('/courses/physics')).json.join as { code: string };
    assert.equal((await as('student')('/courses/physics/participants', 'POST', { code: 'abcdefghjk', accepted_terms_version: '2026-1' })).status, 404);
    assert.equal((await as('student')('/courses/physics/participants', 'POST', {})).status, 404);
    assert.equal((await as('student')('/courses/nope/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 404);
    assert.equal((await as('student')('/courses/algebra/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 404, "physics' code does not open algebra");
    assert.equal((await as('student')('/courses/physics/participants', 'POST', { code: join.code, email: 'not-an-address', accepted_terms_version: '2026-1' })).status, 400);
    assert.equal((await as('student')('/courses/physics/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 202);
    assert.equal((await as('student')('/courses/physics/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 409, 'applied already');
    assert.equal((await as('nobody')('/courses/physics/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 202);
    assert.equal((await as('other')('/courses/physics/participants/accept', 'POST', { users: ['student'] })).status, 200);
    const full = await as('other')('/courses/physics/participants/accept', 'POST', { users: ['nobody'] });
    assert.equal(full.status, 409);
    assert.match(full.json.message, /limit of 1/);
    assert.equal((await as('other')('/courses/physics/participants/accept', 'POST', { users: ['ghost'] })).status, 404);
    assert.equal((await as('other')('/courses/physics/participants/accept', 'POST', { users: 'nobody' })).status, 400);
    const rotated = await as('other')('/courses/physics/join-code', 'POST', { expires_at: new Date(Date.now() - 1000).toISOString() });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.json.code, join.code, 'rotated');
    assert.equal((await as('nobody')('/courses/physics/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' })).status, 404, 'the old code is dead');
    const expired = await as('nobody')('/courses/physics/participants', 'POST', { code: rotated.json.code, accepted_terms_version: '2026-1' });
    assert.equal(expired.status, 410);
    assert.match(expired.json.message, /expired/);
    const members = (await as('other')('/courses/physics/participants')).json as Array<{ name: string; status: string }>;
    assert.deepEqual(members.filter((m) => m.name !== 'other').map((m) => [m.name, m.status]).sort(), [['nobody', 'applied'], ['student', 'accepted']]);
  });

  await t.test('guessing join codes is limited per account: past the limit every attempt gets 429', async () => {
    const join = (await as('other')('/courses/physics')).json.join as { code: string };
    for (let i = 0; i < 10; i++) {
      const res = await as('gov')('/courses/physics/participants', 'POST', { code: `wrongcode${i}` });
      assert.equal(res.status, 404, `guess ${i}`);
    }
    const blocked = await as('gov')('/courses/physics/participants', 'POST', { code: join.code, accepted_terms_version: '2026-1' });
    assert.equal(blocked.status, 429);
    assert.match(blocked.json.message, /Too many failed attempts/);
  });

  await t.test("a member's token made for something else reads none of the member's courses", async () => {
    assert.equal((await as('student')('/courses/physics')).status, 200, 'the member reads the course with a full token');
    const narrow = await hub.api('/users/student/tokens', { method: 'POST', token: tok.student, body: { scopes: ['read:users:name!user=student'] } });
    assert.equal(narrow.status, 201);
    const token = narrow.json.token as string;
    assert.equal((await hub.api('/courses/physics', { token })).status, 404);
    assert.deepEqual((await hub.api('/courses', { token })).json, []);
  });
});

test('with the SMTP server down the workflow completes and the failure is logged', { timeout: 60_000 }, async () => {
  assert.equal((await hub.api('/courses', { method: 'POST', token: tok.teacher, body: courseBody('bio', HOUR, HOUR) })).status, 201);
  const approved = await hub.api('/courses/bio/approve', { method: 'POST', token: tok.gov, body: {} });
  assert.equal(approved.status, 200);
  assert.equal(approved.json.state, 'scheduled');
  // The approval notice of this course is given up after its one retry (the hub logs a JSON object a
  // line; the last line may still be incomplete).
  const gaveUp = () =>
    (hub.stdout() + hub.stderr())
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; course?: string; notice?: string })
      .some((l) => l.course === 'bio' && l.notice === 'approved' && l.msg === 'course notice not sent after 2 attempts, giving up');
  await waitFor(gaveUp, 30_000, 'the give-up of the approval notice in the log');
  assert.doesNotMatch(hub.stdout() + hub.stderr(), /"level":(50|60).*unhandled/, 'no unhandled error');
});

test('a course step that fell due while the hub was down happens at start', { timeout: 60_000 }, async () => {
  // Starts tomorrow and lasts a week.
  assert.equal((await hub.api('/courses', { method: 'POST', token: tok.teacher, body: courseBody('chem', DAY, 7 * DAY) })).status, 201);
  assert.equal((await hub.api('/courses/chem/approve', { method: 'POST', token: tok.gov, body: {} })).status, 200);
  assert.equal((await hub.api('/courses/chem', { token: ADMIN_TOKEN })).json.state, 'scheduled');
  await hub.stop();
  // The hub comes back nine days later (its clock moved), after the start and the end of the course.
  hub = await hubWithCourses(DEAD_SMTP(await freePort()), hub.dataDir, { offsetMs: 9 * DAY });
  // The interval is an hour and the test does not drive the clock: only the catch-up at start can
  // move the course (it runs in the background, hence the wait).
  await waitFor(async () => (await hub.api('/courses/chem', { token: ADMIN_TOKEN })).json.state === 'ended', 20_000, 'the course ended at start');
  const events = (await hub.api('/courses/chem/events', { token: ADMIN_TOKEN })).json as Array<{ action: string; actor: string }>;
  assert.deepEqual(events.filter((e) => e.actor === 'scheduler').map((e) => e.action), ['prepare', 'start', 'end']);
});
