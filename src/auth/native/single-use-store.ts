/**
 * Short-lived, single-use values kept in the hub's memory under a random key: the WebAuthn
 * challenges of passkey registrations and the second step of logins. A key works once (`take`
 * removes it) and only until it expires, so a challenge cannot be answered twice or late. Memory is
 * bounded: past `maxEntries` the oldest entry goes first (a flood of unanswered challenges pushes
 * out only challenges, never anything else). A restart forgets them all: the person starts again.
 */
import { randomBytes } from 'node:crypto';
import { wallClock } from '../../clock.js';

export class SingleUseStore<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => wallClock.now(),
  ) {}

  /** Keeps `value` and returns its key: 32 random bytes, base64url. */
  put(value: T): string {
    this.dropExpired();
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const key = randomBytes(32).toString('base64url');
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    return key;
  }

  /** The value under `key`, removed; undefined when unknown, already taken or expired. */
  take(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries are in insertion order, so expired ones are at the front. */
  private dropExpired(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(key);
    }
  }
}
