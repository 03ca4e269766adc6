/**
 * A request URL fit for the log: the value of every query parameter whose name contains `token`,
 * `auth`, `key`, `code`, `state` or `xsrf` is replaced by `[secret]`, as JupyterHub scrubs its logs
 * (`?token=` API tokens, OAuth codes and states, XSRF tokens).
 */
const SECRET_NAMES = ['token', 'auth', 'key', 'code', 'state', 'xsrf'];

export function scrubUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const scrubbed = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // a stray %: judge the name as written
      }
      return SECRET_NAMES.some((s) => name.toLowerCase().includes(s)) ? `${pair.slice(0, eq)}=[secret]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${scrubbed}${hash < 0 ? '' : url.slice(hash)}`;
}
