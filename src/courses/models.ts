/** The JSON shapes of a course's members and history, and where a member's archive is downloaded: shared by the API and the course pages. */
import type { CourseChangeRow, CourseEventRow } from '../db/schema.js';
import type { MemberWithName } from '../db/repos/courses.js';
import { escapePathSegment, type HubUrls } from '../hub/urls.js';

export function memberModel(m: MemberWithName) {
  return {
    name: m.user_name,
    role: m.role,
    status: m.status,
    applied_at: m.applied_at,
    decided_at: m.decided_at,
    first_started: m.first_started,
    last_started: m.last_started,
    terms_version: m.terms_version,
    terms_accepted_at: m.terms_accepted_at,
  };
}

/** Where a teacher downloads a member's archive (the API, also linked from the course page). */
export function archiveUrl(urls: HubUrls, slug: string, user: string): string {
  return `${urls.api}courses/${escapePathSegment(slug)}/archive/${escapePathSegment(user)}`;
}

export function eventModel(e: CourseEventRow) {
  return { at: e.at, actor: e.actor, action: e.action, from: e.from_state, to: e.to_state, detail: e.detail };
}

/** A proposed change: what would change (and from what), and governance's decision. */
export function changeModel(c: CourseChangeRow) {
  return {
    id: c.id,
    state: c.state,
    changes: JSON.parse(c.changes) as Record<string, unknown>,
    previous: JSON.parse(c.previous) as Record<string, unknown>,
    requested_by: c.requested_by,
    created: c.created,
    decided_by: c.decided_by,
    decided_at: c.decided_at,
    comment: c.comment,
  };
}
