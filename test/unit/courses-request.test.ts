/** Every field of a course request is validated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCourseRequest, type CourseLimits } from '../../src/courses/request.js';

const limits: CourseLimits = {
  maxDurationDays: 200,
  maxParticipants: 150,
  environments: ['python', 'r'],
  resources: { cpu: 2, memoryGb: 4, storageGb: 10, gpu: 0 },
  termsVersion: '2026-1',
};
const now = Date.parse('2027-01-10T00:00:00Z');
const good = {
  title: 'Physics 101',
  slug: 'phys-101',
  description: 'Mechanics',
  starts_at: '2027-02-01T08:00:00Z',
  ends_at: '2027-05-31T18:00:00+02:00',
  expected_participants: 40,
  environment: 'python',
  resources: { cpu: 1, memory_gb: 2, storage_gb: 5 },
  content_repo: { url: 'https://git.example.org/phys/notebooks.git' },
  co_teachers: ['bob'],
  accepted_terms_version: '2026-1',
};

function errorsOf(change: Record<string, unknown>): Record<string, string> {
  const result = checkCourseRequest({ ...good, ...change }, limits, now);
  assert.equal(result.ok, false, JSON.stringify(change));
  return result.ok ? {} : result.errors;
}

test('a good request is accepted and normalised', () => {
  const result = checkCourseRequest(good, limits, now);
  assert.ok(result.ok);
  assert.equal(result.request.ends_at, '2027-05-31T16:00:00.000Z', 'times in UTC');
  assert.deepEqual(result.request.content_repo, { url: 'https://git.example.org/phys/notebooks.git', branch: 'main' });
  assert.equal(result.request.resources.gpu, 0);
  assert.equal(result.request.custom_image, null);
});

test('each field is checked, with a message for that field', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ title: '  ' }, 'title', /title/],
    [{ slug: 'Phys 101' }, 'slug', /lower-case/],
    [{ slug: 'ab' }, 'slug', /3 to 30/],
    [{ slug: '-phys' }, 'slug', /dash/],
    [{ slug: 'a'.repeat(31) }, 'slug', /3 to 30/],
    [{ starts_at: '2027-01-01T08:00:00Z' }, 'starts_at', /future/],
    [{ starts_at: 'next monday' }, 'starts_at', /ISO 8601/],
    [{ starts_at: '2027-02-01' }, 'starts_at', /time zone/],
    [{ ends_at: '2027-01-31T08:00:00Z' }, 'ends_at', /after the start/],
    [{ ends_at: '2027-12-31T08:00:00Z' }, 'ends_at', /at most 200 days/],
    [{ expected_participants: 0 }, 'expected_participants', /Between 1 and 150/],
    [{ expected_participants: 151 }, 'expected_participants', /Between 1 and 150/],
    [{ expected_participants: 2.5 }, 'expected_participants', /whole number/],
    [{ environment: 'matlab' }, 'environment', /one of: python, r, custom/],
    [{ environment: 'custom' }, 'custom_image', /governance/],
    [{ resources: { cpu: 8, memory_gb: 2, storage_gb: 5 } }, 'resources.cpu', /At most 2 CPUs/],
    [{ resources: { cpu: 1, memory_gb: 64, storage_gb: 5 } }, 'resources.memory_gb', /At most 4 GB of memory/],
    [{ resources: { cpu: 1, memory_gb: 2, storage_gb: 5, gpu: 1 } }, 'resources.gpu', /At most 0 GPUs/],
    [{ content_repo: { url: 'ftp://x/y' } }, 'content_repo.url', /git repository/],
    [{ content_repo: { url: 'https://git.example.org/x.git', branch: '--upload-pack=evil' } }, 'content_repo.branch', /branch/],
    [{ accepted_terms_version: '2025-3' }, 'accepted_terms_version', /version 2026-1/],
    [{ admin: true }, 'request', /Unknown fields: admin/],
  ];
  for (const [change, field, message] of cases) {
    const errors = errorsOf(change);
    assert.match(errors[field] ?? '', message, `${JSON.stringify(change)} → ${JSON.stringify(errors)}`);
  }
});

test('problems come together: all format problems, then all range problems', () => {
  const errors = errorsOf({ slug: 'X', expected_participants: 999, environment: 'matlab' });
  assert.deepEqual(Object.keys(errors).sort(), ['slug']);
  const later = errorsOf({ expected_participants: 999, environment: 'matlab', accepted_terms_version: '' });
  assert.deepEqual(Object.keys(later).sort(), ['accepted_terms_version', 'environment', 'expected_participants']);
});
