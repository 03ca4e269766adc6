/**
 * A teacher's course request, checked field by field against the site's limits. Pure: the API answers
 * 400 with every problem, the request form shows each next to its field. Uniqueness of the slug and the
 * existence of co-teachers need the database and are checked by the caller.
 */
import { z } from 'zod';

/** What the site allows (the `courses` configuration). */
export interface CourseLimits {
  maxDurationDays: number;
  maxParticipants: number;
  /** Names of the environments the admin offers; 'custom' (an image of the teacher's) needs review. */
  environments: readonly string[];
  resources: { cpu: number; memoryGb: number; storageGb: number; gpu: number };
  /** The version of the terms of use a request must accept. */
  termsVersion: string;
  /** Whether content repositories may be file:/// URLs on the hub host. */
  allowFileRepos?: boolean;
}

export interface CourseRequest {
  title: string;
  slug: string;
  description: string;
  starts_at: string;
  ends_at: string;
  expected_participants: number;
  environment: string;
  custom_image: string | null;
  resources: { cpu: number; memory_gb: number; storage_gb: number; gpu: number };
  content_repo: { url: string; branch: string } | null;
  co_teachers: string[];
  accepted_terms_version: string;
  /** Where the teachers' notices go (besides the addresses the hub knows for them). */
  contact_email: string | null;
}

/** Problems by field (dotted paths for nested fields), empty when the request is acceptable. */
export type FieldErrors = Record<string, string>;

/** DNS label rules, 3–30 characters: the slug ends up in group names, URLs and host names. */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{1,28})[a-z0-9]$/;
const RESERVED_SLUGS = ['new', 'review', 'join', 'api'];
const GIT_URL = /^(https:\/\/|git@[\w.-]+:|file:\/\/\/)/;
const BRANCH = /^(?!-)(?!.*\.\.)[\w./-]{1,100}$/;

const shape = z
  .object({
    title: z.string().trim().min(1, 'Give the course a title.').max(200, 'At most 200 characters.'),
    slug: z.string().regex(SLUG, '3 to 30 lower-case letters, digits and dashes, not starting or ending with a dash.'),
    description: z.string().max(5000, 'At most 5000 characters.').default(''),
    starts_at: z.string(),
    ends_at: z.string(),
    expected_participants: z.number({ message: 'A number of participants.' }).int('A whole number.'),
    environment: z.string().min(1, 'Choose an environment.'),
    custom_image: z.string().trim().min(1).max(300).nullish(),
    resources: z.object({
      cpu: z.number().positive('More than 0.'),
      memory_gb: z.number().positive('More than 0.'),
      storage_gb: z.number().nonnegative('0 or more.'),
      gpu: z.number().int('A whole number.').nonnegative('0 or more.').default(0),
    }),
    content_repo: z
      .object({
        url: z.string().regex(GIT_URL, 'An https:// or git@ URL of a git repository.'),
        branch: z.string().regex(BRANCH, 'A branch name.').default('main'),
      })
      .nullish(),
    co_teachers: z.array(z.string().min(1)).max(20, 'At most 20 co-teachers.').default([]),
    accepted_terms_version: z.string().default(''),
    contact_email: z.email('An e-mail address.').max(254).nullish(),
  })
  .strict();

/**
 * Checks a request body; `now` is the check's time. Returns the normalised request, or the problems
 * by field: first every shape and format problem together, then, once the shape is right, every
 * date, limit and terms problem together.
 */
export function checkCourseRequest(
  body: unknown,
  limits: CourseLimits,
  now: number,
  options: { startMayBePast?: boolean } = {},
): { ok: true; request: CourseRequest } | { ok: false; errors: FieldErrors } {
  const parsed = shape.safeParse(body);
  const errors: FieldErrors = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.join('.') || 'request';
      errors[field] ??= issue.code === 'unrecognized_keys' ? `Unknown fields: ${(issue as { keys: string[] }).keys.join(', ')}` : issue.message;
    }
    return { ok: false, errors };
  }
  const r = parsed.data;
  // Page routes under /hub/courses/ that a course's page would hide.
  if (RESERVED_SLUGS.includes(r.slug)) errors.slug = 'This short name is reserved; choose another.';
  const start = Date.parse(r.starts_at);
  const end = Date.parse(r.ends_at);
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
  if (!iso.test(r.starts_at) || Number.isNaN(start)) errors.starts_at = 'A date and time in ISO 8601 with a time zone, e.g. 2027-04-12T08:00:00Z.';
  // A change to a course that has started keeps its start (src/courses/changes.ts).
  else if (start <= now && !options.startMayBePast) errors.starts_at = 'The start must be in the future.';
  if (!iso.test(r.ends_at) || Number.isNaN(end)) errors.ends_at = 'A date and time in ISO 8601 with a time zone, e.g. 2027-07-20T18:00:00Z.';
  else if (!errors.starts_at && end <= start) errors.ends_at = 'The end must be after the start.';
  else if (!errors.starts_at && end - start > limits.maxDurationDays * 86_400_000) errors.ends_at = `A course may last at most ${limits.maxDurationDays} days.`;
  if (r.expected_participants < 1 || r.expected_participants > limits.maxParticipants) {
    errors.expected_participants = `Between 1 and ${limits.maxParticipants} participants.`;
  }
  if (r.environment === 'custom') {
    if (!r.custom_image) errors.custom_image = 'Name the image to use (a custom image needs governance approval).';
  } else if (!limits.environments.includes(r.environment)) {
    errors.environment = `Choose one of: ${[...limits.environments, 'custom'].join(', ')}.`;
  }
  const max = limits.resources;
  const over: Array<[keyof CourseRequest['resources'], number, string]> = [
    ['cpu', max.cpu, 'CPUs'],
    ['memory_gb', max.memoryGb, 'GB of memory'],
    ['storage_gb', max.storageGb, 'GB of storage'],
    ['gpu', max.gpu, 'GPUs'],
  ];
  for (const [key, limit, unit] of over) if (r.resources[key] > limit) errors[`resources.${key}`] = `At most ${limit} ${unit} per participant.`;
  if (r.content_repo?.url.startsWith('file:') && !limits.allowFileRepos) errors['content_repo.url'] = 'An https:// or git@ URL of a git repository.';
  if (r.accepted_terms_version !== limits.termsVersion) errors.accepted_terms_version = `Accept the terms of use (version ${limits.termsVersion}).`;
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    request: {
      ...r,
      title: r.title,
      custom_image: r.environment === 'custom' ? (r.custom_image ?? null) : null,
      content_repo: r.content_repo ?? null,
      contact_email: r.contact_email ?? null,
      starts_at: new Date(start).toISOString(),
      ends_at: new Date(end).toISOString(),
    },
  };
}
