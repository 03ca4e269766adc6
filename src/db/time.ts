/** Timestamps as the API shows them: ISO 8601, UTC, with 'Z', read from the hub's wall clock. */
import { wallClock } from '../clock.js';

export function isoNow(): string {
  return new Date(wallClock.now()).toISOString();
}

export function isoIn(seconds: number): string {
  return new Date(wallClock.now() + seconds * 1000).toISOString();
}

export function isExpired(expiresAt: string | null, now = wallClock.now()): boolean {
  return expiresAt !== null && Date.parse(expiresAt) <= now;
}
