/**
 * The hub's wall clock and who may move it: it only moves forward, and only a parent process that
 * started the hub with an IPC channel AND the variable GANYMEDE_TEST_CLOCK_OFFSET_MS controls it.
 * A hub started as sites start it (no channel), or with a channel but without the variable (a
 * process manager's), keeps real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { WallClock } from '../../src/clock.js';
import { CLOCK_OFFSET_ENV, clockOffsetFromEnv } from '../../src/hub/clock-control.js';

test('the wall clock follows real time plus what it was moved, and never goes back', () => {
  const clock = new WallClock();
  const before = Date.now();
  assert.ok(clock.now() >= before && clock.now() <= Date.now());
  clock.advance(3_600_000);
  assert.equal(clock.offset, 3_600_000);
  assert.ok(clock.now() >= before + 3_600_000);
  assert.throws(() => clock.advance(-1), /only moves forward/);
  assert.throws(() => clock.advance(Number.NaN), /only moves forward/);
  assert.equal(clock.offset, 3_600_000, 'a refused move changes nothing');
});

test('the offset variable: unset or empty is off; a whole number of ms ≥ 0, or a clear error', () => {
  assert.equal(clockOffsetFromEnv({}), null);
  assert.equal(clockOffsetFromEnv({ [CLOCK_OFFSET_ENV]: '' }), null);
  assert.equal(clockOffsetFromEnv({ [CLOCK_OFFSET_ENV]: '0' }), 0);
  assert.equal(clockOffsetFromEnv({ [CLOCK_OFFSET_ENV]: '86400000' }), 86_400_000);
  for (const bad of ['-1', '1.5', 'tomorrow']) assert.throws(() => clockOffsetFromEnv({ [CLOCK_OFFSET_ENV]: bad }), new RegExp(CLOCK_OFFSET_ENV));
});

/** Runs startClockControl() in a fresh process, with or without an IPC channel, and returns what it saw. */
async function probe(env: Record<string, string>, ipc: boolean): Promise<{ control: boolean; offset: number }> {
  const script = [
    `const { startClockControl } = await import(${JSON.stringify(new URL('../../src/hub/clock-control.ts', import.meta.url).href)});`,
    `const { wallClock } = await import(${JSON.stringify(new URL('../../src/clock.ts', import.meta.url).href)});`,
    'const result = JSON.stringify({ control: startClockControl() !== null, offset: wallClock.offset });',
    'if (process.send) process.send(result, () => process.disconnect()); else console.log(result);',
  ].join('\n');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  if (!(CLOCK_OFFSET_ENV in env)) delete childEnv[CLOCK_OFFSET_ENV];
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: childEnv,
    stdio: ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const message = new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0);
  return JSON.parse(ipc ? await message : out) as { control: boolean; offset: number };
}

test('only a parent with an IPC channel and the variable controls the clock', { timeout: 60_000 }, async () => {
  assert.deepEqual(await probe({ [CLOCK_OFFSET_ENV]: '7200000' }, true), { control: true, offset: 7_200_000 });
  assert.deepEqual(await probe({}, true), { control: false, offset: 0 }, 'a channel without the variable: real time');
  assert.deepEqual(await probe({ [CLOCK_OFFSET_ENV]: '7200000' }, false), { control: false, offset: 0 }, 'the variable without a channel: real time');
});
