/** The benchmark's helpers: statistics, memory sampling and the C mock server it builds. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildMock } from '../../bench/lib/mock.js';
import { PeakRss, rssOfPid, rssOfPids } from '../../bench/lib/rss.js';
import { median } from '../../bench/lib/stats.js';
import { freePort } from '../helpers/ports.js';

/** The state letter of /proc/<pid>/stat: R running, S asleep, D in I/O, Z zombie... */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** Polls `check` every 20 ms until it holds; fails after 30 s (a generous bound for a loaded machine). */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('RSS of this process is read from /proc, a missing process counts 0, the peak is kept', async () => {
  const own = rssOfPid(process.pid);
  assert.ok(own > 10 * 1024 * 1024, `own RSS ${own} looks wrong`);
  assert.equal(rssOfPid(2 ** 22 + 12345), 0);
  // Summing needs a process whose RSS does not move between reads: a child asleep in sleep(1). 'spawn'
  // comes after exec; the loader may still be mapping libraries, so wait until it sleeps ('S').
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await once(sleeper, 'spawn');
    await until(() => processState(sleeper.pid!) === 'S', 'the sleep process to be asleep');
    const one = rssOfPid(sleeper.pid!);
    assert.ok(one > 0);
    assert.equal(rssOfPids([sleeper.pid!, sleeper.pid!, 2 ** 22 + 12345]), one * 2);
  } finally {
    sleeper.kill('SIGKILL');
  }
  const peak = new PeakRss(() => [process.pid]).start();
  assert.ok(peak.stop() >= own / 2);
});

test('the C mock server builds, listens on the port of JUPYTERHUB_SERVICE_URL and answers keep-alive requests', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganymede-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const mock = buildMock(dir);
  const port = await freePort();
  const child = spawn(mock, [], { env: { JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${port}/user/x/` }, stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  const answers: Response[] = [];
  await until(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/user/x/api`).catch(() => null);
    if (res) answers.push(res);
    return res !== null;
  }, 'the mock to answer');
  const [res] = answers;
  assert.equal(res!.status, 200);
  assert.equal(await res!.text(), 'ok');
  // Several requests on one kept-alive connection, as the proxy figures send them.
  for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`http://127.0.0.1:${port}/user/x/?n=${i}`)).text(), 'ok');
});
