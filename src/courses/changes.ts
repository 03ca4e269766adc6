/**
 * Changes to a course after its approval: which fields a teacher may change, which of them need
 * governance's review, and what a change means for the site's capacity. Pure: the course service
 * checks the rest (the request rules, co-teachers, participants already accepted) and writes.
 */
import type { FieldErrors } from './request.js';

/** Fields a teacher may change once the course is approved (`starts_at` only before it starts). */
export const CHANGEABLE_FIELDS = ['title', 'description', 'starts_at', 'ends_at', 'expected_participants', 'environment', 'custom_image', 'resources', 'content_repo', 'co_teachers'] as const;
export type ChangeableField = (typeof CHANGEABLE_FIELDS)[number];

/** Fields that `courses.changes_without_review` may let apply at once. */
export const NO_REVIEW_FIELDS = ['title', 'description', 'co_teachers'] as const;

export type ChangeSet = Partial<Record<ChangeableField, unknown>>;

type Resources = { cpu: number; memory_gb: number; storage_gb: number; gpu: number };

/**
 * The fields of `body` that differ from `current` (the course as a request body). Errors by field for
 * unknown or unchangeable fields; an empty change is an error too.
 */
export function changedFields(body: Record<string, unknown>, current: Record<string, unknown>, started: boolean): { ok: true; changes: ChangeSet } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const changes: ChangeSet = {};
  for (const [key, value] of Object.entries(body)) {
    if (!(CHANGEABLE_FIELDS as readonly string[]).includes(key)) {
      errors[key] = key === 'slug' ? 'The short name of a course cannot change.' : `Cannot be changed after approval (changeable: ${CHANGEABLE_FIELDS.join(', ')}).`;
      continue;
    }
    if (JSON.stringify(value) === JSON.stringify(current[key])) continue;
    if (key === 'starts_at' && started) {
      errors.starts_at = 'The course has started: its start cannot change.';
      continue;
    }
    changes[key as ChangeableField] = value;
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  if (Object.keys(changes).length === 0) return { ok: false, errors: { request: 'Nothing to change: every field given has that value already.' } };
  return { ok: true, changes };
}

/** Whether every field of the change may apply without review under `courses.changes_without_review`. */
export function needsReview(changes: ChangeSet, withoutReview: readonly string[]): boolean {
  return Object.keys(changes).some((field) => !withoutReview.includes(field));
}

/** "ends_at: 2027-07-20T18:00:00.000Z → 2027-07-27T18:00:00.000Z; expected_participants: 30 → 40" */
export function describeChange(changes: ChangeSet, previous: ChangeSet): string {
  const show = (v: unknown) => (typeof v === 'string' ? (v.length > 60 ? `${v.slice(0, 57)}...` : v) : JSON.stringify(v));
  return Object.keys(changes)
    .map((k) => `${k}: ${show(previous[k as ChangeableField])} → ${show(changes[k as ChangeableField])}`)
    .join('; ');
}

/**
 * Problems with capacity: a resource the changed course needs more of than before, where it and the
 * courses overlapping its (new) dates would need more than `capacity`. A change that asks for no more
 * is never refused for what others already use.
 */
export function capacityErrors(before: Resources, after: Resources, overlapping: Resources, capacity: Resources): FieldErrors {
  const errors: FieldErrors = {};
  const units: Record<keyof Resources, string> = { cpu: 'CPUs', memory_gb: 'GB of memory', storage_gb: 'GB of storage', gpu: 'GPUs' };
  for (const key of Object.keys(units) as Array<keyof Resources>) {
    if (after[key] > before[key] && after[key] + overlapping[key] > capacity[key]) {
      errors[`resources.${key}`] =
        `With this change the course needs ${after[key]} ${units[key]} (participants × per participant), and the courses at the same time ${overlapping[key]}: more than the site's ${capacity[key]}.`;
    }
  }
  return errors;
}
