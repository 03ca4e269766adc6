/**
 * What Slurm says about the hub's jobs, fetched with one `squeue` for all of them: every job named
 * `slurm.job_name` (the hub's, and only the hub's), in every state squeue still remembers. 500 running
 * servers cost one command per poll, not 500. Starts that wait for their job share a ticker, so a
 * queue full of pending servers also costs one squeue per `queue_poll_interval`, plus one more for
 * queue positions while any of them is pending.
 */
import type { SlurmConfig } from '../../config/schema.js';
import type { CommandRunner } from './commands.js';

export interface JobInfo {
  id: string;
  /** PENDING, RUNNING, COMPLETED, TIMEOUT, CANCELLED, FAILED, NODE_FAIL, … (squeue %T) */
  state: string;
  /** Why it waits or ended: Resources, Priority, NonZeroExitCode, … ("None" → '') */
  reason: string;
  /** The node its batch script runs on ('' while pending). */
  node: string;
  user: string;
  partition: string;
  /** Place among pending jobs of its partition, by priority (1 = next); only for pending jobs. */
  position?: number;
}

export interface Snapshot {
  at: number;
  jobs: Map<string, JobInfo>;
}

/** States in which a job still holds (or waits for) resources. */
const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'SUSPENDED', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD']);

export function isActive(state: string): boolean {
  return ACTIVE.has(state);
}

const SEP = '|';
const FORMAT = ['%i', '%T', '%r', '%B', '%u', '%P'].join(SEP);

/** Lines of `squeue --noheader --format=%i|%T|%r|%B|%u|%P`. */
export function parseSqueue(stdout: string): JobInfo[] {
  const jobs: JobInfo[] = [];
  for (const line of stdout.split('\n')) {
    const parts = line.trim().split(SEP);
    if (parts.length !== 6 || !/^\d+$/.test(parts[0]!)) continue;
    const [id, state, reason, node, user, partition] = parts as [string, string, string, string, string, string];
    jobs.push({
      id,
      state: state.split(/\s/)[0]!,
      reason: reason === 'None' || reason === '(null)' ? '' : reason,
      node: node === 'n/a' || node === '(null)' ? '' : node,
      user,
      partition,
    });
  }
  return jobs;
}

/** Positions in each partition's queue, from `squeue --states=PENDING --sort=-p,i --format=%i|%P`. */
export function queuePositions(stdout: string): Map<string, number> {
  const counts = new Map<string, number>();
  const positions = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const [id, partitions] = line.trim().split(SEP);
    if (!id || !/^\d+$/.test(id) || !partitions) continue;
    // A job submitted to several partitions waits in each of them; its first is close enough.
    const partition = partitions.split(',')[0]!;
    const n = (counts.get(partition) ?? 0) + 1;
    counts.set(partition, n);
    positions.set(id, n);
  }
  return positions;
}

export class JobBoard {
  private last: Snapshot | null = null;
  private inflight: Promise<Snapshot> | null = null;
  private tickWaiters: Array<{ resolve: (s: Snapshot) => void; reject: (e: unknown) => void }> = [];
  private tickTimer: NodeJS.Timeout | null = null;
  /** squeue calls so far (the benchmark and tests read it). */
  calls = 0;

  constructor(
    private readonly config: SlurmConfig,
    private readonly runner: CommandRunner,
  ) {}

  /** The hub's jobs as Slurm sees them, at most `maxAgeMs` old; concurrent callers share one squeue. */
  snapshot(maxAgeMs = 1000): Promise<Snapshot> {
    if (this.last && Date.now() - this.last.at <= maxAgeMs) return Promise.resolve(this.last);
    if (!this.inflight) {
      this.inflight = this.fetch().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /** The snapshot of the next shared tick (every queue_poll_interval seconds while anyone waits). */
  nextTick(): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      this.tickWaiters.push({ resolve, reject });
      if (!this.tickTimer) {
        this.tickTimer = setTimeout(() => {
          this.tickTimer = null;
          const waiters = this.tickWaiters;
          this.tickWaiters = [];
          this.snapshot(0).then(
            (s) => waiters.forEach((w) => w.resolve(s)),
            (e: unknown) => waiters.forEach((w) => w.reject(e)),
          );
        }, this.config.queue_poll_interval * 1000);
      }
    });
  }

  close(): void {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    for (const w of this.tickWaiters) w.reject(new Error('The hub is shutting down'));
    this.tickWaiters = [];
  }

  private async fetch(): Promise<Snapshot> {
    const { squeue } = this.config.commands;
    this.calls++;
    const result = await this.runner.run(null, [squeue, '--noheader', '--states=all', `--name=${this.config.job_name}`, `--format=${FORMAT}`]);
    if (result.code !== 0) throw new Error(`squeue failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
    const jobs = new Map(parseSqueue(result.stdout).map((j) => [j.id, j]));
    const pendingIn = [...new Set([...jobs.values()].filter((j) => j.state === 'PENDING').map((j) => j.partition.split(',')[0]!))];
    if (pendingIn.length > 0) {
      this.calls++;
      // Only the partitions our pending jobs wait in: a busy cluster's whole queue can be long.
      const queue = await this.runner.run(null, [squeue, '--noheader', '--states=PENDING', `--partition=${pendingIn.join(',')}`, '--sort=-p,i', `--format=%i${SEP}%P`]);
      if (queue.code === 0) {
        const positions = queuePositions(queue.stdout);
        for (const j of jobs.values()) if (j.state === 'PENDING') j.position = positions.get(j.id);
      }
    }
    this.last = { at: Date.now(), jobs };
    return this.last;
  }
}
