/**
 * Test control of the hub's wall clock (src/clock.ts). A test that starts the hub as a child
 * process with an IPC channel and GANYMEDE_TEST_CLOCK_OFFSET_MS set may move the hub's time
 * forward; the hub then runs the work that fell due (course steps, the culler's pass, the warm
 * pool's recycling) and answers once it is done, so the test checks the outcome without waiting
 * for a timer. Both conditions are needed: without the variable the channel is ignored, and without
 * a channel (how every site starts the hub) nobody can send anything.
 *
 * Messages (JSON over Node's IPC):
 *   parent → hub  { "ganymede": "advance-clock", "id": 1, "ms": 3600000 }   ms 0: only run the due work
 *   hub → parent  { "ganymede": "clock-advanced", "id": 1, "now": "<ISO time>" }
 *                 { "ganymede": "clock-advanced", "id": 1, "error": "<message>" }
 */
import type { Logger } from 'pino';
import { wallClock } from '../clock.js';

export const CLOCK_OFFSET_ENV = 'GANYMEDE_TEST_CLOCK_OFFSET_MS';

interface AdvanceMessage {
  ganymede: 'advance-clock';
  id: number;
  ms: number;
}

function isAdvance(m: unknown): m is AdvanceMessage {
  const v = m as Partial<AdvanceMessage> | null;
  return typeof v === 'object' && v !== null && v.ganymede === 'advance-clock' && typeof v.id === 'number' && typeof v.ms === 'number';
}

/** The initial offset from the environment, or null when test control is off. */
export function clockOffsetFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env[CLOCK_OFFSET_ENV];
  if (raw === undefined || raw === '') return null;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`${CLOCK_OFFSET_ENV}: expected a whole number of milliseconds ≥ 0, got ${JSON.stringify(raw)}`);
  return ms;
}

export interface ClockControl {
  /** Answers the parent's messages: moves the clock, runs `runDueWork` (the hub's), replies. */
  serve(runDueWork: () => Promise<void>, log: Logger): void;
}

/**
 * When both the variable and the IPC channel are there: moves the clock by the initial offset (call
 * it before the hub is built, so that everything it does sees the moved time) and returns the
 * control; otherwise null, and the clock is untouched.
 */
export function startClockControl(): ClockControl | null {
  const offset = clockOffsetFromEnv();
  if (offset === null || typeof process.send !== 'function') return null;
  wallClock.advance(offset);
  return {
    serve(runDueWork, log) {
      log.warn({ offset_ms: wallClock.offset }, `${CLOCK_OFFSET_ENV} is set: the parent process controls this hub's clock (tests only)`);
      process.on('message', (message: unknown) => {
        if (!isAdvance(message)) return;
        const reply = (body: Record<string, unknown>) => process.send?.({ ganymede: 'clock-advanced', id: message.id, ...body });
        try {
          wallClock.advance(message.ms);
        } catch (err) {
          reply({ error: (err as Error).message });
          return;
        }
        runDueWork().then(
          () => reply({ now: new Date(wallClock.now()).toISOString() }),
          (err: unknown) => reply({ error: (err as Error).message }),
        );
      });
      // The channel must not keep a stopping hub alive.
      process.channel?.unref();
    },
  };
}
