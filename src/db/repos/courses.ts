/**
 * Courses, their members and their audit log. A state change is one conditional UPDATE
 * (`WHERE state = from`) written together with its audit event, so two hubs' schedulers or an API
 * call racing the scheduler can never both apply a transition, and no transition goes unrecorded.
 */
import type { Kysely, Transaction, Updateable } from 'kysely';
import type { CourseChangeRow, CourseEventRow, CourseMemberRole, CourseMemberRow, CourseMemberStatus, CourseRow, CoursesTable, Database } from '../schema.js';
import { isoNow } from '../time.js';

export type NewCourse = Omit<CoursesTable, 'id' | 'auto_accept' | 'ending_notified'>;
export type CourseChange = Omit<Updateable<CoursesTable>, 'id' | 'slug' | 'state'>;

export interface CourseEvent {
  actor: string;
  action: string;
  from?: string | null;
  to?: string | null;
  detail?: string;
}

export type MemberWithName = CourseMemberRow & { user_name: string };

export class CourseRepo {
  constructor(private readonly db: Kysely<Database>) {}

  bySlug(slug: string): Promise<CourseRow | undefined> {
    return this.db.selectFrom('courses').selectAll().where('slug', '=', slug).executeTakeFirst();
  }

  byId(id: number): Promise<CourseRow | undefined> {
    return this.db.selectFrom('courses').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(filter: { states?: readonly string[] } = {}): Promise<CourseRow[]> {
    let q = this.db.selectFrom('courses').selectAll();
    if (filter.states) q = q.where('state', 'in', filter.states.length ? [...filter.states] : ['\u0000']);
    return q.orderBy('starts_at').orderBy('id').execute();
  }

  /** Inserts the course, its teachers and the 'request' event in one transaction. */
  async create(course: NewCourse, teacherIds: number[], event: CourseEvent): Promise<CourseRow> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.insertInto('courses').values(course).returningAll().executeTakeFirstOrThrow();
      for (const userId of new Set(teacherIds)) await insertTeacher(tx, row.id, userId);
      await insertEvent(tx, row.id, { ...event, to: row.state });
      return row;
    });
  }

  /**
   * Moves the course from `from` to `to` with `change`, recording `event`; false (nothing written)
   * when the course is no longer in `from`.
   */
  async transition(id: number, from: string, to: string, change: CourseChange, event: CourseEvent): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const res = await tx
        .updateTable('courses')
        .set({ ...change, state: to, updated: isoNow() })
        .where('id', '=', id)
        .where('state', '=', from)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await insertEvent(tx, id, { ...event, from, to });
      return true;
    });
  }

  /** Changes fields without a state change (an edit, new join settings), recording `event`; false if the state moved meanwhile. */
  async update(id: number, inState: readonly string[], change: CourseChange, event: CourseEvent | null, teacherIds?: number[]): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      if (!(await updateInState(tx, id, inState, change, teacherIds))) return false;
      if (event) await insertEvent(tx, id, event);
      return true;
    });
  }

  /** A proposed change to an approved course, with its 'change_requested' event. */
  async proposeChange(courseId: number, change: { changes: string; previous: string; requested_by: string }, event: CourseEvent): Promise<CourseChangeRow> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx
        .insertInto('course_changes')
        .values({ course_id: courseId, state: 'pending', ...change, created: isoNow(), decided_by: null, decided_at: null, comment: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      await insertEvent(tx, courseId, event);
      return row;
    });
  }

  changes(courseId: number): Promise<CourseChangeRow[]> {
    return this.db.selectFrom('course_changes').selectAll().where('course_id', '=', courseId).orderBy('id').execute();
  }

  change(courseId: number, id: number): Promise<CourseChangeRow | undefined> {
    return this.db.selectFrom('course_changes').selectAll().where('course_id', '=', courseId).where('id', '=', id).executeTakeFirst();
  }

  /**
   * Decides a pending change: `apply` (approval) writes its columns to the course (and its teachers)
   * in the same transaction; false, with nothing written, when the change was decided meanwhile or
   * the course left `inStates`.
   */
  async decideChange(
    courseId: number,
    changeId: number,
    decision: { state: 'approved' | 'rejected'; decided_by: string; comment: string | null },
    apply: { inStates: readonly string[]; columns: CourseChange; teacherIds?: number[] } | null,
    event: CourseEvent,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const decided = await tx
        .updateTable('course_changes')
        .set({ state: decision.state, decided_by: decision.decided_by, decided_at: isoNow(), comment: decision.comment })
        .where('id', '=', changeId)
        .where('course_id', '=', courseId)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(decided.numUpdatedRows) !== 1) return false;
      // Throwing rolls the decision back too.
      if (apply && !(await updateInState(tx, courseId, apply.inStates, apply.columns, apply.teacherIds))) throw new CourseMovedOn();
      await insertEvent(tx, courseId, event);
      return true;
    }).catch((err: unknown) => {
      if (err instanceof CourseMovedOn) return false;
      throw err;
    });
  }

  /** Records an event that changes nothing else (e.g. a failed e-mail, ending-soon reminder). */
  async record(id: number, event: CourseEvent): Promise<void> {
    await insertEvent(this.db, id, event);
  }

  events(courseId: number): Promise<CourseEventRow[]> {
    return this.db.selectFrom('course_events').selectAll().where('course_id', '=', courseId).orderBy('id').execute();
  }

  members(courseId: number, filter: { role?: CourseMemberRole; status?: CourseMemberStatus } = {}): Promise<MemberWithName[]> {
    let q = this.db
      .selectFrom('course_members')
      .innerJoin('users', 'users.id', 'course_members.user_id')
      .selectAll('course_members')
      .select('users.name as user_name')
      .where('course_id', '=', courseId);
    if (filter.role) q = q.where('role', '=', filter.role);
    if (filter.status) q = q.where('status', '=', filter.status);
    return q.orderBy('course_members.applied_at').orderBy('users.name').execute();
  }

  member(courseId: number, userId: number): Promise<CourseMemberRow | undefined> {
    return this.db.selectFrom('course_members').selectAll().where('course_id', '=', courseId).where('user_id', '=', userId).executeTakeFirst();
  }

  /** A user's memberships (teaching or taking, any status). */
  membershipsOf(userId: number): Promise<CourseMemberRow[]> {
    return this.db.selectFrom('course_members').selectAll().where('user_id', '=', userId).execute();
  }

  /**
   * A student's application: a new member row, or a new application after a rejection. Accepted at
   * once when `accept` and the course has room (`limit` accepted students), in the same transaction.
   */
  async apply(courseId: number, userId: number, email: string | null, termsVersion: string, accept: { limit: number } | null, event: CourseEvent): Promise<'applied' | 'accepted' | 'full' | 'already'> {
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('course_members').selectAll().where('course_id', '=', courseId).where('user_id', '=', userId).executeTakeFirst();
      if (existing && (existing.role === 'teacher' || existing.status !== 'rejected')) return 'already';
      let status: CourseMemberStatus = 'applied';
      if (accept) {
        if ((await countAccepted(tx, courseId)) >= accept.limit) return 'full';
        status = 'accepted';
      }
      const now = isoNow();
      const values = { role: 'student' as const, status, email, applied_at: now, decided_at: status === 'accepted' ? now : null, terms_version: termsVersion, terms_accepted_at: now };
      if (existing) await tx.updateTable('course_members').set(values).where('course_id', '=', courseId).where('user_id', '=', userId).execute();
      else await tx.insertInto('course_members').values({ course_id: courseId, user_id: userId, ...values }).execute();
      await insertEvent(tx, courseId, { ...event, detail: status });
      return status;
    });
  }

  /**
   * Decides applications: every named student's status becomes `status`. Accepting more than
   * `limit` accepted students changes nothing and returns 'full'.
   */
  async decide(courseId: number, userIds: number[], status: 'accepted' | 'rejected', limit: number, event: CourseEvent): Promise<'ok' | 'full'> {
    return this.db.transaction().execute(async (tx) => {
      if (status === 'accepted') {
        const already = await tx
          .selectFrom('course_members')
          .select('user_id')
          .where('course_id', '=', courseId)
          .where('user_id', 'in', userIds)
          .where('status', '=', 'accepted')
          .execute();
        if ((await countAccepted(tx, courseId)) + userIds.length - already.length > limit) return 'full';
      }
      await tx
        .updateTable('course_members')
        .set({ status, decided_at: isoNow() })
        .where('course_id', '=', courseId)
        .where('role', '=', 'student')
        .where('user_id', 'in', userIds)
        .execute();
      await insertEvent(tx, courseId, event);
      return 'ok';
    });
  }

  /** A member accepts a version of the terms of use (a new one, before their next start). */
  async acceptTerms(courseId: number, userId: number, version: string, event: CourseEvent): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('course_members').set({ terms_version: version, terms_accepted_at: isoNow() }).where('course_id', '=', courseId).where('user_id', '=', userId).execute();
      await insertEvent(tx, courseId, event);
    });
  }

  async removeMember(courseId: number, userId: number, event: CourseEvent): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('course_members').where('course_id', '=', courseId).where('user_id', '=', userId).where('role', '=', 'student').execute();
      await insertEvent(tx, courseId, event);
    });
  }

  async forgetEmails(courseId: number): Promise<void> {
    await this.db.updateTable('course_members').set({ email: null }).where('course_id', '=', courseId).execute();
    await this.db.updateTable('courses').set({ contact_email: null }).where('id', '=', courseId).execute();
  }

  async countAccepted(courseId: number): Promise<number> {
    return countAccepted(this.db, courseId);
  }

  async markStarted(courseId: number, userId: number): Promise<void> {
    const now = isoNow();
    const m = await this.member(courseId, userId);
    if (!m) return;
    await this.db
      .updateTable('course_members')
      .set({ last_started: now, first_started: m.first_started ?? now })
      .where('course_id', '=', courseId)
      .where('user_id', '=', userId)
      .execute();
  }
}

/** Writes `change` (and the teachers, when given) to a course still in one of `inState`; false, with nothing written, otherwise. */
async function updateInState(tx: Kysely<Database>, id: number, inState: readonly string[], change: CourseChange, teacherIds?: number[]): Promise<boolean> {
  const res = await tx
    .updateTable('courses')
    .set({ ...change, updated: isoNow() })
    .where('id', '=', id)
    .where('state', 'in', [...inState])
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return false;
  if (teacherIds) await replaceTeachers(tx, id, teacherIds);
  return true;
}

/** The course's teachers become exactly `teacherIds`. */
async function replaceTeachers(tx: Kysely<Database>, courseId: number, teacherIds: number[]): Promise<void> {
  await tx.deleteFrom('course_members').where('course_id', '=', courseId).where('role', '=', 'teacher').where('user_id', 'not in', teacherIds.length ? teacherIds : [-1]).execute();
  for (const userId of new Set(teacherIds)) await insertTeacher(tx, courseId, userId);
}

/** Thrown inside decideChange's transaction to undo it. */
class CourseMovedOn extends Error {}

async function insertTeacher(tx: Kysely<Database>, courseId: number, userId: number): Promise<void> {
  await tx
    .insertInto('course_members')
    .values({ course_id: courseId, user_id: userId, role: 'teacher', status: 'accepted', email: null, applied_at: isoNow(), decided_at: isoNow() })
    .onConflict((oc) => oc.columns(['course_id', 'user_id']).doUpdateSet({ role: 'teacher', status: 'accepted' }))
    .execute();
}

async function insertEvent(tx: Kysely<Database> | Transaction<Database>, courseId: number, e: CourseEvent): Promise<void> {
  await tx
    .insertInto('course_events')
    .values({ course_id: courseId, at: isoNow(), actor: e.actor, action: e.action, from_state: e.from ?? null, to_state: e.to ?? null, detail: e.detail ?? '' })
    .execute();
}

async function countAccepted(tx: Kysely<Database>, courseId: number): Promise<number> {
  const row = await tx
    .selectFrom('course_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('course_id', '=', courseId)
    .where('role', '=', 'student')
    .where('status', '=', 'accepted')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
