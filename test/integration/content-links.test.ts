/**
 * Content links through the hub: `/hub/user-redirect/git-pull?…` starts the server if needed, clones
 * the repository into its directory, lands on `urlpath`; a later click keeps the user's edits and
 * brings new files; under isolation the clone is the user's uid's; bad links get a readable page and
 * fetch nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { git } from '../helpers/courses.js';
import { tempDir } from '../helpers/tmp.js';
import { notOwnedBy } from '../helpers/ownership.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');


test('a content link clones into the server, lands on urlpath, and never overwrites the user’s edits', { timeout: 90_000 }, async (t) => {
  const tmp = await tempDir('ganymede-content-');
  t.after(() => tmp.cleanup());
  const upstream = path.join(tmp.path, 'workshop-material');
  mkdirSync(upstream);
  git(upstream, 'init', '-q');
  writeFileSync(path.join(upstream, 'intro.ipynb'), '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n');
  writeFileSync(path.join(upstream, 'data.csv'), 'a,b\n1,2\n');
  git(upstream, 'add', '.');
  git(upstream, 'commit', '-qm', 'first');

  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      content: { allowed_repos: [`file://${tmp.path}/*`] },
    },
  });
  t.after(() => hub.stop());
  const session = new CookieSession(new URL(hub.url).origin);
  await session.login('/hub/', 'ada');
  const link = `/hub/user-redirect/git-pull?repo=${encodeURIComponent(`file://${upstream}`)}&branch=main&urlpath=${encodeURIComponent('tree/workshop-material/intro.ipynb')}`;

  // Server not running: it is started, and the pending page comes back to the link.
  const first = await session.fetch(link);
  assert.equal(first.status, 302);
  const pending = new URL(first.headers.get('location')!, hub.url);
  assert.equal(pending.pathname, '/hub/spawn-pending/ada');
  assert.equal(pending.searchParams.get('next'), link);
  await waitFor(async () => (await hub.api('/users/ada', { token: ADMIN_TOKEN })).json.servers?.['']?.ready === true, 30_000, 'the server');

  const { res, trail } = await session.follow(link);
  assert.equal(res.status, 200);
  assert.equal(new URL(trail.at(-1)!).pathname, '/user/ada/tree/workshop-material/intro.ipynb');
  const root = ((await (await session.fetch('/user/ada/env')).json()) as { cwd: string }).cwd;
  const checkout = path.join(root, 'workshop-material');
  assert.equal(readFileSync(path.join(checkout, 'data.csv'), 'utf8'), 'a,b\n1,2\n');

  // The user edits a file; upstream changes the same file and adds one; the link is clicked again.
  writeFileSync(path.join(checkout, 'data.csv'), 'my own data\n');
  writeFileSync(path.join(upstream, 'data.csv'), 'a,b\n1,2\n3,4\n');
  writeFileSync(path.join(upstream, 'part2.ipynb'), '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n');
  git(upstream, 'add', '.');
  git(upstream, 'commit', '-qm', 'second');
  const again = await session.follow(link);
  assert.equal(again.res.status, 200);
  assert.equal(readFileSync(path.join(checkout, 'data.csv'), 'utf8'), 'my own data\n', 'the edit is kept');
  assert.ok(existsSync(path.join(checkout, 'part2.ipynb')), 'the new file appears');
});

test('bad content links get a readable page and fetch nothing', { timeout: 60_000 }, async (t) => {
  const tmp = await tempDir('ganymede-content-bad-');
  t.after(() => tmp.cleanup());
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      content: { allowed_repos: ['https://github.com/allowed-org/*', `file://${tmp.path}/*`] },
    },
  });
  t.after(() => hub.stop());
  const session = new CookieSession(new URL(hub.url).origin);
  await session.login('/hub/', 'bob');
  const open = async (query: string) => {
    const res = await session.fetch(`/hub/user-redirect/git-pull?${query}`, { headers: { accept: 'text/html' } });
    return { status: res.status, text: await res.text() };
  };
  const disallowed = await open(`repo=${encodeURIComponent('https://github.com/evil/repo')}`);
  assert.equal(disallowed.status, 400);
  assert.match(disallowed.text, /repo/);
  assert.match(disallowed.text, /not allowed/);
  assert.doesNotMatch(disallowed.text, /at [\w/.]+\.ts:\d+/, 'no stack trace');
  for (const query of ['', 'repo=', `repo=${encodeURIComponent('file:///etc')}`, `repo=${encodeURIComponent(`file://${tmp.path}/x`)}&targetpath=../../etc`, `repo=${encodeURIComponent(`file://${tmp.path}/x`)}&branch=${encodeURIComponent('a..b')}`, `repo=${encodeURIComponent(`file://${tmp.path}/x`)}&urlpath=${encodeURIComponent('//evil.example/')}`]) {
    assert.equal((await open(query)).status, 400, query);
  }
  assert.equal((await hub.api('/users/bob', { token: ADMIN_TOKEN })).json.servers[''], undefined, 'no server was started for a bad link');

  // An allowed repository that does not exist: the server starts, the clone fails with git's reason.
  const missing = `repo=${encodeURIComponent(`file://${tmp.path}/no-such-repo`)}`;
  assert.equal((await open(missing)).status, 302);
  await waitFor(async () => (await hub.api('/users/bob', { token: ADMIN_TOKEN })).json.servers?.['']?.ready === true, 30_000, 'the server');
  const failed = await open(missing);
  assert.equal(failed.status, 502);
  assert.match(failed.text, /Could not get file:\/\/.*no-such-repo/);
});

test("under isolation (run_as dynamic) the hub clones as the user's uid: the checkout is the user's", { timeout: 90_000 }, async (t) => {
  const tmp = await tempDir('ganymede-content-isolated-');
  t.after(() => tmp.cleanup());
  chmodSync(tmp.path, 0o755);
  const upstream = path.join(tmp.path, 'workshop-material');
  mkdirSync(upstream);
  git(upstream, 'init', '-q');
  writeFileSync(path.join(upstream, 'data.csv'), 'a,b\n1,2\n');
  git(upstream, 'add', '.');
  git(upstream, 'commit', '-qm', 'first');

  const uid = 242_000;
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK], run_as: 'dynamic', uid_range: [uid, uid + 9] },
      content: { allowed_repos: [`file://${tmp.path}/*`] },
    },
  });
  t.after(() => hub.stop());
  const session = new CookieSession(new URL(hub.url).origin);
  await session.login('/hub/', 'ada');
  const link = `/hub/user-redirect/git-pull?repo=${encodeURIComponent(`file://${upstream}`)}&branch=main&urlpath=tree/workshop-material`;
  assert.equal((await session.fetch(link)).status, 302);
  await waitFor(async () => (await hub.api('/users/ada', { token: ADMIN_TOKEN })).json.servers?.['']?.ready === true, 30_000, 'the server');
  const root = ((await (await session.fetch('/user/ada/env')).json()) as { cwd: string }).cwd;
  assert.equal(root, path.join(`${hub.dataDir}-users`, 'home', 'ada'));
  // git reads another account's repository only when the reader's configuration trusts it: here the
  // user's own (HOME is the user's folder); on a site, /etc/gitconfig for the material's folders.
  const gitconfig = path.join(root, '.gitconfig');
  writeFileSync(gitconfig, `[safe]\n\tdirectory = ${upstream}/.git\n`);
  chownSync(gitconfig, uid, uid);

  const { res, trail } = await session.follow(link);
  assert.equal(res.status, 200, trail.join(' → '));
  const checkout = path.join(root, 'workshop-material');
  assert.equal(readFileSync(path.join(checkout, 'data.csv'), 'utf8'), 'a,b\n1,2\n');
  assert.deepEqual(notOwnedBy(checkout, uid), [], "every file of the checkout is the user's");

  // A second click updates the checkout, as the user again.
  writeFileSync(path.join(upstream, 'part2.md'), 'more\n');
  git(upstream, 'add', '.');
  git(upstream, 'commit', '-qm', 'second');
  assert.equal((await session.follow(link)).res.status, 200);
  assert.ok(existsSync(path.join(checkout, 'part2.md')));
  assert.deepEqual(notOwnedBy(checkout, uid), []);
});
