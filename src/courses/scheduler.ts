/**
 * Moves courses through their dates. Each tick asks the state machine which timed steps are due,
 * does each step's work, then records the step with a conditional update: a step whose work was
 * done but not recorded (the hub stopped in between) is simply done again, so every step's work is
 * idempotent. At start the first tick catches up with everything that fell due while the hub was down.
 */
import type { Logger } from 'pino';
import type { CoursesConfig } from '../config/schema.js';
import type { CourseRepo } from '../db/repos/courses.js';
import type { CourseRow } from '../db/schema.js';
import type { CourseFiles } from './files.js';
import type { CourseService } from './service.js';
import { applyAction, dueSteps, type CourseState, type Schedule, type TimedStep } from './state-machine.js';
import { checkContent, type ContentRepo } from './content.js';
import { wallClock } from '../clock.js';

export interface SchedulerDeps {
  config: CoursesConfig;
  courses: CourseRepo;
  service: CourseService;
  files: CourseFiles;
  log: Logger;
  /** Removes the members' course server rows (the delete step). */
  forgetCourseServers(course: CourseRow): Promise<void>;
  now?: () => number;
}

/** States that still have timed steps ahead. */
const MOVING: readonly CourseState[] = ['scheduled', 'ready', 'active', 'ended', 'archived'];
const DAY_MS = 86_400_000;

export class CourseScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly d: SchedulerDeps) {}

  private get now(): number {
    return this.d.now ? this.d.now() : wallClock.now();
  }

  schedule(): Schedule {
    const c = this.d.config;
    return { prepareBeforeMs: c.prepare_before * 1000, retentionMs: c.retention_days * DAY_MS, archiveKeepMs: c.archive_keep_days * DAY_MS };
  }

  /** First tick now (catching up), then every scheduler_interval; resolves after the first tick. */
  start(): Promise<void> {
    return this.tick().finally(() => this.arm());
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick().finally(() => this.arm()), this.d.config.scheduler_interval * 1000);
    this.timer.unref();
  }

  /** A tick soon (after an approval); ticks never overlap, a wake during one runs another after it. */
  wake(): void {
    if (this.stopped) return;
    setImmediate(() => void this.tick());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.runOnce();
        } catch (err) {
          this.d.log.error({ err: (err as Error).message }, 'course scheduler tick failed');
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runOnce(): Promise<void> {
    for (const course of await this.d.courses.list({ states: MOVING })) {
      if (this.stopped) return;
      await this.advance(course);
      await this.remindEnding(course);
    }
    await this.cleanCancelled();
  }

  /** Applies every due step of one course in order; stops at the first that fails. */
  private async advance(course: CourseRow): Promise<void> {
    const steps = dueSteps(course.state as CourseState, course, this.schedule(), this.now);
    for (const { step, from, to } of steps) {
      const current = (await this.d.courses.byId(course.id))!;
      if (current.state !== from) return; // someone else (a cancel, another hub) moved it
      try {
        await this.work(step, current);
      } catch (err) {
        await this.failed(current, step, (err as Error).message);
        return;
      }
      const moved = await this.d.courses.transition(course.id, from, to, {}, { actor: 'scheduler', action: step });
      if (!moved) return;
      this.d.log.info({ course: course.slug, step, from, to }, 'course step');
      const after = (await this.d.courses.byId(course.id))!;
      if (step === 'prepare') await this.d.service.tellTeachers('ready', after);
      if (step === 'archive') await this.d.service.tellTeachers('archived', after);
    }
  }

  private async work(step: TimedStep, course: CourseRow): Promise<void> {
    const { service, files } = this.d;
    switch (step) {
      case 'prepare':
        await service.syncTeacherRole(course);
        await service.syncGroup(course);
        if (course.content_repo) await checkContent(JSON.parse(course.content_repo) as ContentRepo);
        return;
      case 'start':
        await service.syncGroup(course);
        return;
      case 'end':
        await service.closeDown(course, { archive: false });
        return;
      case 'archive':
        await files.archive(course.slug);
        return;
      case 'delete':
        await this.d.forgetCourseServers(course);
        await files.remove(course.slug);
        await service.dropAccess(course);
        // The history stays (who did what when); the e-mail addresses people gave go.
        await this.d.courses.forgetEmails(course.id);
        return;
    }
  }

  /**
   * Preparing or opening went wrong: the course fails with the reason, teachers and governance are
   * told. Later steps (ending, archiving, deleting) cannot fail the course: they are retried.
   */
  private async failed(course: CourseRow, step: TimedStep, reason: string): Promise<void> {
    const state = course.state as CourseState;
    if (step === 'prepare' || step === 'start') {
      const to = applyAction(state, 'fail');
      if (await this.d.courses.transition(course.id, state, to, { failure: reason }, { actor: 'scheduler', action: 'fail', detail: `${step}: ${reason}` })) {
        this.d.log.warn({ course: course.slug, step, reason }, 'course failed');
        const after = (await this.d.courses.byId(course.id))!;
        await this.d.service.tellTeachers('failed', after, { comment: reason });
        this.d.service.tellGovernance('failed', after, 'scheduler', reason);
      }
      return;
    }
    this.d.log.error({ course: course.slug, step, reason }, 'course step failed; retrying at the next tick');
  }

  /** Teachers hear ending_soon_days before the end, once. */
  private async remindEnding(course: CourseRow): Promise<void> {
    const fresh = (await this.d.courses.byId(course.id))!;
    if (fresh.ending_notified === 1 || (fresh.state !== 'active' && fresh.state !== 'ready')) return;
    const end = Date.parse(fresh.ends_at);
    if (this.now < end - this.d.config.ending_soon_days * DAY_MS || this.now >= end) return;
    if (await this.d.courses.update(fresh.id, [fresh.state], { ending_notified: 1 }, { actor: 'scheduler', action: 'ending_soon' })) {
      await this.d.service.tellTeachers('ending_soon', fresh);
    }
  }

  /** A cancelled course's archives go archive_keep_days after the cancellation. */
  private async cleanCancelled(): Promise<void> {
    const keep = this.d.config.archive_keep_days * DAY_MS;
    for (const course of await this.d.courses.list({ states: ['cancelled'] })) {
      if (Date.parse(course.updated) + keep > this.now) continue;
      if (!(await this.d.files.exists(course.slug))) continue;
      await this.d.forgetCourseServers(course);
      await this.d.files.remove(course.slug);
      await this.d.service.dropAccess(course);
      await this.d.courses.record(course.id, { actor: 'scheduler', action: 'files_deleted' });
    }
  }
}
