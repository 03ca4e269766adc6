/**
 * Failures per key (a client address, an account) over a sliding window: past `max` of them within
 * the window, the key waits until the oldest one has left it. The site password and the guess limits
 * count with it. Keys live in memory; past MAX_KEYS the one whose last failure is oldest is forgotten.
 */

/** Keys remembered at most; the oldest are forgotten first. */
const MAX_KEYS = 10_000;

export class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Seconds to wait before `key` may try again (0: go ahead). */
  waitSeconds(key: string, now: number): number {
    const recent = this.recent(key, now);
    return recent.length >= this.max ? Math.max(1, Math.ceil((recent[0]! + this.windowMs - now) / 1000)) : 0;
  }

  fail(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    this.failures.delete(key); // re-insert: the Map's order is then the order of last failure
    this.failures.set(key, list);
    if (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }
}
