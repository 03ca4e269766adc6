/** /hub/spawn-pending/…: a progress bar and log fed by the spawn's event stream (spawn-pending.js). */
import { hubPath, serverLabel } from './components.js';
import { html } from './html.js';
import { page, type PageContext } from './layout.js';

export type SpawnPendingView = {
  userName: string;
  serverName: string;
  /** The server's progress event stream (text/event-stream). */
  progressUrl: string;
  /** Where to go once the server is ready. */
  nextUrl: string;
  /** The server's own origin under subdomain_host ('' otherwise): the page may go there too. */
  serverOrigin?: string;
};

export function spawnPendingPage(ctx: PageContext, view: SpawnPendingView): string {
  const label = serverLabel(ctx, view.userName, view.serverName);
  const body = html`<section id="spawn-pending" class="card" data-progress-url="${view.progressUrl}" data-next-url="${view.nextUrl}" data-server-origin="${view.serverOrigin ?? ''}" aria-labelledby="pending-title">
  <h1 id="pending-title">${label} is starting up</h1>
  <p>You will be redirected automatically when it's ready for you.</p>
  <div class="progress-block">
    <label for="progress-bar" class="visually-hidden">Start-up progress</label>
    <progress id="progress-bar" max="100" value="0">0%</progress>
    <p id="progress-message" class="progress-message" aria-live="polite">Waiting for the server…</p>
  </div>
  <div id="spawn-error" class="alert alert-error" role="alert" hidden>
    <p id="spawn-error-message"></p>
    <p><a href="${hubPath(ctx, 'home')}">Back to the home page</a></p>
  </div>
  <details class="event-log" open>
    <summary>Event log</summary>
    <ol id="progress-log"></ol>
  </details>
  <noscript><p class="alert alert-info">This page needs JavaScript to follow progress. <a href="${view.nextUrl}">Open the server</a> when it has had time to start.</p></noscript>
</section>`;
  return page(ctx, `${label} is starting`, body, ['spawn-pending.js']);
}
