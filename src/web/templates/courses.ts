/** /hub/courses (my courses), /hub/courses/<slug> (a course, with its teachers' and reviewers' tools) and the join page. */
import type { CourseMemberRole, CourseMemberStatus } from '../../db/schema.js';
import type { CourseState } from '../../courses/state-machine.js';
import { errorAlert, hubPath, timestamp, xsrfField } from './components.js';
import {
  courseDate,
  courseDates,
  courseFacts,
  coursePath,
  loadTable,
  reviewForms,
  serverButton,
  stateBadge,
  stateSentence,
  termsAcceptField,
  type TermsView,
  type CourseDetailsView,
  type CourseServerView,
  type LoadView,
  type ReviewActions,
} from './course-parts.js';
import { html, type SafeHtml } from './html.js';
import { cullWarnings, courseEndings, type CourseEndingView, type CullWarningView } from './warnings.js';
import { page, type PageContext } from './layout.js';

// ---------------------------------------------------------------------------------------------
// /hub/courses

export type CourseListItem = {
  slug: string;
  title: string;
  state: CourseState;
  startsAt: string;
  endsAt: string;
  role: CourseMemberRole | null;
  status: CourseMemberStatus | null;
  /** The caller's course server, when they may run it now. */
  server: CourseServerView | null;
};

export type CoursesView = {
  teaching: CourseListItem[];
  taking: CourseListItem[];
  /** Courses the caller reads without being in them (reviewers, admins). */
  others: CourseListItem[];
  canRequest: boolean;
  /** Requests waiting for review, when the caller reviews. */
  pendingReviews: number | null;
};

const MEMBER_STATUS: Record<CourseMemberStatus, SafeHtml> = {
  applied: html`<span class="badge badge-pending">Waiting for the teacher</span>`,
  accepted: html`<span class="badge badge-ok">Participant</span>`,
  rejected: html`<span class="badge badge-error">Not accepted</span>`,
};

function courseTable(ctx: PageContext, id: string, items: CourseListItem[], statusOf: (c: CourseListItem) => SafeHtml): SafeHtml {
  return html`<table id="${id}" class="table responsive course-list">
  <thead><tr><th scope="col">Course</th><th scope="col">Status</th><th scope="col">Dates</th><th scope="col"><span class="visually-hidden">Server</span></th></tr></thead>
  <tbody>
  ${items.map(
    (c) => html`<tr data-course="${c.slug}">
    <td data-label="Course"><a href="${coursePath(ctx, c.slug)}">${c.title}</a></td>
    <td data-label="Status">${statusOf(c)}</td>
    <td data-label="Dates">${courseDates(c.startsAt, c.endsAt)}</td>
    <td data-label="" class="row-actions">${c.server && serverButton(c.server, true)}</td>
  </tr>`,
  )}
  </tbody>
</table>`;
}

export function coursesPage(ctx: PageContext, view: CoursesView): string {
  const nothing = !view.teaching.length && !view.taking.length && !view.others.length;
  const body = html`<section class="card" aria-labelledby="courses-title">
  <div class="card-head">
    <h1 id="courses-title">Courses</h1>
  </div>
  <div class="actions">
    ${view.canRequest && html`<a id="request-course" class="btn btn-primary" href="${hubPath(ctx, 'courses', 'new')}">Request a course</a>`}
    ${view.pendingReviews !== null && html`<a id="review-courses" class="btn" href="${hubPath(ctx, 'courses', 'review')}">Review requests (${view.pendingReviews} pending)</a>`}
  </div>
  ${nothing && html`<p class="empty">You are in no course yet. To take part in one, open the join link your teacher gives you.</p>`}
</section>
${view.teaching.length > 0 &&
html`<section class="card" aria-labelledby="teaching-title">
  <h2 id="teaching-title">Teaching</h2>
  ${courseTable(ctx, 'teaching', view.teaching, (c) => stateBadge(c.state))}
</section>`}
${view.taking.length > 0 &&
html`<section class="card" aria-labelledby="taking-title">
  <h2 id="taking-title">Taking part</h2>
  ${courseTable(ctx, 'taking', view.taking, (c) => html`${c.status && MEMBER_STATUS[c.status]} ${c.status === 'accepted' && stateBadge(c.state)}`)}
</section>`}
${view.others.length > 0 &&
html`<section class="card" aria-labelledby="others-title">
  <h2 id="others-title">${view.teaching.length || view.taking.length ? 'Other courses' : 'All courses'}</h2>
  ${courseTable(ctx, 'other-courses', view.others, (c) => stateBadge(c.state))}
</section>`}`;
  return page(ctx, 'Courses', body);
}

// ---------------------------------------------------------------------------------------------
// /hub/courses/<slug>

export type ParticipantView = {
  name: string;
  status: CourseMemberStatus;
  appliedAt: string;
  firstStarted: string | null;
  lastStarted: string | null;
  /** The terms of use they accepted last (null: none recorded), and when; `termsCurrent` when that is today's version. */
  termsVersion: string | null;
  termsAcceptedAt: string | null;
  termsCurrent: boolean;
  /** The participant's course server, for accepted participants. */
  serverUrl: string | null;
};

export type CourseEventView = { at: string; actor: string; action: string; from: string | null; to: string | null; detail: string };

export type CoursePageView = {
  course: CourseDetailsView;
  me: { role: CourseMemberRole; status: CourseMemberStatus } | null;
  /** The caller's course server when they may run it now. */
  server: CourseServerView | null;
  /** New terms of use the caller (a participant) must accept before their next start. */
  termsToAccept: TermsView | null;
  /** A participant's own collected hand-ins (null for others). */
  myCollections: CollectionView[] | null;
  /** The caller's course server about to be culled, the course about to end. */
  warnings?: { cull: CullWarningView[]; endings: CourseEndingView[] };
  /** For teachers and reviewers. */
  manage: {
    join: { code: string; url: string; expiresAt: string | null; autoAccept: boolean };
    participants: ParticipantView[];
    /** Whether participants may still be accepted or rejected. */
    canDecide: boolean;
    archives: Array<{ user: string; url: string; bytes: number }>;
    /** The control room: the accepted participants' course servers; null when the course runs none. */
    servers: CourseServersView | null;
    /** Hand-in collections and the download of everyone's current files; null while the participants have no files. */
    handIn: { collections: CollectionView[]; filesUrl: string } | null;
    /** Writing to participants: the accepted ones; null when the hub sends no e-mail. */
    message: { participants: string[]; sent: { recipients: number; withoutAddress: number } | null } | null;
  } | null;
  canEdit: boolean;
  canCancel: boolean;
  review: { actions: ReviewActions; load: LoadView } | null;
  events: CourseEventView[] | null;
  /** Changes after approval: listed for readers; teachers propose, reviewers decide. */
  changes: CourseChangesView | null;
  /** A failed course its teachers may send through preparation again. */
  canRetry: boolean;
};

export type CollectionView = { assignment: string; collectedAt: string; users: number; url: string };

export type ParticipantServerView = {
  user: string;
  state: 'running' | 'starting' | 'stopping' | 'stopped';
  url: string;
  lastActivity: string | null;
  failure: string | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  cpuSeconds: number | null;
};

export type CourseServersView = {
  list: ParticipantServerView[];
  /** Participants' servers may start now (the course is active). */
  canStart: boolean;
  /** The course has a content repository: teachers may push its update into running servers. */
  canPushContent: boolean;
};

export type CourseChangeView = {
  id: number;
  state: string;
  /** [field, from, to] as text. */
  fields: Array<[string, string, string]>;
  requestedBy: string;
  created: string;
  decidedBy: string | null;
  comment: string | null;
};

export type CourseChangesView = {
  list: CourseChangeView[];
  /** The form for a new change (teachers of an approved course), with what was typed and the problems by field after a refusal. */
  form: { values: Record<string, string>; errors: Record<string, string>; startFixed: boolean; environments: string[] } | null;
  canDecide: boolean;
  /** For reviewers while a change waits: the course's load against capacity (today's values). */
  load: LoadView | null;
};

/** The change form's fields: named as the request form's (and the service's error keys), each with its input's type and attributes. */
const CHANGE_FORM_FIELDS: Array<[name: string, label: string, type: string, attrs?: SafeHtml]> = [
  ['title', 'Title', 'text'],
  // step 1: a stored time may have seconds, and a field whose value is off the default 60 s step blocks the form.
  ['starts_at', 'Start (UTC)', 'datetime-local', html` step="1"`],
  ['ends_at', 'End (UTC)', 'datetime-local', html` step="1"`],
  ['expected_participants', 'Participant limit', 'number', html` min="1" step="1"`],
  ['environment', 'Environment', 'select'],
  ['custom_image', 'Custom image (only with “custom”)', 'text'],
  ['resources.cpu', 'CPUs per participant', 'number', html` min="0" step="0.1"`],
  ['resources.memory_gb', 'Memory per participant (GB)', 'number', html` min="0" step="0.1"`],
  ['resources.storage_gb', 'Storage per participant (GB)', 'number', html` min="0" step="0.1"`],
  ['resources.gpu', 'GPUs per participant', 'number', html` min="0" step="1"`],
  ['content_repo.url', 'Content repository (git URL)', 'text'],
  ['content_repo.branch', 'Branch', 'text'],
  ['co_teachers', 'Co-teachers (user names, comma-separated)', 'text'],
];

function changeField(form: NonNullable<CourseChangesView['form']>, [name, label, type, attrs]: (typeof CHANGE_FORM_FIELDS)[number]): SafeHtml {
  const id = `change-${name.replace('.', '-')}`;
  const value = form.values[name] ?? '';
  const input =
    type === 'select'
      ? html`<select id="${id}" name="${name}">${form.environments.map((e) => html`<option value="${e}"${e === value && html` selected`}>${e}</option>`)}</select>`
      : html`<input id="${id}" name="${name}" type="${type}" value="${value}"${attrs ?? ''}>`;
  return html`<div class="field${form.errors[name] ? ' has-error' : ''}"><label for="${id}">${label}</label>${input}</div>`;
}

function changesCard(ctx: PageContext, slug: string, view: CourseChangesView): SafeHtml {
  const form = view.form;
  return html`<section class="card" aria-labelledby="changes-title" id="changes">
  <h2 id="changes-title">Changes after approval</h2>
  ${view.list.length === 0 ? html`<p class="muted">No change proposed yet.</p>` : ''}
  ${view.load ? html`<p class="muted">The course's load now, against the site's capacity:</p>${loadTable(view.load)}` : ''}
  ${view.list.map(
    (c) => html`<div class="course-change" data-change="${String(c.id)}" data-state="${c.state}">
    <p><strong>Change ${String(c.id)}</strong> by ${c.requestedBy}, ${timestamp(c.created)}: <span class="badge${c.state === 'approved' ? ' badge-ok' : c.state === 'pending' ? ' badge-pending' : ''}">${c.state}</span>${c.decidedBy ? html` by ${c.decidedBy}` : ''}</p>
    <table class="table"><thead><tr><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
      <tbody>${c.fields.map(([f, from, to]) => html`<tr><td>${f}</td><td>${from}</td><td>${to}</td></tr>`)}</tbody></table>
    ${c.comment ? html`<p class="pre-line">${c.comment}</p>` : ''}
    ${view.canDecide && c.state === 'pending'
      ? html`<form method="post" action="${coursePath(ctx, slug, 'changes', String(c.id))}" class="stack change-decision">
      ${xsrfField(ctx)}
      <div class="field"><label for="change-comment-${String(c.id)}">Comment <span class="muted">(required to reject; sent to the teachers)</span></label>
        <textarea id="change-comment-${String(c.id)}" name="comment" rows="2" maxlength="5000"></textarea></div>
      <div class="actions">
        <button type="submit" name="decision" value="approve" class="btn btn-primary">Approve the change</button>
        <button type="submit" name="decision" value="reject" class="btn btn-danger">Reject the change</button>
      </div>
    </form>`
      : ''}
  </div>`,
  )}
  ${form &&
  html`<details class="propose-change"${Object.keys(form.errors).length ? html` open` : ''}>
    <summary>Propose a change…</summary>
    <p class="muted">Governance reviews the change before it applies. Leave a field as it is to keep it; dates are UTC.</p>
    ${Object.keys(form.errors).length ? errorAlert(Object.entries(form.errors).map(([k, v]) => `${k}: ${v}`).join('\n'), 'change-errors') : ''}
    <form method="post" action="${coursePath(ctx, slug, 'changes')}" class="stack" id="propose-change">
      ${xsrfField(ctx)}
      ${CHANGE_FORM_FIELDS.filter(([name]) => !(name === 'starts_at' && form.startFixed)).map((field) => changeField(form, field))}
      <div class="field${form.errors.description ? ' has-error' : ''}"><label for="change-description">Description</label>
        <textarea id="change-description" name="description" rows="3" maxlength="5000">${form.values.description ?? ''}</textarea></div>
      <button type="submit" class="btn btn-primary">Propose the change</button>
    </form>
  </details>`}
</section>`;
}

/** What leaving means, said before the participant confirms. */
export const LEAVING_SAYS =
  'Leave this course? Your course server stops and you can no longer open the course or its server. ' +
  "What you saved in the course stays on the hub and goes into the course's archive for its teachers after the course ends: copy what you want to keep first.";

function leaveForm(ctx: PageContext, slug: string, applied: boolean): SafeHtml {
  return html`<details class="leave-course">
  <summary>${applied ? 'Withdraw my application…' : 'Leave the course…'}</summary>
  <p>${LEAVING_SAYS.replace('Leave this course? ', '')}</p>
  <form method="post" action="${coursePath(ctx, slug, 'leave')}">
    ${xsrfField(ctx)}
    <button type="submit" class="btn btn-danger" id="leave-course" data-confirm="${LEAVING_SAYS}">${applied ? 'Withdraw my application' : 'Leave the course'}</button>
  </form>
</details>`;
}

function retryForm(ctx: PageContext, slug: string): SafeHtml {
  return html`<form method="post" action="${coursePath(ctx, slug, 'retry')}" class="retry-course">
  ${xsrfField(ctx)}
  <p>Fixed what went wrong (the content repository, say, or with a change below)? The course is then prepared again.</p>
  <button type="submit" class="btn btn-primary">Retry the course</button>
</form>`;
}

function myStatus(view: CoursePageView): SafeHtml {
  const me = view.me;
  if (!me) return html``;
  if (me.role === 'student' && me.status === 'applied') {
    return html`<div class="alert alert-info" role="status" id="my-status">Your application is waiting for the teacher.</div>`;
  }
  if (me.role === 'student' && me.status === 'rejected') {
    return html`<div class="alert alert-error" role="status" id="my-status">Your application was not accepted.</div>`;
  }
  const who = me.role === 'teacher' ? 'You teach this course.' : 'You are a participant.';
  const when =
    view.server || view.course.state === 'ended' || view.course.state === 'archived'
      ? ''
      : me.role === 'teacher'
        ? ' You can start your course server once the course is prepared.'
        : html` You can start your course server from ${courseDate(view.course.startsAt)}.`;
  return html`<div class="alert alert-success my-status" role="status" id="my-status">
  <p>${who}${when}</p>
  ${view.server && html`<div class="actions">${serverButton(view.server)}</div>`}
</div>`;
}

/** A participant accepts a new version of the terms before their next start. */
function termsForm(ctx: PageContext, slug: string, terms: TermsView): SafeHtml {
  return html`<form id="accept-terms-form" method="post" action="${coursePath(ctx, slug, 'terms')}" class="stack">
  <div class="alert alert-info" role="status">The terms of use are new (version ${terms.version}): accept them before you start your course server again.</div>
  ${xsrfField(ctx)}
  ${termsAcceptField(terms)}
  <button type="submit" class="btn btn-primary">Accept the terms</button>
</form>`;
}

function cancelForm(ctx: PageContext, slug: string): SafeHtml {
  return html`<details class="cancel-course">
  <summary>Cancel the course…</summary>
  <form method="post" action="${coursePath(ctx, slug, 'cancel')}" class="stack">
    ${xsrfField(ctx)}
    <div class="field"><label for="cancel-reason">Reason <span class="muted">(optional; sent to the teachers)</span></label>
      <textarea id="cancel-reason" name="reason" rows="2" maxlength="5000"></textarea></div>
    <button type="submit" class="btn btn-danger" data-confirm="Cancel this course? Running servers stop and participants lose access.">Cancel the course</button>
  </form>
</details>`;
}

function joinCard(ctx: PageContext, slug: string, join: NonNullable<CoursePageView['manage']>['join']): SafeHtml {
  return html`<section class="card" aria-labelledby="join-title">
  <h2 id="join-title">Join link</h2>
  <p>Give this link to participants; they apply with it${join.autoAccept ? ' and join at once (auto-accept is on)' : ' and you accept them below'}.</p>
  <div class="input-row">
    <input id="join-url" type="text" readonly class="mono" value="${join.url}" aria-label="Join link">
    <button type="button" class="btn copy-button" data-copy="join-url">Copy</button>
  </div>
  <p class="join-code">Code: <code id="join-code">${join.code}</code> · ${join.expiresAt ? html`expires ${courseDate(join.expiresAt)}` : 'does not expire'}</p>
  <details>
    <summary>Change the code or its settings</summary>
    <form method="post" action="${coursePath(ctx, slug, 'join-code')}" class="stack join-settings">
      ${xsrfField(ctx)}
      <div class="field"><label for="join-expires">Expires (UTC) <span class="muted">(optional)</span></label>
        <input id="join-expires" name="expires_at" type="datetime-local" value="${join.expiresAt ? join.expiresAt.slice(0, 16) : ''}"></div>
      <label class="checkbox"><input type="checkbox" name="auto_accept" value="1"${join.autoAccept && html` checked`}> Accept whoever applies with the link (up to the expected number)</label>
      <div class="actions">
        <button type="submit" name="rotate" value="0" class="btn">Save settings</button>
        <button type="submit" name="rotate" value="1" class="btn btn-danger" data-confirm="Make a new code? The current link stops working.">New code</button>
      </div>
    </form>
  </details>
</section>`;
}

const PARTICIPANT_BADGE: Record<CourseMemberStatus, SafeHtml> = {
  applied: html`<span class="badge badge-pending">Applied</span>`,
  accepted: html`<span class="badge badge-ok">Accepted</span>`,
  rejected: html`<span class="badge badge-error">Rejected</span>`,
};

function participantsCard(ctx: PageContext, slug: string, m: NonNullable<CoursePageView['manage']>, accepted: number, expected: number): SafeHtml {
  const action = coursePath(ctx, slug, 'participants');
  const rowForm = (a: string) => html`<form id="participant-${a}" method="post" action="${action}" hidden>${xsrfField(ctx)}<input type="hidden" name="action" value="${a}"></form>`;
  const row = (p: ParticipantView) => html`<tr data-participant="${p.name}">
    ${m.canDecide && html`<td data-label="Select"><input type="checkbox" name="users" value="${p.name}" aria-label="Select ${p.name}"></td>`}
    <td data-label="Name">${p.name}</td>
    <td data-label="Status">${PARTICIPANT_BADGE[p.status]}</td>
    <td data-label="Applied">${timestamp(p.appliedAt)}</td>
    <td data-label="First start">${timestamp(p.firstStarted)}</td>
    <td data-label="Last start">${timestamp(p.lastStarted)}</td>
    <td data-label="Terms" class="terms-cell">${p.termsVersion === null ? html`<span class="muted">none</span>` : html`${p.termsVersion}${!p.termsCurrent && html` <span class="badge badge-pending">old</span>`} <span class="muted">${timestamp(p.termsAcceptedAt)}</span>`}</td>
    <td data-label="" class="row-actions">
      ${p.serverUrl && html`<a class="btn btn-small" href="${p.serverUrl}">Server</a>`}
      ${m.canDecide &&
      html`${p.status !== 'accepted' && html`<button form="participant-accept" name="users" value="${p.name}" class="btn btn-small btn-primary">Accept</button>`}
      ${p.status !== 'rejected' && html`<button form="participant-reject" name="users" value="${p.name}" class="btn btn-small">Reject</button>`}`}
      <button form="participant-remove" name="users" value="${p.name}" class="btn btn-small btn-danger" data-confirm="Remove ${p.name} from the course? Their course server stops.">Remove</button>
    </td>
  </tr>`;
  return html`<section class="card" aria-labelledby="participants-title">
  <h2 id="participants-title">Participants <span class="muted">(${accepted} of ${expected} accepted)</span></h2>
  ${m.participants.length === 0
    ? html`<p class="empty">Nobody has applied yet.</p>`
    : html`<form id="participants-bulk" method="post" action="${action}">
    ${xsrfField(ctx)}
    <table id="participants" class="table responsive">
      <thead><tr>
        ${m.canDecide && html`<th scope="col"><input type="checkbox" class="select-all" data-select="users" aria-label="Select all"></th>`}
        <th scope="col">Name</th><th scope="col">Status</th><th scope="col">Applied</th><th scope="col">First start</th><th scope="col">Last start</th><th scope="col">Terms</th><th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr></thead>
      <tbody>${m.participants.map(row)}</tbody>
    </table>
    ${m.canDecide &&
    html`<div class="actions bulk-actions">
      <button type="submit" name="action" value="accept" class="btn btn-primary">Accept selected</button>
      <button type="submit" name="action" value="reject" class="btn">Reject selected</button>
    </div>`}
  </form>
  ${['accept', 'reject', 'remove'].map(rowForm)}`}
</section>`;
}

const SERVER_BADGE: Record<ParticipantServerView['state'], SafeHtml> = {
  running: html`<span class="badge badge-ok">Running</span>`,
  starting: html`<span class="badge badge-pending">Starting</span>`,
  stopping: html`<span class="badge badge-pending">Stopping</span>`,
  stopped: html`<span class="badge">Stopped</span>`,
};

function megabytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

/** The teacher's control room: each participant's course server, one by one or all at once. */
function serversCard(ctx: PageContext, slug: string, view: CourseServersView): SafeHtml {
  const action = coursePath(ctx, slug, 'servers');
  const running = view.list.filter((s) => s.state === 'running').length;
  const oneForm = (a: string) => html`<form id="server-${a}" method="post" action="${action}" data-servers-form hidden>${xsrfField(ctx)}<input type="hidden" name="action" value="${a}"></form>`;
  const row = (s: ParticipantServerView) => html`<tr data-server-user="${s.user}" data-state="${s.state}">
    <td data-label="Name">${s.user}</td>
    <td data-label="Server" class="server-state">${SERVER_BADGE[s.state]}${s.failure && html` <span class="muted server-failure">${s.failure}</span>`}</td>
    <td data-label="Last activity">${timestamp(s.lastActivity)}</td>
    <td data-label="Memory">${s.memoryBytes === null ? '–' : `${megabytes(s.memoryBytes)}${s.memoryLimitBytes === null ? '' : ` of ${megabytes(s.memoryLimitBytes)}`}`}</td>
    <td data-label="CPU time">${s.cpuSeconds === null ? '–' : `${s.cpuSeconds.toFixed(1)} s`}</td>
    <td data-label="" class="row-actions">
      ${view.canStart && s.state === 'stopped' && html`<button form="server-start" name="users" value="${s.user}" class="btn btn-small btn-primary">Start</button>`}
      ${s.state !== 'stopped' && html`<button form="server-stop" name="users" value="${s.user}" class="btn btn-small">Stop</button>`}
      ${s.state === 'running' && html`<a class="btn btn-small" href="${s.url}">Open</a>`}
    </td>
  </tr>`;
  return html`<section class="card" aria-labelledby="servers-title" id="servers">
  <h2 id="servers-title">Participants' servers <span class="muted">(${running} of ${view.list.length} running)</span></h2>
  <p id="servers-progress" class="alert alert-info" role="status" hidden></p>
  ${view.list.length === 0
    ? html`<p class="empty">No accepted participant yet.</p>`
    : html`<form id="servers-all" method="post" action="${action}" data-servers-form>
    ${xsrfField(ctx)}
    <div class="actions">
      ${view.canStart && html`<button type="submit" name="action" value="start" class="btn btn-primary" data-confirm="Start the course servers of all ${view.list.length} participants?">Start all</button>`}
      <button type="submit" name="action" value="stop" class="btn btn-danger" data-confirm="Stop the course servers of all ${view.list.length} participants? What they have not saved is lost.">Stop all</button>
      ${view.canPushContent && html`<button type="submit" name="action" value="content" class="btn" data-confirm="Bring the course content up to date in every running server? Participants' own edits are kept.">Update content</button>`}
    </div>
    ${view.canPushContent && html`<p class="muted">Update content brings the latest course material into the running servers; the others get it at their next start. Participants' edits win over the update, files they deleted come back.</p>`}
  </form>
  <table id="participant-servers" class="table responsive">
    <thead><tr><th scope="col">Name</th><th scope="col">Server</th><th scope="col">Last activity</th><th scope="col">Memory</th><th scope="col">CPU time</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${view.list.map(row)}</tbody>
  </table>
  ${['start', 'stop'].map(oneForm)}`}
</section>`;
}

/** Teachers collect an assignment from every participant's hand-in/ folder, and download what they collected. */
function handInCard(ctx: PageContext, slug: string, view: NonNullable<NonNullable<CoursePageView['manage']>['handIn']>): SafeHtml {
  return html`<section class="card" aria-labelledby="hand-in-title" id="hand-in">
  <h2 id="hand-in-title">Hand-in</h2>
  <p class="muted">Participants hand in by putting files into the folder <code>hand-in</code> of their course folder. Collecting copies what is there now; later changes do not change the copy, and each participant can download theirs.</p>
  <form id="collect-form" method="post" action="${coursePath(ctx, slug, 'collect')}" class="inline-form">
    ${xsrfField(ctx)}
    <div class="field"><label for="collect-assignment">Assignment</label>
      <input id="collect-assignment" name="assignment" type="text" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" placeholder="week1" autocapitalize="none" spellcheck="false"></div>
    <button type="submit" class="btn btn-primary">Collect</button>
  </form>
  ${view.collections.length > 0 && collectionList(view.collections)}
  <p><a id="download-files" href="${view.filesUrl}" download>Download every participant's current files (zip)</a></p>
</section>`;
}

function collectionList(collections: CollectionView[]): SafeHtml {
  return html`<ul class="link-list collections">${collections.map(
    (c) => html`<li data-assignment="${c.assignment}"><a href="${c.url}" download>${c.assignment}</a> <span class="muted">collected ${timestamp(c.collectedAt)}, ${c.users} participant${c.users === 1 ? '' : 's'}</span></li>`,
  )}</ul>`;
}

/** A teacher writes to all accepted participants, or to those ticked. */
function messageCard(ctx: PageContext, slug: string, view: NonNullable<NonNullable<CoursePageView['manage']>['message']>): SafeHtml {
  const sent = view.sent;
  return html`<section class="card" aria-labelledby="message-title" id="message">
  <h2 id="message-title">Message participants</h2>
  ${sent &&
  html`<div class="alert alert-success" role="status" id="message-sent">Your message went to ${sent.recipients} participant${sent.recipients === 1 ? '' : 's'}${sent.withoutAddress > 0 && `; ${sent.withoutAddress} without a known e-mail address did not get it`}.</div>`}
  ${view.participants.length === 0
    ? html`<p class="empty">No accepted participant yet.</p>`
    : html`<details class="message-form"${sent && html` open`}>
    <summary>Write an e-mail…</summary>
    <form id="message-form" method="post" action="${coursePath(ctx, slug, 'messages')}" class="stack">
      ${xsrfField(ctx)}
      <div class="field"><label for="message-subject">Subject</label>
        <input id="message-subject" name="subject" type="text" required maxlength="200"></div>
      <div class="field"><label for="message-text">Message</label>
        <textarea id="message-text" name="text" rows="6" required maxlength="20000"></textarea></div>
      <fieldset class="field"><legend>To <span class="muted">(each gets their own e-mail; replies go to you)</span></legend>
        <div class="checkbox-list">${view.participants.map((p) => html`<label class="checkbox"><input type="checkbox" name="users" value="${p}" checked> ${p}</label>`)}</div>
      </fieldset>
      <button type="submit" class="btn btn-primary">Send</button>
    </form>
  </details>`}
</section>`;
}

function archivesCard(archives: NonNullable<CoursePageView['manage']>['archives']): SafeHtml {
  const size = (bytes: number) => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`);
  return html`<section class="card" aria-labelledby="archives-title">
  <h2 id="archives-title">Archives</h2>
  <p class="muted">Each participant's files, as they were when the course ended.</p>
  <ul class="link-list">${archives.map((a) => html`<li><a href="${a.url}" download>${a.user}</a> <span class="muted">(${size(a.bytes)})</span></li>`)}</ul>
</section>`;
}

function eventsLog(events: CourseEventView[]): SafeHtml {
  return html`<details class="card audit-log">
  <summary>History (${events.length})</summary>
  <table class="table responsive">
    <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
    <tbody>${events.map(
      (e) => html`<tr>
      <td data-label="When">${timestamp(e.at)}</td>
      <td data-label="Who">${e.actor}</td>
      <td data-label="What">${e.action.replace(/_/g, ' ')}</td>
      <td data-label="State">${e.from && e.to && e.from !== e.to ? `${e.from} → ${e.to}` : (e.to ?? '')}</td>
      <td data-label="Detail">${e.detail}</td>
    </tr>`,
    )}</tbody>
  </table>
</details>`;
}

export function coursePage(ctx: PageContext, view: CoursePageView): string {
  const c = view.course;
  const f = c.full;
  const self = coursePath(ctx, c.slug);
  const body = html`<section class="card" aria-labelledby="course-title" id="course" data-slug="${c.slug}" data-state="${c.state}">
  <div class="card-head">
    <h1 id="course-title">${c.title}</h1>
    ${stateBadge(c.state)}
  </div>
  <p class="state-sentence">${stateSentence(c.state)}</p>
  <p class="muted">${courseDates(c.startsAt, c.endsAt)}</p>
  ${f?.failure && html`<div class="alert alert-error" role="alert"><strong>What went wrong:</strong> ${f.failure}</div>`}
  ${f?.reviewComment && html`<div class="alert alert-info" id="review-comment"><strong>${c.state === 'cancelled' ? 'Reason' : 'From the review'}:</strong> <span class="pre-line">${f.reviewComment}</span></div>`}
  ${myStatus(view)}
  ${view.warnings && cullWarnings(ctx, view.warnings.cull, self)}
  ${view.warnings && courseEndings(view.warnings.endings)}
  ${view.termsToAccept && termsForm(ctx, c.slug, view.termsToAccept)}
  ${(view.canEdit || view.canCancel) &&
  html`<div class="actions course-actions">
    ${view.canEdit && html`<a id="edit-course" class="btn" href="${coursePath(ctx, c.slug, 'edit')}">Edit the request</a>`}
  </div>
  ${view.canCancel && cancelForm(ctx, c.slug)}`}
  ${view.canRetry && retryForm(ctx, c.slug)}
  ${view.me?.role === 'student' && (view.me.status === 'accepted' || view.me.status === 'applied') && leaveForm(ctx, c.slug, view.me.status === 'applied')}
</section>
<section class="card" aria-labelledby="details-title">
  <h2 id="details-title">Details</h2>
  ${courseFacts(c)}
</section>
${view.review &&
html`<section class="card" aria-labelledby="review-title">
  <h2 id="review-title">Review</h2>
  ${loadTable(view.review.load)}
  ${reviewForms(ctx, c.slug, view.review.actions, self)}
</section>`}
${view.changes && changesCard(ctx, c.slug, view.changes)}
${view.manage && joinCard(ctx, c.slug, view.manage.join)}
${view.manage && f && participantsCard(ctx, c.slug, view.manage, f.participants.accepted, f.expectedParticipants)}
${view.manage?.servers && serversCard(ctx, c.slug, view.manage.servers)}
${view.manage?.handIn && handInCard(ctx, c.slug, view.manage.handIn)}
${view.manage?.message && messageCard(ctx, c.slug, view.manage.message)}
${view.myCollections &&
html`<section class="card" aria-labelledby="my-hand-ins-title" id="my-hand-ins">
  <h2 id="my-hand-ins-title">Your hand-ins</h2>
  <p class="muted">Put what you hand in into the folder <code>hand-in</code> of your course folder; your teachers collect it. What they collected:</p>
  ${view.myCollections.length > 0 ? collectionList(view.myCollections) : html`<p class="empty">Nothing collected yet.</p>`}
</section>`}
${view.manage && view.manage.archives.length > 0 && archivesCard(view.manage.archives)}
${view.events && eventsLog(view.events)}`;
  return page(ctx, c.title, body, ['courses.js']);
}

// ---------------------------------------------------------------------------------------------
// /hub/courses/<slug>/join?code=…

export type JoinView = {
  course: { slug: string; title: string; description: string; startsAt: string; endsAt: string; teachers: string[] };
  code: string;
  autoAccept: boolean;
  email: string;
  terms: TermsView;
  error?: string;
  termsError?: string;
};

export function joinPage(ctx: PageContext, view: JoinView): string {
  const c = view.course;
  const verb = view.autoAccept ? 'Join' : 'Apply';
  const body = html`<section class="card card-narrow join-card" aria-labelledby="join-course-title">
  <h1 id="join-course-title">${c.title}</h1>
  <p class="muted">${courseDates(c.startsAt, c.endsAt)}<br>Taught by ${c.teachers.join(', ')}</p>
  ${c.description && html`<div class="course-description">${c.description}</div>`}
  <p>${view.autoAccept ? 'Joining makes you a participant at once.' : 'The teacher accepts participants; you will see here when you are in.'}</p>
  ${errorAlert(view.error)}
  <form method="post" action="${coursePath(ctx, c.slug, 'join')}?code=${encodeURIComponent(view.code)}" class="stack">
    ${xsrfField(ctx)}
    <input type="hidden" name="code" value="${view.code}">
    <div class="field"><label for="join-email">E-mail <span class="muted">(optional, to hear about the course)</span></label>
      <input id="join-email" name="email" type="email" autocomplete="email" value="${view.email}"></div>
    ${termsAcceptField(view.terms, view.termsError)}
    <button id="apply" type="submit" class="btn btn-primary btn-block">${verb}</button>
  </form>
</section>`;
  return page(ctx, `${verb}: ${c.title}`, body);
}
