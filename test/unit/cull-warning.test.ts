/** When the user's pages warn that the idle culler will stop a server: within warn_before of the stop, for idleness or age. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cullWarning } from '../../src/hub/culler.js';

const T0 = Date.parse('2027-01-01T10:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const settings = { enabled: true, timeout: 600, max_age: 0, warn_before: 300 };

test('an idle server is announced from warn_before before its stop, not earlier', () => {
  const server = { phase: 'running' as const, started: at(0), last_activity: at(2) };
  assert.equal(cullWarning(server, T0 + 6 * 60_000, settings), null, 'stop at minute 12: 6 minutes away');
  assert.deepEqual(cullWarning(server, T0 + 7 * 60_000, settings), { at: T0 + 12 * 60_000, reason: 'inactive' });
  assert.deepEqual(cullWarning(server, T0 + 20 * 60_000, settings), { at: T0 + 20 * 60_000, reason: 'inactive' }, 'overdue: at the next pass, never in the past');
});

test('a server that never reported activity counts from its start; max_age comes first when it is sooner', () => {
  assert.deepEqual(cullWarning({ phase: 'running', started: at(0), last_activity: null }, T0 + 8 * 60_000, settings), { at: T0 + 10 * 60_000, reason: 'inactive' });
  const busy = { phase: 'running' as const, started: at(0), last_activity: at(29) };
  assert.deepEqual(cullWarning(busy, T0 + 29 * 60_000, { ...settings, max_age: 1800 }), { at: T0 + 30 * 60_000, reason: 'max_age' });
});

test('no warning when the culler is off, warnings are off, or the server is not running', () => {
  const server = { phase: 'running' as const, started: at(0), last_activity: at(0) };
  const now = T0 + 9 * 60_000;
  assert.equal(cullWarning(server, now, { ...settings, enabled: false }), null);
  assert.equal(cullWarning(server, now, { ...settings, warn_before: 0 }), null);
  assert.equal(cullWarning({ ...server, phase: 'spawning' }, now, settings), null);
});
