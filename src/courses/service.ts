/**
 * What people do with courses, for the API and the pages alike: request, edit, review, cancel,
 * join, decide on participants, rotate the join code. Every operation checks the caller's scopes
 * on the course (RBAC; a course's scopes are filtered by its group `course-<slug>`), asks the state
 * machine whether the action is possible, writes the change with its audit event, then tells people.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { CoursesConfig } from '../config/schema.js';
import type { CourseRepo, MemberWithName } from '../db/repos/courses.js';
import type { GroupRepo } from '../db/repos/groups.js';
import type { RoleRepo } from '../db/repos/roles.js';
import type { UserRepo } from '../db/repos/users.js';
import type { CourseChangeRow, CourseMemberRow, CourseRow, UserRow } from '../db/schema.js';
import { capacityErrors, changedFields, describeChange, needsReview, type ChangeSet } from './changes.js';
import { isoNow } from '../db/time.js';
import { ConfigError, HubError } from '../errors.js';
import type { Caller } from '../hub/access.js';
import { checkScope } from '../rbac/scopes.js';
import type { CourseFiles } from './files.js';
import { pullContent, type ContentRepo } from './content.js';
import type { ResourceLimits } from '../spawners/spawner.js';
import { joinCode, joinCodeMatches, newJoinNonce } from './join-code.js';
import type { CourseNotice, NoticeData, Notifier } from './notices.js';
import { selectParticipants } from './selection.js';
import { checkCourseRequest, type CourseLimits, type CourseRequest, type FieldErrors } from './request.js';
import { applyAction, canApply, CourseTransitionError, type CourseAction, type CourseState } from './state-machine.js';
import { wallClock } from '../clock.js';

export interface CourseResources {
  cpu: number;
  memory_gb: number;
  storage_gb: number;
  gpu: number;
}

/** What the service needs from the rest of the hub. */
export interface CourseServiceDeps {
  config: CoursesConfig;
  courses: CourseRepo;
  users: UserRepo;
  groups: GroupRepo;
  roles: RoleRepo;
  files: CourseFiles;
  notifier: Notifier;
  log: Logger;
  /** Signs join codes. */
  secret: Buffer;
  /** Public URL of the hub's pages, e.g. https://hub.example.org/hub/ */
  publicHubUrl: string;
  /** A user's e-mail address from what the hub knows (auth_state), or null. */
  emailOf(user: UserRow): string | null;
  /** Stops a user's course server if it runs (rejected or removed participants, the course's end). */
  stopCourseServer(user: UserRow, slug: string): Promise<void>;
  /** Whether some user has a server of this name. */
  serverNameInUse(name: string): Promise<boolean>;
  /** Asks the scheduler to look at the courses now (after an approval). */
  wake(): void;
}

/** A course as the API shows it to a caller. */
export type CourseModel = Record<string, unknown>;

/** States in which nothing more happens to a course. */
const CLOSED: readonly CourseState[] = ['rejected', 'cancelled', 'deleted'];
/** States in which people may apply with the join code. */
const JOINABLE: readonly CourseState[] = ['scheduled', 'ready', 'active'];

/** Whether a member must accept the current terms of use (`version`) before starting their course server: participants who accepted another version, or none. */
export function mustAcceptTerms(member: Pick<CourseMemberRow, 'role' | 'terms_version'>, version: string): boolean {
  return member.role === 'student' && member.terms_version !== version;
}

/** The limits a member's course server runs with, and so the work done in their course files. */
export function memberLimits(course: Pick<CourseRow, 'resources'>): ResourceLimits {
  const resources = JSON.parse(course.resources) as CourseResources;
  return { memLimit: `${resources.memory_gb}G`, cpuLimit: resources.cpu };
}

export function courseGroup(slug: string): string {
  return `course-${slug}`;
}

export function teacherRole(slug: string): string {
  return `course-${slug}-teachers`;
}

/**
 * What the course's teachers may do, as scopes on the course's group (no "if teacher" in handlers).
 * The servers scopes reach every server of the participants, so they last only while the course is
 * open; afterwards teachers keep managing the course (participants, archives).
 */
export function teacherScopes(slug: string, serversToo = true): string[] {
  const g = `!group=${courseGroup(slug)}`;
  const manage = [`courses:manage${g}`, `read:users${g}`, `list:users${g}`, `read:groups${g}`];
  return serversToo ? [...manage, `servers${g}`, `access:servers${g}`] : manage;
}

/** States in which teachers reach their participants' servers. */
const SERVERS_OPEN: readonly CourseState[] = ['pending', 'changes_requested', 'scheduled', 'ready', 'active'];

export class CourseService {
  private readonly termsText: string | null;

  constructor(private readonly d: CourseServiceDeps) {
    const file = d.config.terms_of_use.file;
    try {
      this.termsText = file ? readFileSync(file, 'utf8') : null;
    } catch (err) {
      throw new ConfigError(`courses.terms_of_use.file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  get config(): CoursesConfig {
    return this.d.config;
  }

  limits(): CourseLimits {
    const c = this.d.config;
    return {
      maxDurationDays: c.max_duration_days,
      maxParticipants: c.max_participants,
      environments: Object.keys(c.environments),
      resources: { cpu: c.limits.cpu, memoryGb: c.limits.memory_gb, storageGb: c.limits.storage_gb, gpu: c.limits.gpu },
      termsVersion: c.terms_of_use.version,
      allowFileRepos: c.allow_file_repos,
    };
  }

  terms(): { version: string; text: string | null } {
    return { version: this.d.config.terms_of_use.version, text: this.termsText };
  }

  courseUrl(slug: string): string {
    return `${this.d.publicHubUrl}courses/${slug}`;
  }

  joinUrl(course: CourseRow): string {
    return `${this.d.publicHubUrl}courses/${course.slug}/join?code=${this.joinCodeOf(course)}`;
  }

  joinCodeOf(course: CourseRow): string {
    return joinCode(this.d.secret, course.id, course.join_nonce);
  }

  // ------------------------------------------------------------------------------------------
  // permissions

  /** The caller's own user row (courses are for people; services act through the API as admins do). */
  private userOf(caller: Caller): UserRow | null {
    return caller.principal.kind === 'user' ? caller.principal.user : null;
  }

  private may(caller: Caller, scope: string, course: Pick<CourseRow, 'slug'>): boolean {
    return checkScope(caller.scopes, scope, { group: courseGroup(course.slug) });
  }

  async membership(caller: Caller, course: CourseRow): Promise<CourseMemberRow | undefined> {
    const me = this.userOf(caller);
    return me ? this.d.courses.member(course.id, me.id) : undefined;
  }

  /**
   * Whether being a member lets this caller see the member's courses: only with a course scope for
   * that user (`courses:join`, which every user's role holds for themselves). A token its owner made
   * for something else (say `read:users:name` only) reads no course.
   */
  private membersView(caller: Caller): boolean {
    const me = this.userOf(caller);
    return me !== null && checkScope(caller.scopes, 'courses:join', { user: me.name });
  }

  /** The course if the caller may see it (reader, reviewer, teacher or member); 404 otherwise, as for a course that does not exist. */
  async visible(caller: Caller, slug: string): Promise<{ course: CourseRow; member: CourseMemberRow | undefined }> {
    const course = await this.d.courses.bySlug(slug);
    if (course && course.state !== 'deleted') {
      const member = await this.membership(caller, course);
      if ((member && this.membersView(caller)) || this.may(caller, 'read:courses', course)) return { course, member };
    }
    throw new HubError(404, `No such course: ${slug}`);
  }

  /** The course, if the caller holds `scope` on it: 404 when they cannot see it, 403 when they can but lack the scope. */
  private async withScope(caller: Caller, slug: string, scope: string): Promise<CourseRow> {
    const { course } = await this.visible(caller, slug);
    if (!this.may(caller, scope, course)) throw new HubError(403, `Action is not authorized with current scopes; requires any of [${scope}!group=${courseGroup(slug)}]`);
    return course;
  }

  /** The course, if the caller manages it (`courses:manage`): 404 when they cannot see it, 403 when they only see it. */
  managed(caller: Caller, slug: string): Promise<CourseRow> {
    return this.withScope(caller, slug, 'courses:manage');
  }

  /** A teacher's action that changes nothing of the course itself (start all, a push, a collection), in its history. */
  async record(caller: Caller, course: CourseRow, action: string, detail: string): Promise<void> {
    await this.d.courses.record(course.id, { actor: this.actorName(caller), action, detail });
  }

  /** Where the course keeps its members' files (the control room's downloads and collections work there). */
  get files(): CourseFiles {
    return this.d.files;
  }

  /** Brings a member's copy of the course content up to date now, as them (a teacher's push to running servers). */
  async pullMemberContent(slug: string, user: UserRow): Promise<'cloned' | 'updated'> {
    const course = await this.d.courses.bySlug(slug);
    if (!course?.content_repo) throw new HubError(409, `The course ${slug} has no content repository`);
    const files = await this.d.files.memberFiles(course.slug, user, memberLimits(course));
    return pullContent(files, JSON.parse(course.content_repo) as ContentRepo, this.d.files.homeDir(course.slug, user.name));
  }

  /** Whether participants may still be accepted or rejected (not after the end). */
  canDecide(course: CourseRow): boolean {
    return !CLOSED.includes(course.state as CourseState) && course.state !== 'ended' && course.state !== 'archived';
  }

  /** Whether the caller sees the whole course (participants, history), not only its public part. */
  canRead(caller: Caller, course: CourseRow): boolean {
    return this.may(caller, 'read:courses', course);
  }

  canManage(caller: Caller, course: CourseRow): boolean {
    return this.may(caller, 'courses:manage', course);
  }

  canReview(caller: Caller, course?: CourseRow): boolean {
    return course ? this.may(caller, 'courses:review', course) : checkScope(caller.scopes, 'courses:review');
  }

  canRequest(caller: Caller): boolean {
    return this.userOf(caller) !== null && checkScope(caller.scopes, 'courses:request');
  }

  // ------------------------------------------------------------------------------------------
  // reading

  /** Every course the caller may see (all for reviewers, else those they read, teach or take), with the caller's membership. */
  async list(caller: Caller, filter: { states?: readonly string[] } = {}): Promise<Array<{ course: CourseRow; member: CourseMemberRow | undefined }>> {
    const me = this.userOf(caller);
    const mine = new Map((me && this.membersView(caller) ? await this.d.courses.membershipsOf(me.id) : []).map((m) => [m.course_id, m]));
    const all = await this.d.courses.list(filter);
    return all
      .filter((c) => c.state !== 'deleted' && (mine.has(c.id) || this.may(caller, 'read:courses', c)))
      .map((course) => ({ course, member: mine.get(course.id) }));
  }

  /** The API model; teachers and reviewers see everything, participants the public part. */
  async model(caller: Caller, course: CourseRow, member?: CourseMemberRow): Promise<CourseModel> {
    const teachers = await this.d.courses.members(course.id, { role: 'teacher' });
    const requester = course.requested_by === null ? null : await this.d.users.byId(course.requested_by);
    const full = this.may(caller, 'read:courses', course);
    const base: CourseModel = {
      kind: 'course',
      slug: course.slug,
      title: course.title,
      description: course.description,
      state: course.state,
      starts_at: course.starts_at,
      ends_at: course.ends_at,
      environment: course.environment,
      resources: JSON.parse(course.resources) as CourseResources,
      teachers: teachers.map((t) => t.user_name),
      server_name: course.slug,
      group: courseGroup(course.slug),
      my_role: member?.role ?? null,
      my_status: member?.status ?? null,
    };
    if (!full) return base;
    const accepted = await this.d.courses.countAccepted(course.id);
    const applied = (await this.d.courses.members(course.id, { role: 'student', status: 'applied' })).length;
    const model: CourseModel = {
      ...base,
      expected_participants: course.expected_participants,
      custom_image: course.custom_image,
      content_repo: course.content_repo ? (JSON.parse(course.content_repo) as unknown) : null,
      requested_by: requester?.name ?? null,
      contact_email: course.contact_email,
      accepted_terms_version: course.accepted_terms_version,
      created: course.created,
      updated: course.updated,
      review_comment: course.review_comment,
      failure: course.failure,
      participants: { accepted, applied, limit: course.expected_participants },
      auto_accept: course.auto_accept === 1,
    };
    if (this.may(caller, 'courses:manage', course)) {
      model.join = { code: this.joinCodeOf(course), url: this.joinUrl(course), expires_at: course.join_expires_at, auto_accept: course.auto_accept === 1 };
    }
    return model;
  }

  async events(caller: Caller, slug: string) {
    const course = await this.withScope(caller, slug, 'read:courses');
    return this.d.courses.events(course.id);
  }

  /**
   * What the course asks of the site while it runs, with every other approved or pending course
   * overlapping its dates: participants × resources, against `courses.capacity`.
   */
  async load(course: CourseRow): Promise<{ course: CourseResources; overlapping: CourseResources; capacity: CourseResources; overlapping_courses: string[] }> {
    const need = (c: CourseRow): CourseResources => {
      const r = JSON.parse(c.resources) as CourseResources;
      const n = c.expected_participants;
      return { cpu: r.cpu * n, memory_gb: r.memory_gb * n, storage_gb: r.storage_gb * n, gpu: r.gpu * n };
    };
    const others = (await this.d.courses.list({ states: ['pending', 'scheduled', 'ready', 'active'] })).filter(
      (c) => c.id !== course.id && c.starts_at < course.ends_at && c.ends_at > course.starts_at,
    );
    const sum: CourseResources = { cpu: 0, memory_gb: 0, storage_gb: 0, gpu: 0 };
    for (const c of others) {
      const n = need(c);
      for (const k of Object.keys(sum) as Array<keyof CourseResources>) sum[k] += n[k];
    }
    const cap = this.d.config.capacity;
    return { course: need(course), overlapping: sum, capacity: { cpu: cap.cpu, memory_gb: cap.memory_gb, storage_gb: cap.storage_gb, gpu: cap.gpu }, overlapping_courses: others.map((c) => c.slug) };
  }

  // ------------------------------------------------------------------------------------------
  // requests and review

  /** A teacher's new request; 400 with `errors` by field when it is not acceptable. */
  async request(caller: Caller, body: unknown): Promise<CourseRow> {
    const me = this.userOf(caller);
    if (!me || !checkScope(caller.scopes, 'courses:request')) {
      throw new HubError(403, 'Action is not authorized with current scopes; requires any of [courses:request]');
    }
    const request = await this.checkRequest(body, null);
    const teacherIds = [me.id, ...(await this.coTeacherIds(request))];
    const now = isoNow();
    const row = await this.d.courses.create(
      {
        ...requestColumns(request),
        slug: request.slug,
        state: 'pending',
        requested_by: me.id,
        created: now,
        updated: now,
        review_comment: null,
        failure: null,
        join_nonce: newJoinNonce(),
        join_expires_at: null,
      },
      teacherIds,
      { actor: me.name, action: 'request' },
    );
    await this.syncTeacherRole(row);
    this.d.log.info({ course: row.slug, by: me.name }, 'course requested');
    this.tellGovernance('request_received', row, me.name);
    return row;
  }

  /** Changes a request under review or sent back (which resubmits it); PATCH semantics: absent fields keep their value. */
  async edit(caller: Caller, slug: string, body: unknown): Promise<CourseRow> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    this.check(course, 'edit');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HubError(400, 'The body must be a JSON object');
    const patch = body as Record<string, unknown>;
    if ('slug' in patch && patch.slug !== course.slug) throw fieldErrors({ slug: 'The short name of a course cannot change.' });
    const merged = { ...requestBodyOf(course, await this.d.courses.members(course.id, { role: 'teacher' })), ...patch, slug: course.slug };
    const request = await this.checkRequest(merged, course);
    const actor = this.actorName(caller);
    const teacherIds = [...(course.requested_by === null ? [] : [course.requested_by]), ...(await this.coTeacherIds(request))];
    const columns = requestColumns(request);
    const state = course.state as CourseState;
    const ok =
      state === 'changes_requested'
        ? await this.d.courses.transition(course.id, state, applyAction(state, 'resubmit'), columns, { actor, action: 'resubmit' })
        : await this.d.courses.update(course.id, [state], columns, { actor, action: 'edit' }, teacherIds);
    if (!ok) throw new HubError(409, `Course ${slug} changed meanwhile; reload and try again`);
    if (state === 'changes_requested') await this.d.courses.update(course.id, ['pending'], {}, null, teacherIds);
    const updated = (await this.d.courses.byId(course.id))!;
    await this.syncTeacherRole(updated);
    this.tellGovernance('request_changed', updated, actor);
    return updated;
  }

  async approve(caller: Caller, slug: string, comment: string | null): Promise<CourseRow> {
    const course = await this.review(caller, slug, 'approve', comment, 'approved');
    this.d.wake();
    return course;
  }

  async reject(caller: Caller, slug: string, reason: unknown): Promise<CourseRow> {
    return this.review(caller, slug, 'reject', () => requiredText(reason, 'reason', 'Say why the request is rejected.'), 'rejected');
  }

  async requestChanges(caller: Caller, slug: string, comment: unknown): Promise<CourseRow> {
    return this.review(caller, slug, 'request_changes', () => requiredText(comment, 'comment', 'Say what the teacher should change.'), 'changes_requested');
  }

  /** `text` reads the reason or comment once the caller is known to be a reviewer (401/404 before 400). */
  private async review(caller: Caller, slug: string, action: CourseAction, text: string | null | (() => string), notice: CourseNotice): Promise<CourseRow> {
    const course = await this.withScope(caller, slug, 'courses:review');
    const comment = typeof text === 'function' ? text() : text;
    const to = this.check(course, action);
    const actor = this.actorName(caller);
    const ok = await this.d.courses.transition(course.id, course.state, to, { review_comment: comment }, { actor, action, detail: comment ?? '' });
    if (!ok) throw new HubError(409, `Course ${slug} changed meanwhile; reload and try again`);
    const updated = (await this.d.courses.byId(course.id))!;
    // A rejected request never opens: its teachers keep seeing it as members, the role goes.
    if (to === 'rejected') await this.dropAccess(updated);
    this.d.log.info({ course: slug, by: actor, action }, 'course reviewed');
    await this.tellTeachers(notice, updated, { comment, actor });
    return updated;
  }

  // ------------------------------------------------------------------------------------------
  // changes after approval

  /** A course's changes, newest last (read:courses). */
  async changes(caller: Caller, slug: string): Promise<{ course: CourseRow; changes: CourseChangeRow[] }> {
    const course = await this.withScope(caller, slug, 'read:courses');
    return { course, changes: await this.d.courses.changes(course.id) };
  }

  /**
   * A teacher proposes a change to an approved, ready or active course. Checked as a request is, and
   * against what only matters now (participants already accepted, an end not past, capacity over
   * the new dates). Pending for governance, or applied at once when every field is one the site
   * lets change without review (courses.changes_without_review).
   */
  async proposeChange(caller: Caller, slug: string, body: unknown): Promise<CourseChangeRow> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    this.check(course, 'change');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HubError(400, 'The body must be a JSON object');
    const current = requestBodyOf(course, await this.d.courses.members(course.id, { role: 'teacher' }));
    const started = Date.parse(course.starts_at) <= wallClock.now();
    const found = changedFields(body as Record<string, unknown>, current, started);
    if (!found.ok) throw fieldErrors(found.errors);
    await this.checkChange(course, found.changes);
    const previous = Object.fromEntries(Object.keys(found.changes).map((k) => [k, current[k] ?? null]));
    const actor = this.actorName(caller);
    const summary = describeChange(found.changes, previous);
    const row = await this.d.courses.proposeChange(
      course.id,
      { changes: JSON.stringify(found.changes), previous: JSON.stringify(previous), requested_by: actor },
      { actor, action: 'change_requested', detail: summary },
    );
    this.d.log.info({ course: slug, by: actor, fields: Object.keys(found.changes) }, 'course change requested');
    if (!needsReview(found.changes, this.d.config.changes_without_review)) {
      await this.decideChange(course, row, { state: 'approved', actor, comment: 'applied without review (courses.changes_without_review)' });
      this.tellGovernance('change_applied', (await this.d.courses.byId(course.id))!, actor, summary);
      return (await this.d.courses.change(course.id, row.id))!;
    }
    this.tellGovernance('change_requested', course, actor, summary);
    return row;
  }

  async approveChange(caller: Caller, slug: string, id: number, comment: string | null): Promise<CourseChangeRow> {
    const { course, change } = await this.pendingChange(caller, slug, id);
    const actor = this.actorName(caller);
    await this.decideChange(course, change, { state: 'approved', actor, comment });
    const updated = (await this.d.courses.byId(course.id))!;
    await this.tellTeachers('change_approved', updated, { comment: [describeChange(JSON.parse(change.changes) as ChangeSet, JSON.parse(change.previous) as ChangeSet), comment].filter(Boolean).join('\n\n'), actor });
    return (await this.d.courses.change(course.id, id))!;
  }

  async rejectChange(caller: Caller, slug: string, id: number, reason: unknown): Promise<CourseChangeRow> {
    const { course, change } = await this.pendingChange(caller, slug, id);
    const comment = requiredText(reason, 'comment', 'Say why the change is not approved.');
    const actor = this.actorName(caller);
    await this.decideChange(course, change, { state: 'rejected', actor, comment });
    await this.tellTeachers('change_rejected', course, { comment, actor });
    return (await this.d.courses.change(course.id, id))!;
  }

  /** A pending change of a course the caller reviews: 404 for none, 409 for one decided already. */
  private async pendingChange(caller: Caller, slug: string, id: number): Promise<{ course: CourseRow; change: CourseChangeRow }> {
    const course = await this.withScope(caller, slug, 'courses:review');
    const change = Number.isInteger(id) ? await this.d.courses.change(course.id, id) : undefined;
    if (!change) throw new HubError(404, `No change ${id} of course ${slug}`);
    if (change.state !== 'pending') throw new HubError(409, `Change ${id} of course ${slug} was ${change.state} already`);
    return { course, change };
  }

  /**
   * Writes the decision; an approval applies the change to the course in the same transaction,
   * checked again against the course as it is now (it may have moved since the change was proposed).
   */
  private async decideChange(course: CourseRow, change: CourseChangeRow, decision: { state: 'approved' | 'rejected'; actor: string; comment: string | null }): Promise<void> {
    const changes = JSON.parse(change.changes) as ChangeSet;
    let apply: { inStates: readonly string[]; columns: CourseChangeColumns; teacherIds?: number[] } | null = null;
    if (decision.state === 'approved') {
      this.check(course, 'change');
      const request = await this.checkChange(course, changes);
      apply = {
        inStates: [course.state],
        columns: changeColumns(request, changes),
        ...('co_teachers' in changes ? { teacherIds: [...(course.requested_by === null ? [] : [course.requested_by]), ...(await this.coTeacherIds(request))] } : {}),
      };
    }
    const detail = [`change ${change.id}`, decision.comment].filter(Boolean).join(': ');
    const ok = await this.d.courses.decideChange(
      course.id,
      change.id,
      { state: decision.state, decided_by: decision.actor, comment: decision.comment },
      apply,
      { actor: decision.actor, action: decision.state === 'approved' ? 'change_approved' : 'change_rejected', detail },
    );
    if (!ok) throw new HubError(409, `Course ${course.slug} or its change ${change.id} changed meanwhile; reload and try again`);
    if (apply) {
      const updated = (await this.d.courses.byId(course.id))!;
      if (apply.teacherIds || 'title' in changes) await this.syncTeacherRole(updated);
      // New dates move the timed steps: let the scheduler look now.
      this.d.wake();
    }
    this.d.log.info({ course: course.slug, change: change.id, by: decision.actor, decision: decision.state }, 'course change decided');
  }

  /** The course as it would be with `changes`: checked as a request, plus what only matters after approval. */
  private async checkChange(course: CourseRow, changes: ChangeSet): Promise<CourseRequest> {
    const teachers = await this.d.courses.members(course.id, { role: 'teacher' });
    const limits = this.limits();
    const merged = { ...requestBodyOf(course, teachers), ...changes, slug: course.slug, accepted_terms_version: limits.termsVersion };
    const now = wallClock.now();
    const result = checkCourseRequest(merged, limits, now, { startMayBePast: !('starts_at' in changes) });
    if (!result.ok) throw fieldErrors(result.errors);
    const request = result.request;
    const errors: FieldErrors = {};
    if ('ends_at' in changes && Date.parse(request.ends_at) <= now) errors.ends_at = 'The end must be in the future.';
    const accepted = await this.d.courses.countAccepted(course.id);
    if (request.expected_participants < accepted) errors.expected_participants = `At least the ${accepted} participants accepted already.`;
    const missing = [];
    for (const name of request.co_teachers) if (!(await this.d.users.byName(name))) missing.push(name);
    if (missing.length) errors.co_teachers = `No such users: ${missing.join(', ')} (a co-teacher must have logged in once).`;
    const before = await this.load(course);
    const after = await this.load({ ...course, ...changeColumns(request, changes) });
    Object.assign(errors, capacityErrors(before.course, after.course, after.overlapping, after.capacity));
    if (Object.keys(errors).length) throw fieldErrors(errors);
    return request;
  }

  /** A failed course, fixed by its teachers, goes back through preparation (before its end). */
  async retry(caller: Caller, slug: string): Promise<CourseRow> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    const to = this.check(course, 'retry');
    if (Date.parse(course.ends_at) <= wallClock.now()) throw new HubError(409, `Course ${slug} ended on ${course.ends_at}: there is nothing left to retry (change its end first, or request a new course)`);
    const actor = this.actorName(caller);
    const ok = await this.d.courses.transition(course.id, course.state, to, { failure: null }, { actor, action: 'retry', detail: course.failure ?? '' });
    if (!ok) throw new HubError(409, `Course ${slug} changed meanwhile; reload and try again`);
    const updated = (await this.d.courses.byId(course.id))!;
    await this.syncTeacherRole(updated);
    this.d.log.info({ course: slug, by: actor }, 'failed course retried');
    this.d.wake();
    return updated;
  }

  /** A teacher (or governance) cancels a course up to its end; a running course's servers stop and its files are archived. */
  async cancel(caller: Caller, slug: string, reason: string | null): Promise<CourseRow> {
    const { course } = await this.visible(caller, slug);
    if (!this.may(caller, 'courses:manage', course) && !this.may(caller, 'courses:review', course)) {
      throw new HubError(403, `Action is not authorized with current scopes; requires any of [courses:manage!group=${courseGroup(slug)}, courses:review]`);
    }
    const to = this.check(course, 'cancel');
    const actor = this.actorName(caller);
    const wasOpen = course.state === 'ready' || course.state === 'active';
    const ok = await this.d.courses.transition(course.id, course.state, to, { review_comment: reason }, { actor, action: 'cancel', detail: reason ?? '' });
    if (!ok) throw new HubError(409, `Course ${slug} changed meanwhile; reload and try again`);
    // An open course's files are archived for its teachers; one that never opened has nothing to keep.
    if (wasOpen) await this.closeDown(course, { archive: true });
    else await this.dropAccess(course);
    const updated = (await this.d.courses.byId(course.id))!;
    await this.tellTeachers('cancelled', updated, { comment: reason, actor });
    return updated;
  }

  /**
   * Stops every member's course server (the end of a course, or its cancellation); `archive` also
   * archives their files at once (a cancellation: no archive step will follow).
   */
  async closeDown(course: CourseRow, { archive }: { archive: boolean }): Promise<void> {
    await this.syncTeacherRole(course, false);
    const members = await this.d.courses.members(course.id);
    for (const m of members) {
      const user = await this.d.users.byId(m.user_id);
      if (user) await this.d.stopCourseServer(user, course.slug);
    }
    if (archive) await this.d.files.archive(course.slug);
  }

  // ------------------------------------------------------------------------------------------
  // participation

  /** The course behind a join link, if the code is right and the course takes applications. */
  async joinable(slug: string, code: unknown): Promise<CourseRow> {
    const course = await this.d.courses.bySlug(slug);
    if (!course || typeof code !== 'string' || !joinCodeMatches(this.d.secret, course.id, course.join_nonce, code)) {
      throw new HubError(404, 'No course with this join code: check the link, or ask the teacher for a new one');
    }
    if (course.join_expires_at && Date.parse(course.join_expires_at) <= wallClock.now()) {
      throw new HubError(410, 'This join link has expired: ask the teacher for a new one');
    }
    if (!JOINABLE.includes(course.state as CourseState)) throw new HubError(409, `Course ${slug} is ${course.state} and takes no applications`);
    return course;
  }

  /** The caller applies (or, with auto-accept, joins) with the join code. */
  async apply(caller: Caller, slug: string, body: unknown): Promise<{ course: CourseRow; status: 'applied' | 'accepted' }> {
    const me = this.userOf(caller);
    if (!me || !checkScope(caller.scopes, 'courses:join', { user: me.name })) {
      throw new HubError(403, 'Action is not authorized with current scopes; requires any of [courses:join]');
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const course = await this.joinable(slug, b.code);
    const email = typeof b.email === 'string' && b.email.trim() ? b.email.trim() : null;
    const errors: FieldErrors = {};
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors.email = 'An e-mail address.';
    const terms = this.termsErrors(b.accepted_terms_version);
    if (terms) errors.accepted_terms_version = terms;
    if (Object.keys(errors).length) throw fieldErrors(errors);
    const result = await this.d.courses.apply(course.id, me.id, email, this.terms().version, course.auto_accept === 1 ? { limit: course.expected_participants } : null, { actor: me.name, action: 'apply' });
    if (result === 'already') throw new HubError(409, `You are already ${(await this.d.courses.member(course.id, me.id))?.status ?? 'a member'} in course ${slug}`);
    if (result === 'full') throw new HubError(409, `Course ${slug} is full (${course.expected_participants} participants)`);
    if (result === 'accepted') {
      await this.addToGroup(course, [me.id]);
      await this.tellParticipant('participant_accepted', course, me, email);
    }
    this.d.log.info({ course: slug, user: me.name, status: result }, 'course application');
    return { course, status: result };
  }

  /** Why `accepted` does not accept the current terms of use, or null when it does. */
  private termsErrors(accepted: unknown): string | null {
    const version = this.terms().version;
    return accepted === version ? null : `Accept the terms of use (version ${version}).`;
  }

  mustAcceptTerms(member: Pick<CourseMemberRow, 'role' | 'terms_version'>): boolean {
    return mustAcceptTerms(member, this.terms().version);
  }

  /**
   * A teacher's e-mail to the accepted participants (all, or those `users` names), one message to
   * each (nobody sees the others' addresses), answered to the teacher's own address when the hub
   * knows it (else the course's contact address). Participants with no known address are named in the answer.
   */
  async message(caller: Caller, slug: string, body: unknown): Promise<{ recipients: number; without_address: string[] }> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    if (!this.d.config.smtp) throw new HubError(409, 'This hub sends no e-mail: courses.smtp is not configured');
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const errors: FieldErrors = {};
    const subject = typeof b.subject === 'string' ? b.subject.trim() : '';
    const text = typeof b.text === 'string' ? b.text.trim() : '';
    if (!subject || subject.length > 200 || /[\r\n]/.test(subject)) errors.subject = 'A subject of one line, at most 200 characters.';
    if (!text || text.length > 20_000) errors.text = 'A message of at most 20,000 characters.';
    if (Object.keys(errors).length) throw fieldErrors(errors);
    const members = await this.d.courses.members(course.id);
    const selected = selectParticipants(members, b.users, slug);
    const actor = this.actorName(caller);
    const me = this.userOf(caller);
    const myMember = me ? members.find((m) => m.user_id === me.id) : undefined;
    // Replies reach the teacher who wrote: their address, else the course's contact address.
    const replyTo = myMember?.email ?? (me ? this.d.emailOf(me) : null) ?? course.contact_email;
    const without: string[] = [];
    let sent = 0;
    for (const m of selected) {
      const user = await this.d.users.byId(m.user_id);
      const address = m.email ?? (user ? this.d.emailOf(user) : null);
      if (!address) {
        without.push(m.user_name);
        continue;
      }
      this.d.notifier.notify('participant_message', [address], this.noticeData(course, { actor, participant: m.user_name, message: { subject, text, reply_to: replyTo } }));
      sent++;
    }
    await this.d.courses.record(course.id, { actor, action: 'message', detail: `"${subject}" to ${sent} of ${selected.length} participants` });
    this.d.log.info({ course: slug, actor, recipients: sent }, 'message to participants');
    return { recipients: sent, without_address: without };
  }

  /** A participant accepts the current terms of use (when a new version asks them to). */
  async acceptTerms(caller: Caller, slug: string, body: unknown): Promise<MemberWithName> {
    const me = this.userOf(caller);
    if (!me || !checkScope(caller.scopes, 'courses:join', { user: me.name })) {
      throw new HubError(403, 'Action is not authorized with current scopes; requires any of [courses:join]');
    }
    const { course, member } = await this.visible(caller, slug);
    if (!member || member.role !== 'student') throw new HubError(404, `You are not a participant of course ${slug}`);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const terms = this.termsErrors(b.accepted_terms_version);
    if (terms) throw fieldErrors({ accepted_terms_version: terms });
    const version = this.terms().version;
    await this.d.courses.acceptTerms(course.id, me.id, version, { actor: me.name, action: 'accept_terms', detail: `version ${version}` });
    return { ...(await this.d.courses.member(course.id, me.id))!, user_name: me.name };
  }

  async participants(caller: Caller, slug: string) {
    const course = await this.withScope(caller, slug, 'read:courses');
    return { course, members: await this.d.courses.members(course.id) };
  }

  /** Accepts or rejects applications (bulk); never beyond the participant limit. */
  async decide(caller: Caller, slug: string, names: unknown, status: 'accepted' | 'rejected'): Promise<void> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    if (!this.canDecide(course)) throw new HubError(409, `Course ${slug} is ${course.state}: participants can no longer change`);
    if (!Array.isArray(names) || names.length === 0 || !names.every((n) => typeof n === 'string')) {
      throw fieldErrors({ users: 'A list of user names.' });
    }
    const students = await this.d.courses.members(course.id, { role: 'student' });
    const byName = new Map(students.map((m) => [m.user_name, m]));
    const unknown = (names as string[]).filter((n) => !byName.has(n));
    if (unknown.length) throw new HubError(404, `Not applicants of course ${slug}: ${unknown.join(', ')}`);
    const ids = (names as string[]).map((n) => byName.get(n)!.user_id);
    const actor = this.actorName(caller);
    const outcome = await this.d.courses.decide(course.id, ids, status, course.expected_participants, { actor, action: status === 'accepted' ? 'accept' : 'reject_participant', detail: (names as string[]).join(', ') });
    if (outcome === 'full') {
      throw new HubError(409, `Accepting ${names.length} would exceed the participant limit of ${course.expected_participants} (${await this.d.courses.countAccepted(course.id)} accepted)`);
    }
    if (status === 'accepted') await this.addToGroup(course, ids);
    else await this.removeFromGroup(course, ids);
    for (const id of ids) {
      const user = await this.d.users.byId(id);
      if (!user) continue;
      if (status === 'rejected') await this.d.stopCourseServer(user, course.slug);
      await this.tellParticipant(status === 'accepted' ? 'participant_accepted' : 'participant_rejected', course, user, byName.get(user.name)?.email ?? null);
    }
  }

  async remove(caller: Caller, slug: string, name: string): Promise<void> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    const user = await this.d.users.byName(name);
    const member = user ? await this.d.courses.member(course.id, user.id) : undefined;
    if (!user || !member || member.role !== 'student') throw new HubError(404, `${name} is not a participant of course ${slug}`);
    await this.d.stopCourseServer(user, course.slug);
    await this.removeFromGroup(course, [user.id]);
    await this.d.courses.removeMember(course.id, user.id, { actor: this.actorName(caller), action: 'remove', detail: name });
  }

  /**
   * A participant leaves the course (an applicant withdraws): their course server stops, they leave
   * the course's group and its member list. What they saved stays on disk and goes into the course's
   * archive with everyone's (src/courses/files.ts archives every directory, left members' too).
   */
  async leave(caller: Caller, slug: string): Promise<void> {
    const me = this.userOf(caller);
    if (!me || !checkScope(caller.scopes, 'courses:join', { user: me.name })) {
      throw new HubError(403, 'Action is not authorized with current scopes; requires any of [courses:join]');
    }
    const { course, member } = await this.visible(caller, slug);
    if (!member) throw new HubError(404, `You are not a participant of course ${slug}`);
    if (member.role !== 'student') throw new HubError(409, `Teachers do not leave a course this way: the other teachers change co_teachers (a change after approval)`);
    await this.d.stopCourseServer(me, course.slug);
    await this.removeFromGroup(course, [me.id]);
    await this.d.courses.removeMember(course.id, me.id, { actor: me.name, action: 'leave', detail: member.status });
    this.d.log.info({ course: slug, user: me.name }, 'participant left the course');
  }

  /** A new join code (every earlier link stops working), with its expiry and whether it admits at once. */
  async rotateJoinCode(caller: Caller, slug: string, body: unknown): Promise<CourseRow> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    if (!this.canDecide(course)) throw new HubError(409, `Course ${slug} is ${course.state}: it takes no more participants`);
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const errors: FieldErrors = {};
    let expires: string | null = course.join_expires_at;
    if ('expires_at' in b) {
      if (b.expires_at === null || b.expires_at === '') expires = null;
      else if (typeof b.expires_at !== 'string' || Number.isNaN(Date.parse(b.expires_at))) errors.expires_at = 'A date and time in ISO 8601, or null for no expiry.';
      else expires = new Date(b.expires_at).toISOString();
    }
    if ('auto_accept' in b && typeof b.auto_accept !== 'boolean') errors.auto_accept = 'true or false.';
    if (Object.keys(errors).length) throw fieldErrors(errors);
    const autoAccept = typeof b.auto_accept === 'boolean' ? (b.auto_accept ? 1 : 0) : course.auto_accept;
    const rotate = b.rotate !== false;
    const ok = await this.d.courses.update(
      course.id,
      [course.state],
      { join_nonce: rotate ? newJoinNonce() : course.join_nonce, join_expires_at: expires, auto_accept: autoAccept },
      { actor: this.actorName(caller), action: rotate ? 'rotate_join_code' : 'join_settings', detail: `expires ${expires ?? 'never'}, auto_accept ${autoAccept === 1}` },
    );
    if (!ok) throw new HubError(409, `Course ${slug} changed meanwhile; reload and try again`);
    return (await this.d.courses.byId(course.id))!;
  }

  async archives(caller: Caller, slug: string): Promise<{ course: CourseRow; files: Array<{ user: string; file: string; bytes: number }> }> {
    const course = await this.withScope(caller, slug, 'courses:manage');
    return { course, files: await this.d.files.archives(course.slug) };
  }

  // ------------------------------------------------------------------------------------------
  // helpers

  private check(course: CourseRow, action: CourseAction): CourseState {
    try {
      return applyAction(course.state as CourseState, action);
    } catch (err) {
      if (err instanceof CourseTransitionError) throw new HubError(409, err.message);
      throw err;
    }
  }

  canDo(course: CourseRow, action: CourseAction): boolean {
    return canApply(course.state as CourseState, action);
  }

  private actorName(caller: Caller): string {
    return caller.principal.kind === 'user' ? caller.principal.user.name : `service:${caller.principal.service.name}`;
  }

  private async checkRequest(body: unknown, existing: CourseRow | null): Promise<CourseRequest> {
    const result = checkCourseRequest(body, this.limits(), wallClock.now());
    if (!result.ok) throw fieldErrors(result.errors);
    const r = result.request;
    const errors: FieldErrors = {};
    if (!existing) {
      const taken = await this.d.courses.bySlug(r.slug);
      // A group of that name that is not this course's would hand its members to the teachers.
      // A user's named server of that name would become the course server.
      if (taken || (await this.d.groups.byName(courseGroup(r.slug))) || (await this.d.serverNameInUse(r.slug))) {
        errors.slug = 'This short name is taken; choose another.';
      }
    }
    const missing = [];
    for (const name of r.co_teachers) if (!(await this.d.users.byName(name))) missing.push(name);
    if (missing.length) errors.co_teachers = `No such users: ${missing.join(', ')} (a co-teacher must have logged in once).`;
    if (Object.keys(errors).length) throw fieldErrors(errors);
    return r;
  }

  private async coTeacherIds(r: CourseRequest): Promise<number[]> {
    const ids = [];
    for (const name of r.co_teachers) {
      const u = await this.d.users.byName(name);
      if (u) ids.push(u.id);
    }
    return ids;
  }

  /** The teachers' role holds exactly the course's teachers. */
  async syncTeacherRole(course: CourseRow, serversToo = SERVERS_OPEN.includes(course.state as CourseState)): Promise<void> {
    const name = teacherRole(course.slug);
    await this.d.roles.upsertRole({ name, description: `Teachers of the course ${course.title}`, scopes: teacherScopes(course.slug, serversToo) }, 'course');
    const teachers = await this.d.courses.members(course.id, { role: 'teacher' });
    const current = new Set(teachers.map((t) => t.user_id));
    for (const id of current) await this.d.roles.grantToUser(name, id);
    for (const id of await this.d.roles.userIdsOf(name)) if (!current.has(id)) await this.d.roles.revokeFromUser(name, id);
  }

  /** The course's group with its accepted students (created when missing). */
  async syncGroup(course: CourseRow): Promise<void> {
    const accepted = await this.d.courses.members(course.id, { role: 'student', status: 'accepted' });
    await this.addToGroup(course, accepted.map((m) => m.user_id));
  }

  private async addToGroup(course: CourseRow, userIds: number[]): Promise<void> {
    const name = courseGroup(course.slug);
    let group = await this.d.groups.byName(name);
    if (!group) {
      const created = await this.d.groups.create([name], [], { course: course.slug });
      group = 'taken' in created ? await this.d.groups.byName(name) : created[0];
    }
    if (group) await this.d.groups.addUsers(group.id, userIds);
  }

  private async removeFromGroup(course: CourseRow, userIds: number[]): Promise<void> {
    const group = await this.d.groups.byName(courseGroup(course.slug));
    if (group) await this.d.groups.removeUsers(group.id, userIds);
  }

  /** Drops the course's group and role (the delete step). */
  async dropAccess(course: CourseRow): Promise<void> {
    const group = await this.d.groups.byName(courseGroup(course.slug));
    if (group) await this.d.groups.delete(group.id);
    await this.d.roles.deleteRole(teacherRole(course.slug));
  }

  // ------------------------------------------------------------------------------------------
  // notices

  noticeData(course: CourseRow, extra: Omit<NoticeData, 'course'> = {}): NoticeData {
    return {
      course: { slug: course.slug, title: course.title, starts_at: course.starts_at, ends_at: course.ends_at, state: course.state, url: this.courseUrl(course.slug) },
      ...extra,
    };
  }

  tellGovernance(notice: CourseNotice, course: CourseRow, actor: string, comment?: string | null): void {
    this.d.notifier.notify(notice, this.d.config.smtp?.governance ?? [], this.noticeData(course, { actor, comment }));
  }

  async tellTeachers(notice: CourseNotice, course: CourseRow, extra: { comment?: string | null; actor?: string } = {}): Promise<void> {
    const to = new Set<string>();
    if (course.contact_email) to.add(course.contact_email);
    for (const t of await this.d.courses.members(course.id, { role: 'teacher' })) {
      const user = await this.d.users.byId(t.user_id);
      const address = t.email ?? (user ? this.d.emailOf(user) : null);
      if (address) to.add(address);
    }
    this.d.notifier.notify(notice, [...to], this.noticeData(course, extra));
  }

  private async tellParticipant(notice: CourseNotice, course: CourseRow, user: UserRow, email: string | null): Promise<void> {
    const address = email ?? this.d.emailOf(user);
    if (address) this.d.notifier.notify(notice, [address], this.noticeData(course, { participant: user.name }));
  }
}

/** 400 with the problems by field (`errors`), the first in `message`. */
export function fieldErrors(errors: FieldErrors): HubError {
  const [field, problem] = Object.entries(errors)[0] ?? ['request', 'Invalid request'];
  return new HubError(400, `${field}: ${problem}`, {}, { errors });
}

function requiredText(value: unknown, field: string, hint: string): string {
  if (typeof value !== 'string' || !value.trim()) throw fieldErrors({ [field]: hint });
  if (value.length > 5000) throw fieldErrors({ [field]: 'At most 5000 characters.' });
  return value.trim();
}

type CourseChangeColumns = Partial<ReturnType<typeof requestColumns>>;

/** The course columns a change writes: only those of the fields it changes (co-teachers are members, not columns). */
function changeColumns(r: CourseRequest, changes: ChangeSet): CourseChangeColumns {
  const all = requestColumns(r);
  const columns: CourseChangeColumns = {};
  for (const field of Object.keys(changes)) {
    if (field === 'co_teachers') continue;
    const key = field as keyof typeof all;
    (columns as Record<string, unknown>)[key] = all[key];
  }
  // The image belongs to the environment: a new environment resets or sets it.
  if ('environment' in changes) columns.custom_image = all.custom_image;
  return columns;
}

function requestColumns(r: CourseRequest) {
  return {
    title: r.title,
    description: r.description,
    starts_at: r.starts_at,
    ends_at: r.ends_at,
    expected_participants: r.expected_participants,
    environment: r.environment,
    custom_image: r.custom_image,
    resources: JSON.stringify(r.resources),
    content_repo: r.content_repo ? JSON.stringify(r.content_repo) : null,
    contact_email: r.contact_email,
    accepted_terms_version: r.accepted_terms_version,
  };
}

/** A stored course as a request body (the base an edit patches). */
export function requestBodyOf(course: CourseRow, teachers: Array<{ user_id: number; user_name: string }>): Record<string, unknown> {
  return {
    title: course.title,
    slug: course.slug,
    description: course.description,
    starts_at: course.starts_at,
    ends_at: course.ends_at,
    expected_participants: course.expected_participants,
    environment: course.environment,
    custom_image: course.custom_image,
    resources: JSON.parse(course.resources) as unknown,
    content_repo: course.content_repo ? (JSON.parse(course.content_repo) as unknown) : null,
    co_teachers: teachers.filter((t) => t.user_id !== course.requested_by).map((t) => t.user_name),
    accepted_terms_version: course.accepted_terms_version,
    contact_email: course.contact_email,
  };
}
