/**
 * Headers on every answer of the hub itself (pages, API, static files, errors; not the user servers'
 * answers, which the proxy passes through):
 *  - `frame-ancestors 'none'`, as JupyterHub ≥ 4.1: no page may frame the hub, not even a page of a
 *    user's server on the same origin, which could otherwise read the framed page and its XSRF token;
 *  - `Cross-Origin-Opener-Policy: same-origin`: a hub page that a user's page opened with
 *    window.open() is cut off from its opener, which could otherwise script it the same way (the
 *    proxy keeps user servers from claiming the same policy: src/proxy/forward.ts);
 *  - `nosniff`, so that nothing the hub serves as data runs as a script or a page;
 *  - `Referrer-Policy: same-origin`: URLs of the hub (with their `next` and query) stay on the site.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "frame-ancestors 'none'",
  'Cross-Origin-Opener-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
});
