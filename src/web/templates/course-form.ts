/** /hub/courses/new and /hub/courses/<slug>/edit: the course request form, with each problem next to its field. */
import type { CourseField, CourseFormValues } from '../course-form.js';
import { hubPath, xsrfField } from './components.js';
import { html, raw, type SafeHtml } from './html.js';
import { termsBody } from './course-parts.js';
import { page, type PageContext } from './layout.js';

export type CourseFormView = {
  /** null for a new request, else the course being edited. */
  editing: { slug: string; title: string } | null;
  values: CourseFormValues;
  /** Problems by field (the service's keys), shown next to each field and summed up at the top. */
  errors: Record<string, string>;
  environments: Array<{ name: string; description: string }>;
  limits: { cpu: number; memory_gb: number; storage_gb: number; gpu: number; participants: number; days: number };
  terms: { version: string; text: string | null };
  /** Now, for the hint next to the dates. */
  nowUtc: string;
};

const LABELS: Record<CourseField, string> = {
  title: 'Title',
  slug: 'Short name',
  description: 'Description',
  starts_at: 'Starts (UTC)',
  ends_at: 'Ends (UTC)',
  expected_participants: 'Expected participants',
  environment: 'Environment',
  custom_image: 'Custom image',
  'resources.cpu': 'CPUs',
  'resources.memory_gb': 'Memory (GB)',
  'resources.storage_gb': 'Storage (GB)',
  'resources.gpu': 'GPUs',
  'content_repo.url': 'Repository URL',
  'content_repo.branch': 'Branch',
  co_teachers: 'Co-teachers',
  contact_email: 'Contact e-mail',
  accepted_terms_version: 'Terms of use',
};

function fieldId(field: string): string {
  return `course-${field.replace(/[^a-z0-9]+/gi, '-')}`;
}

/** The error under a field, tied to its input with aria-describedby. */
function fieldError(view: CourseFormView, field: CourseField): SafeHtml {
  const message = view.errors[field];
  return html`${message && html`<p class="field-error" id="${fieldId(field)}-error">${message}</p>`}`;
}

function described(view: CourseFormView, field: CourseField, help?: string): SafeHtml {
  const ids = [help ? `${fieldId(field)}-help` : '', view.errors[field] ? `${fieldId(field)}-error` : ''].filter(Boolean);
  return html`${ids.length > 0 && html` aria-describedby="${ids.join(' ')}"`}${view.errors[field] && html` aria-invalid="true"`}`;
}

type InputOptions = { type?: string; required?: boolean; help?: string; optional?: boolean; attrs?: SafeHtml };

/** A stored time may have seconds: off the default 60 s step, an edited date would block the form. */
const ANY_SECOND = html` step="1"`;

function input(view: CourseFormView, field: CourseField, o: InputOptions = {}): SafeHtml {
  const id = fieldId(field);
  return html`<div class="field${view.errors[field] ? ' has-error' : ''}">
    <label for="${id}">${LABELS[field]}${o.optional && html` <span class="muted">(optional)</span>`}</label>
    <input id="${id}" name="${field}" type="${o.type ?? 'text'}" value="${view.values[field] ?? ''}"${o.required && html` required`}${described(view, field, o.help)}${o.attrs}>
    ${o.help && html`<p class="help" id="${id}-help">${o.help}</p>`}
    ${fieldError(view, field)}
  </div>`;
}

function errorSummary(view: CourseFormView): SafeHtml {
  const entries = Object.entries(view.errors);
  if (!entries.length) return html``;
  return html`<div class="alert alert-error" role="alert" id="course-form-errors">
  <p><strong>The request cannot be sent yet:</strong></p>
  <ul>${entries.map(([field, message]) => html`<li>${field in LABELS ? html`<a href="#${fieldId(field)}">${LABELS[field as CourseField]}</a>: ` : ''}${message}</li>`)}</ul>
</div>`;
}

function environmentField(view: CourseFormView): SafeHtml {
  const chosen = view.values.environment ?? view.environments[0]?.name ?? 'custom';
  const option = (name: string, label: string) => html`<option value="${name}"${name === chosen && html` selected`}>${label}</option>`;
  return html`<div class="field${view.errors.environment ? ' has-error' : ''}">
    <label for="${fieldId('environment')}">${LABELS.environment}</label>
    <select id="${fieldId('environment')}" name="environment" required${described(view, 'environment')}>
      ${view.environments.map((e) => option(e.name, e.description ? `${e.name} — ${e.description}` : e.name))}
      ${option('custom', 'custom — an image of your own (needs review)')}
    </select>
    ${fieldError(view, 'environment')}
  </div>
  <div class="field${view.errors.custom_image ? ' has-error' : ''}" id="custom-image-field">
    <label for="${fieldId('custom_image')}">${LABELS.custom_image} <span class="muted">(only with “custom”)</span></label>
    <input id="${fieldId('custom_image')}" name="custom_image" type="text" value="${view.values.custom_image ?? ''}" placeholder="e.g. quay.io/jupyter/scipy-notebook:2025-01-06" autocapitalize="none" spellcheck="false"${described(view, 'custom_image')}>
    ${fieldError(view, 'custom_image')}
  </div>`;
}

function termsField(view: CourseFormView): SafeHtml {
  const body = termsBody(view.terms);
  const checked = view.values.accepted_terms_version === view.terms.version;
  return html`<fieldset class="field${view.errors.accepted_terms_version ? ' has-error' : ''}">
    <legend>${LABELS.accepted_terms_version} <span class="muted">(version ${view.terms.version})</span></legend>
    <div class="terms-box" tabindex="0" role="region" aria-label="Terms of use">${body}</div>
    <label class="checkbox"><input id="${fieldId('accepted_terms_version')}" type="checkbox" name="accepted_terms_version" value="${view.terms.version}"${checked && html` checked`} required${described(view, 'accepted_terms_version')}> I accept the terms of use</label>
    ${fieldError(view, 'accepted_terms_version')}
  </fieldset>`;
}

export function courseFormPage(ctx: PageContext, view: CourseFormView): string {
  const l = view.limits;
  const editing = view.editing;
  const title = editing ? `Edit ${editing.title}` : 'Request a course';
  const action = editing ? hubPath(ctx, 'courses', editing.slug, 'edit') : hubPath(ctx, 'courses', 'new');
  const number = (max: number, step: string) => raw(` min="0" max="${max}" step="${step}" inputmode="decimal"`);
  const body = html`<section class="card course-form-card" aria-labelledby="course-form-title">
  <h1 id="course-form-title">${title}</h1>
  ${editing ? html`<p class="muted">Saving sends the changed request to review again.</p>` : html`<p class="muted">The course governance reviews your request; you hear from them by e-mail and on the course page.</p>`}
  ${errorSummary(view)}
  <!-- novalidate: the hub checks every field and shows all problems at once, each next to its field -->
  <form method="post" action="${action}" class="stack course-form" novalidate>
    ${xsrfField(ctx)}
    <fieldset class="form-section">
      <legend>The course</legend>
      ${input(view, 'title', { required: true, attrs: raw(' maxlength="200"') })}
      ${editing
        ? html`<div class="field"><label for="${fieldId('slug')}">${LABELS.slug}</label><input id="${fieldId('slug')}" type="text" value="${editing.slug}" readonly></div>`
        : input(view, 'slug', {
            required: true,
            help: '3–30 lower-case letters, digits and dashes; part of the course’s addresses. It cannot change later.',
            attrs: raw(' pattern="[a-z0-9][a-z0-9\\-]{1,28}[a-z0-9]" maxlength="30" autocapitalize="none" autocomplete="off" spellcheck="false"'),
          })}
      <div class="field${view.errors.description ? ' has-error' : ''}">
        <label for="${fieldId('description')}">${LABELS.description} <span class="muted">(optional)</span></label>
        <textarea id="${fieldId('description')}" name="description" rows="4" maxlength="5000"${described(view, 'description')}>${view.values.description ?? ''}</textarea>
        ${fieldError(view, 'description')}
      </div>
      <div class="form-row">
        ${input(view, 'starts_at', { type: 'datetime-local', required: true, help: `Now: ${view.nowUtc} UTC`, attrs: ANY_SECOND })}
        ${input(view, 'ends_at', { type: 'datetime-local', required: true, help: `At most ${l.days} days after the start.`, attrs: ANY_SECOND })}
      </div>
      ${input(view, 'expected_participants', { type: 'number', required: true, attrs: raw(` min="1" max="${l.participants}" step="1" inputmode="numeric"`), help: `At most ${l.participants}.` })}
    </fieldset>
    <fieldset class="form-section">
      <legend>Environment and resources per participant</legend>
      ${environmentField(view)}
      <div class="form-row form-row-4">
        ${input(view, 'resources.cpu', { type: 'number', required: true, attrs: number(l.cpu, 'any'), help: `max ${l.cpu}` })}
        ${input(view, 'resources.memory_gb', { type: 'number', required: true, attrs: number(l.memory_gb, 'any'), help: `max ${l.memory_gb}` })}
        ${input(view, 'resources.storage_gb', { type: 'number', required: true, attrs: number(l.storage_gb, 'any'), help: `max ${l.storage_gb}` })}
        ${input(view, 'resources.gpu', { type: 'number', attrs: number(l.gpu, '1'), help: `max ${l.gpu}` })}
      </div>
    </fieldset>
    <fieldset class="form-section">
      <legend>Content <span class="muted">(optional)</span></legend>
      <p class="help">A git repository copied into each participant's course folder when their server first starts.</p>
      <div class="form-row">
        ${input(view, 'content_repo.url', { type: 'url', optional: true, attrs: raw(' placeholder="https://github.com/…/course.git" autocapitalize="none" spellcheck="false"') })}
        ${input(view, 'content_repo.branch', { optional: true, attrs: raw(' placeholder="main" autocapitalize="none" spellcheck="false"') })}
      </div>
    </fieldset>
    <fieldset class="form-section">
      <legend>People</legend>
      ${input(view, 'co_teachers', { optional: true, help: 'User names, separated by commas; each must have logged in once.', attrs: raw(' autocapitalize="none" spellcheck="false"') })}
      ${input(view, 'contact_email', { type: 'email', optional: true, help: 'Where notices about the course go, besides the teachers’ own addresses.', attrs: raw(' autocomplete="email"') })}
    </fieldset>
    ${termsField(view)}
    <div class="actions">
      <button type="submit" class="btn btn-primary">${editing ? 'Save and resubmit' : 'Send the request'}</button>
      <a class="btn" href="${editing ? hubPath(ctx, 'courses', editing.slug) : hubPath(ctx, 'courses')}">Cancel</a>
    </div>
  </form>
</section>`;
  return page(ctx, title, body, ['courses.js']);
}
