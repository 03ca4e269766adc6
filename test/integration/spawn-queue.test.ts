/**
 * The fair queue: with concurrent_spawn_limit 2 and six users starting one after the other while
 * servers take a while to start, nobody is refused; each start succeeds, the servers start in the
 * order they were asked for, and each user beyond the first two sees their place in line (and the
 * expected wait) in the progress stream that the spawn-pending page shows. (A start cancelled while it
 * waits, which the API cannot do as in JupyterHub, is in test/unit/spawn-queue.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { ADMIN_TOKEN, adminServiceConfig, waitFor } from '../helpers/fixtures.js';

const USERS = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'];

test('starts beyond concurrent_spawn_limit wait their turn in order, told their place', { timeout: 120_000 }, async (t) => {
  const hub = await startHub({
    config: {
      ...adminServiceConfig(),
      authenticator: { class: 'dummy' },
      concurrent_spawn_limit: 2,
      spawner: {
        class: 'local-process',
        cmd: [process.execPath, path.resolve('test/fixtures/mock-singleuser.mjs')],
        // Each server takes a while to listen, so that the starts pile up.
        environment: { MOCK_LISTEN_DELAY_MS: '1500' },
      },
    },
  });
  t.after(() => hub.stop());
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  assert.equal((await admin('/users', 'POST', { usernames: USERS })).status, 201);

  // One after the other (each in the hub's hands before the next), without waiting for the answers.
  const answers: Array<Promise<number>> = [];
  for (const name of USERS) {
    answers.push(hub.api(`/users/${name}/server`, { method: 'POST', token: ADMIN_TOKEN }).then((r) => r.status));
    await waitFor(async () => (await admin(`/users/${name}`)).json.servers?.['']?.pending === 'spawn', 10_000, `${name}'s start to be taken`);
  }
  // Every waiting user's progress, read while they wait: their place and the expected wait.
  const seen = await Promise.all(
    USERS.slice(2).map(async (name) => {
      const res = await fetch(`${hub.url}hub/api/users/${name}/server/progress`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } });
      const text = await res.text();
      return text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { message: string; ready?: boolean });
    }),
  );
  USERS.slice(2).forEach((name, i) => {
    const events = seen[i]!;
    const first = events.find((e) => /in line/.test(e.message));
    assert.ok(first, `${name} was told a place: ${events.map((e) => e.message).join(' | ')}`);
    assert.match(first.message, new RegExp(`you are ${i + 1}(st|nd|rd|th) in line, about \\d+ (second|minute)s?`), name);
    assert.ok(events.some((e) => e.message === 'Your turn: starting your server'), name);
    assert.equal(events.at(-1)?.ready, true, `${name}'s start ended ready`);
  });
  // Nobody refused: each answer is ready (201) or, past the API's 10 s wait on a busy machine, still starting (202).
  for (const status of await Promise.all(answers)) assert.ok([201, 202].includes(status), `answered ${status}`);
  await waitFor(async () => (await Promise.all(USERS.map(async (n) => (await admin(`/users/${n}`)).json.servers?.['']?.ready === true))).every(Boolean), 30_000, 'every server ready');
  // When the servers' processes began (clock ticks since boot): two places, so each pair in the line
  // can only begin once a server of the pair before it, which began earlier, has started (each takes
  // 1.5 s to listen). Together with the places each waiter was told, that is the line's order.
  const began = await Promise.all(
    USERS.map(async (name) => {
      const pid = (await admin(`/users/${name}`)).json.servers[''].state.pid as number;
      return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    }),
  );
  for (let j = 2; j < USERS.length; j++) {
    const pairBefore = Math.floor(j / 2) * 2 - 2;
    assert.ok(began[j]! > Math.min(began[pairBefore]!, began[pairBefore + 1]!), `${USERS[j]} began after the pair before it: ${began.join(', ')}`);
  }
  const metrics = await (await fetch(`${hub.url}hub/metrics`, { headers: { Authorization: `token ${ADMIN_TOKEN}` } })).text();
  assert.match(metrics, /^ganymede_spawn_queue 0$/m, 'nobody left in line');
});
