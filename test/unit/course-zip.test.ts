/** A zip for teachers out of users' tar files: their files under each prefix, nothing that would leave it, no links followed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { safeEntryName, zipOfTars } from '../../src/courses/zip.js';

test('entry names stay inside their folder', () => {
  assert.equal(safeEntryName('./week1/answer.ipynb'), 'week1/answer.ipynb');
  assert.equal(safeEntryName('week1/'), 'week1');
  assert.equal(safeEntryName('./'), null);
  assert.equal(safeEntryName('/etc/passwd'), null);
  assert.equal(safeEntryName('../../x'), null);
  assert.equal(safeEntryName('a/../../x'), null);
});

test("each user's files go under their name; symbolic links are left out", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'zip-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tars: Array<{ prefix: string; file: string }> = [];
  for (const user of ['alice', 'bob']) {
    const home = path.join(dir, user);
    mkdirSync(path.join(home, 'week1'), { recursive: true });
    writeFileSync(path.join(home, 'week1', 'answer.txt'), `${user}'s answer`);
    symlinkSync('/etc/passwd', path.join(home, 'link'));
    const file = path.join(dir, `${user}.tar`);
    execFileSync('tar', ['--create', `--file=${file}`, '-C', home, '.']);
    tars.push({ prefix: user, file });
  }
  const zip = path.join(dir, 'all.zip');
  writeFileSync(zip, await buffer(zipOfTars(tars)));
  const listing = execFileSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print("\\n".join(sorted(z.namelist()))); print(z.read("bob/week1/answer.txt").decode())', zip], { encoding: 'utf8' });
  assert.equal(listing, ['alice/', 'alice/week1/', 'alice/week1/answer.txt', 'bob/', 'bob/week1/', 'bob/week1/answer.txt', "bob's answer"].join('\n') + '\n');
});

test('a tar that cannot be read ends the zip with an error', async () => {
  await assert.rejects(buffer(zipOfTars([{ prefix: 'x', file: '/nonexistent/x.tar' }])), /ENOENT/);
});
