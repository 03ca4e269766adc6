/** In-memory progress of spawns under way: events so far, and listeners waiting for more. */
import type { ProgressEvent } from '../spawners/spawner.js';

export type SpawnOutcome = { ready: true } | { ready: false; message: string };

export class ProgressChannel {
  readonly events: ProgressEvent[] = [];
  private listeners = new Set<(e: ProgressEvent) => void>();
  private resolveDone!: (o: SpawnOutcome) => void;
  readonly done: Promise<SpawnOutcome> = new Promise((r) => (this.resolveDone = r));
  outcome: SpawnOutcome | null = null;
  /** The kind of the last event when it was a status that the next of its kind replaces. */
  private lastStatus: string | null = null;

  push(event: ProgressEvent): void {
    if (this.outcome) return;
    this.events.push(event);
    this.lastStatus = null;
    for (const l of this.listeners) l(event);
  }

  /**
   * A status that changes while nothing else happens (a place in the queue): listeners get each one,
   * the replay for late subscribers only the latest.
   */
  pushStatus(event: ProgressEvent, kind: string): void {
    if (this.outcome) return;
    if (this.lastStatus === kind) this.events[this.events.length - 1] = event;
    else this.events.push(event);
    this.lastStatus = kind;
    for (const l of this.listeners) l(event);
  }

  finish(outcome: SpawnOutcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.listeners.clear();
    this.resolveDone(outcome);
  }

  /** Replays past events then streams new ones; returns an unsubscribe function. */
  subscribe(listener: (e: ProgressEvent) => void): () => void {
    for (const e of this.events) listener(e);
    if (this.outcome) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** One channel per server id while it spawns. */
export class ProgressBoard {
  private channels = new Map<number, ProgressChannel>();

  open(serverId: number): ProgressChannel {
    const ch = new ProgressChannel();
    this.channels.set(serverId, ch);
    return ch;
  }

  get(serverId: number): ProgressChannel | undefined {
    return this.channels.get(serverId);
  }

  close(serverId: number, ch: ProgressChannel): void {
    if (this.channels.get(serverId) === ch) this.channels.delete(serverId);
  }

  get pendingCount(): number {
    let n = 0;
    for (const ch of this.channels.values()) if (!ch.outcome) n++;
    return n;
  }
}
