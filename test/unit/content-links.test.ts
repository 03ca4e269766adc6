import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGitPullQuery, repoAllowed, validBranchName } from '../../src/content/links.js';
import { HubError } from '../../src/errors.js';

const ALLOWED = ['https://github.com/my-org/*', 'file:///srv/workshop/*', 'git@gitlab.uni.example:course/*'];
const REPO = 'https://github.com/my-org/stats-material.git';

function refused(query: Record<string, unknown>, message: RegExp, allowed = ALLOWED): void {
  assert.throws(
    () => parseGitPullQuery(query, allowed),
    (err: unknown) => err instanceof HubError && err.status === 400 && message.test(err.message),
    `expected a 400 matching ${message} for ${JSON.stringify(query)}`,
  );
}

test('defaults: the folder is named after the repository and the browser lands on it', () => {
  assert.deepEqual(parseGitPullQuery({ repo: REPO }, ALLOWED), { repo: REPO, targetpath: 'stats-material', redirectPath: 'tree/stats-material' });
  assert.equal(parseGitPullQuery({ repo: 'https://github.com/my-org/notes/' }, ALLOWED).targetpath, 'notes');
  assert.equal(parseGitPullQuery({ repo: 'git@gitlab.uni.example:course/intro.git' }, ALLOWED).targetpath, 'intro');
  assert.equal(parseGitPullQuery({ repo: 'file:///srv/workshop/day1' }, ALLOWED).targetpath, 'day1');
});

test('branch, targetpath (either spelling) and depth are passed on', () => {
  const link = parseGitPullQuery({ repo: REPO, branch: 'release/2025', targetPath: 'courses/stats', depth: '0' }, ALLOWED);
  assert.deepEqual(link, { repo: REPO, branch: 'release/2025', targetpath: 'courses/stats', depth: 0, redirectPath: 'tree/courses/stats' });
  assert.equal(parseGitPullQuery({ repo: REPO, targetpath: 'a', targetPath: 'b' }, ALLOWED).targetpath, 'a', 'the lower-case spelling wins');
  assert.equal(parseGitPullQuery({ repo: REPO, targetpath: '', targetPath: 'b' }, ALLOWED).targetpath, 'b', 'an empty value counts as absent');
});

test('redirect: urlpath as given, relative to the server', () => {
  const at = (urlpath: string) => parseGitPullQuery({ repo: REPO, urlpath }, ALLOWED).redirectPath;
  assert.equal(at('/tree/stats-material/week1.ipynb'), 'tree/stats-material/week1.ipynb');
  assert.equal(at('lab/tree/stats-material/week 1.ipynb?autodecode'), 'lab/tree/stats-material/week%201.ipynb?autodecode');
  assert.equal(at('lab/tree/a%20b.ipynb'), 'lab/tree/a%20b.ipynb', 'escapes already in the link stay as they are');
  assert.equal(at('rstudio/'), 'rstudio/');
  assert.equal(at('tree/über/100%'), 'tree/%C3%BCber/100%25');
  assert.equal(parseGitPullQuery({ repo: REPO, urlPath: 'shiny/app/' }, ALLOWED).redirectPath, 'shiny/app/');
  assert.equal(parseGitPullQuery({ repo: REPO, urlpath: 'tree/x', subPath: 'y', app: 'lab' }, ALLOWED).redirectPath, 'tree/x', 'urlpath wins over subPath and app');
});

test('redirect: subPath and app as nbgitpuller builds them', () => {
  const at = (q: Record<string, string>) => parseGitPullQuery({ repo: REPO, ...q }, ALLOWED).redirectPath;
  assert.equal(at({ subPath: 'week1/intro.ipynb', app: 'lab' }), 'lab/tree/stats-material/week1/intro.ipynb');
  assert.equal(at({ subpath: 'week1', app: 'Lab' }), 'lab/tree/stats-material/week1');
  assert.equal(at({ app: 'lab' }), 'lab/tree/stats-material');
  assert.equal(at({ subPath: 'week1/intro.ipynb' }), 'notebooks/stats-material/week1/intro.ipynb', 'a notebook opens in the notebook view');
  assert.equal(at({ subPath: 'week1/', app: 'notebook' }), 'tree/stats-material/week1');
  assert.equal(at({ subPath: './data sets' }), 'tree/stats-material/data%20sets');
  assert.equal(at({ targetpath: 'my course', subPath: 'a#b.ipynb', app: 'lab' }), 'lab/tree/my%20course/a%23b.ipynb');
});

test('repo is required and must be a git URL', () => {
  refused({}, /^repo is missing/);
  refused({ repo: '' }, /^repo is missing/);
  refused({ repo: 'github.com/my-org/x' }, /^repo .* must be an http\(s\):\/\/, git:\/\/, ssh:\/\//);
  refused({ repo: '/srv/workshop/x' }, /^repo .* must be/);
  refused({ repo: 'ext::sh -c touch% /tmp/pwned' }, /^repo /);
  refused({ repo: 'ext::ssh' }, /^repo .* must be/);
  refused({ repo: '-uhttps://github.com/my-org/x' }, /^repo .* must not start with "-"/);
  refused({ repo: 'ftp://github.com/my-org/x' }, /^repo .* only http\(s\):\/\/, git:\/\/, ssh:\/\/ and file:\/\/\/ are accepted/);
  refused({ repo: 'file://otherhost/srv/workshop/x' }, /^repo .* must be a file:\/\/\/ path on this host/);
  refused({ repo: 'https:///my-org/x' }, /^repo https:\/\/\/my-org\/x must name a host/);
  refused({ repo: 'ssh://-oProxyCommand=x/my-org/x' }, /^repo .* must name a host/);
  refused({ repo: 'https://github.com/my-org/../evil/x' }, /^repo .* must not contain "\." or "\.\." path segments/);
  refused({ repo: 'https://github.com/my-org/%2e%2e/evil/x' }, /path segments/);
  refused({ repo: 'file:///srv/workshop/../../etc' }, /path segments/);
  refused({ repo: 'git@gitlab.uni.example:course/../secret' }, /path segments/);
  refused({ repo: 'https://github.com/my-org/a b' }, /^repo .* must not contain spaces/);
});

test('repo must match an allowed pattern; an empty list allows nothing and says so', () => {
  refused({ repo: 'https://github.com/other-org/x' }, /^repo https:\/\/github.com\/other-org\/x is not allowed: it matches none of https:\/\/github.com\/my-org\/\*/);
  refused({ repo: 'https://github.com/my-org-evil/x' }, /is not allowed/);
  refused({ repo: 'file:///srv/other/x' }, /is not allowed/);
  refused({ repo: REPO }, /is not allowed: content links are turned off here \(no repository is allowed\)/, []);
});

test('patterns: * is any run of characters but /, ** any run at all, everything else is itself', () => {
  assert.ok(repoAllowed('https://github.com/my-org/x', ['https://github.com/my-org/*']));
  assert.ok(repoAllowed('https://github.com/my-org/x.git', ['https://github.com/my-org/*']));
  assert.ok(!repoAllowed('https://github.com/my-org/sub/x', ['https://github.com/my-org/*']), '* stays within one path segment');
  assert.ok(repoAllowed('https://gitlab.example/group/sub/x', ['https://gitlab.example/group/**']), '** crosses segments (GitLab subgroups)');
  assert.ok(!repoAllowed('https://evil.example/x.uni.example/y', ['https://*.uni.example/*']), '* cannot leave the host name');
  assert.ok(repoAllowed('https://github.com/my-org/x', ['https://github.com/my-org/x']));
  assert.ok(repoAllowed('https://gitlab.uni.example/a/b', ['https://github.com/*', 'https://*.uni.example/**']));
  assert.ok(!repoAllowed('https://github.com/my-org/x', []));
  assert.ok(repoAllowed('https://github.com/my-org/x/', ['https://github.com/my-org/x']), 'a trailing slash names the same repository');
  assert.ok(!repoAllowed('https://github.com/my-org/x/y', ['https://github.com/my-org/x']), 'exact without *');
  assert.ok(!repoAllowed('https://github.com/my-orgx/y', ['https://github.com/my-org/*']));
  assert.ok(!repoAllowed('https://githubxcom/my-org/x', ['https://github.com/my-org/*']), '. is a dot, not any character');
  assert.ok(!repoAllowed('http://github.com/my-org/x', ['https://github.com/my-org/*']));
  assert.ok(!repoAllowed('https://evil.example/https://github.com/my-org/x', ['https://github.com/my-org/*']), 'anchored at the start');
  assert.ok(repoAllowed('https://github.com/my-org/(x)+', ['https://github.com/my-org/(x)+']), 'regex characters are literal');
});

test('branch must be a valid git branch name', () => {
  for (const ok of ['main', 'gh-pages', 'release/2025', 'v1.0', 'feature_x', 'ünïcode', 'a.b/c-d']) assert.ok(validBranchName(ok), ok);
  for (const bad of ['-f', '--upload-pack=x', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', '/a', 'a/', 'a//b', 'a.', '.a', 'a/.b', 'a.lock', 'a/b.lock/c', '@', 'a@{1}', 'HEAD', '']) {
    assert.ok(!validBranchName(bad), bad);
  }
  refused({ repo: REPO, branch: 'a..b' }, /^branch "a\.\.b" is not a valid git branch name/);
  refused({ repo: REPO, branch: '--upload-pack=touch /tmp/x' }, /^branch .* is not a valid git branch name/);
});

test('targetpath must stay inside the server folder', () => {
  refused({ repo: REPO, targetpath: '/etc' }, /^targetpath "\/etc" must be relative to your home folder, not absolute/);
  refused({ repo: REPO, targetpath: '../other-user' }, /^targetpath .* must not contain "\.\."/);
  refused({ repo: REPO, targetPath: 'a/../../b' }, /^targetpath .* must not contain "\.\."/);
  refused({ repo: REPO, targetpath: 'a//b' }, /^targetpath .* must not contain empty or "\." segments/);
  refused({ repo: REPO, targetpath: 'a/' }, /empty or "\." segments/);
  refused({ repo: REPO, targetpath: '.' }, /empty or "\." segments/);
  refused({ repo: REPO, targetpath: '-rf' }, /^targetpath .* must not start with "-"/);
  refused({ repo: REPO, targetpath: '.git' }, /^targetpath .* must not contain a "\.git" segment/);
  refused({ repo: 'https://github.com/my-org/-x' }, /^the folder named after repo, "-x", must not start with "-"; give targetpath$/);
});

test('urlpath must stay inside the user server', () => {
  refused({ repo: REPO, urlpath: 'https://evil.example/' }, /^urlpath .* not an absolute URL/);
  refused({ repo: REPO, urlpath: 'javascript:alert(1)' }, /^urlpath .* not an absolute URL/);
  refused({ repo: REPO, urlpath: '//evil.example/x' }, /^urlpath .* not a protocol-relative URL/);
  refused({ repo: REPO, urlpath: '/\\evil.example/x' }, /^urlpath .* not a protocol-relative URL/);
  refused({ repo: REPO, urlpath: 'tree/..\\..\\hub/admin' }, /^urlpath .* must not contain "\\"/);
  refused({ repo: REPO, urlpath: '../../hub/admin' }, /^urlpath .* must not contain "\.\."/);
  refused({ repo: REPO, urlpath: 'tree/%2e%2e/%2E%2E/hub/admin' }, /must not contain "\.\."/);
  refused({ repo: REPO, urlpath: 'tree/..%2f..%2fhub' }, /must not contain "\.\."/);
  refused({ repo: REPO, subPath: '../../../hub/admin' }, /^subPath .* must not contain "\.\."/);
  refused({ repo: REPO, subPath: '/etc/passwd' }, /^subPath .* not absolute/);
});

test('control characters, long values, repeated and non-text values are refused, naming the parameter', () => {
  refused({ repo: `${REPO}\n` }, /^repo contains control characters/);
  refused({ repo: REPO, urlpath: '/\t/evil.example' }, /^urlpath contains control characters/);
  refused({ repo: REPO, branch: 'main\u0000' }, /^branch contains control characters/);
  refused({ repo: REPO, targetpath: 'a\u007fb' }, /^targetpath contains control characters/);
  refused({ repo: REPO, subPath: 'a\u0085' }, /^subPath contains control characters/);
  refused({ repo: REPO, app: 'lab\r\n' }, /^app contains control characters/);
  refused({ repo: `https://github.com/my-org/${'x'.repeat(2000)}` }, /^repo is too long \(more than 2000 characters\)/);
  refused({ repo: REPO, urlpath: `tree/${'x'.repeat(2000)}` }, /^urlpath is too long/);
  refused({ repo: [REPO, 'https://github.com/my-org/y'] }, /^repo is given more than once/);
  refused({ repo: REPO, branch: { a: 1 } }, /^branch must be text/);
  refused({ repo: REPO, targetpath: '\ud800' }, /^targetpath is not valid text/);
  refused({ repo: REPO, depth: '-1' }, /^depth "-1" must be a whole number/);
  refused({ repo: REPO, depth: '1.5' }, /^depth .* must be a whole number/);
});

test('patterns match the parsed URL part by part: a wildcard host cannot be left through a query, userinfo or fragment', () => {
  const wildcard = ['https://*.example.org/**'];
  assert.ok(repoAllowed('https://git.example.org/a/b', wildcard));
  // The whole string used to match: * took "evil.test?" and git connected to evil.test.
  assert.ok(!repoAllowed('https://evil.test?.example.org/x', wildcard));
  assert.ok(!repoAllowed('https://evil.test#.example.org/x', wildcard));
  assert.ok(!repoAllowed('https://evil.test\\.example.org/x', wildcard));
  assert.ok(!repoAllowed('https://x.example.org@evil.test/x', wildcard), 'userinfo is not the host');
  assert.ok(!repoAllowed('https://git.example.org:8443/a', wildcard), 'another port is another place');
  assert.ok(!repoAllowed('https://git.example.org/a?x=1', wildcard));
  assert.ok(repoAllowed('git@gitlab.uni.example:course/x', ['git@gitlab.uni.example:course/*']));
  assert.ok(!repoAllowed('evil@gitlab.uni.example:course/x', ['git@gitlab.uni.example:course/*']));
  assert.ok(repoAllowed('ssh://git@host.example/org/x', ['ssh://git@host.example/org/*']));
  refused({ repo: 'https://evil.test?.example.org/x' }, /must not contain a query \("\?"\) or a fragment/, wildcard);
  refused({ repo: 'https://me:secret@git.example.org/x' }, /must not contain a user name or password/, wildcard);
  refused({ repo: 'https://git.example.org/x#frag' }, /must not contain a query/, wildcard);
});
