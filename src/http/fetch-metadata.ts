/**
 * What a browser says about how a request was made (the `Sec-Fetch-*` request headers), and the
 * rules the hub draws from it for requests that the login cookie authenticates, as JupyterHub ≥ 4.1:
 *  - a hub page is a person's navigation (`Sec-Fetch-Mode: navigate`); a script's fetch of a page
 *    (`cors`, `same-origin`, `no-cors`) is answered as if nobody were logged in, so that a page on a
 *    user's server, which shares the hub's origin, cannot read the XSRF token out of a hub page;
 *  - an API request needs the XSRF token unless it is a GET or HEAD that no script can read
 *    (a navigation, a no-cors request, a WebSocket handshake).
 * Browsers send these headers to secure origins only (https, localhost, 127.0.0.1). Without them
 * (`unspecified`: a plain-http site, an old browser, curl) the request is treated as a navigation,
 * as JupyterHub does: such deployments need TLS or subdomain_host for this protection (docs/security.md).
 */
import type http from 'node:http';

export type FetchMode = 'navigate' | 'cors' | 'same-origin' | 'no-cors' | 'websocket' | 'unspecified';

const MODES = new Set<FetchMode>(['navigate', 'cors', 'same-origin', 'no-cors', 'websocket']);

export function fetchMode(req: Pick<http.IncomingMessage, 'headers'>): FetchMode {
  const raw = req.headers['sec-fetch-mode'];
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  return MODES.has(value as FetchMode) ? (value as FetchMode) : 'unspecified';
}

/** May the login cookie stand for a person on a hub page (not the API)? Only for navigations. */
export function cookieMayOpenPage(req: Pick<http.IncomingMessage, 'headers'>): boolean {
  const mode = fetchMode(req);
  return mode === 'navigate' || mode === 'unspecified';
}

const READ_ONLY = new Set(['GET', 'HEAD']);
const UNREADABLE_BY_SCRIPTS = new Set<FetchMode>(['navigate', 'unspecified', 'no-cors', 'websocket']);

/** Does a cookie-authenticated API request need the XSRF token? Every one but a GET or HEAD no script can read. */
export function apiNeedsXsrf(req: Pick<http.IncomingMessage, 'headers' | 'method'>): boolean {
  if (req.method === 'OPTIONS') return false;
  return !(READ_ONLY.has(req.method ?? 'GET') && UNREADABLE_BY_SCRIPTS.has(fetchMode(req)));
}

/**
 * Whether a navigation came from another site (`Sec-Fetch-Site: cross-site`, or `same-site`: another
 * host under the same domain, such as a user's own subdomain). Such a link may show a page but not
 * change anything by itself: starting a server or logging out then takes a click on a form.
 * Absent (plain http, curl): not from another site, as JupyterHub starts servers on GET.
 */
export function fromAnotherSite(req: Pick<http.IncomingMessage, 'headers'>): boolean {
  const raw = req.headers['sec-fetch-site'];
  const site = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  return site === 'cross-site' || site === 'same-site';
}
