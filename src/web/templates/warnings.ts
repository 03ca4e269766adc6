/**
 * Warnings on the user's own hub pages: a server the idle culler is about to stop (with "Keep it
 * running" when it is stopped for being idle), and a course that ends soon.
 */
import { hubPath, timestamp, xsrfField } from './components.js';
import { html, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';

export type CullWarningView = {
  /** '' for the default server. */
  serverName: string;
  /** How the page names it: "Your server", "Your course server Statistics". */
  label: string;
  /** ISO time of the stop. */
  at: string;
  reason: 'inactive' | 'max_age';
  /** Minutes of inactivity that get a server stopped. */
  idleMinutes: number;
};

export type CourseEndingView = { title: string; endsAt: string };

export function cullWarnings(ctx: PageContext, warnings: CullWarningView[], next: string): SafeHtml {
  return html`${warnings.map(
    (w) => html`<div class="alert alert-info cull-warning" role="alert" data-cull-warning="${w.serverName}">
  <p>${w.label} will be stopped ${timestamp(w.at)}
    ${w.reason === 'inactive' ? `because nobody has used it for ${w.idleMinutes} minutes. What is not saved is lost then.` : 'because it has run for the longest time allowed. Save your work.'}</p>
  ${w.reason === 'inactive' &&
  html`<form method="post" action="${hubPath(ctx, 'keep-running')}" class="inline-form">
    ${xsrfField(ctx)}
    <input type="hidden" name="server" value="${w.serverName}">
    <input type="hidden" name="next" value="${next}">
    <button type="submit" class="btn btn-small btn-primary">Keep it running</button>
  </form>`}
</div>`,
  )}`;
}

export function courseEndings(endings: CourseEndingView[]): SafeHtml {
  return html`${endings.map(
    (e) => html`<div class="alert alert-info course-ending" role="status" data-course-ending="${e.title}">
  <p>The course ${e.title} ends ${timestamp(e.endsAt)}: your course server stops then, and you can no longer open it. Download what you want to keep before.</p>
</div>`,
  )}`;
}
