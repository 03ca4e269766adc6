/**
 * The life of a course as one pure state machine: which actions people may take in which state, and
 * which timed transitions are due at a given moment. The scheduler and the API only ask it; they
 * never decide transitions themselves, so every rule is here and unit-tested.
 *
 *   pending ──approve──▶ scheduled ──(starts_at − prepare_before)──▶ ready ──(starts_at)──▶ active
 *      │  ▲                                                                                   │
 *      │  └─resubmit── changes_requested ◀──request_changes── pending                    (ends_at)
 *      ├──reject──▶ rejected                                                                  ▼
 *      └──cancel──▶ cancelled (also from changes_requested, scheduled, ready, active, failed) ended
 *   any preparing/running state ──fail──▶ failed                                              │
 *                                                         (ends_at + retention) ──▶ archived ─┘
 *                                             (ends_at + retention + archive_keep) ──▶ deleted
 */

export const COURSE_STATES = [
  'pending',
  'changes_requested',
  'rejected',
  'cancelled',
  'scheduled',
  'ready',
  'active',
  'ended',
  'archived',
  'deleted',
  'failed',
] as const;
export type CourseState = (typeof COURSE_STATES)[number];

/** Actions people take (through the API or pages). */
export type CourseAction = 'edit' | 'approve' | 'reject' | 'request_changes' | 'resubmit' | 'cancel' | 'fail' | 'retry' | 'change';

/** Transitions that happen when their time comes. */
export type TimedStep = 'prepare' | 'start' | 'end' | 'archive' | 'delete';

export interface CourseTiming {
  starts_at: string;
  ends_at: string;
}

export interface Schedule {
  /** How long before starts_at a course is prepared and becomes ready. */
  prepareBeforeMs: number;
  /** How long after ends_at participants' data is kept before it is archived. */
  retentionMs: number;
  /** How long the archives are kept before everything is deleted. */
  archiveKeepMs: number;
}

export class CourseTransitionError extends Error {
  constructor(
    readonly from: CourseState,
    readonly action: CourseAction | TimedStep,
    message: string,
  ) {
    super(message);
    this.name = 'CourseTransitionError';
  }
}

const ACTIONS: Record<CourseAction, { from: readonly CourseState[]; to: CourseState | 'same' }> = {
  // A teacher may change a request until governance has decided on it.
  edit: { from: ['pending', 'changes_requested'], to: 'same' },
  // Once approved, teachers propose changes for review (a failed course too, to fix what failed).
  change: { from: ['scheduled', 'ready', 'active', 'failed'], to: 'same' },
  approve: { from: ['pending'], to: 'scheduled' },
  reject: { from: ['pending', 'changes_requested'], to: 'rejected' },
  request_changes: { from: ['pending'], to: 'changes_requested' },
  resubmit: { from: ['changes_requested'], to: 'pending' },
  // "cancel any request up to its end"
  cancel: { from: ['pending', 'changes_requested', 'scheduled', 'ready', 'active', 'failed'], to: 'cancelled' },
  // Preparation or a timed step went wrong (e.g. the content repository cannot be cloned).
  fail: { from: ['scheduled', 'ready', 'active'], to: 'failed' },
  // Its teachers fixed what failed: back through preparation (and on to its start when that has passed).
  retry: { from: ['failed'], to: 'scheduled' },
};

const STEPS: Record<TimedStep, { from: CourseState; to: CourseState }> = {
  prepare: { from: 'scheduled', to: 'ready' },
  start: { from: 'ready', to: 'active' },
  end: { from: 'active', to: 'ended' },
  archive: { from: 'ended', to: 'archived' },
  delete: { from: 'archived', to: 'deleted' },
};

const DESCRIBE: Record<CourseState, string> = {
  pending: 'waiting for review',
  changes_requested: 'sent back to the teacher for changes',
  rejected: 'rejected',
  cancelled: 'cancelled',
  scheduled: 'approved and scheduled',
  ready: 'ready (teachers may enter)',
  active: 'running',
  ended: 'ended',
  archived: 'archived',
  deleted: 'deleted',
  failed: 'failed',
};

/** The state after `action`, or CourseTransitionError saying why it is not possible now. */
export function applyAction(state: CourseState, action: CourseAction): CourseState {
  const rule = ACTIONS[action];
  if (!rule.from.includes(state)) {
    throw new CourseTransitionError(state, action, `A course that is ${DESCRIBE[state]} cannot be ${pastTense(action)}.`);
  }
  return rule.to === 'same' ? state : rule.to;
}

/** Whether `action` is possible in `state` (for showing buttons). */
export function canApply(state: CourseState, action: CourseAction): boolean {
  return ACTIONS[action].from.includes(state);
}

/** When a timed step of this course falls due. */
export function stepTime(step: TimedStep, course: CourseTiming, schedule: Schedule): number {
  const start = Date.parse(course.starts_at);
  const end = Date.parse(course.ends_at);
  switch (step) {
    case 'prepare':
      return start - schedule.prepareBeforeMs;
    case 'start':
      return start;
    case 'end':
      return end;
    case 'archive':
      return end + schedule.retentionMs;
    case 'delete':
      return end + schedule.retentionMs + schedule.archiveKeepMs;
  }
}

/**
 * The timed step due now for a course in `state`, or null. One step at a time: a course whose hub was
 * down through several due times goes through each of them in order (prepare, start, end…), so that
 * each step's work (preparing, stopping servers, archiving) is done; calling again after a step was
 * applied gives the next one, and once nothing is due, calling again changes nothing.
 */
export function dueStep(state: CourseState, course: CourseTiming, schedule: Schedule, now: number): { step: TimedStep; to: CourseState } | null {
  for (const [step, rule] of Object.entries(STEPS) as Array<[TimedStep, { from: CourseState; to: CourseState }]>) {
    if (rule.from === state && stepTime(step, course, schedule) <= now) return { step, to: rule.to };
  }
  return null;
}

/** Applies a timed step, refusing one that does not belong to the state (e.g. a stale scheduler tick). */
export function applyStep(state: CourseState, step: TimedStep): CourseState {
  const rule = STEPS[step];
  if (rule.from !== state) {
    throw new CourseTransitionError(state, step, `A course that is ${DESCRIBE[state]} cannot be ${pastTense(step)}.`);
  }
  return rule.to;
}

/** States in which participants may start their course server. */
export function participantsMayStart(state: CourseState): boolean {
  return state === 'active';
}

/** States in which teachers may enter and start servers (before the start, to get things ready). */
export function teachersMayEnter(state: CourseState): boolean {
  return state === 'ready' || state === 'active';
}

function pastTense(action: CourseAction | TimedStep): string {
  const words: Record<CourseAction | TimedStep, string> = {
    edit: 'edited',
    approve: 'approved',
    reject: 'rejected',
    request_changes: 'sent back for changes',
    resubmit: 'resubmitted',
    cancel: 'cancelled',
    fail: 'marked as failed',
    retry: 'retried',
    change: 'changed after approval (edit the request while it is under review)',
    prepare: 'prepared',
    start: 'started',
    end: 'ended',
    archive: 'archived',
    delete: 'deleted',
  };
  return words[action];
}

/**
 * Every timed step due now, in order, as the scheduler applies them (each with its work) after the
 * hub was down: e.g. scheduled → ready → active → ended for a course that ended meanwhile.
 */
export function dueSteps(state: CourseState, course: CourseTiming, schedule: Schedule, now: number): Array<{ step: TimedStep; from: CourseState; to: CourseState }> {
  const out: Array<{ step: TimedStep; from: CourseState; to: CourseState }> = [];
  let current = state;
  for (let next = dueStep(current, course, schedule, now); next; next = dueStep(current, course, schedule, now)) {
    out.push({ step: next.step, from: current, to: next.to });
    current = next.to;
  }
  return out;
}
