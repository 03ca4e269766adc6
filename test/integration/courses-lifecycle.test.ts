/**
 * Issue 7, acceptances 2 and 4: a course's whole life through the API, with the real
 * jupyterhub-singleuser and a real SMTP server. A teacher requests a course starting in a few
 * seconds, governance approves, it becomes ready then active on its dates, two students apply with
 * the code, one is accepted and one rejected; the accepted one's course server starts with the
 * content cloned from a local git repository, the teacher opens it, it stops at the end, is archived
 * after the retention time and deleted after that. Every notice arrives at the right address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startHub, type HubProcess } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, waitFor } from '../helpers/fixtures.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { tempDir } from '../helpers/tmp.js';
import { courseBody, makeContentRepo } from '../helpers/courses.js';

const SECOND = 1000;
const DAY_S = 86_400;

async function tokenFor(hub: HubProcess, name: string): Promise<string> {
  const res = await hub.api(`/users/${name}/tokens`, { method: 'POST', token: ADMIN_TOKEN, body: { note: 'test' } });
  assert.equal(res.status, 201, res.text);
  return res.json.token as string;
}

test('a course from request to deletion, with its e-mails', { timeout: 300_000 }, async (t) => {
  const smtp = await startSmtpSink();
  t.after(() => smtp.close());
  const work = await tempDir();
  t.after(() => work.cleanup());
  const repo = makeContentRepo(work.path);
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      spawner: { ...REAL_SPAWNER, poll_interval: 2 },
      services: [{ name: 'test-admin', api_token: ADMIN_TOKEN }],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        { name: 'course-requester', users: ['teacher'] },
        { name: 'course-governance', users: ['gov'] },
      ],
      courses: {
        enabled: true,
        environments: { python: { description: 'Python 3 with the scientific stack' } },
        scheduler_interval: 1,
        prepare_before: 3,
        retention_days: 4 / DAY_S,
        archive_keep_days: 4 / DAY_S,
        allow_file_repos: true,
        terms_of_use: { version: '2026-1' },
        smtp: { host: '127.0.0.1', port: smtp.port, from: 'Jupyter courses <jupyter@uni.example>', governance: ['governance@uni.example'], user_email_template: '{username}@uni.example', retry_delay: 0.1 },
      },
    },
  });
  t.after(() => hub.stop());
  assert.equal((await hub.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: ['teacher', 'gov', 's1', 's2'] } })).status, 201);
  const [teacher, gov, s1, s2] = await Promise.all(['teacher', 'gov', 's1', 's2'].map((n) => tokenFor(hub, n)));
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  const course = () => as(ADMIN_TOKEN)('/courses/stats1').then((r) => r.json as Record<string, unknown>);
  const waitState = (state: string, ms: number) => waitFor(async () => (await course()).state === state, ms, `course state ${state}`);
  const mailTo = (address: string, subjectPart: string) =>
    smtp.waitFor((m) => m.to.includes(address) && m.subject.toLowerCase().includes(subjectPart.toLowerCase()), 10 * SECOND);

  // The course starts 14 s from now and lasts 40 s: long enough to start a real server and open it.
  const created = await as(teacher)('/courses', 'POST', courseBody('stats1', 14 * SECOND, 40 * SECOND, { content_repo: { url: `file://${repo}`, branch: 'main' }, expected_participants: 1 }));
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.state, 'pending');
  assert.deepEqual(created.json.teachers, ['teacher']);
  await mailTo('governance@uni.example', 'stats1');

  await t.test('only governance approves', async () => {
    const byTeacher = await as(teacher)('/courses/stats1/approve', 'POST', {});
    assert.equal(byTeacher.status, 403, byTeacher.text);
    assert.match(byTeacher.json.message, /courses:review/);
    const approved = await as(gov)('/courses/stats1/approve', 'POST', { comment: 'Enjoy' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.state, 'scheduled');
    await mailTo('teacher@uni.example', 'approved');
  });

  const code = ((await as(teacher)('/courses/stats1')).json.join as { code: string }).code;

  await t.test('students apply with the code; the teacher accepts one and rejects the other', async () => {
    assert.equal((await as(s1)('/courses/stats1/participants', 'POST', { code: 'wrong-code' })).status, 404);
    const a1 = await as(s1)('/courses/stats1/participants', 'POST', { code });
    assert.equal(a1.status, 202, a1.text);
    assert.equal(a1.json.status, 'applied');
    assert.equal((await as(s2)('/courses/stats1/participants', 'POST', { code: code.toUpperCase() })).status, 202, 'codes ignore case');
    assert.equal((await as(s1)('/courses/stats1/participants')).status, 403, 'a participant does not see the others');
    const accepted = await as(teacher)('/courses/stats1/participants/accept', 'POST', { users: ['s1'] });
    assert.equal(accepted.status, 200, accepted.text);
    const full = await as(teacher)('/courses/stats1/participants/accept', 'POST', { users: ['s2'] });
    assert.equal(full.status, 409, 'the course takes one participant');
    assert.match(full.json.message, /participant limit of 1/);
    assert.equal((await as(teacher)('/courses/stats1/participants/reject', 'POST', { users: ['s2'] })).status, 200);
    const list = (await as(teacher)('/courses/stats1/participants')).json as Array<{ name: string; status: string; role: string }>;
    assert.deepEqual(list.map((m) => [m.name, m.role, m.status]).sort(), [['s1', 'student', 'accepted'], ['s2', 'student', 'rejected'], ['teacher', 'teacher', 'accepted']]);
    await mailTo('s1@uni.example', 'accepted');
    await mailTo('s2@uni.example', 'declined');
    const groups = await as(ADMIN_TOKEN)('/groups/course-stats1');
    assert.deepEqual(groups.json.users, ['s1']);
  });

  await t.test('before the start, students cannot start the course server', async () => {
    const early = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.equal(early.status, 403, early.text);
    assert.match(early.json.message, /opens at/);
  });

  await t.test('ready before the start, then active at the start', async () => {
    await waitState('ready', 20 * SECOND);
    await mailTo('teacher@uni.example', 'ready');
    await waitState('active', 20 * SECOND);
    await mailTo('teacher@uni.example', 'ends soon');
  });

  await t.test('the accepted student starts the course server with the content; the rejected one gets 403', async () => {
    const started = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.ok([201, 202].includes(started.status), started.text);
    await waitFor(async () => (await as(s1)('/users/s1')).json.servers?.stats1?.ready === true, 60 * SECOND, 's1 course server ready');
    const contents = await fetch(`${hub.url}user/s1/stats1/api/contents/stats-material`, { headers: { Authorization: `token ${s1}` } });
    assert.equal(contents.status, 200);
    const names = ((await contents.json()) as { content: Array<{ name: string }> }).content.map((c) => c.name);
    assert.ok(names.includes('intro.ipynb'), `cloned content: ${names.join(', ')}`);
    assert.ok(existsSync(path.join(hub.dataDir, 'courses', 'stats1', 'home', 's1', 'stats-material', 'intro.ipynb')));
    const rejected = await as(s2)('/users/s2/servers/stats1', 'POST');
    assert.equal(rejected.status, 403, rejected.text);
    assert.match(rejected.json.message, /not accepted/);
    const members = (await as(teacher)('/courses/stats1/participants')).json as Array<{ name: string; first_started: string | null }>;
    assert.ok(members.find((m) => m.name === 's1')?.first_started, 'the teacher sees when s1 started');
  });

  await t.test("the teacher opens the student's server in the browser; the other student cannot", async () => {
    const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
    await browser.login('/hub/', 'teacher');
    // Not the teacher's own server: the hub asks them to authorize the access first (as JupyterHub does).
    const consent = await browser.follow('/user/s1/stats1/tree');
    const authorizeUrl = new URL(consent.trail.at(-1)!);
    assert.equal(authorizeUrl.pathname, '/hub/api/oauth2/authorize', consent.trail.join(' → '));
    const authorized = await browser.postForm(authorizeUrl.pathname + authorizeUrl.search, {}, await consent.res.text());
    assert.equal(authorized.status, 302);
    const open = await browser.follow(authorized.headers.get('location')!);
    assert.equal(open.res.status, 200, open.trail.join(' → '));
    assert.equal((await browser.fetch('/user/s1/stats1/api/status')).status, 200, 'the Jupyter server accepts the teacher');

    const other = new CookieSession(`http://127.0.0.1:${hub.port}`);
    await other.login('/hub/', 's2');
    const refused = await other.follow('/user/s1/stats1/tree');
    assert.equal(refused.res.status, 403, refused.trail.join(' → '));
  });

  await t.test('at the end the server stops and cannot start again', async () => {
    await waitState('ended', 45 * SECOND);
    await waitFor(async () => !(await as(s1)('/users/s1')).json.servers?.stats1, 20 * SECOND, 'the course server stopped');
    const again = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.equal(again.status, 403);
    assert.match(again.json.message, /ended/);
    const byTeacher = await as(teacher)('/users/s1/server', 'POST');
    assert.ok([403, 404].includes(byTeacher.status), `teachers no longer reach their former students' servers: ${byTeacher.status}`);
    assert.equal((await as(teacher)('/courses/stats1/participants')).status, 200, 'but still manage the course');
  });

  await t.test('after the retention the files are archived, then deleted', async () => {
    await waitState('archived', 20 * SECOND);
    await mailTo('teacher@uni.example', 'archive');
    const list = await as(teacher)('/courses/stats1/archive');
    assert.equal(list.status, 200, list.text);
    const entry = (list.json as Array<{ user: string; url: string }>).find((a) => a.user === 's1');
    assert.ok(entry, list.text);
    const download = await fetch(new URL(entry.url, hub.url), { headers: { Authorization: `token ${teacher}` } });
    assert.equal(download.status, 200);
    const bytes = Buffer.from(await download.arrayBuffer());
    assert.equal(bytes[0], 0x1f, 'gzip');
    assert.equal(bytes[1], 0x8b, 'gzip');
    assert.equal((await as(s1)('/courses/stats1/archive')).status, 403, 'students do not download archives');
    assert.ok(!existsSync(path.join(hub.dataDir, 'courses', 'stats1', 'home')), 'the live files are gone once archived');
    await waitFor(async () => (await as(ADMIN_TOKEN)('/courses/stats1')).status === 404, 20 * SECOND, 'course deleted');
    assert.ok(!existsSync(path.join(hub.dataDir, 'courses', 'stats1')), 'nothing of the course is left on disk');
    assert.equal((await as(ADMIN_TOKEN)('/groups/course-stats1')).status, 404, 'the group is gone');
    const events = await hub.api('/users/s1', { token: ADMIN_TOKEN });
    assert.equal(events.json.servers?.stats1, undefined);
  });
});
