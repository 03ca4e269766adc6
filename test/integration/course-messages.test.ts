/**
 * A teacher writes to the course's participants through the hub's mail settings: each selected
 * participant gets their own e-mail (to the address given at joining, else the one the hub knows),
 * with the teacher's subject and text and replies going to the teacher; those not selected get
 * nothing; a participant without a known address is named in the answer; participants cannot write
 * to the course; a hub without mail settings says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { courseBody, courseSmtp, mockCourseHubConfig, userToken } from '../helpers/courses.js';

const DAY = 86_400_000;

test('a teacher e-mails the participants, one message each, replies to the teacher', { timeout: 120_000 }, async (t) => {
  const smtp = await startSmtpSink();
  t.after(() => smtp.close());
  const { user_email_template: _none, ...mail } = courseSmtp(smtp.port) as Record<string, unknown>;
  const hub = await startHub({ config: mockCourseHubConfig({ smtp: mail }) });
  t.after(() => hub.stop());
  const as = (token: string) => (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token, body });
  assert.equal((await as(ADMIN_TOKEN)('/users', 'POST', { usernames: ['teacher', 'gov', 'p1', 'p2', 'p3'] })).status, 201);
  const tokens = Object.fromEntries(await Promise.all(['teacher', 'gov', 'p1', 'p2', 'p3'].map(async (n) => [n, await userToken(hub, n)] as const)));
  const teacher = as(tokens.teacher!);
  const created = await teacher('/courses', 'POST', courseBody('stats1', 2 * DAY, 10 * DAY, { expected_participants: 3, contact_email: 'stats-team@uni.example' }));
  assert.equal(created.status, 201, created.text);
  assert.equal((await as(tokens.gov!)('/courses/stats1/approve', 'POST', {})).status, 200);
  const code = (await teacher('/courses/stats1')).json.join.code as string;
  for (const [p, email] of [['p1', 'p1@home.example'], ['p2', 'p2@home.example'], ['p3', '']] as const) {
    assert.equal((await as(tokens[p]!)('/courses/stats1/participants', 'POST', { code, email, accepted_terms_version: '2026-1' })).status, 202);
  }
  assert.equal((await teacher('/courses/stats1/participants/accept', 'POST', { users: ['p1', 'p2', 'p3'] })).status, 200);
  const before = smtp.messages.length;

  assert.equal((await as(tokens.p1!)('/courses/stats1/messages', 'POST', { subject: 'Hi', text: 'all' })).status, 403, 'participants do not write to the course');
  const blank = await teacher('/courses/stats1/messages', 'POST', { subject: 'Two\nlines', text: '' });
  assert.equal(blank.status, 400);
  assert.deepEqual(Object.keys(blank.json.errors).sort(), ['subject', 'text']);
  const stranger = await teacher('/courses/stats1/messages', 'POST', { subject: 'Hi', text: 'x', users: ['gov'] });
  assert.equal(stranger.status, 400, 'only accepted participants');

  const sent = await teacher('/courses/stats1/messages', 'POST', { subject: 'Exam room', text: 'The exam is in room 3.\nBring a pen.', users: ['p1', 'p3'] });
  assert.equal(sent.status, 202, sent.text);
  assert.deepEqual(sent.json, { recipients: 1, without_address: ['p3'] });
  const toP1 = await smtp.waitFor((m) => m.to.includes('p1@home.example') && m.subject.includes('Exam room'));
  assert.deepEqual(toP1.to, ['p1@home.example'], 'one e-mail per participant');
  assert.equal(toP1.subject, '[Course stats1] Exam room');
  assert.match(toP1.text, /Hello p1,\s+teacher writes to the participants of the course "Statistics stats1":\s+The exam is in room 3\.\nBring a pen\./);
  assert.match(String((toP1.headers.get('reply-to') as { text?: string } | undefined)?.text ?? ''), /stats-team@uni\.example/);

  const all = await teacher('/courses/stats1/messages', 'POST', { subject: 'Welcome', text: 'See you on Monday.' });
  assert.deepEqual(all.json, { recipients: 2, without_address: ['p3'] });
  await smtp.waitFor((m) => m.subject === '[Course stats1] Welcome' && m.to.includes('p2@home.example'));
  await smtp.waitFor((m) => m.subject === '[Course stats1] Welcome' && m.to.includes('p1@home.example'));
  const exam = smtp.messages.slice(before).filter((m) => m.subject.includes('Exam room'));
  assert.equal(exam.length, 1, 'p2 was not selected for the first message');
  const history = (await teacher('/courses/stats1/events')).json as Array<{ actor: string; action: string; detail: string }>;
  assert.ok(history.some((e) => e.actor === 'teacher' && e.action === 'message' && e.detail === '"Exam room" to 1 of 2 participants'));
});

test('a hub without mail settings refuses to send messages', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: mockCourseHubConfig() });
  t.after(() => hub.stop());
  // load_roles made the teacher (course-requester) when the hub started.
  const teacher = await userToken(hub, 'teacher');
  const created = await hub.api('/courses', { method: 'POST', token: teacher, body: courseBody('stats1', 2 * DAY, 10 * DAY) });
  assert.equal(created.status, 201, created.text);
  const res = await hub.api('/courses/stats1/messages', { method: 'POST', token: teacher, body: { subject: 'Hi', text: 'x' } });
  assert.equal(res.status, 409);
  assert.match(res.json.message, /courses\.smtp is not configured/);
});
