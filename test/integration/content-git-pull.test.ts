/**
 * Content links' pull with real git on temporary directories: the upstream repository is a local
 * one reached as file://, the user's server root another directory. The cases are nbgitpuller's
 * automatic-merging cases: the user's edits win, new and deleted files, colliding untracked files.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pullRepository, GitPullError, type PullOptions } from '../../src/content/git-pull.js';
import { HubAccountFiles, type UserFileAccess } from '../../src/spawners/user-files.js';
import { tempDir } from '../helpers/tmp.js';
import { notOwnedBy } from '../helpers/ownership.js';
import { isRoot, launcherConfig, launcherDirs, startLauncher } from '../helpers/launcher.js';
import { LaunchedUserFiles } from '../../src/spawners/local-process/user-files.js';
import type { AccountSource } from '../../src/spawners/local-process/accounts.js';

interface Fixture {
  /** Upstream working repository; its commits are what the pull fetches. */
  upstream: string;
  repo: string;
  root: string;
  home: string;
  /** The root's files as the hub's account (run_as hub). */
  files: UserFileAccess;
  /** Commits `files` upstream (null deletes the file). */
  push(files: Record<string, string | null>, branch?: string): void;
  pull(extra?: Partial<PullOptions>): ReturnType<typeof pullRepository>;
  git(cwd: string, ...args: string[]): string;
  read(file: string): Promise<string>;
  write(file: string, text: string): Promise<void>;
}

/** Where the user's folder is and who acts in it; by default a temporary folder and the hub's own account (run_as hub). */
interface Place {
  dir: string;
  root: string;
  files: UserFileAccess;
  /** The user's uid and gid when they are not the hub's: the test's own edits in the checkout are made as them. */
  owner?: { uid: number; gid: number };
}

async function hubAccountPlace(t: TestContext): Promise<Place> {
  const tmp = await tempDir('ganymede-gitpull-');
  t.after(() => tmp.cleanup());
  const root = path.join(tmp.path, 'home');
  await mkdir(root);
  const files = await new HubAccountFiles(path.join(tmp.path, 'tasks')).forUser({ id: 1, name: 'ada' }, { home: root });
  return { dir: tmp.path, root, files };
}

async function fixture(t: TestContext, defaultBranch = 'main', given?: Place): Promise<Fixture> {
  const place = given ?? (await hubAccountPlace(t));
  const { root, files, owner } = place;
  const upstream = path.join(place.dir, 'upstream', 'course-notes');
  const home = path.join(place.dir, 'git-home');
  await Promise.all([mkdir(upstream, { recursive: true }), mkdir(home)]);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Teacher',
    GIT_AUTHOR_EMAIL: 'teacher@uni.example',
    GIT_COMMITTER_NAME: 'Teacher',
    GIT_COMMITTER_EMAIL: 'teacher@uni.example',
  };
  // In the user's checkout, git runs as its owner: it refuses a repository of another uid's.
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, { cwd, env, encoding: 'utf8', ...(owner && cwd.startsWith(root) ? owner : {}) }).trim();
  git(upstream, 'init', '--quiet', '-b', defaultBranch);
  const f: Fixture = {
    upstream,
    repo: `file://${upstream}`,
    root,
    home,
    files,
    git,
    push(files, branch) {
      if (branch) {
        const known = git(upstream, 'branch', '--list', branch) !== '';
        git(upstream, 'checkout', '--quiet', ...(known ? [branch] : ['-b', branch]));
      }
      for (const [name, text] of Object.entries(files)) {
        if (text === null) git(upstream, 'rm', '--quiet', '--', name);
        else {
          execFileSync('mkdir', ['-p', path.dirname(path.join(upstream, name))]);
          execFileSync('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', text, path.join(upstream, name)]);
          git(upstream, 'add', '--', name);
        }
      }
      git(upstream, 'commit', '--quiet', '-m', `change ${Object.keys(files).join(', ')}`);
      if (branch) git(upstream, 'checkout', '--quiet', defaultBranch);
    },
    // As the hub's account, git gets a HOME of the test's; as the user, HOME is the user's folder.
    pull: (extra = {}) => pullRepository({ files, repo: f.repo, root, targetpath: 'course-notes', timeoutMs: 30_000, ...(owner ? {} : { env: { HOME: home } }), ...extra }),
    read: (file) => readFile(path.join(root, 'course-notes', file), 'utf8'),
    async write(file, text) {
      await writeFile(path.join(root, 'course-notes', file), text);
      if (owner) await chown(path.join(root, 'course-notes', file), owner.uid, owner.gid);
    },
  };
  return f;
}

test('the first pull clones the default branch into <root>/<targetpath>', async (t) => {
  const f = await fixture(t, 'trunk');
  f.push({ 'README.md': 'hello', 'week1/intro.ipynb': '{}' });
  f.push({ 'dev-only.txt': 'x' }, 'dev');
  const result = await f.pull();
  assert.deepEqual(result, { action: 'cloned', dir: path.join(f.root, 'course-notes') });
  assert.equal(await f.read('README.md'), 'hello');
  assert.equal(await f.read('week1/intro.ipynb'), '{}');
  assert.equal(f.git(result.dir, 'branch', '--show-current'), 'trunk', "the repository's HEAD, not a fixed name");
  assert.ok(!existsSync(path.join(result.dir, 'dev-only.txt')));
  assert.equal(f.git(result.dir, 'rev-parse', '--is-shallow-repository'), 'true', 'depth 1 by default, as nbgitpuller');
});

test("later pulls merge upstream and keep the user's edits, new files appear", async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': 'one\n', 'notes.md': 'teacher 1\n' });
  await f.pull();
  await f.write('README.md', 'my answer\n');
  f.push({ 'README.md': 'two\n', 'week2.md': 'new\n' });
  f.push({ 'notes.md': 'teacher 2\n' });

  const result = await f.pull();
  assert.equal(result.action, 'updated');
  assert.equal(await f.read('README.md'), 'my answer\n', 'the same lines changed on both sides: the user wins');
  assert.equal(await f.read('week2.md'), 'new\n');
  assert.equal(await f.read('notes.md'), 'teacher 2\n', 'a file the user did not touch follows upstream');
  assert.equal(f.git(result.dir, 'log', '-1', '--format=%an <%ae>', 'HEAD^1'), 'Ganymede <content@ganymede.invalid>', 'the local changes were committed first, by the hub');
  assert.equal(f.git(result.dir, 'status', '--porcelain'), '', 'nothing left half-done');

  // And again, across commits: the user's version still wins.
  f.push({ 'README.md': 'three\n' });
  await f.pull();
  assert.equal(await f.read('README.md'), 'my answer\n');
});

test('a pull with nothing new changes nothing, and staged changes do not stop it', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const { dir } = await f.pull();
  const head = f.git(dir, 'rev-parse', 'HEAD');
  await f.pull();
  assert.equal(f.git(dir, 'rev-parse', 'HEAD'), head);

  await f.write('README.md', 'student');
  f.git(dir, 'add', 'README.md');
  f.push({ 'README.md': 'teacher' });
  await f.pull();
  assert.equal(await f.read('README.md'), 'student');
});

test('a file the user deleted comes back, in its upstream version', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': 'original', 'data.csv': 'a,b', 'unicode🙂 name.txt': 'u' });
  await f.pull();
  await f.write('README.md', 'local change');
  f.push({ 'README.md': 'remote change' });
  await f.pull();
  assert.equal(await f.read('README.md'), 'local change');

  await rm(path.join(f.root, 'course-notes', 'README.md'));
  await rm(path.join(f.root, 'course-notes', 'data.csv'));
  await rm(path.join(f.root, 'course-notes', 'unicode🙂 name.txt'));
  await f.pull();
  assert.equal(await f.read('README.md'), 'remote change', 'delete and follow the link again: a fresh copy');
  assert.equal(await f.read('data.csv'), 'a,b');
  assert.equal(await f.read('unicode🙂 name.txt'), 'u');
});

test('a file deleted both here and upstream stays deleted', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1', 'old.md': 'old' });
  await f.pull();
  await rm(path.join(f.root, 'course-notes', 'old.md'));
  f.push({ 'old.md': null, 'other.md': '2' });
  await f.pull();
  assert.ok(!existsSync(path.join(f.root, 'course-notes', 'old.md')));
  assert.equal(await f.read('other.md'), '2');
});

test('a file edited here and deleted upstream is kept', async (t) => {
  const f = await fixture(t);
  f.push({ 'a.md': 'new', 'b.md': 'new' });
  await f.pull();
  await f.write('a.md', 'edited');
  await f.write('b.md', 'edited');
  f.push({ 'a.md': 'changed upstream', 'b.md': null });
  await f.pull();
  assert.equal(await f.read('a.md'), 'edited');
  assert.equal(await f.read('b.md'), 'edited');
  assert.equal(f.git(path.join(f.root, 'course-notes'), 'status', '--porcelain'), '');
});

test('an untracked file in the way of a new upstream file is kept under a new name', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  await f.pull();
  await f.write('Untitled1.ipynb', 'mine');
  await f.write('.hidden', 'mine too');
  f.push({ 'Untitled1.ipynb': 'teacher', '.hidden': 'teacher too' });
  await f.pull();
  assert.equal(await f.read('Untitled1.ipynb'), 'teacher');
  assert.equal(await f.read('.hidden'), 'teacher too');
  const files = await readdir(path.join(f.root, 'course-notes'));
  const kept = files.find((n) => /^Untitled1__\d{14}\.ipynb$/.test(n));
  assert.ok(kept, `renamed with a timestamp before the extension: ${files.join(', ')}`);
  assert.equal(await f.read(kept), 'mine');
  const hidden = files.find((n) => /^\.hidden__\d{14}$/.test(n));
  assert.ok(hidden);
  assert.equal(await f.read(hidden), 'mine too');
});

test('branch selects what is cloned and merged; an unknown branch is refused before anything is touched', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': 'main' });
  f.push({ 'README.md': 'dev', 'dev.md': 'dev 1' }, 'dev');
  const { dir } = await f.pull({ branch: 'dev' });
  assert.equal(await f.read('README.md'), 'dev');
  f.push({ 'dev.md': 'dev 2' }, 'dev');
  f.push({ 'main-only.md': 'm' });
  await f.pull({ branch: 'dev' });
  assert.equal(await f.read('dev.md'), 'dev 2');
  assert.ok(!existsSync(path.join(dir, 'main-only.md')));

  await assert.rejects(f.pull({ branch: 'nope', targetpath: 'other' }), (err: unknown) => err instanceof GitPullError && /has no branch or tag nope/.test(err.message));
  assert.ok(!existsSync(path.join(f.root, 'other')));

  f.git(f.upstream, 'tag', 'v1');
  await f.pull({ branch: 'v1', targetpath: 'tagged' });
  assert.equal(await readFile(path.join(f.root, 'tagged', 'main-only.md'), 'utf8'), 'm', 'a tag works like a branch, as in nbgitpuller');
  await f.pull({ branch: 'v1', targetpath: 'tagged' });
});

test("a repository that is not there gives an error with git's message", async (t) => {
  const f = await fixture(t);
  const missing = `file://${path.join(f.root, '..', 'no-such-repo')}`;
  await assert.rejects(pullRepository({ files: f.files, repo: missing, root: f.root, targetpath: 'x', timeoutMs: 30_000, env: { HOME: f.home } }), (err: unknown) => {
    assert.ok(err instanceof GitPullError);
    assert.match(err.message, /^Could not read file:\/\/.*no-such-repo: .*(does not appear to be a git repository|does not exist)/s);
    assert.ok(err.gitOutput.split('\n').length <= 4, 'a few lines, not the whole output');
    return true;
  });
  assert.ok(!existsSync(path.join(f.root, 'x')));
});

test('two pulls into the same folder at once both succeed, one after the other', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const results = await Promise.all([f.pull(), f.pull(), f.pull()]);
  assert.deepEqual(results.map((r) => r.action).sort(), ['cloned', 'updated', 'updated']);
  assert.equal(await f.read('README.md'), '1');
});

test('a folder that is not a checkout of the repository is left alone', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  await mkdir(path.join(f.root, 'course-notes'));
  await writeFile(path.join(f.root, 'course-notes', 'thesis.tex'), 'mine');
  await assert.rejects(f.pull(), /course-notes already exists and is not a git checkout of file:\/\/.*; rename it or choose another targetpath/);
  assert.deepEqual(await readdir(path.join(f.root, 'course-notes')), ['thesis.tex']);

  // A folder inside another checkout is not a checkout of its own.
  f.git(f.root, 'init', '--quiet');
  await mkdir(path.join(f.root, 'inner'));
  await writeFile(path.join(f.root, 'inner', 'x'), 'x');
  await assert.rejects(f.pull({ targetpath: 'inner' }), /inner already exists and is not a git checkout/);

  const other = await tempDir('ganymede-gitpull-other-');
  t.after(() => other.cleanup());
  f.git(other.path, 'init', '--quiet');
  f.git(other.path, 'commit', '--quiet', '--allow-empty', '-m', 'x');
  f.git(f.root, 'clone', '--quiet', '--', `file://${other.path}`, 'elsewhere');
  await assert.rejects(f.pull({ targetpath: 'elsewhere' }), /elsewhere is a checkout of file:\/\/.*, not of file:\/\//);

  // An empty folder is fine: it is filled.
  await mkdir(path.join(f.root, 'empty'));
  assert.equal((await f.pull({ targetpath: 'empty' })).action, 'cloned');
});

test('the root and the folders above the checkout are created when missing', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const root = path.join(f.root, 'not', 'yet');
  const result = await pullRepository({ files: f.files, repo: f.repo, root, targetpath: 'courses/stats', timeoutMs: 30_000, env: { HOME: f.home } });
  assert.deepEqual(result, { action: 'cloned', dir: path.join(root, 'courses', 'stats') });
  assert.equal(await readFile(path.join(result.dir, 'README.md'), 'utf8'), '1');
});

test('a symbolic link cannot take the checkout out of the root', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const outside = await tempDir('ganymede-gitpull-outside-');
  t.after(() => outside.cleanup());
  await symlink(outside.path, path.join(f.root, 'link'));
  await assert.rejects(f.pull({ targetpath: 'link/course' }), /targetpath link\/course leads outside the server's folder/);
  assert.deepEqual(await readdir(outside.path), []);
  await assert.rejects(f.pull({ targetpath: '../escape' }), /outside the server's folder/);

  // Nor can one inside the checkout make the rename of a colliding file reach outside.
  const { dir } = await f.pull();
  await writeFile(path.join(outside.path, 'secret.txt'), 'keep');
  await symlink(outside.path, path.join(dir, 'data'));
  f.push({ 'data/secret.txt': 'upstream' });
  await f.pull().catch(() => undefined); // git refuses the merge (an untracked symbolic link in the way); what matters is below
  assert.deepEqual(await readdir(outside.path), ['secret.txt']);
  assert.equal(await readFile(path.join(outside.path, 'secret.txt'), 'utf8'), 'keep');
});

test('a fresh .git/index.lock stops the pull; a stale one is removed', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const { dir } = await f.pull();
  f.push({ 'README.md': '2' });
  const lock = path.join(dir, '.git', 'index.lock');
  await writeFile(lock, '');
  await assert.rejects(f.pull(), /Another git operation is running in this folder/);
  const old = new Date(Date.now() - 11 * 60_000);
  await utimes(lock, old, old);
  await f.pull();
  assert.equal(await f.read('README.md'), '2');
  assert.ok(!existsSync(lock));
});

test('hooks in the checkout are not run', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  const { dir } = await f.pull();
  const marker = path.join(f.home, 'hook-ran');
  for (const hook of ['pre-commit', 'post-merge', 'post-checkout', 'pre-merge-commit', 'commit-msg']) {
    await writeFile(path.join(dir, '.git', 'hooks', hook), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
  }
  await f.write('README.md', 'mine');
  await rm(path.join(dir, 'README.md'));
  f.push({ 'new.md': 'n' });
  await f.pull();
  assert.ok(!existsSync(marker));
});

test('the whole pull has one deadline', async (t) => {
  const f = await fixture(t);
  f.push({ 'README.md': '1' });
  await assert.rejects(f.pull({ timeoutMs: 1 }), /^GitPullError: Could not read file:\/\/.*: git took longer than the 1 ms allowed$/);
});

/** A user's uid of spawner.uid_range, as run_as dynamic gives one; the test's launcher allows it. */
const USER = { uid: 250_001, gid: 250_001 };

/**
 * The user's folder below the users' root, the user's own (0700) as the spawner makes it, and the
 * hub's access to it through a real launcher: each git command and file operation runs as the user.
 */
async function isolatedPlace(t: TestContext): Promise<Place> {
  const dirs = await launcherDirs(t);
  const launcher = await startLauncher(t, launcherConfig(dirs));
  const accounts: AccountSource = {
    kind: 'dynamic',
    accountFor: async () => ({ ...USER, groups: [USER.gid], home: null }),
    recorded: async () => ({ ...USER, groups: [USER.gid], home: null }),
    uidRanges: () => [[100_000, 299_999]],
    forget: async () => undefined,
    groupId: async () => Promise.reject(new Error('no groups in this test')),
  };
  const userFiles = new LaunchedUserFiles({ launcher, accounts, usersRoot: dirs.usersRoot, pidsLimit: 256 }, path.join(dirs.logsRoot, 'tasks'), { memLimit: '1G' });
  const root = path.join(dirs.usersRoot, 'home', 'ada');
  await launcher.mkdir(root, { ...USER, mode: 0o700 });
  // git reads another account's repository only when its own configuration trusts it (safe.directory):
  // here the user's (HOME is the user's folder); on a site, /etc/gitconfig for the material's folders.
  const gitconfig = path.join(root, '.gitconfig');
  await writeFile(gitconfig, `[safe]\n\tdirectory = ${path.join(dirs.dir, 'upstream', 'course-notes', '.git')}\n`);
  await chown(gitconfig, USER.uid, USER.gid);
  const files = await userFiles.forUser({ id: 1, name: 'ada' }, { home: root });
  return { dir: dirs.dir, root, files, owner: USER };
}

describe("as the user's own uid, through the launcher (spawner.run_as dynamic)", { skip: !isRoot && 'starts the launcher, which needs root' }, () => {
  test("the clone is the user's: every file of the checkout belongs to the user's uid", async (t) => {
    const f = await fixture(t, 'main', await isolatedPlace(t));
    f.push({ 'README.md': 'hello', 'week1/intro.ipynb': '{}' });
    const result = await f.pull();
    assert.deepEqual(result, { action: 'cloned', dir: path.join(f.root, 'course-notes') });
    assert.equal(await f.read('week1/intro.ipynb'), '{}');
    assert.deepEqual(notOwnedBy(result.dir, USER.uid), []);
    assert.equal((await lstat(f.root)).mode & 0o777, 0o700, "the user's folder stays private");
    assert.equal(f.git(result.dir, 'rev-parse', '--is-shallow-repository'), 'true');
  });

  test("a later pull, as the user too, keeps the user's edits, brings back deleted files and moves a colliding one aside", async (t) => {
    const f = await fixture(t, 'main', await isolatedPlace(t));
    f.push({ 'README.md': 'one\n', 'data.csv': 'a,b' });
    const { dir } = await f.pull();
    await f.write('README.md', 'my answer\n');
    await f.write('Untitled1.ipynb', 'mine');
    await rm(path.join(dir, 'data.csv'));
    f.push({ 'README.md': 'two\n', 'Untitled1.ipynb': 'teacher' });

    assert.equal((await f.pull()).action, 'updated');
    assert.equal(await f.read('README.md'), 'my answer\n');
    assert.equal(await f.read('data.csv'), 'a,b');
    assert.equal(await f.read('Untitled1.ipynb'), 'teacher');
    const kept = (await readdir(dir)).find((n) => /^Untitled1__\d{14}\.ipynb$/.test(n));
    assert.ok(kept, 'the untracked file was renamed');
    assert.equal(await f.read(kept), 'mine');
    assert.equal(f.git(dir, 'log', '-1', '--format=%an', 'HEAD^1'), 'Ganymede');
    assert.deepEqual(notOwnedBy(dir, USER.uid), []);
  });

  test("a symbolic link in the user's folder cannot take the checkout out of it, nor can a fresh index.lock be ignored", async (t) => {
    const f = await fixture(t, 'main', await isolatedPlace(t));
    f.push({ 'README.md': '1' });
    const outside = path.join(f.root, '..', 'elsewhere');
    await symlink(outside, path.join(f.root, 'link'));
    await assert.rejects(f.pull({ targetpath: 'link/course' }), /targetpath link\/course leads outside the server's folder/);
    const { dir } = await f.pull();
    const lock = path.join(dir, '.git', 'index.lock');
    await writeFile(lock, '');
    await chown(lock, USER.uid, USER.gid);
    f.push({ 'README.md': '2' });
    await assert.rejects(f.pull(), /Another git operation is running in this folder/);
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(lock, old, old);
    await f.pull();
    assert.equal(await f.read('README.md'), '2');
  });
});
