/**
 * Content links in nbgitpuller's format (`…/git-pull?repo=…&branch=…&urlpath=…`), read by the hub:
 * which repository, which branch, where it goes in the user's files and where the browser lands.
 * Every value comes from a link anyone can craft, so each one is checked here, where the fact is
 * known, and refused with a 400 naming the parameter.
 *
 * Parameters as nbgitpuller's `UIHandler` reads them: `repo`; `branch` (absent: the repository's
 * default branch); `urlpath`/`urlPath`; `subpath`/`subPath` (default `.`) with `app`;
 * `targetpath`/`targetPath` (default: the repository's name); `depth`. The lower-case spelling wins
 * when both are given, as there.
 */
import { contentDirName } from '../courses/content.js';
import { HubError } from '../errors.js';

export interface GitPullLink {
  /** The repository to clone, exactly as given (checked against the allowed patterns). */
  repo: string;
  /** Branch (or tag) to pull; undefined: the repository's default branch, resolved at pull time. */
  branch?: string;
  /** Directory of the checkout, relative to the user's server root: `a` or `a/b`, never outside. */
  targetpath: string;
  /** Commits of history for the first clone (0: all); undefined: the puller's default. */
  depth?: number;
  /** Where the browser goes after the pull, relative to the user's server URL: no leading slash, percent-encoded. */
  redirectPath: string;
}

/** Longest value accepted for any parameter. */
const MAX_LENGTH = 2000;

/** C0 controls, DEL and C1 controls: never part of a URL, a path or a ref a person typed. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Schemes git reaches a repository by, besides `file://` and scp-like `user@host:path`. */
const NETWORK_SCHEMES = ['http:', 'https:', 'git:', 'ssh:', 'git+ssh:', 'ssh+git:'];

/** `[user@]host:path`, git's scp-like syntax: no slash before the colon, no `::` (git's `<transport>::` syntax). */
const SCP_LIKE = /^(?:[A-Za-z0-9._~%+-]+@)?(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):(?![:/])[^\s]+$/;

export function parseGitPullQuery(query: Record<string, unknown>, allowedRepos: string[]): GitPullLink {
  const repo = param(query, 'repo');
  if (!repo) throw new HubError(400, 'repo is missing: the link must name the git repository to pull');
  checkRepoUrl(repo);
  if (!repoAllowed(repo, allowedRepos)) {
    throw new HubError(
      400,
      allowedRepos.length === 0
        ? `repo ${repo} is not allowed: content links are turned off here (no repository is allowed)`
        : `repo ${repo} is not allowed: it matches none of ${allowedRepos.join(', ')}`,
    );
  }

  const branch = param(query, 'branch');
  if (branch !== undefined && !validBranchName(branch)) {
    throw new HubError(400, `branch ${JSON.stringify(branch)} is not a valid git branch name`);
  }

  const given = param(query, 'targetpath', 'targetPath');
  const targetpath = given ?? contentDirName(repo);
  checkTargetpath(targetpath, given === undefined);

  const depthText = param(query, 'depth');
  if (depthText !== undefined && !/^\d{1,9}$/.test(depthText)) {
    throw new HubError(400, `depth ${JSON.stringify(depthText)} must be a whole number of commits (0: the whole history)`);
  }

  const urlpath = param(query, 'urlpath', 'urlPath');
  const redirectPath =
    urlpath !== undefined ? redirectFromUrlpath(urlpath) : redirectFromSubpath(targetpath, param(query, 'subpath', 'subPath') ?? '.', param(query, 'app') ?? 'notebook');

  return {
    repo,
    ...(branch !== undefined ? { branch } : {}),
    targetpath,
    ...(depthText !== undefined ? { depth: Number(depthText) } : {}),
    redirectPath,
  };
}

/**
 * Whether `url` matches one of `patterns`. Both are split into scheme, user, host, port and path first,
 * and each part is matched on its own: a `*` in a pattern's host matches within the host only (so
 * `https://*.example.org/**` never matches `https://evil.test?.example.org/x`, whose host is
 * evil.test), `*` in a path any run of characters but `/`, `**` any run at all; everything else is itself.
 */
export function repoAllowed(url: string, patterns: string[]): boolean {
  const repo = repoParts(url);
  if (!repo) return false;
  return patterns.some((pattern) => {
    const p = repoParts(pattern);
    if (!p || p.scheme !== repo.scheme || p.user !== repo.user || p.port !== repo.port) return false;
    if (!globPattern(p.host.toLowerCase(), false).test(repo.host.toLowerCase())) return false;
    // A trailing slash (`…/repo/`) names the same repository.
    const path = globPattern(p.path, true);
    return path.test(repo.path) || (repo.path.length > 1 && repo.path.endsWith('/') && path.test(repo.path.slice(0, -1)));
  });
}

interface RepoParts {
  /** Lower case; `scp` for git's `[user@]host:path`. */
  scheme: string;
  user: string;
  host: string;
  port: string;
  path: string;
}

/** `scheme://[user@]host[:port]/path` or `[user@]host:path`, with no query or fragment; null for anything else. */
function repoParts(text: string): RepoParts | null {
  // A backslash counts as a slash to URL parsers (and so to git's curl): it may be in no part but the path.
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/\\?#]*)@)?(\[[^\]/\\?#]*\]|[^/\\:?#@[\]]*)(?::(\d*))?(\/[^?#]*)?$/s.exec(text);
  if (url) return { scheme: url[1]!.toLowerCase(), user: url[2] ?? '', host: url[3]!, port: url[4] ?? '', path: url[5] ?? '/' };
  const scp = /^(?:([^@/\\:?#]+)@)?(\[[^\]/\\?#]+\]|[^/\\:?#@[\]]+):([^?#]+)$/s.exec(text);
  if (scp) return { scheme: 'scp', user: scp[1] ?? '', host: scp[2]!, port: '', path: scp[3]! };
  return null;
}

/** The rules of `git check-ref-format --branch`, without running git: the name must make a valid `refs/heads/<name>`. */
export function validBranchName(name: string): boolean {
  if (name === '' || name === '@' || name === 'HEAD' || name.startsWith('-')) return false;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((part) => !part.startsWith('.') && !part.endsWith('.lock'));
}

/** One parameter's value: the first of its spellings that is given and non-empty; checked for type, length and control characters. */
function param(query: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const raw = query[name];
    if (raw === undefined || raw === null || raw === '') continue;
    if (Array.isArray(raw)) throw new HubError(400, `${name} is given more than once`);
    if (typeof raw !== 'string') throw new HubError(400, `${name} must be text`);
    if (raw.length > MAX_LENGTH) throw new HubError(400, `${name} is too long (more than ${MAX_LENGTH} characters)`);
    if (CONTROL.test(raw)) throw new HubError(400, `${name} contains control characters`);
    try {
      encodeURIComponent(raw);
    } catch {
      throw new HubError(400, `${name} is not valid text`);
    }
    return raw;
  }
  return undefined;
}

function checkRepoUrl(repo: string): void {
  const bad = (why: string) => new HubError(400, `repo ${repo} ${why}`);
  if (repo.startsWith('-')) throw bad('must not start with "-"');
  if (/[\s\\]/.test(repo)) throw bad('must not contain spaces or "\\"');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(repo)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!SCP_LIKE.test(repo)) throw bad('must be an http(s)://, git://, ssh:// or user@host:path URL, or a file:/// path');
  } else {
    let url: URL;
    try {
      url = new URL(repo);
    } catch {
      throw bad('is not a valid URL');
    }
    if (url.search || url.hash || /[?#]/.test(repo)) throw bad('must not contain a query ("?") or a fragment ("#")');
    if ((url.username || url.password) && !scheme.startsWith('ssh') && !scheme.endsWith('ssh')) throw bad('must not contain a user name or password (only ssh:// URLs name a user)');
    if (url.password) throw bad('must not contain a password');
    if (scheme === 'file') {
      if (!repo.startsWith('file:///')) throw bad('must be a file:/// path on this host');
    } else if (!NETWORK_SCHEMES.includes(`${scheme}:`)) {
      throw bad(`uses ${scheme}://; only http(s)://, git://, ssh:// and file:/// are accepted`);
    } else if (!/^[^:]+:\/\/[^/?#]/.test(repo) || !url.hostname || url.hostname.startsWith('-')) {
      throw bad('must name a host');
    }
  }
  // `/org/../other` would match a pattern for `/org/*` and then reach another repository.
  if (pathSegments(repo.replace(/[?#].*$/s, ''), /[/:\\]/).some((s) => s === '.' || s === '..')) throw bad('must not contain "." or ".." path segments');
}

function checkTargetpath(targetpath: string, derived: boolean): void {
  const bad = (why: string) =>
    new HubError(400, derived ? `the folder named after repo, ${JSON.stringify(targetpath)}, ${why}; give targetpath` : `targetpath ${JSON.stringify(targetpath)} ${why}`);
  if (targetpath.startsWith('/')) throw bad('must be relative to your home folder, not absolute');
  if (targetpath.startsWith('-')) throw bad('must not start with "-"');
  const parts = targetpath.split('/');
  if (parts.includes('..')) throw bad('must not contain ".."');
  if (parts.some((p) => p === '' || p === '.')) throw bad('must not contain empty or "." segments');
  if (parts.includes('.git')) throw bad('must not contain a ".git" segment');
}

/** `urlpath` as given, relative to the server: it must not leave it (another site, or `..` up to the hub). */
function redirectFromUrlpath(urlpath: string): string {
  const bad = (why: string) => new HubError(400, `urlpath ${JSON.stringify(urlpath)} ${why}`);
  if (/^[/\\]{2}/.test(urlpath)) throw bad('must be a path on your server, not a protocol-relative URL');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(urlpath)) throw bad('must be a path on your server, not an absolute URL');
  // Browsers read `\` as `/` in http URLs, so `..\` would be a way up too.
  if (urlpath.includes('\\')) throw bad('must not contain "\\"');
  if (pathSegments(urlpath.replace(/[?#].*$/s, ''), /[/\\]/).includes('..')) throw bad('must not contain ".."');
  // Keep the link's own %XX escapes; encode what may not appear raw in a Location header.
  return urlpath.replace(/^\/+/, '').replace(/%(?![0-9A-Fa-f]{2})|[^\x21-\x7e]|["<>`{}|^]/gu, (c) => encodeURIComponent(c));
}

/** nbgitpuller's redirect without `urlpath`: `lab/tree/<targetpath>/<subPath>` for app=lab, else `notebooks/…` for a notebook, `tree/…` for the rest. */
function redirectFromSubpath(targetpath: string, subPath: string, app: string): string {
  const bad = (why: string) => new HubError(400, `subPath ${JSON.stringify(subPath)} ${why}`);
  if (subPath.startsWith('/')) throw bad('must be relative to the repository, not absolute');
  if (subPath.includes('\\')) throw bad('must not contain "\\"');
  if (subPath.split('/').includes('..')) throw bad('must not contain ".."');
  const parts = [...targetpath.split('/'), ...subPath.split('/')].filter((p) => p !== '' && p !== '.');
  const file = parts.map(encodeURIComponent).join('/');
  if (app.toLowerCase() === 'lab') return `lab/tree/${file}`;
  return file.toLowerCase().endsWith('.ipynb') ? `notebooks/${file}` : `tree/${file}`;
}

/** Path segments of `path` as written and as percent-decoded, so that `%2e%2e` and `..%2f` count as `..` too. */
function pathSegments(path: string, separator: RegExp): string[] {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // a stray `%`: the text as written is all there is
  }
  return [...path.split(separator), ...decoded.split(separator)];
}

/** `*`: any run of characters but `/` (within a host name, or within a path segment); `**` in a path: any run at all. */
function globPattern(pattern: string, path: boolean): RegExp {
  const escape = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const one = (part: string) => part.split('*').map(escape).join('[^/]*');
  const body = path ? pattern.split('**').map(one).join('.*') : one(pattern);
  return new RegExp(`^${body}$`, 's');
}
