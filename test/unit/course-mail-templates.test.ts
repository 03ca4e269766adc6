/** The e-mail of every course notice: subject, title, page, and the comment where it matters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableDate, renderNotice } from '../../src/courses/mail-templates.js';
import type { CourseNotice, NoticeData } from '../../src/courses/notices.js';

const ALL_NOTICES: CourseNotice[] = [
  'request_received',
  'request_changed',
  'approved',
  'rejected',
  'changes_requested',
  'ready',
  'failed',
  'ending_soon',
  'archived',
  'cancelled',
  'participant_accepted',
  'participant_rejected',
  'participant_message',
];
const data: NoticeData = {
  course: {
    slug: 'phys-101',
    title: 'Physics 101',
    starts_at: '2027-02-01T08:00:00.000Z',
    ends_at: '2027-05-31T16:00:00.000Z',
    state: 'approved',
    url: 'https://hub.example.org/hub/courses/phys-101',
  },
  comment: 'Please use the standard image.\nThanks!',
  actor: 'gov-anna',
  participant: 'student-ben',
};

for (const notice of ALL_NOTICES) {
  test(`${notice}: subject, title, dates, state and page`, () => {
    const { subject, text } = renderNotice(notice, data);
    assert.match(subject, /^\[Course phys-101\] \S/);
    assert.doesNotMatch(subject, /[\r\n]/);
    assert.ok(text.includes('Physics 101'), text);
    assert.ok(text.includes('https://hub.example.org/hub/courses/phys-101'), text);
    assert.ok(text.includes('2027-02-01 08:00 UTC') && text.includes('2027-05-31 16:00 UTC'), text);
    assert.ok(text.includes('State:   approved'), text);
    assert.doesNotMatch(text, /undefined|null/);
  });
}

for (const notice of ['rejected', 'changes_requested', 'failed'] as const) {
  test(`${notice}: shows the comment`, () => {
    const { text } = renderNotice(notice, data);
    assert.ok(text.includes('  Please use the standard image.\n  Thanks!'), text);
  });
}

test('without comment, actor or participant nothing is left blank', () => {
  const bare: NoticeData = { course: data.course, comment: null };
  for (const notice of ALL_NOTICES) {
    const { text } = renderNotice(notice, bare);
    assert.doesNotMatch(text, /undefined|null|Reason given:|Comment:/, notice);
  }
});

test('actor and participant are named where they matter', () => {
  assert.ok(renderNotice('request_received', data).text.includes('gov-anna has requested'));
  assert.ok(renderNotice('rejected', data).text.includes('by gov-anna'));
  assert.ok(renderNotice('participant_accepted', data).text.includes('student-ben'));
  assert.ok(renderNotice('participant_rejected', data).text.includes('student-ben'));
});

test("a teacher's message: their subject, their text, the participant greeted, and where replies go", () => {
  const message = { subject: 'Exam room', text: 'The exam is in room 3.\nBring a pen.', reply_to: 'anna@uni.example' };
  const { subject, text } = renderNotice('participant_message', { ...data, comment: null, actor: 'teacher-anna', message });
  assert.equal(subject, '[Course phys-101] Exam room');
  assert.ok(text.startsWith('Hello student-ben,\n\nteacher-anna writes to the participants of the course "Physics 101":\n\nThe exam is in room 3.\nBring a pen.'), text);
  assert.ok(text.includes('Sent by teacher-anna through the course hub; replies go to teacher-anna.'), text);
  const noReply = renderNotice('participant_message', { ...data, comment: null, actor: 'teacher-anna', message: { ...message, reply_to: null } });
  assert.ok(noReply.text.includes('replies do not reach teacher-anna'), noReply.text);
});

test('a title with line breaks keeps the subject on one line', () => {
  const { subject } = renderNotice('request_received', { ...data, course: { ...data.course, title: 'Evil\r\nBcc: x@y' } });
  assert.equal(subject, '[Course phys-101] New course request: Evil Bcc: x@y');
});

test('readableDate', () => {
  assert.equal(readableDate('2027-05-31T18:00:00+02:00'), '2027-05-31 16:00 UTC');
  assert.equal(readableDate('soon'), 'soon');
});
