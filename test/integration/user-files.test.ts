/**
 * The hub's work in users' files (src/spawners/user-files.ts): the same cases against both ways of
 * doing it, as the hub's own account (run_as hub) and as the user's uid through a real launcher
 * (src/spawners/local-process/user-files.ts); then what only the launcher's way has to hold: whose
 * uid runs, where, and that an aborted command is killed.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { HubAccountFiles, type UserFileAccess, type UserFiles } from '../../src/spawners/user-files.js';
import { LaunchedUserFiles } from '../../src/spawners/local-process/user-files.js';
import type { AccountSource } from '../../src/spawners/local-process/accounts.js';
import { isRoot, launcherConfig, launcherDirs, startLauncher } from '../helpers/launcher.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/fixtures.js';

const USER = { uid: 250_002, gid: 250_002 };
const ADA = { id: 1, name: 'ada' };

interface Setup {
  files: UserFiles;
  /** The user's folder, existing and the user's. */
  home: string;
  /** Where runToFile leaves its files. */
  outputDir: string;
}

async function asHubAccount(t: TestContext): Promise<Setup> {
  const tmp = await tempDir('ganymede-userfiles-');
  t.after(() => tmp.cleanup());
  const home = path.join(tmp.path, 'home', 'ada');
  await mkdir(home, { recursive: true });
  const outputDir = path.join(tmp.path, 'tasks');
  return { files: new HubAccountFiles(outputDir), home, outputDir };
}

async function asUserThroughLauncher(t: TestContext): Promise<Setup & { usersRoot: string }> {
  const dirs = await launcherDirs(t);
  const launcher = await startLauncher(t, launcherConfig(dirs));
  const account = { ...USER, groups: [USER.gid], home: null };
  const accounts: AccountSource = { kind: 'dynamic', accountFor: async () => account, recorded: async () => account, uidRanges: () => [[100_000, 299_999]], forget: async () => undefined, groupId: async () => Promise.reject(new Error('no groups in this test')) };
  const outputDir = path.join(dirs.logsRoot, 'tasks');
  const files = new LaunchedUserFiles({ launcher, accounts, usersRoot: dirs.usersRoot, pidsLimit: 64 }, outputDir, { memLimit: '256M' });
  const home = path.join(dirs.usersRoot, 'home', 'ada');
  await (await files.forUser(ADA, { home })).mkdir(home);
  return { files, home, outputDir, usersRoot: dirs.usersRoot };
}

for (const [way, setup] of [
  ["as the hub's account", asHubAccount],
  ["as the user's uid through the launcher", asUserThroughLauncher],
] as const) {
  describe(way, { skip: way !== "as the hub's account" && !isRoot && 'starts the launcher, which needs root' }, () => {
    test('run keeps standard output and error apart, with the exit code; a missing command is no exception', async (t) => {
      const { files, home } = await setup(t);
      const access = await files.forUser(ADA, { home });
      assert.deepEqual(await access.run(['sh', '-c', 'printf "out\\n"; printf "err\\n" >&2; exit 3']), { code: 3, stdout: 'out\n', stderr: 'err\n' });
      assert.deepEqual(await access.run(['printf', '%s', 'ü 🙂'], { env: { LC_ALL: 'C.UTF-8' } }), { code: 0, stdout: 'ü 🙂', stderr: '' });
      const missing = await access.run(['no-such-command-here']);
      assert.equal(missing.code, null);
      assert.match(missing.stderr, /no-such-command-here/);
    });

    test("runToFile gives a file of the hub's with exactly the command's output; a failure gives its error and no file", async (t) => {
      const { files, home, outputDir } = await setup(t);
      const access = await files.forUser(ADA, { home });
      await access.run(['sh', '-c', 'printf "\\001\\002\\377binary" > data.bin; echo "warning: ignore me" >&2']);
      const file = await access.runToFile(['sh', '-c', 'cat data.bin; echo "a warning" >&2']);
      assert.equal(path.dirname(file), outputDir);
      assert.deepEqual(await readFile(file), Buffer.from('\u0001\u0002\u00ffbinary', 'latin1'), 'nothing of standard error in it');
      assert.equal((await lstat(file)).mode & 0o777, 0o600);
      await assert.rejects(access.runToFile(['tar', '--create', '--gzip', '--file=-', 'no-such-folder']), /no-such-folder/);
      assert.deepEqual((await readdir(outputDir)).filter((n) => n !== path.basename(file)), [], 'the failed output is gone');
    });

    test('file operations: lstat without following links, readdir, realpath as far as the path exists, rename, unlink', async (t) => {
      const { files, home } = await setup(t);
      const access = await files.forUser(ADA, { home });
      await access.run(['sh', '-c', 'mkdir sub && echo x > sub/a && ln -s sub link']);
      assert.equal((await access.lstat(path.join(home, 'sub')))?.kind, 'directory');
      assert.equal((await access.lstat(path.join(home, 'link')))?.kind, 'symlink');
      assert.equal((await access.lstat(path.join(home, 'sub', 'a')))?.kind, 'file');
      assert.ok(Math.abs((await access.lstat(path.join(home, 'sub', 'a')))!.mtimeMs - Date.now()) < 60_000);
      assert.equal(await access.lstat(path.join(home, 'none')), null);
      assert.deepEqual(await access.readdir(path.join(home, 'sub')), ['a']);
      await assert.rejects(access.readdir(path.join(home, 'none')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
      assert.equal(await access.realpath(path.join(home, 'link', 'not', 'yet')), path.join(home, 'sub', 'not', 'yet'));
      await access.rename(path.join(home, 'sub', 'a'), path.join(home, 'sub', 'b'));
      assert.deepEqual(await access.readdir(path.join(home, 'sub')), ['b']);
      await access.unlink(path.join(home, 'sub', 'b'));
      await access.unlink(path.join(home, 'sub', 'b'));
      assert.deepEqual(await access.readdir(path.join(home, 'sub')), []);
      await files.remove(path.join(home, 'sub'));
      assert.equal(await access.lstat(path.join(home, 'sub')), null);
    });
  });
}

describe('through the launcher only: whose uid runs, where, and an aborted command', { skip: !isRoot && 'starts the launcher, which needs root' }, () => {
  test("commands run as the user's uid in the user's folder, and what they write is the user's", async (t) => {
    const { files, home } = await asUserThroughLauncher(t);
    const access: UserFileAccess = await files.forUser(ADA, { home });
    assert.equal((await lstat(home)).uid, USER.uid);
    assert.equal((await lstat(home)).mode & 0o777, 0o700);
    const seen = await access.run(['sh', '-c', 'id -u; id -g; pwd; echo "$HOME $USER"; touch made']);
    assert.equal(seen.stdout, `${USER.uid}\n${USER.gid}\n${home}\n${home} ada\n`);
    assert.equal((await lstat(path.join(home, 'made'))).uid, USER.uid);
  });

  test('forOwnerOf acts as the owner of the folder, whoever it is', async (t) => {
    const { files, home } = await asUserThroughLauncher(t);
    const access = await files.forOwnerOf(home);
    assert.equal((await access.run(['id', '-u'])).stdout.trim(), String(USER.uid));
  });

  test('a working directory outside users_root is refused by the launcher', async (t) => {
    const { files, home } = await asUserThroughLauncher(t);
    const access = await files.forUser(ADA, { home });
    await assert.rejects(access.run(['true'], { cwd: '/tmp' }), /not inside users_root/);
  });

  test('aborting kills the command at once', async (t) => {
    const { files, home } = await asUserThroughLauncher(t);
    const access = await files.forUser(ADA, { home });
    const started = Date.now();
    await assert.rejects(access.run(['sleep', '30'], { signal: AbortSignal.timeout(300) }), (err: Error) => err.name === 'TimeoutError');
    assert.ok(Date.now() - started < 5_000, `gave up after ${Date.now() - started} ms`);
    await waitFor(async () => (await access.run(['pgrep', '-u', String(USER.uid), '-x', 'sleep'])).code === 1, 5_000, 'the command to be killed');
  });
});
