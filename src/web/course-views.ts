/**
 * What the course pages show, read from the course service (which checks what the caller may see)
 * and, for the caller's own course server, from the server table.
 */
import type { HubContext } from '../http/context.js';
import { requestBodyOf, type CourseResources, type CourseService } from '../courses/service.js';
import { valuesOfRequest } from './course-form.js';
import { participantsMayStart, teachersMayEnter, type CourseState } from '../courses/state-machine.js';
import type { CourseMemberRow, CourseRow, UserRow } from '../db/schema.js';
import { escapePathSegment } from '../hub/urls.js';
import { archiveUrl, eventModel } from '../courses/models.js';
import type { Caller } from '../http/identity.js';
import type { PageCaller } from './render.js';
import { wallClock } from '../clock.js';
import type { CollectionView, CourseDetailsView, CourseListItem, CoursePageView, CourseServersView, CourseServerView, ReviewActions } from './templates/index.js';
import { CourseServers } from '../courses/servers.js';
import { ParticipantFiles } from '../courses/participant-files.js';
import { acceptedParticipants } from '../courses/selection.js';
import { courseEndingsOf, cullWarningsOf } from './warnings.js';

/** The fields of the service's course model the pages read (`CourseService.model`). */
interface CourseModelFields {
  teachers: string[];
  requested_by?: string | null;
  participants?: { accepted: number; applied: number; limit: number };
  join?: { code: string; url: string; expires_at: string | null; auto_accept: boolean };
}

export type JoinInfo = NonNullable<CourseModelFields['join']>;

/** The course as the caller may see it, and its join link when they manage it. */
export async function courseDetails(courses: CourseService, caller: Caller, course: CourseRow, member?: CourseMemberRow): Promise<{ details: CourseDetailsView; join: JoinInfo | null }> {
  const m = (await courses.model(caller, course, member)) as unknown as CourseModelFields;
  const env = courses.config.environments[course.environment];
  const details: CourseDetailsView = {
    slug: course.slug,
    title: course.title,
    description: course.description,
    state: course.state as CourseState,
    startsAt: course.starts_at,
    endsAt: course.ends_at,
    environment: course.environment,
    environmentDescription: env?.description ?? '',
    resources: JSON.parse(course.resources) as CourseResources,
    teachers: m.teachers,
    // The model has these only for those who read the course in full (teachers, reviewers).
    full: m.participants
      ? {
          expectedParticipants: course.expected_participants,
          customImage: course.custom_image,
          contentRepo: course.content_repo ? (JSON.parse(course.content_repo) as { url: string; branch: string }) : null,
          requestedBy: m.requested_by ?? null,
          contactEmail: course.contact_email,
          created: course.created,
          reviewComment: course.review_comment,
          failure: course.failure,
          participants: { accepted: m.participants.accepted, applied: m.participants.applied },
        }
      : null,
  };
  return { details, join: m.join ?? null };
}

/** Whether this member may run their course server now: teachers once it is ready, accepted participants while it runs. */
function mayRun(state: CourseState, member: CourseMemberRow): boolean {
  return member.role === 'teacher' ? teachersMayEnter(state) : member.status === 'accepted' && participantsMayStart(state);
}

/** The user's course server with its Start and Open addresses, or null when they may not run it now. */
export async function courseServer(ctx: HubContext, user: UserRow, course: CourseRow, member: CourseMemberRow | undefined): Promise<CourseServerView | null> {
  if (!member || !mayRun(course.state as CourseState, member)) return null;
  const server = await ctx.servers.get(user.id, course.slug);
  return {
    ready: server?.phase === 'running',
    pending: server?.phase === 'spawning' ? 'spawn' : server?.phase === 'stopping' ? 'stop' : null,
    url: ctx.urls.userServerUrl(user.name, course.slug),
    // The spawn page starts course servers even without allow_named_servers.
    startUrl: `${ctx.urls.hub}spawn/${escapePathSegment(user.name)}/${escapePathSegment(course.slug)}`,
  };
}

export async function courseListItem(ctx: HubContext, user: UserRow, course: CourseRow, member: CourseMemberRow | undefined): Promise<CourseListItem> {
  return {
    slug: course.slug,
    title: course.title,
    state: course.state as CourseState,
    startsAt: course.starts_at,
    endsAt: course.ends_at,
    role: member?.role ?? null,
    status: member?.status ?? null,
    server: await courseServer(ctx, user, course, member),
  };
}

/** Every course the caller sees, by their part in it. */
export async function coursesOf(ctx: HubContext, courses: CourseService, caller: PageCaller) {
  const user = caller.principal.user;
  const teaching: CourseListItem[] = [];
  const taking: CourseListItem[] = [];
  const others: CourseListItem[] = [];
  for (const { course, member } of await courses.list(caller)) {
    const item = await courseListItem(ctx, user, course, member);
    (member?.role === 'teacher' ? teaching : member ? taking : others).push(item);
  }
  return { teaching, taking, others };
}

/** States in which a course no longer belongs on the home page. */
const OVER: readonly CourseState[] = ['rejected', 'cancelled', 'archived', 'deleted'];

/** The home page's courses: those the user teaches, or has applied to or joined, still going on. */
export async function homeCourses(ctx: HubContext, courses: CourseService, caller: PageCaller): Promise<CourseListItem[]> {
  const { teaching, taking } = await coursesOf(ctx, courses, caller);
  return [...teaching, ...taking.filter((c) => c.status !== 'rejected')].filter((c) => !OVER.includes(c.state));
}

/** What a reviewer may decide on the course now (from the state machine). */
export function reviewActions(courses: CourseService, course: CourseRow): ReviewActions {
  return { approve: courses.canDo(course, 'approve'), reject: courses.canDo(course, 'reject'), requestChanges: courses.canDo(course, 'request_changes') };
}

/** States in which participants' files may have been archived. */
const ARCHIVED: readonly CourseState[] = ['cancelled', 'ended', 'archived'];

/** A course's page: what everyone who sees it sees, plus the tools of its teachers and of reviewers. */
export async function coursePageView(
  ctx: HubContext,
  courses: CourseService,
  caller: PageCaller,
  slug: string,
  extra: {
    /** After a refused change: what was typed and the problems by field. */
    changeForm?: { values: Record<string, string>; errors: Record<string, string> };
    /** After a message was sent: to how many. */
    messageSent?: { recipients: number; withoutAddress: number };
  } = {},
): Promise<CoursePageView> {
  const { course, member } = await courses.visible(caller, slug);
  const { details, join } = await courseDetails(courses, caller, course, member);
  const manages = courses.canManage(caller, course);
  const reviews = courses.canReview(caller, course);
  const actions = reviewActions(courses, course);
  const termsToAccept = member?.status === 'accepted' && courses.mustAcceptTerms(member) ? courses.terms() : null;
  return {
    course: details,
    me: member ? { role: member.role, status: member.status } : null,
    server: termsToAccept ? null : await courseServer(ctx, caller.principal.user, course, member),
    termsToAccept,
    warnings: member ? await courseWarnings(ctx, caller, course, member) : undefined,
    myCollections: member?.role === 'student' && member.status === 'accepted' ? await collectionsView(ctx, courses, caller, course) : null,
    manage: manages && join ? await manageView(ctx, courses, caller, course, join, extra.messageSent) : null,
    canEdit: manages && courses.canDo(course, 'edit'),
    canCancel: (manages || reviews) && courses.canDo(course, 'cancel'),
    review: reviews && (actions.approve || actions.reject || actions.requestChanges) ? { actions, load: await courses.load(course) } : null,
    events: courses.canRead(caller, course) ? (await courses.events(caller, slug)).map(eventModel) : null,
    changes: courses.canRead(caller, course) ? await changesView(courses, caller, course, manages, reviews, extra.changeForm) : null,
    canRetry: manages && courses.canDo(course, 'retry'),
  };
}

/** A course field's value as a form shows it: text, a number, a UTC datetime-local. */
export function changeFieldText(field: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if ((field === 'starts_at' || field === 'ends_at') && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString().slice(0, 16);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The course as the change form shows it at first: every changeable field as it is now. */
export async function currentValues(courses: CourseService, caller: PageCaller, course: CourseRow): Promise<Record<string, string>> {
  const teachers = (await courses.participants(caller, course.slug)).members.filter((m) => m.role === 'teacher');
  const values = valuesOfRequest(requestBodyOf(course, teachers));
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
}

async function changesView(
  courses: CourseService,
  caller: PageCaller,
  course: CourseRow,
  manages: boolean,
  reviews: boolean,
  form: { values: Record<string, string>; errors: Record<string, string> } | undefined,
): Promise<NonNullable<CoursePageView['changes']>> {
  const { changes } = await courses.changes(caller, course.slug);
  return {
    list: changes.map((c) => {
      const to = JSON.parse(c.changes) as Record<string, unknown>;
      const from = JSON.parse(c.previous) as Record<string, unknown>;
      return {
        id: c.id,
        state: c.state,
        fields: Object.keys(to).map((f): [string, string, string] => [f, changeFieldText(f, from[f]), changeFieldText(f, to[f])]),
        requestedBy: c.requested_by,
        created: c.created,
        decidedBy: c.decided_by,
        comment: c.comment,
      };
    }),
    form:
      manages && courses.canDo(course, 'change')
        ? {
            values: form?.values ?? (await currentValues(courses, caller, course)),
            errors: form?.errors ?? {},
            startFixed: Date.parse(course.starts_at) <= wallClock.now(),
            environments: [...new Set([...Object.keys(courses.config.environments), 'custom', course.environment])],
          }
        : null,
    canDecide: reviews,
    load: reviews && changes.some((c) => c.state === 'pending') ? await courses.load(course) : null,
  };
}

/** The caller's course server about to be culled, and the course about to end (for its participants). */
async function courseWarnings(ctx: HubContext, caller: PageCaller, course: CourseRow, member: CourseMemberRow) {
  const server = await ctx.servers.get(caller.principal.user.id, course.slug);
  return {
    cull: server ? cullWarningsOf(ctx, [server], new Map([[course.slug, course.title]])) : [],
    endings: courseEndingsOf([{ title: course.title, state: course.state, endsAt: course.ends_at, role: member.role, status: member.status }]),
  };
}

/** States in which participants have course files (collections and the files zip apply). */
const HAS_FILES: readonly CourseState[] = ['ready', 'active', 'ended', 'failed'];

async function collectionsView(ctx: HubContext, courses: CourseService, caller: PageCaller, course: CourseRow): Promise<CollectionView[]> {
  const list = await new ParticipantFiles(courses).collections(caller, course.slug);
  return list.map((c) => ({
    assignment: c.assignment,
    collectedAt: c.collected_at,
    users: c.users.length,
    url: `${ctx.urls.api}courses/${escapePathSegment(course.slug)}/collections/${escapePathSegment(c.assignment)}?at=${encodeURIComponent(c.collected_at)}`,
  }));
}

/** States in which participants' course servers may run (the control room shows them). */
const SERVERS_RUN: readonly CourseState[] = ['ready', 'active'];

async function serversView(ctx: HubContext, courses: CourseService, caller: PageCaller, course: CourseRow): Promise<CourseServersView | null> {
  const list = await new CourseServers(ctx, courses).list(caller, course.slug);
  const state = course.state as CourseState;
  if (!SERVERS_RUN.includes(state) && list.every((p) => p.server.state === 'stopped')) return null;
  return {
    canStart: participantsMayStart(state),
    canPushContent: course.content_repo !== null,
    list: list.map((p) => ({
      user: p.user,
      state: p.server.state,
      url: p.server.url,
      lastActivity: p.server.last_activity,
      failure: p.server.failure,
      memoryBytes: p.server.memory_bytes,
      memoryLimitBytes: p.server.memory_limit_bytes,
      cpuSeconds: p.server.cpu_seconds,
    })),
  };
}

async function manageView(
  ctx: HubContext,
  courses: CourseService,
  caller: PageCaller,
  course: CourseRow,
  join: JoinInfo,
  sent: { recipients: number; withoutAddress: number } | undefined,
): Promise<NonNullable<CoursePageView['manage']>> {
  const state = course.state as CourseState;
  const { members } = await courses.participants(caller, course.slug);
  const archives = ARCHIVED.includes(state) ? (await courses.archives(caller, course.slug)).files : [];
  return {
    join: { code: join.code, url: join.url, expiresAt: join.expires_at, autoAccept: join.auto_accept },
    participants: members
      .filter((m) => m.role === 'student')
      .map((m) => ({
        name: m.user_name,
        status: m.status,
        appliedAt: m.applied_at,
        firstStarted: m.first_started,
        lastStarted: m.last_started,
        termsVersion: m.terms_version,
        termsAcceptedAt: m.terms_accepted_at,
        termsCurrent: !courses.mustAcceptTerms(m),
        serverUrl: m.status === 'accepted' ? ctx.urls.userServerUrl(m.user_name, course.slug) : null,
      })),
    canDecide: courses.canDecide(course),
    servers: await serversView(ctx, courses, caller, course),
    handIn: HAS_FILES.includes(state) ? { collections: await collectionsView(ctx, courses, caller, course), filesUrl: `${ctx.urls.api}courses/${escapePathSegment(course.slug)}/files` } : null,
    message: courses.config.smtp ? { participants: acceptedParticipants(members).map((m) => m.user_name), sent: sent ?? null } : null,
    archives: archives.map((f) => ({
      user: f.user,
      bytes: f.bytes,
      url: archiveUrl(ctx.urls, course.slug, f.user),
    })),
  };
}
