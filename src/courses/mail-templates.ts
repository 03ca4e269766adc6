/**
 * The e-mails of course notices: one plain-text subject and body per kind. Pure, so every kind
 * can be checked without a mail server; mailer.ts sends what this renders.
 */
import type { CourseNotice, NoticeData } from './notices.js';

export interface RenderedNotice {
  subject: string;
  text: string;
}

interface NoticeWording {
  /** The subject after "[Course <slug>] ". */
  subject: string;
  /** What happened and what to do, in a paragraph or two. */
  lead: string;
  /** How `data.comment` is introduced when there is one. */
  commentLabel: string;
}

const WORDING: Record<CourseNotice, (d: NoticeData) => NoticeWording> = {
  request_received: (d) => ({
    subject: `New course request: ${d.course.title}`,
    lead: `${d.actor ?? 'A teacher'} has requested the course "${d.course.title}". Please review the request on the course page.`,
    commentLabel: 'Comment',
  }),
  request_changed: (d) => ({
    subject: `Course request changed: ${d.course.title}`,
    lead: `${d.actor ?? 'The teacher'} has changed the request for the course "${d.course.title}". Please review it again on the course page.`,
    commentLabel: 'Comment',
  }),
  change_requested: (d) => ({
    subject: `Change requested for ${d.course.title}`,
    lead: `${d.actor ?? 'A teacher'} asks to change the approved course "${d.course.title}". Please review the change on the course page.`,
    commentLabel: 'What would change',
  }),
  change_applied: (d) => ({
    subject: `Course changed: ${d.course.title}`,
    lead: `${d.actor ?? 'A teacher'} changed the course "${d.course.title}" (a change the site applies without review).`,
    commentLabel: 'What changed',
  }),
  change_approved: (d) => ({
    subject: `Your change to ${d.course.title} was approved`,
    lead: `The change you asked for to the course "${d.course.title}" was approved${by(d.actor)} and applies now.`,
    commentLabel: 'Comment',
  }),
  change_rejected: (d) => ({
    subject: `Your change to ${d.course.title} was not approved`,
    lead: `The change you asked for to the course "${d.course.title}" was not approved${by(d.actor)}; the course stays as it was.`,
    commentLabel: 'Reason given',
  }),
  approved: (d) => ({
    subject: `Your course request was approved`,
    lead:
      `Good news: your request for the course "${d.course.title}" was approved${by(d.actor)}.\n` +
      `The course will be prepared before it starts, and you will get another e-mail when it is ready.`,
    commentLabel: 'Comment',
  }),
  rejected: (d) => ({
    subject: `Your course request was not approved`,
    lead: `We are sorry: your request for the course "${d.course.title}" was not approved${by(d.actor)}.`,
    commentLabel: 'Reason given',
  }),
  changes_requested: (d) => ({
    subject: `Changes requested for your course request`,
    lead:
      `${d.actor ?? 'The reviewers'} asked for some changes to your request for the course "${d.course.title}" before it can be approved.\n` +
      `Please edit the request on the course page and submit it again.`,
    commentLabel: 'Changes asked for',
  }),
  ready: (d) => ({
    subject: `Your course is ready`,
    lead:
      `The course "${d.course.title}" has been prepared and is ready.\n` +
      `You can open it from the course page and check its content before it starts on ${readableDate(d.course.starts_at)}.`,
    commentLabel: 'Comment',
  }),
  failed: (d) => ({
    subject: `Preparing your course failed`,
    lead:
      `Something went wrong while preparing the course "${d.course.title}".\n` +
      `Please look at the reason below and at the course page; the hub's administrators can help if it is not clear what to do.`,
    commentLabel: 'What went wrong',
  }),
  ending_soon: (d) => ({
    subject: `Your course ends soon`,
    lead:
      `A reminder: the course "${d.course.title}" ends on ${readableDate(d.course.ends_at)}.\n` +
      `Participants' files are kept for a while after the end and then archived; the course page has the details.`,
    commentLabel: 'Comment',
  }),
  archived: (d) => ({
    subject: `Your course was archived`,
    lead:
      `The course "${d.course.title}" has ended and its participants' files were archived.\n` +
      `You can download the archives from the course page for a limited time.`,
    commentLabel: 'Comment',
  }),
  cancelled: (d) => ({
    subject: `Your course was cancelled`,
    lead: `The course "${d.course.title}" was cancelled${by(d.actor)}.`,
    commentLabel: 'Comment',
  }),
  participant_accepted: (d) => ({
    subject: `You have been accepted to ${d.course.title}`,
    lead:
      `You have been accepted to the course "${d.course.title}"${by(d.actor)}.\n` +
      `It runs from ${readableDate(d.course.starts_at)} to ${readableDate(d.course.ends_at)}; you can open it from the course page.`,
    commentLabel: 'Comment',
  }),
  participant_message: (d) => ({
    subject: d.message?.subject ?? `A message about ${d.course.title}`,
    lead: `${d.actor ?? 'Your teacher'} writes to the participants of the course "${d.course.title}":\n\n${d.message?.text ?? ''}`,
    commentLabel: 'Comment',
  }),
  participant_rejected: (d) => ({
    subject: `Your request to join ${d.course.title} was declined`,
    lead: `We are sorry: your request to join the course "${d.course.title}" was declined${by(d.actor)}.`,
    commentLabel: 'Reason given',
  }),
};

export function renderNotice(notice: CourseNotice, data: NoticeData): RenderedNotice {
  const wording = WORDING[notice](data);
  const { course } = data;
  const comment = data.comment?.trim();
  const parts = [
    notice.startsWith('participant_') && data.participant ? `Hello ${data.participant},` : 'Hello,',
    wording.lead,
    ...(comment ? [`${wording.commentLabel}:\n${indent(comment)}`] : []),
    [
      `Course:  ${course.title} (${course.slug})`,
      `Dates:   ${readableDate(course.starts_at)} to ${readableDate(course.ends_at)}`,
      `State:   ${course.state.replaceAll('_', ' ')}`,
      `Page:    ${course.url}`,
    ].join('\n'),
    `-- \n${footer(notice, data)}`,
  ];
  // A subject is one header line: a title with line breaks must not split it.
  const subject = `[Course ${course.slug}] ${wording.subject}`.replace(/\s+/g, ' ').trim();
  return { subject, text: parts.join('\n\n') + '\n' };
}

/** ISO 8601 as people read it, e.g. "2027-02-01 08:00 UTC"; anything unparsable as given. */
export function readableDate(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function footer(notice: CourseNotice, data: NoticeData): string {
  if (notice !== 'participant_message') return 'This message was sent automatically by the course hub.';
  const who = data.actor ?? 'a teacher';
  return data.message?.reply_to ? `Sent by ${who} through the course hub; replies go to ${who}.` : `Sent by ${who} through the course hub; replies do not reach ${who}.`;
}

function by(actor: string | undefined): string {
  return actor ? ` by ${actor}` : '';
}

function indent(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => `  ${line}`)
    .join('\n');
}
