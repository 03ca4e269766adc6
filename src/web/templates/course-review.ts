/** /hub/courses/review: every request waiting for governance, with its details, its load on the site and the decisions. */
import { hubPath } from './components.js';
import { courseFacts, coursePath, loadTable, reviewForms, stateBadge, type CourseDetailsView, type LoadView, type ReviewActions } from './course-parts.js';
import { html } from './html.js';
import { page, type PageContext } from './layout.js';

export type ReviewItem = { course: CourseDetailsView; load: LoadView; actions: ReviewActions };

export function reviewPage(ctx: PageContext, view: { items: ReviewItem[] }): string {
  const self = hubPath(ctx, 'courses', 'review');
  const body = html`<section class="card" aria-labelledby="review-page-title">
  <h1 id="review-page-title">Course requests</h1>
  <p class="muted">Requests waiting for a decision, and those sent back to their teachers. Approving schedules the course; its teachers are told by e-mail.</p>
  ${view.items.length === 0 && html`<p class="empty">No request is waiting.</p>`}
</section>
${view.items.map(
  ({ course: c, load, actions }) => html`<section class="card review-item" aria-labelledby="review-${c.slug}" data-course="${c.slug}">
  <div class="card-head">
    <h2 id="review-${c.slug}"><a href="${coursePath(ctx, c.slug)}">${c.title}</a></h2>
    ${stateBadge(c.state)}
  </div>
  <p class="muted"><code>${c.slug}</code></p>
  ${c.full?.reviewComment && html`<div class="alert alert-info"><strong>Sent back with:</strong> <span class="pre-line">${c.full.reviewComment}</span></div>`}
  ${courseFacts(c)}
  <h3>Load</h3>
  ${loadTable(load)}
  ${reviewForms(ctx, c.slug, actions, self)}
</section>`,
)}`;
  return page(ctx, 'Course requests', body);
}
