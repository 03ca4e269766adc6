/**
 * A course's whole life through the API, with the real jupyterhub-singleuser under its users' own
 * uids (spawner.run_as dynamic: the hub as the ganymede account, the launcher) and a real SMTP
 * server, on the hub's clock moved by the test. A teacher requests a course that starts in three days
 * and lasts four weeks (prepare_before, ending_soon_days, retention_days and archive_keep_days at their
 * defaults); governance approves it; two students apply with the code, one is accepted and one
 * rejected. The course becomes ready a day before the start and active at the start, each exactly at
 * its time; the accepted student's course server starts under the student's own uid, in
 * <users_root>/courses/<slug>/<user>, with the content cloned from a local git repository by that
 * uid, and the teacher opens it. The teachers are reminded three days before the end; at the end the
 * server stops, 30 days later the files are archived (a tar.gz of the student's files, written by the
 * student's uid), and 90 days after that the course is deleted with every file. Every notice arrives
 * once, at the right address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, REAL_SPAWNER, waitFor } from '../helpers/fixtures.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { tempDir } from '../helpers/tmp.js';
import { advanceClockTo, courseBody, courseRoles, courseSmtp, homeTrusting, makeContentRepo, userToken } from '../helpers/courses.js';
import { notOwnedBy, uidOf } from '../helpers/ownership.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 86_400 * SECOND;
// "Just before" and "just after" a due time: wide enough that no test step between moving the clock
// and checking the state takes it (real time keeps running), narrow next to days.
const MARGIN = MINUTE;
// The defaults of courses.prepare_before, ending_soon_days, retention_days and archive_keep_days.
const PREPARE_BEFORE = 1 * DAY;
const ENDING_SOON = 3 * DAY;
const RETENTION = 30 * DAY;
const ARCHIVE_KEEP = 90 * DAY;
/** spawner.uid_range: s1 is the first user whose files are worked on, so s1's uid is its first. */
const UIDS: [number, number] = [230_000, 230_009];

test('a course from request to deletion, each step at its time, with its e-mails', { timeout: 300_000 }, async (t) => {
  const smtp = await startSmtpSink();
  t.after(() => smtp.close());
  const work = await tempDir();
  t.after(() => work.cleanup());
  chmodSync(work.path, 0o755);
  const repo = makeContentRepo(work.path);
  // The repository is the student's own; the hub's account trusts it (homeTrusting).
  execFileSync('chown', ['-R', `${UIDS[0]}:${UIDS[0]}`, repo]);
  const hubHome = homeTrusting(work.path, repo);
  const hub = await startHub({
    clock: {},
    env: { HOME: hubHome },
    config: {
      authenticator: { class: 'dummy' },
      spawner: { ...REAL_SPAWNER, run_as: 'dynamic', uid_range: UIDS },
      ...courseRoles(),
      courses: {
        enabled: true,
        environments: { python: { description: 'Python 3 with the scientific stack' } },
        // Only the steps the test drives with advanceClock happen (and the tick after an approval).
        scheduler_interval: 3600,
        allow_file_repos: true,
        terms_of_use: { version: '2026-1' },
        smtp: courseSmtp(smtp.port),
      },
    },
  });
  t.after(() => hub.stop());
  assert.equal((await hub.api('/users', { method: 'POST', token: ADMIN_TOKEN, body: { usernames: ['teacher', 'gov', 's1', 's2'] } })).status, 201);
  const [teacher, gov, s1, s2] = await Promise.all(['teacher', 'gov', 's1', 's2'].map((n) => userToken(hub, n)));
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  const state = async () => (await as(ADMIN_TOKEN)('/courses/stats1')).json.state as string;
  const schedulerSteps = async () =>
    ((await as(ADMIN_TOKEN)('/courses/stats1/events')).json as Array<{ actor: string; action: string }>).filter((e) => e.actor === 'scheduler').map((e) => e.action);
  const mailTo = (address: string, subjectPart: string) =>
    smtp.waitFor((m) => m.to.includes(address) && m.subject.toLowerCase().includes(subjectPart.toLowerCase()), 30 * SECOND);
  const courseServer = async () => (await as(s1)('/users/s1')).json.servers?.stats1 as { ready?: boolean } | undefined;

  const requestedAt = hub.now();
  const starts = requestedAt + 3 * DAY;
  const ends = starts + 28 * DAY;
  const created = await as(teacher)('/courses', 'POST', courseBody('stats1', starts - requestedAt, ends - starts, { content_repo: { url: `file://${repo}`, branch: 'main' }, expected_participants: 1 }, requestedAt));
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.state, 'pending');
  assert.deepEqual(created.json.teachers, ['teacher']);
  assert.equal(Date.parse(created.json.starts_at), starts);
  await mailTo('governance@uni.example', 'stats1');

  await t.test('only governance approves', async () => {
    const byTeacher = await as(teacher)('/courses/stats1/approve', 'POST', {});
    assert.equal(byTeacher.status, 403, byTeacher.text);
    assert.match(byTeacher.json.message, /courses:review/);
    const approved = await as(gov)('/courses/stats1/approve', 'POST', { comment: 'Enjoy' });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.state, 'scheduled');
    // The approval wakes the scheduler; three days ahead, nothing is due yet.
    await hub.advanceClock(0);
    assert.equal(await state(), 'scheduled');
    await mailTo('teacher@uni.example', 'approved');
  });

  const code = ((await as(teacher)('/courses/stats1')).json.join as { code: string }).code;

  await t.test('students apply with the code; the teacher accepts one and rejects the other', async () => {
    assert.equal((await as(s1)('/courses/stats1/participants', 'POST', { code: 'wrong-code', accepted_terms_version: '2026-1' })).status, 404);
    const a1 = await as(s1)('/courses/stats1/participants', 'POST', { code, accepted_terms_version: '2026-1' });
    assert.equal(a1.status, 202, a1.text);
    assert.equal(a1.json.status, 'applied');
    assert.equal((await as(s2)('/courses/stats1/participants', 'POST', { code: code.toUpperCase(), accepted_terms_version: '2026-1' })).status, 202, 'codes ignore case');
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

  await t.test('ready exactly prepare_before ahead of the start, then active exactly at the start', async () => {
    await advanceClockTo(hub, starts - PREPARE_BEFORE - MARGIN);
    assert.equal(await state(), 'scheduled', 'a minute before the prepare time');
    await advanceClockTo(hub, starts - PREPARE_BEFORE + MARGIN);
    assert.equal(await state(), 'ready', 'a minute after the prepare time');
    await mailTo('teacher@uni.example', 'ready');
    const whileReady = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.equal(whileReady.status, 403, `students wait for the start: ${whileReady.text}`);
    assert.match(whileReady.json.message, /opens at/);

    await advanceClockTo(hub, starts - MARGIN);
    assert.equal(await state(), 'ready', 'a minute before the start');
    await advanceClockTo(hub, starts + MARGIN);
    assert.equal(await state(), 'active', 'a minute after the start');
    assert.deepEqual(await schedulerSteps(), ['prepare', 'start']);
  });

  await t.test("the accepted student starts the course server under the student's own uid, with the content cloned as that uid; the rejected one gets 403", async () => {
    const started = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.ok([201, 202].includes(started.status), started.text);
    await waitFor(async () => (await courseServer())?.ready === true, 60 * SECOND, 's1 course server ready');
    const contents = await fetch(`${hub.url}user/s1/stats1/api/contents/stats-material`, { headers: { Authorization: `token ${s1}` } });
    assert.equal(contents.status, 200);
    const names = ((await contents.json()) as { content: Array<{ name: string }> }).content.map((c) => c.name);
    assert.ok(names.includes('intro.ipynb'), `cloned content: ${names.join(', ')}`);

    const server = (await as(ADMIN_TOKEN)('/users/s1')).json.servers.stats1 as { state: { pid: number; root_dir: string; cgroup: string } };
    // The course's resources (courseBody: 1 CPU, 2 GB) are the server's cgroup limits.
    const scope = createHash('sha256').update(hub.dataDir).digest('hex').slice(0, 12);
    if (existsSync('/sys/fs/cgroup/memory/cgroup.procs')) {
      const cgroup = (controller: string, file: string) => readFileSync(`/sys/fs/cgroup/${controller}/ganymede/${scope}/${server.state.cgroup}/${file}`, 'utf8').trim();
      assert.equal(cgroup('memory', 'memory.limit_in_bytes'), String(2 * 1024 ** 3), 'memory_gb 2 is the memory limit');
      assert.equal(cgroup('cpu', 'cpu.cfs_quota_us'), '100000', 'cpu 1 is one core');
    }
    const home = path.join(`${hub.dataDir}-users`, 'courses', 'stats1', 's1');
    assert.equal(server.state.root_dir, home, 'the course directory is below users_root');
    assert.equal(uidOf(server.state.pid), UIDS[0], "the server runs as s1's uid");
    assert.equal(lstatSync(home).mode & 0o777, 0o700);
    assert.ok(existsSync(path.join(home, 'stats-material', 'intro.ipynb')));
    assert.deepEqual(notOwnedBy(home, UIDS[0]), [], "the course directory and the cloned content are s1's");
    const db = new Database(path.join(hub.dataDir, 'ganymede.sqlite'), { readonly: true });
    const ids = db.prepare('SELECT u.name, x.uid FROM unix_ids x JOIN users u ON u.id = x.user_id').all();
    db.close();
    assert.deepEqual(ids, [{ name: 's1', uid: UIDS[0] }], "s1's one uid, the same for the personal and the course server");
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

  await t.test('the teachers are reminded ending_soon_days before the end, once', async () => {
    await advanceClockTo(hub, ends - ENDING_SOON - MARGIN);
    assert.ok(!(await schedulerSteps()).includes('ending_soon'), 'no reminder a minute before its time');
    await advanceClockTo(hub, ends - ENDING_SOON + MARGIN);
    assert.deepEqual(await schedulerSteps(), ['prepare', 'start', 'ending_soon']);
    await mailTo('teacher@uni.example', 'ends soon');
    await hub.advanceClock(0);
    assert.deepEqual(await schedulerSteps(), ['prepare', 'start', 'ending_soon'], 'the reminder is not repeated');
  });

  await t.test('at the end the server stops and cannot start again', async () => {
    await advanceClockTo(hub, ends - MARGIN);
    assert.equal(await state(), 'active', 'a minute before the end');
    assert.equal((await courseServer())?.ready, true, 'the course server still runs a minute before the end');
    await advanceClockTo(hub, ends + MARGIN);
    assert.equal(await state(), 'ended', 'a minute after the end');
    // The end step stops the servers before the hub answers the clock.
    assert.equal(await courseServer(), undefined, 'the course server stopped');
    const again = await as(s1)('/users/s1/servers/stats1', 'POST');
    assert.equal(again.status, 403);
    assert.match(again.json.message, /ended/);
    const byTeacher = await as(teacher)('/users/s1/server', 'POST');
    assert.ok([403, 404].includes(byTeacher.status), `teachers no longer reach their former students' servers: ${byTeacher.status}`);
    assert.equal((await as(teacher)('/courses/stats1/participants')).status, 200, 'but still manage the course');
  });

  await t.test('retention_days after the end the files are archived, archive_keep_days later deleted', async () => {
    const home = path.join(`${hub.dataDir}-users`, 'courses', 'stats1');
    await advanceClockTo(hub, ends + RETENTION - MARGIN);
    assert.equal(await state(), 'ended', 'a minute before the archive time');
    assert.ok(existsSync(home), 'the live files are kept until then');
    await advanceClockTo(hub, ends + RETENTION + MARGIN);
    assert.equal(await state(), 'archived', 'a minute after the archive time');
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
    const archive = path.join(work.path, 's1.tar.gz');
    writeFileSync(archive, bytes);
    const listed = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n');
    assert.ok(listed.includes('./stats-material/intro.ipynb'), `the student's files: ${listed.join(' ')}`);
    assert.match(execFileSync('tar', ['-xzOf', archive, './stats-material/intro.ipynb'], { encoding: 'utf8' }), /Welcome/);
    assert.equal((await as(s1)('/courses/stats1/archive')).status, 403, 'students do not download archives');
    assert.ok(!existsSync(home), 'the live files are gone once archived');

    await advanceClockTo(hub, ends + RETENTION + ARCHIVE_KEEP - MARGIN);
    assert.equal(await state(), 'archived', 'a minute before the delete time');
    await advanceClockTo(hub, ends + RETENTION + ARCHIVE_KEEP + MARGIN);
    assert.equal((await as(ADMIN_TOKEN)('/courses/stats1')).status, 404, 'deleted a minute after the delete time');
    assert.ok(!existsSync(path.join(hub.dataDir, 'courses', 'stats1')), 'nothing of the course is left on disk');
    assert.ok(!existsSync(home), 'nor below users_root');
    assert.equal((await as(ADMIN_TOKEN)('/groups/course-stats1')).status, 404, 'the group is gone');
    const events = await hub.api('/users/s1', { token: ADMIN_TOKEN });
    assert.equal(events.json.servers?.stats1, undefined);
  });

  await t.test('each notice reached the teacher once, in the order of the course', async () => {
    const subjects = smtp.messages.filter((m) => m.to.includes('teacher@uni.example')).map((m) => m.subject);
    assert.deepEqual(subjects, [
      '[Course stats1] Your course request was approved',
      '[Course stats1] Your course is ready',
      '[Course stats1] Your course ends soon',
      '[Course stats1] Your course was archived',
    ]);
  });
});
