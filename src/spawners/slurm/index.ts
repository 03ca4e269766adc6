/**
 * Servers as Slurm batch jobs (`spawner.class: slurm`). A start submits a job as the user, follows it
 * through the queue (progress events with its state, reason and place), waits for the server inside to
 * report its port, and hands the hub `http://<node>:<port>`. The job id is saved before anything
 * waits, so a restarted hub finds the job again; jobs of the hub's name that no server row knows are
 * cancelled at start. docs/slurm.md is the admin's side of this.
 */
import type { Logger } from 'pino';
import type { SlurmConfig, SpawnerConfig } from '../../config/schema.js';
import { ConfigError, HubError } from '../../errors.js';
import {
  SpawnFailure,
  type JsonObject,
  type LocationReport,
  type PollResult,
  type ServerDetail,
  type SpawnReporter,
  type SpawnRequest,
  type Spawner,
  type SpawnerState,
  type StartResult,
  type StopOptions,
  type UserOptions,
} from '../spawner.js';
import { checkUnixName, createRunner, type CommandRunner } from './commands.js';
import { optionsFromJson, optionsToJson, parseSlurmOptions, slurmOptionsForm, type SlurmOptions } from './options.js';
import { isActive, JobBoard, type JobInfo, type Snapshot } from './queue.js';
import { loadTemplate, logFile, renderScript } from './script.js';

/** How long stop waits for Slurm to confirm a cancelled job is gone, beyond the grace period. */
const CONFIRM_EXTRA_MS = 30_000;
const MAX_ERROR_TEXT = 600;
/** squeue failures in a row after which a start gives up. */
const MAX_FAILED_TICKS = 5;

interface Waiter {
  resolve(port: number): void;
}

function key(userName: string, serverName: string): string {
  return `${userName}/${serverName}`;
}

function str(state: SpawnerState, k: string): string | undefined {
  const v = state[k];
  return typeof v === 'string' ? v : undefined;
}

function num(state: SpawnerState, k: string): number | undefined {
  const v = state[k];
  return typeof v === 'number' ? v : undefined;
}

/** Why a job ended, in words a user can act on. */
export function describeEnd(job: Pick<JobInfo, 'id' | 'state' | 'reason'>, timeMinutes?: number): string {
  const why = job.reason ? ` (${job.reason})` : '';
  switch (job.state) {
    case 'TIMEOUT':
      return `Job ${job.id} reached its time limit${timeMinutes ? ` of ${timeMinutes} minutes` : ''} and was ended by Slurm (TIMEOUT)`;
    case 'CANCELLED':
      return `Job ${job.id} was cancelled outside the hub (CANCELLED${why})`;
    case 'NODE_FAIL':
      return `The node running job ${job.id} failed (NODE_FAIL)`;
    case 'BOOT_FAIL':
      return `The node for job ${job.id} failed to boot (BOOT_FAIL)`;
    case 'OUT_OF_MEMORY':
      return `Job ${job.id} ran out of memory (OUT_OF_MEMORY): ask for more memory`;
    case 'PREEMPTED':
      return `Job ${job.id} was preempted by a job of higher priority (PREEMPTED)`;
    case 'DEADLINE':
      return `Job ${job.id} missed its deadline (DEADLINE)`;
    case 'COMPLETED':
      return `The server in job ${job.id} exited (COMPLETED)`;
    case 'FAILED':
      return `Job ${job.id} failed${why}`;
    default:
      return `Job ${job.id} ended: ${job.state}${why}`;
  }
}

function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

export function describeResources(o: Pick<SlurmOptions, 'cpus' | 'memory_gb' | 'gpus' | 'gpu_type'>): string {
  const parts = [`${o.cpus} CPU${o.cpus === 1 ? '' : 's'}`, `${o.memory_gb} GB`];
  if (o.gpus > 0) parts.push(`${o.gpus} GPU${o.gpus === 1 ? '' : 's'}${o.gpu_type ? ` (${o.gpu_type})` : ''}`);
  return parts.join(', ');
}

function firstLines(text: string): string {
  const t = text.trim().split('\n').slice(0, 5).join(' ').trim();
  return t.length > MAX_ERROR_TEXT ? `${t.slice(0, MAX_ERROR_TEXT)}…` : t;
}

export interface SlurmSpawnerOptions {
  /** Tests and the benchmark hand in their own runner; the hub builds it from the config. */
  runner?: CommandRunner;
}

export class SlurmSpawner implements Spawner {
  readonly kind = 'slurm';
  private readonly slurm: SlurmConfig;
  private readonly runner: CommandRunner;
  readonly board: JobBoard;
  private readonly template: string;
  private readonly waiters = new Map<string, Waiter>();

  constructor(
    private readonly config: SpawnerConfig,
    private readonly log: Logger,
    options: SlurmSpawnerOptions = {},
  ) {
    this.slurm = config.slurm;
    this.runner = options.runner ?? createRunner(this.slurm, config.min_uid);
    this.board = new JobBoard(this.slurm, this.runner);
    this.template = loadTemplate(this.slurm);
    if (Object.keys(this.slurm.images).length > 0 && !this.slurm.container) {
      throw new ConfigError('spawner.slurm.container.command: required when spawner.slurm.images lists images');
    }
  }

  async optionsForm(_user: SpawnRequest['user'], values?: JsonObject): Promise<string> {
    return slurmOptionsForm(this.slurm, values);
  }

  async parseOptions(input: JsonObject, user: SpawnRequest['user']): Promise<UserOptions> {
    try {
      checkUnixName(user.name);
    } catch (err) {
      throw new HubError(400, `${(err as Error).message}: this hub runs servers as Slurm jobs of the user's own Unix account`);
    }
    return optionsToJson(parseSlurmOptions(input, this.slurm));
  }

  async start(request: SpawnRequest, reporter: SpawnReporter, signal: AbortSignal): Promise<StartResult> {
    signal.throwIfAborted();
    const user = checkUnixName(request.user.name);
    const options = optionsFromJson(request.userOptions, this.slurm);
    const env: Record<string, string> = {
      ...request.env,
      GANYMEDE_SERVER_IP: this.slurm.server_ip,
      MEM_LIMIT: String(options.memory_gb * 1024 ** 3),
      CPU_LIMIT: String(options.cpus),
    };
    // The cluster has its own file systems: a directory a feature prepared on the hub host means nothing there.
    if (request.profile?.workDir && env.JUPYTERHUB_ROOT_DIR === request.profile.workDir) delete env.JUPYTERHUB_ROOT_DIR;
    const script = renderScript({
      template: this.template,
      config: this.slurm,
      options,
      userName: user,
      serverCommand: [...(request.profile?.cmd ?? this.config.cmd), ...this.config.args],
      // Over SSH the login node has its own PATH and environments: the hub host's (env_keep) stay out of the script.
      scriptEnv: this.runner.envInScript ? Object.fromEntries(Object.entries(env).filter(([k]) => !this.config.env_keep.includes(k))) : {},
    });

    // Listen for the report before the job exists: a fast node could report before sbatch returns.
    const k = key(user, request.serverName);
    let reported: (port: number) => void = () => undefined;
    const report = new Promise<number>((resolve) => (reported = resolve));
    this.waiters.set(k, { resolve: reported });
    try {
      reporter.progress({ progress: 10, message: `Submitting a batch job to partition ${options.partition} (${describeResources(options)}, ${formatMinutes(options.time_minutes)})…` });
      const submitted = await this.runner.run(user, [this.slurm.commands.sbatch, '--parsable'], { stdin: script, ...(this.runner.envInScript ? {} : { env }) });
      const jobId = /^(\d+)/.exec(submitted.stdout.trim())?.[1];
      if (submitted.code !== 0 || !jobId) {
        throw new SpawnFailure(`Slurm refused the job: ${firstLines(submitted.stderr || submitted.stdout) || `sbatch exited with ${submitted.code}`}`);
      }
      const state: SpawnerState = {
        job_id: jobId,
        job_user: user,
        ...optionsToJson(options),
        log_file: logFile(this.slurm, user).replace('%j', jobId),
        submitted_at: new Date().toISOString(),
      };
      await reporter.saveState(state);
      this.log.info({ user, server: request.serverName, job: jobId, partition: options.partition }, 'batch job submitted');
      reporter.progress({ progress: 20, message: `Submitted batch job ${jobId}` });
      const { node, port } = await this.follow(jobId, String(state.log_file), options, report, reporter, signal);
      return {
        target: `http://${this.slurm.node_host.replaceAll('{node}', node)}:${port}`,
        state: { ...state, node, port, running_since: new Date().toISOString() },
      };
    } finally {
      if (this.waiters.get(k)?.resolve === reported) this.waiters.delete(k);
    }
  }

  /** Follow the job until it runs and its server reported a port; throw SpawnFailure saying why if it never does. */
  private async follow(jobId: string, log: string, options: SlurmOptions, report: Promise<number>, reporter: SpawnReporter, signal: AbortSignal): Promise<{ node: string; port: number }> {
    let port: number | null = null;
    let last: JobInfo | undefined;
    let lastMessage = '';
    const aborted = new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
    const portReported = report.then((p) => ({ port: p }));
    // One shared tick at a time; a tick that lost a race to the port report is still the next one to wait for.
    let tick: Promise<{ snapshot: Snapshot } | { error: Error }> | null = null;
    let failedTicks = 0;
    for (;;) {
      tick ??= this.board.nextTick().then(
        (s) => ({ snapshot: s }),
        (e: unknown) => ({ error: e as Error }),
      );
      const racers: Array<Promise<'aborted' | { port: number } | { snapshot: Snapshot } | { error: Error }>> = port === null ? [aborted, portReported, tick] : [aborted, tick];
      const event = await Promise.race(racers);
      if (event !== 'aborted' && 'error' in event) {
        // squeue may fail now and then (slurmctld busy or restarting): only a lasting silence ends the start.
        tick = null;
        if (++failedTicks >= MAX_FAILED_TICKS) throw new SpawnFailure(`Slurm does not answer (job ${jobId}): ${event.error.message}`);
        this.log.warn({ job: jobId, err: event.error.message }, 'squeue failed while a server starts');
        continue;
      }
      failedTicks = 0;
      if (event === 'aborted') {
        const where = last?.state === 'PENDING' ? `job ${jobId} was still waiting in the queue (PENDING${last.reason ? `, ${last.reason}` : ''})` : `job ${jobId} was ${last?.state ?? 'submitted'}`;
        const reason = signal.reason instanceof Error ? signal.reason.message : 'The start was cancelled';
        throw new SpawnFailure(`${reason}: ${where}, so it is cancelled`);
      }
      if ('snapshot' in event) tick = null;
      if ('port' in event) {
        port = event.port;
        reporter.progress({ progress: 80, message: `The server in job ${jobId} listens on port ${port}` });
      }
      const snapshot = 'snapshot' in event ? event.snapshot : await this.board.snapshot(0);
      const job = snapshot.jobs.get(jobId);
      if (!job) throw new SpawnFailure(`Job ${jobId} left the queue before its server started (see ${log})`);
      last = job;
      if (job.state === 'PENDING') {
        const message = `Job ${jobId} is waiting in the queue: PENDING${job.reason ? ` (${job.reason})` : ''}${job.position ? `, position ${job.position} in partition ${job.partition}` : ''}`;
        if (message !== lastMessage) reporter.progress({ progress: 30, message });
        lastMessage = message;
      } else if (job.state === 'COMPLETING') {
        // Ending; the next tick tells how it ended.
      } else if (isActive(job.state)) {
        if (port !== null && job.node) return { node: job.node, port };
        const message = `Job ${jobId} is ${job.state} on ${job.node || 'a node'}; waiting for the server to start…`;
        if (message !== lastMessage) reporter.progress({ progress: 50, message });
        lastMessage = message;
      } else {
        throw new SpawnFailure(`${describeEnd(job, options.time_minutes)} before its server started (see ${log})`);
      }
    }
  }

  async poll(state: SpawnerState): Promise<PollResult> {
    const jobId = str(state, 'job_id');
    if (!jobId) return { running: false, message: 'no batch job recorded' };
    const job = (await this.board.snapshot(1000)).jobs.get(jobId);
    if (!job) return { running: false, message: `Job ${jobId} is no longer known to Slurm` };
    // Back in the queue after it ran (requeued, e.g. after a node failure): the server is gone.
    if (job.state === 'PENDING' || job.state.startsWith('REQUEUE')) return { running: false, message: `Job ${jobId} was put back in the queue by Slurm (${job.state}${job.reason ? `, ${job.reason}` : ''})` };
    // COMPLETING: ending, but why (TIMEOUT, CANCELLED, ...) shows only once it has ended: ask again next time.
    if (isActive(job.state)) return { running: true };
    return { running: false, message: describeEnd(job, num(state, 'time_minutes')) };
  }

  async stop(state: SpawnerState, options: StopOptions): Promise<void> {
    const jobId = str(state, 'job_id');
    const user = str(state, 'job_user');
    if (!jobId || !user) return;
    // If squeue fails, cancel all the same: scancel of an ended job does no harm.
    const before = await this.board.snapshot(0).then(
      (s) => s.jobs.get(jobId),
      () => ({ state: 'UNKNOWN' }),
    );
    if (!before || (before.state !== 'UNKNOWN' && !isActive(before.state))) return;
    const result = await this.runner.run(user, [this.slurm.commands.scancel, jobId]);
    if (result.code !== 0) this.log.warn({ job: jobId, err: firstLines(result.stderr) }, 'scancel failed');
    const deadline = Date.now() + options.graceSeconds * 1000 + CONFIRM_EXTRA_MS;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const job = await this.board.snapshot(0).then(
        (s) => s.jobs.get(jobId),
        () => before,
      );
      if (!job || !isActive(job.state)) return;
    }
    throw new Error(`Job ${jobId} is still ${before.state} ${Math.round((options.graceSeconds * 1000 + CONFIRM_EXTRA_MS) / 1000)} s after scancel`);
  }

  acceptReport(report: LocationReport): boolean {
    const waiter = this.waiters.get(key(report.userName, report.serverName));
    if (!waiter) return false;
    waiter.resolve(report.port);
    return true;
  }

  describe(state: SpawnerState): ServerDetail[] {
    const jobId = str(state, 'job_id');
    if (!jobId) return [];
    const details: ServerDetail[] = [{ label: 'Job', value: jobId }];
    const partition = str(state, 'partition');
    if (partition) details.push({ label: 'Partition', value: partition });
    const cpus = num(state, 'cpus');
    const memory = num(state, 'memory_gb');
    if (cpus !== undefined && memory !== undefined) {
      details.push({ label: 'Resources', value: describeResources({ cpus, memory_gb: memory, gpus: num(state, 'gpus') ?? 0, gpu_type: str(state, 'gpu_type') }) });
    }
    const node = str(state, 'node');
    if (node) details.push({ label: 'Node', value: node });
    const since = str(state, 'running_since');
    const minutes = num(state, 'time_minutes');
    if (since && minutes !== undefined) {
      const left = Math.max(0, Math.floor((Date.parse(since) + minutes * 60_000 - Date.now()) / 60_000));
      details.push({ label: 'Time left', value: formatMinutes(left) });
    }
    return details;
  }

  async reconcile(known: SpawnerState[]): Promise<void> {
    const ids = new Set(known.map((s) => str(s, 'job_id')).filter((x): x is string => Boolean(x)));
    const snapshot = await this.board.snapshot(0);
    for (const job of snapshot.jobs.values()) {
      if (ids.has(job.id) || !isActive(job.state) || job.state === 'COMPLETING') continue;
      this.log.warn({ job: job.id, user: job.user, state: job.state }, 'cancelling a job no server of this hub knows (orphan)');
      try {
        const result = await this.runner.run(checkUnixName(job.user), [this.slurm.commands.scancel, job.id]);
        if (result.code !== 0) this.log.warn({ job: job.id, err: firstLines(result.stderr) }, 'scancel of an orphan failed');
      } catch (err) {
        this.log.warn({ job: job.id, err: (err as Error).message }, 'scancel of an orphan failed');
      }
    }
  }

  async close(): Promise<void> {
    this.board.close();
  }
}
