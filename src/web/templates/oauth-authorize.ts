/** The OAuth consent page: which application asks, what it will be able to do, Authorize. */
import { hubPath, xsrfField } from './components.js';
import { html } from './html.js';
import { page, type PageContext } from './layout.js';

export type OAuthConfirmView = {
  clientName: string;
  scopeDescriptions: string[];
  formAction: string;
  /** Extra fields posted back with the form. */
  hidden: Record<string, string>;
};

export function oauthConfirmPage(ctx: PageContext, view: OAuthConfirmView): string {
  const body = html`<section class="card card-narrow" aria-labelledby="authorize-title">
  <h1 id="authorize-title">Authorize access</h1>
  <p><strong>${view.clientName}</strong> would like to use your identity${ctx.user && html` (<strong>${ctx.user.name}</strong>)`}.</p>
  <p>It will be able to:</p>
  <ul class="scope-list">
    ${view.scopeDescriptions.length
      ? view.scopeDescriptions.map((d) => html`<li>${d}</li>`)
      : html`<li>See your user name and nothing else.</li>`}
  </ul>
  <form method="post" action="${view.formAction}" class="actions">
    ${xsrfField(ctx)}
    ${Object.entries(view.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
    <button type="submit" class="btn btn-primary">Authorize</button>
    <a class="btn" href="${hubPath(ctx, 'home')}">Cancel</a>
  </form>
</section>`;
  return page(ctx, 'Authorize access', body);
}
