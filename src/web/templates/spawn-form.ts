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
};

export function spawnFormPage(ctx: PageContext, view: SpawnFormView): string {
  const body = html`<section class="card" aria-labelledby="spawn-form-title">
  <h1 id="spawn-form-title">Server options</h1>
  <p class="muted">${serverLabel(ctx, view.userName, view.serverName)}: choose how to start it.</p>
  ${view.error && errorAlert(view.error, 'spawn-form-error')}
  <form id="spawn_form" method="post" action="${view.actionUrl}" class="stack">
    ${xsrfField(ctx)}
    <div class="spawner-options">
${view.formHtml}
    </div>
    <button type="submit" class="btn btn-primary btn-block">Start</button>
  </form>
</section>`;
  return page(ctx, 'Server options', body);
}
