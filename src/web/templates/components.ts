/** Small pieces shared by the pages: hub URLs, the XSRF form field, alerts, timestamps, server labels. */
import { escapePathSegment } from '../../hub/urls.js';
import { html, type SafeHtml } from './html.js';
import type { PageContext } from './layout.js';

/** `{baseUrl}hub/` + the given segments, each percent-encoded (user and server names may hold anything). */
export function hubPath(ctx: Pick<PageContext, 'baseUrl'>, ...segments: string[]): string {
  return `${ctx.baseUrl}hub/${segments.map(escapePathSegment).join('/')}`;
}

export function xsrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="_xsrf" value="${ctx.xsrfToken}">`;
}

/**
 * An error box. Always rendered (hidden when empty) so scripts can fill it; role="alert" makes
 * screen readers announce it when it appears.
 */
export function errorAlert(message: string | undefined, id?: string): SafeHtml {
  return html`<div class="alert alert-error" role="alert"${id ? html` id="${id}"` : ''}${message ? '' : html` hidden`}>${message}</div>`;
}

/** A UTC timestamp readable without JavaScript; ganymede.js rewrites it relative to now ("3 hours ago"). */
export function timestamp(iso: string | null, whenNull = 'Never'): SafeHtml {
  if (!iso) return html`<span class="muted">${whenNull}</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  return html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** "Your server", "Your server gpu", "alice's server gpu": whose server, as seen by the viewer. */
export function serverLabel(ctx: PageContext, userName: string, serverName: string): string {
  const owner = ctx.user?.name === userName ? 'Your server' : `${userName}'s server`;
  return serverName ? `${owner} ${serverName}` : owner;
}
