/** Resident memory of a hub's processes, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

/** RSS in bytes of one process; 0 when it is gone. */
export function rssOfPid(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sum of the RSS of `pids` in bytes. */
export function rssOfPids(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + rssOfPid(pid), 0);
}

/** Samples the summed RSS of `pids()` every `everyMs` and keeps the peak. */
export class PeakRss {
  private timer: NodeJS.Timeout | null = null;
  private peak = 0;

  constructor(
    private readonly pids: () => number[],
    private readonly everyMs = 50,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  /** Stops sampling and returns the peak in bytes. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.peak;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, rssOfPids(this.pids()));
  }
}
