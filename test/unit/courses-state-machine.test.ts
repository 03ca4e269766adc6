/** The course state machine: which actions each state allows, and which timed steps fall due when. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  COURSE_STATES,
  CourseTransitionError,
  applyAction,
  applyStep,
  canApply,
  dueStep,
  dueSteps,
  participantsMayStart,
  teachersMayEnter,
  type CourseAction,
  type CourseState,
  type TimedStep,
} from '../../src/courses/state-machine.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const schedule = { prepareBeforeMs: DAY, retentionMs: 30 * DAY, archiveKeepMs: 60 * DAY };
const t0 = Date.parse('2027-03-01T08:00:00Z');
const course = { starts_at: new Date(t0).toISOString(), ends_at: new Date(t0 + 90 * DAY).toISOString() };

const ALLOWED: Array<[CourseState, CourseAction, CourseState]> = [
  ['pending', 'edit', 'pending'],
  ['changes_requested', 'edit', 'changes_requested'],
  ['pending', 'approve', 'scheduled'],
  ['pending', 'reject', 'rejected'],
  ['changes_requested', 'reject', 'rejected'],
  ['pending', 'request_changes', 'changes_requested'],
  ['changes_requested', 'resubmit', 'pending'],
  ['pending', 'cancel', 'cancelled'],
  ['changes_requested', 'cancel', 'cancelled'],
  ['scheduled', 'cancel', 'cancelled'],
  ['ready', 'cancel', 'cancelled'],
  ['active', 'cancel', 'cancelled'],
  ['failed', 'cancel', 'cancelled'],
  ['scheduled', 'fail', 'failed'],
  ['ready', 'fail', 'failed'],
  ['active', 'fail', 'failed'],
  ['failed', 'retry', 'scheduled'],
  ['scheduled', 'change', 'scheduled'],
  ['ready', 'change', 'ready'],
  ['active', 'change', 'active'],
  ['failed', 'change', 'failed'],
];

describe('actions', () => {
  test('every allowed action leads where it should', () => {
    for (const [from, action, to] of ALLOWED) {
      assert.equal(applyAction(from, action), to, `${from} --${action}-->`);
      assert.equal(canApply(from, action), true);
    }
  });

  test('every other action is refused with a clear error, and the state is untouched', () => {
    const actions: CourseAction[] = ['edit', 'approve', 'reject', 'request_changes', 'resubmit', 'cancel', 'fail', 'retry', 'change'];
    let refused = 0;
    for (const from of COURSE_STATES) {
      for (const action of actions) {
        if (ALLOWED.some(([f, a]) => f === from && a === action)) continue;
        assert.equal(canApply(from, action), false);
        assert.throws(
          () => applyAction(from, action),
          (err: Error) => err instanceof CourseTransitionError && err.from === from && /^A course that is .+ cannot be .+\.$/.test(err.message),
          `${from} --${action}--> must be refused`,
        );
        refused++;
      }
    }
    assert.equal(refused, COURSE_STATES.length * actions.length - ALLOWED.length);
  });

  test('a decided, ended or deleted course cannot be approved or edited', () => {
    assert.throws(() => applyAction('rejected', 'approve'), /A course that is rejected cannot be approved\./);
    assert.throws(() => applyAction('ended', 'cancel'), /A course that is ended cannot be cancelled\./);
    assert.throws(() => applyAction('scheduled', 'edit'), /approved and scheduled cannot be edited/);
  });
});

describe('timed steps', () => {
  test('each step falls due at its time, not before', () => {
    const cases: Array<[CourseState, number, TimedStep, CourseState]> = [
      ['scheduled', t0 - DAY, 'prepare', 'ready'],
      ['ready', t0, 'start', 'active'],
      ['active', t0 + 90 * DAY, 'end', 'ended'],
      ['ended', t0 + 120 * DAY, 'archive', 'archived'],
      ['archived', t0 + 180 * DAY, 'delete', 'deleted'],
    ];
    for (const [state, at, step, to] of cases) {
      assert.equal(dueStep(state, course, schedule, at - 1), null, `${step} not before its time`);
      assert.deepEqual(dueStep(state, course, schedule, at), { step, to });
      assert.equal(applyStep(state, step), to);
    }
  });

  test('states without timed steps never have one due', () => {
    for (const state of ['pending', 'changes_requested', 'rejected', 'cancelled', 'deleted', 'failed'] as const) {
      assert.equal(dueStep(state, course, schedule, t0 + 1000 * DAY), null, state);
    }
  });

  test('steps missed while the hub was down happen in order at start', () => {
    const steps = dueSteps('scheduled', course, schedule, t0 + 91 * DAY);
    assert.deepEqual(
      steps.map((s) => `${s.from}-${s.step}->${s.to}`),
      ['scheduled-prepare->ready', 'ready-start->active', 'active-end->ended'],
    );
    assert.deepEqual(dueSteps('scheduled', course, schedule, t0 + 500 * DAY).at(-1), { step: 'delete', from: 'archived', to: 'deleted' });
  });

  test('repeated ticks change nothing once the due steps are applied', () => {
    let state: CourseState = 'scheduled';
    const now = t0 + HOUR;
    for (const s of dueSteps(state, course, schedule, now)) state = applyStep(state, s.step);
    assert.equal(state, 'active');
    for (let i = 0; i < 3; i++) assert.deepEqual(dueSteps(state, course, schedule, now), []);
  });

  test('a stale step is refused', () => {
    assert.throws(() => applyStep('active', 'prepare'), /A course that is running cannot be prepared\./);
    assert.throws(() => applyStep('cancelled', 'end'), CourseTransitionError);
  });

  test('who may enter when', () => {
    assert.deepEqual(COURSE_STATES.filter(participantsMayStart), ['active']);
    assert.deepEqual(COURSE_STATES.filter(teachersMayEnter), ['ready', 'active']);
  });
});
