/**
 * The fair queue in front of `concurrent_spawn_limit`: at most that many spawns run at once, and the
 * others wait their turn, first come first served, instead of being refused (JupyterHub answers 429
 * and leaves the retrying to each browser, which is how a class of 300 ends up waiting in no order).
 * Each waiter is told its place and the expected wait as the queue moves; the wait does not count
 * towards the spawn's start_timeout (the spawn starts once it leaves the queue).
 */

/** Where a waiting start stands. */
export interface QueuePlace {
  /** 1: the next to start. */
  position: number;
  /** Seconds until its turn, from the recent spawns' durations. */
  expectedWaitSeconds: number;
}

/** A place to spawn; release it when the spawn has ended, however it ended. */
export interface SpawnSlot {
  release(): void;
}

interface Waiter {
  onPlace: (place: QueuePlace) => void;
  resolve: (slot: SpawnSlot) => void;
  reject: (reason: unknown) => void;
  /** The place last told, to tell only what changed. */
  told: number;
}

/** How many recent spawn durations the expected wait is estimated from. */
const RECENT = 20;
/** The expected duration of a spawn before any has ended. */
const FIRST_GUESS_MS = 10_000;
/** Far back in a long queue, places are told in steps of this many (each message costs every listener). */
const TELL_EVERY = 10;
const TELL_ALL_UP_TO = 20;

export class SpawnQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly durations: number[] = [];

  /** `limit()`: concurrent_spawn_limit, read at each decision (0: no limit). */
  constructor(private readonly limit: () => number) {}

  /** Spawns holding a place now. */
  get active(): number {
    return this.running;
  }

  /** Starts waiting now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a slot at once when one is free, else when this waiter's turn comes (`onPlace`
   * tells its place on entering and as it moves); rejects with the signal's reason when it aborts
   * first (the start was cancelled), leaving the queue.
   */
  enter(onPlace: (place: QueuePlace) => void, signal: AbortSignal): Promise<SpawnSlot> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.free()) return Promise.resolve(this.take());
    return new Promise<SpawnSlot>((resolve, reject) => {
      const waiter: Waiter = { onPlace, resolve, reject, told: 0 };
      this.waiting.push(waiter);
      this.tell(waiter, this.waiting.length, true);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(waiter);
          if (i < 0) return;
          this.waiting.splice(i, 1);
          reject(signal.reason);
          this.tellAll(i);
        },
        { once: true },
      );
    });
  }

  private free(): boolean {
    const limit = this.limit();
    return limit <= 0 || this.running < limit;
  }

  private take(): SpawnSlot {
    this.running++;
    const began = performance.now();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        this.durations.push(performance.now() - began);
        if (this.durations.length > RECENT) this.durations.shift();
        this.next();
      },
    };
  }

  /** Hands free slots to the first waiters, and tells the others their new places. */
  private next(): void {
    let moved = false;
    while (this.waiting.length > 0 && this.free()) {
      this.waiting.shift()!.resolve(this.take());
      moved = true;
    }
    if (moved) this.tellAll(0);
  }

  private tellAll(from: number): void {
    for (let i = from; i < this.waiting.length; i++) this.tell(this.waiting[i]!, i + 1, false);
  }

  private tell(waiter: Waiter, position: number, always: boolean): void {
    if (!always && (position === waiter.told || (position > TELL_ALL_UP_TO && position % TELL_EVERY !== 0))) return;
    waiter.told = position;
    waiter.onPlace({ position, expectedWaitSeconds: this.expectedWait(position) });
  }

  private expectedWait(position: number): number {
    const average = this.durations.length ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : FIRST_GUESS_MS;
    const lanes = Math.max(1, this.limit());
    return Math.round((Math.ceil(position / lanes) * average) / 1000);
  }
}

/** "3rd in line to start, about 40 seconds": what the progress page shows a waiting user. */
export function queueMessage(place: QueuePlace): string {
  const seconds = Math.max(1, place.expectedWaitSeconds);
  const minutes = Math.round(seconds / 60);
  const about = seconds < 60 ? `about ${seconds} second${seconds === 1 ? '' : 's'}` : `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `Many servers are starting: you are ${ordinal(place.position)} in line, ${about}`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
