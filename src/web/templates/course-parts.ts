/** Pieces the course pages share: state badges, dates, a course's details, its server button, the review forms and the load table. */
import type { CourseState } from '../../courses/state-machine.js';
import { hubPath, xsrfField } from './components.js';
import { html, raw, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';

/** The course service's terms of use: their version and text (null: no file configured). */
export type TermsView = { version: string; text: string | null };

/** The terms' text: the configured file's HTML as it is (it is the admin's, as a spawner's options form is), plain text as typed. */
export function termsBody(terms: TermsView): SafeHtml {
  const text = terms.text;
  if (text === null) return html`<p>The terms of use of the course service apply.</p>`;
  return /^\s*</.test(text) ? raw(text) : html`<div class="pre-line">${text}</div>`;
}

/** The terms in a box to read, and the box to tick: for joining a course and for accepting a new version. */
export function termsAcceptField(terms: TermsView, error?: string): SafeHtml {
  return html`<fieldset class="field${error ? ' has-error' : ''}">
    <legend>Terms of use <span class="muted">(version ${terms.version})</span></legend>
    <div class="terms-box" tabindex="0" role="region" aria-label="Terms of use">${termsBody(terms)}</div>
    <label class="checkbox"><input id="accept-terms" type="checkbox" name="accepted_terms_version" value="${terms.version}" required> I accept the terms of use</label>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </fieldset>`;
}

export type CourseResourcesView = { cpu: number; memory_gb: number; storage_gb: number; gpu: number };

/** A course as the pages show it; the fields after `teachers` are for its teachers and reviewers only (null otherwise). */
export type CourseDetailsView = {
  slug: string;
  title: string;
  description: string;
  state: CourseState;
  startsAt: string;
  endsAt: string;
  environment: string;
  environmentDescription: string;
  resources: CourseResourcesView;
  teachers: string[];
  full: {
    expectedParticipants: number;
    customImage: string | null;
    contentRepo: { url: string; branch: string } | null;
    requestedBy: string | null;
    contactEmail: string | null;
    created: string;
    reviewComment: string | null;
    failure: string | null;
    participants: { accepted: number; applied: number };
  } | null;
};

/** The caller's own course server, when they may run it now. */
export type CourseServerView = { ready: boolean; pending: 'spawn' | 'stop' | null; url: string; startUrl: string };

/** What a reviewer may decide now (from the state machine). */
export type ReviewActions = { approve: boolean; reject: boolean; requestChanges: boolean };

export type LoadView = {
  course: CourseResourcesView;
  overlapping: CourseResourcesView;
  capacity: CourseResourcesView;
  overlapping_courses: string[];
};

const STATES: Record<CourseState, [label: string, badge: 'ok' | 'pending' | 'error' | '', sentence: string]> = {
  pending: ['Pending review', 'pending', 'The request waits for the course governance to review it.'],
  changes_requested: ['Changes requested', 'pending', 'The request was sent back: its teachers may edit it, which submits it again.'],
  rejected: ['Rejected', 'error', 'The request was rejected.'],
  cancelled: ['Cancelled', 'error', 'The course was cancelled.'],
  scheduled: ['Scheduled', 'ok', 'Approved: the course is prepared shortly before it starts. Participants may already apply.'],
  ready: ['Ready', 'ok', 'Prepared: teachers may start their course server; participants can from the start time.'],
  active: ['Running', 'ok', 'The course is running: participants can start their course server.'],
  ended: ['Ended', '', 'The course has ended: its servers are stopped and the files are kept until they are archived.'],
  archived: ['Archived', '', "The course is archived: its teachers can download the participants' files until it is deleted."],
  deleted: ['Deleted', '', 'The course is deleted.'],
  failed: ['Failed', 'error', 'Something went wrong while preparing or running the course.'],
};

export function stateBadge(state: CourseState): SafeHtml {
  const [label, kind] = STATES[state];
  return html`<span class="badge${kind && ` badge-${kind}`}" data-state="${state}">${label}</span>`;
}

export function stateSentence(state: CourseState): string {
  return STATES[state][2];
}

/** A course date, absolute (ganymede.js makes <time> relative, which a timetable should not be). */
export function courseDate(iso: string): SafeHtml {
  const d = new Date(iso);
  return html`<span class="course-date">${Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`}</span>`;
}

export function courseDates(startsAt: string, endsAt: string): SafeHtml {
  return html`${courseDate(startsAt)} – ${courseDate(endsAt)}`;
}

export function coursePath(ctx: PageContext, slug: string, ...rest: string[]): string {
  return hubPath(ctx, 'courses', slug, ...rest);
}

function resourcesText(r: CourseResourcesView): string {
  return `${r.cpu} CPU, ${r.memory_gb} GB memory, ${r.storage_gb} GB storage${r.gpu ? `, ${r.gpu} GPU` : ''}`;
}

/** The course's facts as a definition list (the request's details for teachers and reviewers). */
export function courseFacts(c: CourseDetailsView): SafeHtml {
  const f = c.full;
  return html`<dl class="facts">
  <dt>Dates</dt><dd>${courseDates(c.startsAt, c.endsAt)}</dd>
  <dt>Teachers</dt><dd>${c.teachers.join(', ')}</dd>
  <dt>Environment</dt><dd>${c.environment}${c.environmentDescription && html` <span class="muted">(${c.environmentDescription})</span>`}${f?.customImage && html`: <code>${f.customImage}</code>`}</dd>
  <dt>Per participant</dt><dd>${resourcesText(c.resources)}</dd>
  ${f &&
  html`<dt>Participants</dt><dd>${f.participants.accepted} accepted, ${f.participants.applied} waiting, ${f.expectedParticipants} expected</dd>
  <dt>Content</dt><dd>${f.contentRepo ? html`<code>${f.contentRepo.url}</code> (branch <code>${f.contentRepo.branch}</code>)` : html`<span class="muted">none</span>`}</dd>
  <dt>Requested by</dt><dd>${f.requestedBy ?? html`<span class="muted">a deleted user</span>`}${f.contactEmail && html` · <a href="mailto:${f.contactEmail}">${f.contactEmail}</a>`}</dd>
  <dt>Requested</dt><dd>${courseDate(f.created)}</dd>`}
</dl>
${c.description && html`<div class="course-description">${c.description}</div>`}`;
}

/** Start or Open for the caller's course server. */
export function serverButton(server: CourseServerView, small = false): SafeHtml {
  const size = small ? ' btn-small' : '';
  if (server.ready) return html`<a class="btn btn-primary${size}" href="${server.url}">Open</a>`;
  if (server.pending === 'spawn') return html`<a class="btn${size}" href="${server.url}">Starting…</a>`;
  if (server.pending === 'stop') return html`<span class="badge badge-pending">Stopping…</span>`;
  return html`<a class="btn btn-primary${size} start-course" href="${server.startUrl}">Start</a>`;
}

/** Approve, reject, send back: each a small form posting to /hub/courses/<slug>/<action>, then back to `next`. */
export function reviewForms(ctx: PageContext, slug: string, can: ReviewActions, next: string): SafeHtml {
  const form = (action: string, label: string, field: { name: string; label: string; required: boolean }, primary = false) => {
    const id = `${action}-${slug}`;
    return html`<form method="post" action="${coursePath(ctx, slug, action)}" class="review-form">
    ${xsrfField(ctx)}
    <input type="hidden" name="next" value="${next}">
    <label for="${id}">${field.label}${field.required ? '' : html` <span class="muted">(optional)</span>`}</label>
    <textarea id="${id}" name="${field.name}" rows="2" maxlength="5000"${field.required && html` required`}></textarea>
    <button type="submit" class="btn${primary ? ' btn-primary' : action === 'reject' ? ' btn-danger' : ''}">${label}</button>
  </form>`;
  };
  return html`<div class="review-forms">
  ${can.approve && form('approve', 'Approve', { name: 'comment', label: 'Comment', required: false }, true)}
  ${can.requestChanges && form('comment', 'Send back for changes', { name: 'comment', label: 'What should change', required: true })}
  ${can.reject && form('reject', 'Reject', { name: 'reason', label: 'Reason', required: true })}
</div>`;
}

const RESOURCES: Array<[keyof CourseResourcesView, string]> = [
  ['cpu', 'CPUs'],
  ['memory_gb', 'Memory (GB)'],
  ['storage_gb', 'Storage (GB)'],
  ['gpu', 'GPUs'],
];

/** What the course needs with every overlapping course, against the site's capacity, per resource. */
export function loadTable(load: LoadView): SafeHtml {
  const round = (n: number) => Math.round(n * 100) / 100;
  // Not a `responsive` table: five short numbers per row fit a phone, and rows side by side compare better.
  return html`<table class="table load-table">
  <thead><tr><th scope="col">Resource</th><th scope="col">Course</th><th scope="col">Others</th><th scope="col">Total</th><th scope="col">Capacity</th></tr></thead>
  <tbody>
  ${RESOURCES.map(([key, label]) => {
    const total = load.course[key] + load.overlapping[key];
    const over = total > load.capacity[key];
    return html`<tr${over && html` class="over"`}>
    <th scope="row">${label}</th>
    <td>${round(load.course[key])}</td>
    <td>${round(load.overlapping[key])}</td>
    <td>${round(total)}${over && html` <span class="badge badge-error">over</span>`}</td>
    <td>${round(load.capacity[key])}</td>
  </tr>`;
  })}
  </tbody>
</table>
<p class="help">${load.overlapping_courses.length ? html`Others: ${load.overlapping_courses.join(', ')} (approved or pending, overlapping these dates).` : 'No other approved or pending course overlaps these dates.'} Course: participants × resources per participant; total: course and others.</p>`;
}
