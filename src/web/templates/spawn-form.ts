/** /hub/spawn with an options form: the spawner's form fields inside the hub's POST form. */
import { errorAlert, serverLabel, xsrfField } from './components.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type SpawnFormView = {
  userName: string;
  serverName: string;
  /** The spawner's options form, from the hub's configuration (trusted HTML). */
  formHtml: SafeHtml;
  actionUrl: string;
  error?: string;
  /** No options, only a button: the GET came from another site, which may not start a server by itself. */
  confirmOnly?: boolean;
};

export function spawnFormPage(ctx: PageContext, view: SpawnFormView): string {
  const title = view.confirmOnly ? 'Start your server?' : 'Server options';
  const body = html`<section class="card" aria-labelledby="spawn-form-title">
  <h1 id="spawn-form-title">${title}</h1>
  <p class="muted">${serverLabel(ctx, view.userName, view.serverName)}: ${view.confirmOnly ? 'a link from another site asks to start it.' : 'choose how to start it.'}</p>
  ${view.error && errorAlert(view.error, 'spawn-form-error')}
  <form id="spawn_form" method="post" action="${view.actionUrl}" class="stack">
    ${xsrfField(ctx)}
    <div class="spawner-options">
${view.formHtml}
    </div>
    <button type="submit" class="btn btn-primary btn-block">Start</button>
  </form>
</section>`;
  return page(ctx, title, body);
}
