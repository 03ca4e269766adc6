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

export function localRedirect(next: unknown, base: string): string | null {
  if (typeof next !== 'string' || next === '' || next.length > 8192) return null;
  if (!next.startsWith('/') || next.startsWith('//') || UNSAFE.test(next)) return null;
  let url: URL;
  try {
    url = new URL(next, PLACEHOLDER_ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN || url.username || url.password) return null;
  const target = `${url.pathname}${url.search}${url.hash}`;
  // After dot segments are resolved: `/base/../elsewhere` is not under the base.
  if (!target.startsWith(base) && `${url.pathname}/` !== base) return null;
  return target;
}
