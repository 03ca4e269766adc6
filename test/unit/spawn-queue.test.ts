/** The fair queue in front of concurrent_spawn_limit: first come first served, each waiter told its place as it moves, a cancelled one leaving it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queueMessage, SpawnQueue, type QueuePlace, type SpawnSlot } from '../../src/hub/spawn-queue.js';

test('beyond the limit starts wait in arrival order, each told its place as the queue moves', async () => {
  const queue = new SpawnQueue(() => 2);
  const places = new Map<string, number[]>();
  const order: string[] = [];
  const slots = new Map<string, SpawnSlot>();
  const enter = (name: string, signal = new AbortController().signal) =>
    queue
      .enter((p: QueuePlace) => places.set(name, [...(places.get(name) ?? []), p.position]), signal)
      .then((slot) => {
        order.push(name);
        slots.set(name, slot);
      });
  const waits = ['a', 'b', 'c', 'd', 'e'].map((n) => enter(n));
  await Promise.all(waits.slice(0, 2));
  assert.deepEqual(order, ['a', 'b']);
  assert.equal(queue.active, 2);
  assert.equal(queue.queued, 3);
  assert.deepEqual([places.get('c'), places.get('d'), places.get('e')], [[1], [2], [3]]);
  slots.get('a')!.release();
  await waits[2];
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.deepEqual([places.get('d'), places.get('e')], [[2, 1], [3, 2]]);
  slots.get('a')!.release(); // a second release changes nothing
  assert.equal(queue.active, 2);
  slots.get('b')!.release();
  slots.get('c')!.release();
  await Promise.all(waits);
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(places.get('a'), undefined, 'who never waited is never told a place');
});

test('a start cancelled while it waits leaves the queue, and those behind it move up', async () => {
  const queue = new SpawnQueue(() => 1);
  const first = await queue.enter(() => undefined, new AbortController().signal);
  const cancel = new AbortController();
  const told: number[] = [];
  const cancelled = queue.enter(() => undefined, cancel.signal);
  const behind = queue.enter((p) => told.push(p.position), new AbortController().signal);
  cancel.abort(new Error('Spawn cancelled'));
  await assert.rejects(cancelled, /Spawn cancelled/);
  assert.deepEqual(told, [2, 1]);
  first.release();
  (await behind).release();
  assert.equal(queue.active, 0);
});

test('without a limit nobody waits; the expected wait grows with the place', async () => {
  const open = new SpawnQueue(() => 0);
  const slots = await Promise.all(Array.from({ length: 50 }, () => open.enter(() => assert.fail('told a place'), new AbortController().signal)));
  assert.equal(open.active, 50);
  for (const s of slots) s.release();
  assert.equal(queueMessage({ position: 3, expectedWaitSeconds: 40 }), 'Many servers are starting: you are 3rd in line, about 40 seconds');
  assert.equal(queueMessage({ position: 11, expectedWaitSeconds: 150 }), 'Many servers are starting: you are 11th in line, about 3 minutes');
  assert.equal(queueMessage({ position: 22, expectedWaitSeconds: 0 }), 'Many servers are starting: you are 22nd in line, about 1 second');
});
