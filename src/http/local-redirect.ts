/**
 * `next` parameters and other redirect targets taken from requests: only a path under the hub's base
 * URL on the hub's own origin, returned re-encoded from the parsed URL (never the string as given).
 * Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example` or
 * `/\evil.example` would leave the site; such strings, and anything with a control character, are
 * refused rather than repaired. Non-ASCII characters come back percent-encoded, fit for a Location header.
 */
const PLACEHOLDER_ORIGIN = 'http://ganymede.invalid';
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f\\]/;

export function localRedirect(next: unknown, base: string, otherOrigin?: (origin: string) => boolean): string | null {
  if (typeof next !== 'string' || next === '' || next.length > 8192 || UNSAFE.test(next)) return null;
  // An absolute URL only on an origin the caller names (a user's own origin under subdomain_host).
  const absolute = otherOrigin !== undefined && /^https?:\/\//i.test(next);
  if (!absolute && (!next.startsWith('/') || next.startsWith('//'))) return null;
  let url: URL;
  try {
    url = new URL(next, PLACEHOLDER_ORIGIN);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (absolute ? !otherOrigin(url.origin) : url.origin !== PLACEHOLDER_ORIGIN) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // After dot segments are resolved: `/base/../elsewhere` is not under the base.
  if (!path.startsWith(base) && `${url.pathname}/` !== base) return null;
  return absolute ? `${url.origin}${path}` : path;
}
