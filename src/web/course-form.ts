/**
 * The course request form as plain strings, and the request body the course service checks. The
 * form's fields are named as the service's error keys (`resources.cpu`, `content_repo.url`), so each
 * message goes next to its field. Dates come from `<input type="datetime-local">` and are read as
 * UTC (the form says so): the hub does not guess the browser's time zone.
 */
import type { FieldErrors } from '../courses/request.js';

export const COURSE_FIELDS = [
  'title',
  'slug',
  'description',
  'starts_at',
  'ends_at',
  'expected_participants',
  'environment',
  'custom_image',
  'resources.cpu',
  'resources.memory_gb',
  'resources.storage_gb',
  'resources.gpu',
  'content_repo.url',
  'content_repo.branch',
  'co_teachers',
  'contact_email',
  'accepted_terms_version',
] as const;
export type CourseField = (typeof COURSE_FIELDS)[number];
export type CourseFormValues = Partial<Record<CourseField, string>>;

const LOCAL_DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/;

/** A datetime-local value read as UTC ('2027-04-12T08:00' → '2027-04-12T08:00Z'), or null when it is not one. */
export function utcOfDateTimeLocal(value: string): string | null {
  return LOCAL_DATETIME.test(value) ? `${value}Z` : null;
}

/** The form's fields from a posted urlencoded body (anything else is ignored). */
export function formValues(body: unknown): CourseFormValues {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const out: CourseFormValues = {};
  for (const field of COURSE_FIELDS) {
    const v = Array.isArray(b[field]) ? (b[field] as unknown[])[0] : b[field];
    if (typeof v === 'string') out[field] = v;
  }
  return out;
}

/**
 * The request body for the service, and the problems only the form has (a number or a date that is
 * not one). A value the form could not read is passed on as typed, so the service refuses it too;
 * the form's message then replaces the service's, which is worded for API clients.
 */
export function requestBody(v: CourseFormValues): { body: Record<string, unknown>; problems: FieldErrors } {
  const problems: FieldErrors = {};
  const text = (field: CourseField) => (v[field] ?? '').trim();
  const optional = (field: CourseField) => text(field) || null;
  const number = (field: CourseField, whenEmpty?: number) => {
    const s = text(field);
    if (s === '' && whenEmpty !== undefined) return whenEmpty;
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) {
      problems[field] = 'Enter a number.';
      return s;
    }
    return n;
  };
  const utc = (field: CourseField) => {
    const s = text(field);
    const iso = utcOfDateTimeLocal(s);
    if (iso === null) problems[field] = 'Choose a date and time.';
    return iso ?? s;
  };
  const repoUrl = text('content_repo.url');
  const body = {
    title: v.title ?? '',
    slug: text('slug'),
    description: v.description ?? '',
    starts_at: utc('starts_at'),
    ends_at: utc('ends_at'),
    expected_participants: number('expected_participants'),
    environment: text('environment'),
    custom_image: text('environment') === 'custom' ? optional('custom_image') : null,
    resources: {
      cpu: number('resources.cpu'),
      memory_gb: number('resources.memory_gb'),
      storage_gb: number('resources.storage_gb'),
      gpu: number('resources.gpu', 0),
    },
    content_repo: repoUrl ? { url: repoUrl, branch: text('content_repo.branch') || 'main' } : null,
    co_teachers: text('co_teachers')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    accepted_terms_version: v.accepted_terms_version ?? '',
    contact_email: optional('contact_email'),
  };
  return { body, problems };
}

/** A stored course (the service's `requestBodyOf`) as form values, for the edit form. */
export function valuesOfRequest(r: Record<string, unknown>): CourseFormValues {
  const str = (x: unknown) => (x === null || x === undefined ? '' : String(x));
  const resources = (r.resources ?? {}) as Record<string, unknown>;
  const repo = (r.content_repo ?? null) as { url?: string; branch?: string } | null;
  return {
    title: str(r.title),
    slug: str(r.slug),
    description: str(r.description),
    starts_at: localDateTime(str(r.starts_at)),
    ends_at: localDateTime(str(r.ends_at)),
    expected_participants: str(r.expected_participants),
    environment: str(r.environment),
    custom_image: str(r.custom_image),
    'resources.cpu': str(resources.cpu),
    'resources.memory_gb': str(resources.memory_gb),
    'resources.storage_gb': str(resources.storage_gb),
    'resources.gpu': str(resources.gpu),
    'content_repo.url': str(repo?.url),
    'content_repo.branch': str(repo?.branch),
    co_teachers: Array.isArray(r.co_teachers) ? r.co_teachers.join(', ') : '',
    contact_email: str(r.contact_email),
    accepted_terms_version: str(r.accepted_terms_version),
  };
}

/** An ISO time as a datetime-local value in UTC ('2027-04-12T08:00', seconds only when there are some). */
export function localDateTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = new Date(t).toISOString().slice(0, 19);
  return s.endsWith(':00') ? s.slice(0, 16) : s;
}
