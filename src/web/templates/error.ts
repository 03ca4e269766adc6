/** Error pages: the status, a sentence a person understands, the hub's message, a way home. */
import { STATUS_CODES } from 'node:http';
import { hubPath } from './components.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type ErrorView = { status: number; message: string; extraHtml?: SafeHtml };

const EXPLANATIONS: Record<number, [title: string, sentence: string]> = {
  400: ['Bad request', 'The hub could not make sense of this request.'],
  401: ['Not signed in', 'You need to sign in to see this page.'],
  403: ['Forbidden', "You don't have permission to see this page or do this."],
  404: ['Page not found', "There is nothing at this address. The link may be old or mistyped."],
  405: ['Method not allowed', 'This address does not accept this kind of request.'],
  424: ['Server not running', "The server this page belongs to isn't running."],
  429: ['Too many requests', 'Too many requests in a short time. Wait a moment and try again.'],
  500: ['Internal server error', 'Something went wrong on the hub. Try again in a moment.'],
  502: ['Bad gateway', "The server didn't answer properly."],
  503: ['Service unavailable', "The server isn't running or can't be reached right now."],
  504: ['Gateway timeout', 'The server took too long to answer.'],
};

function explain(status: number): [string, string] {
  return EXPLANATIONS[status] ?? [STATUS_CODES[status] ?? 'Error', 'Something went wrong.'];
}

export function errorPage(ctx: PageContext, view: ErrorView): string {
  const [title, sentence] = explain(view.status);
  const body = html`<section class="card error-card" aria-labelledby="error-title">
  <p class="error-status" aria-hidden="true">${view.status}</p>
  <h1 id="error-title"><span class="visually-hidden">${view.status} </span>${title}</h1>
  <p class="lead">${sentence}</p>
  ${view.message && html`<p class="error-message">${view.message}</p>`}
  ${view.extraHtml}
  <p><a class="btn btn-primary" href="${hubPath(ctx, 'home')}">Go to the home page</a></p>
</section>`;
  return page(ctx, `${view.status} ${title}`, body);
}
