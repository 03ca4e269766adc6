/**
 * The hub's wall clock: the time of what people schedule and of what expires (course dates, idle
 * and pool ages, token, share and lockout lifetimes, the timestamps the API shows). Read it through
 * `wallClock.now()` or db/time.ts, never through Date.now(), so that a test can move the hub's time
 * forward (src/hub/clock-control.ts) and check a step due in days at once and exactly. Waits for
 * processes and sockets (timeouts, polls, retries) run on real time: moving the clock does not make
 * a server start faster.
 */
export class WallClock {
  private offsetMs = 0;

  /** Milliseconds since the epoch, as Date.now(). */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves the clock forward by `ms` (never back: expired things stay expired). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`the clock only moves forward (asked ${ms} ms)`);
    this.offsetMs += ms;
  }

  /** How far ahead of real time the clock is, in ms (0 unless a test moved it). */
  get offset(): number {
    return this.offsetMs;
  }
}

/** The one wall clock of this process. */
export const wallClock = new WallClock();
