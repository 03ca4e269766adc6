/** The page behind a share link: whose server, what accepting allows, Accept. */
import { hubPath, xsrfField } from './components.js';
import { html } from './html.js';
import { page, type PageContext } from './layout.js';

export type AcceptShareView = {
  owner: string;
  /** '' for the default server. */
  serverName: string;
  serverReady: boolean;
  scopeDescriptions: string[];
  code: string;
  next: string;
};

export function acceptSharePage(ctx: PageContext, view: AcceptShareView): string {
  const server = view.serverName ? html`<strong>${view.owner}</strong>'s server <strong>${view.serverName}</strong>` : html`<strong>${view.owner}</strong>'s server`;
  const body = html`<section class="card card-narrow" aria-labelledby="share-title">
  <h1 id="share-title">Accept a shared server</h1>
  <p>${server} is shared with you. Accepting lets you:</p>
  <ul class="scope-list">
    ${view.scopeDescriptions.map((d) => html`<li>${d}</li>`)}
  </ul>
  ${view.serverReady ? '' : html`<p class="muted">The server is not running now: you can open it once ${view.owner} starts it.</p>`}
  <form method="post" action="${hubPath(ctx, 'accept-share')}" class="actions">
    ${xsrfField(ctx)}
    <input type="hidden" name="code" value="${view.code}">
    <input type="hidden" name="next" value="${view.next}">
    <button type="submit" class="btn btn-primary">Accept</button>
    <a class="btn" href="${hubPath(ctx, 'home')}">Cancel</a>
  </form>
</section>`;
  return page(ctx, 'Accept a shared server', body);
}
