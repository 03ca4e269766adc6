/** The course request form's conversion to and from the service's request body, and escaping in the course pages. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formValues, localDateTime, requestBody, valuesOfRequest } from '../../src/web/course-form.js';
import { courseFormPage, coursePage, type CourseDetailsView, type PageContext } from '../../src/web/templates/index.js';

const ctx: PageContext = { baseUrl: '/', user: { name: 'teacher', admin: false }, xsrfToken: 'x', staticUrl: (p) => `/hub/static/${p}` };

test('the form becomes a request body: numbers parsed, dates read as UTC, empty optional fields null', () => {
  const values = formValues({
    title: 'Intro',
    slug: ' intro ',
    starts_at: '2027-04-12T08:00',
    ends_at: '2027-04-12T18:30:15',
    expected_participants: '30',
    environment: 'python',
    custom_image: 'ignored',
    'resources.cpu': '0.5',
    'resources.memory_gb': '2',
    'resources.storage_gb': '1',
    'resources.gpu': '',
    'content_repo.url': '',
    'content_repo.branch': 'main',
    co_teachers: 'ann, bob the builder,',
    contact_email: '',
    accepted_terms_version: '1',
    extra: 'dropped',
    _xsrf: 'x',
  });
  const { body, problems } = requestBody(values);
  assert.deepEqual(problems, {});
  assert.deepEqual(body, {
    title: 'Intro',
    slug: 'intro',
    description: '',
    starts_at: '2027-04-12T08:00Z',
    ends_at: '2027-04-12T18:30:15Z',
    expected_participants: 30,
    environment: 'python',
    custom_image: null,
    resources: { cpu: 0.5, memory_gb: 2, storage_gb: 1, gpu: 0 },
    content_repo: null,
    co_teachers: ['ann', 'bob the builder'],
    accepted_terms_version: '1',
    contact_email: null,
  });
});

test('numbers and dates the form cannot read are problems of their fields, passed on as typed', () => {
  const { body, problems } = requestBody({ starts_at: '', ends_at: '12.4.2027', 'resources.cpu': 'two', expected_participants: '' });
  assert.deepEqual(problems, {
    starts_at: 'Choose a date and time.',
    ends_at: 'Choose a date and time.',
    expected_participants: 'Enter a number.',
    'resources.cpu': 'Enter a number.',
    'resources.memory_gb': 'Enter a number.',
    'resources.storage_gb': 'Enter a number.',
  });
  assert.equal((body.resources as Record<string, unknown>).cpu, 'two');
  assert.equal(body.ends_at, '12.4.2027');
});

test('a stored request fills the edit form, dates in UTC', () => {
  const v = valuesOfRequest({
    title: 'Intro',
    starts_at: '2027-04-12T08:00:00.000Z',
    ends_at: '2027-04-12T18:30:15.000Z',
    resources: { cpu: 1, memory_gb: 2, storage_gb: 3, gpu: 0 },
    content_repo: { url: 'https://git.example/c.git', branch: 'dev' },
    co_teachers: ['ann', 'bob'],
    custom_image: null,
  });
  assert.equal(v.starts_at, '2027-04-12T08:00');
  assert.equal(v.ends_at, '2027-04-12T18:30:15');
  assert.equal(v['resources.storage_gb'], '3');
  assert.equal(v['content_repo.branch'], 'dev');
  assert.equal(v.co_teachers, 'ann, bob');
  assert.equal(v.custom_image, '');
  assert.equal(localDateTime('not a date'), '');
});

test('the form shows each problem next to its field and in the summary, and escapes what was typed', () => {
  const out = courseFormPage(ctx, {
    editing: null,
    values: { title: '<b>x</b>', ends_at: '2027-01-01T00:00' },
    errors: { ends_at: 'The end must be after the start.', request: 'Unknown fields: x' },
    environments: [{ name: 'python', description: 'Python 3' }],
    limits: { cpu: 2, memory_gb: 4, storage_gb: 5, gpu: 0, participants: 500, days: 200 },
    terms: { version: '2', text: 'Be <nice>.' },
    nowUtc: '2026-01-01 00:00',
  });
  assert.match(out, /<p class="field-error" id="course-ends-at-error">The end must be after the start.<\/p>/);
  assert.match(out, /aria-describedby="course-ends-at-help course-ends-at-error" aria-invalid="true"/);
  assert.match(out, /<li>Unknown fields: x<\/li>/);
  assert.match(out, /value="&lt;b&gt;x&lt;\/b&gt;"/);
  assert.match(out, /Be &lt;nice&gt;\./);
  assert.match(out, /name="accepted_terms_version" value="2"/);
});

/** A course as its page shows it to someone who does not read it in full. */
function courseView(over: Partial<CourseDetailsView>): CourseDetailsView {
  return {
    slug: 'intro',
    title: 'Intro',
    description: '',
    state: 'pending',
    startsAt: '2027-04-12T08:00:00.000Z',
    endsAt: '2027-04-13T08:00:00.000Z',
    environment: 'python',
    environmentDescription: '',
    resources: { cpu: 1, memory_gb: 2, storage_gb: 1, gpu: 0 },
    teachers: ['teacher'],
    full: null,
    ...over,
  };
}

test('the course page escapes the teacher’s text', () => {
  const course = courseView({ title: '<script>t</script>', description: '<img src=x>' });
  const out = coursePage(ctx, { course, me: null, server: null, termsToAccept: null, myCollections: null, manage: null, canEdit: false, canCancel: false, review: null, events: null, changes: null, canRetry: false });
  assert.ok(!out.includes('<script>t') && !out.includes('<img src=x>'));
  assert.match(out, /2027-04-12 08:00 UTC/);
});

test('a participant with new terms to accept sees them with the form that accepts them', () => {
  const out = coursePage(ctx, {
    course: courseView({ state: 'active' }),
    me: { role: 'student', status: 'accepted' },
    server: null,
    termsToAccept: { version: '2027-1', text: 'Be <kind>.' },
    myCollections: null,
    manage: null,
    canEdit: false,
    canCancel: false,
    review: null,
    events: null,
    changes: null,
    canRetry: false,
  });
  assert.match(out, /<form id="accept-terms-form" method="post" action="\/hub\/courses\/intro\/terms"/);
  assert.match(out, /name="accepted_terms_version" value="2027-1" required/);
  assert.match(out, /Be &lt;kind&gt;\./);
  assert.match(out, /The terms of use are new \(version 2027-1\)/);
});
