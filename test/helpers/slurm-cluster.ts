/**
 * A real single-node Slurm for tests: Debian's munged, slurmctld and slurmd, each a child of the test,
 * with their key, sockets, state, spool and logs in one temporary directory and slurm.conf there too
 * (nothing under /etc is read or written). Clients reach it with SLURM_CONF=<confPath>.
 *
 * The node declares 8 CPUs whatever the machine has (SlurmdParameters=config_overrides). Partitions:
 *   debug  the default: all CPUs, up to 4 jobs per CPU (OverSubscribe=FORCE:4), MaxTime 8 h
 *   small  one CPU, one job on it (FORCE:1: a partition with OverSubscribe=NO would also wait for
 *          every debug job to end), so a second 1-CPU job stays PENDING (Resources) until the first
 *          ends; MaxTime 1 h
 * Time limits are enforced (a --time=1 job ends TIMEOUT after about 60-90 s: slurmctld checks limits
 * every 30 s), and the scheduler runs every second, so a pending job starts within ~1 s of room freeing.
 *
 * Needs root: slurmd runs jobs as their owners, and createUnixUser makes those owners.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.js';
import { killAll, listProcesses, processEnv } from './processes.js';
import { tempDir } from './tmp.js';

/** Why the Slurm tests cannot run here (not root, packages missing), or false; `sshd` when a test also needs sshd. */
export function slurmSkipReason(opts: { sshd?: boolean } = {}): string | false {
  if (process.getuid?.() !== 0) return 'slurmd, sshd and Unix users for the jobs need root';
  const needed = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged', ...(opts.sshd ? ['/usr/sbin/sshd'] : [])];
  const missing = needed.filter((p) => !existsSync(p));
  return missing.length ? `${missing.join(', ')} missing (scripts/install-system-deps.sh test)` : false;
}

export interface SlurmClusterOptions {
  /**
   * Partitions by name, each the attributes that follow `PartitionName=<name>` (`Nodes=ALL State=UP`
   * are added in front unless the text names its own `Nodes=`). A name of a default partition (debug,
   * small) replaces it; null removes it.
   */
  partitions?: Record<string, string | null>;
  /** More slurm.conf lines, appended last (a later line wins for most keys). */
  extraConfig?: string[];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** The exit status; -1 when the command was killed by a signal or could not start. */
  code: number;
}

/** One line of `squeue --states=all`. */
export interface SlurmJob {
  id: string;
  user: string;
  /** Long form: PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, FAILED, ... */
  state: string;
  /** Why it waits or ended (Resources, Priority, TimeLimit, ...); "None" when running normally. */
  reason: string;
  name: string;
  partition: string;
}

export interface TestSlurm {
  confPath: string;
  /** What a client process needs in its environment to talk to this cluster. */
  env: { SLURM_CONF: string };
  nodeName: string;
  /** Runs a Slurm client command (sbatch, squeue, scontrol, ...) as the test's user, with SLURM_CONF set. */
  run(cmd: string, args: string[]): Promise<CommandResult>;
  /** Every job slurmctld still remembers (finished ones for MinJobAge = 5 minutes), from squeue. */
  jobs(): Promise<SlurmJob[]>;
  /** Polls until job `id` is in one of `states`; rejects after `timeoutMs` saying where it is. */
  waitForJob(id: string, states: string[], timeoutMs?: number): Promise<SlurmJob>;
  /** Cancels all jobs, ends the daemons and every job process, removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

export const SLURM_CLUSTER_NAME = 'ganymede-test';

const DEFAULT_PARTITIONS: Record<string, string> = {
  debug: 'Default=YES OverSubscribe=FORCE:4 MaxTime=8:00:00',
  small: 'OverSubscribe=FORCE:1 MaxCPUsPerNode=1 MaxTime=1:00:00',
};

function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : ''), code });
    });
  });
}

function partitionLines(overrides: Record<string, string | null> = {}): string[] {
  const partitions: Record<string, string | null> = { ...DEFAULT_PARTITIONS, ...overrides };
  return Object.entries(partitions)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, attrs]) => `PartitionName=${name} ${/\bNodes=/.test(attrs) ? '' : 'Nodes=ALL State=UP '}${attrs}`);
}

interface Layout {
  dir: string;
  mungeSocket: string;
  nodeName: string;
  ctldPort: number;
  slurmdPort: number;
}

function slurmConf(l: Layout, options: SlurmClusterOptions): string {
  const file = (name: string) => path.join(l.dir, name);
  return [
    `ClusterName=${SLURM_CLUSTER_NAME}`,
    `SlurmctldHost=${l.nodeName}(127.0.0.1)`,
    'SlurmUser=root',
    'SlurmdUser=root',
    `SlurmctldPort=${l.ctldPort}`,
    `SlurmdPort=${l.slurmdPort}`,
    // One munged of our own: socket= is read by both auth/munge and cred/munge.
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${l.mungeSocket}`,
    `StateSaveLocation=${file('state')}`,
    `SlurmdSpoolDir=${file('spool')}`,
    `SlurmctldPidFile=${file('slurmctld.pid')}`,
    `SlurmdPidFile=${file('slurmd.pid')}`,
    `SlurmctldLogFile=${file('slurmctld.log')}`,
    `SlurmdLogFile=${file('slurmd.log')}`,
    'SlurmctldDebug=info',
    'SlurmdDebug=info',
    'MailProg=/bin/true',
    // No cgroups in a container: plain /proc process tracking, no task binding, no accounting daemon.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'MpiDefault=none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    // The node may declare more CPUs than the machine has.
    'SlurmdParameters=config_overrides',
    'KillWait=2',
    'OverTimeLimit=0',
    'InactiveLimit=0',
    'MinJobAge=300',
    'ReturnToService=2',
    // Schedule at once on submit and on every job end, and sweep the whole queue every second.
    'SchedulerType=sched/backfill',
    'SchedulerParameters=sched_interval=1,bf_interval=1,sched_min_interval=0,batch_sched_delay=0',
    `NodeName=${l.nodeName} NodeAddr=127.0.0.1 CPUs=8 RealMemory=16000 State=UNKNOWN`,
    ...partitionLines(options.partitions),
    ...(options.extraConfig ?? []),
    '',
  ].join('\n');
}

/** A daemon started in the foreground, with the end of its stderr kept for error messages. */
interface Daemon {
  name: string;
  proc: ChildProcess;
  output(): string;
}

function startDaemon(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.on('error', (err) => keep(Buffer.from(`${err.message}\n`)));
  return { name, proc, output: () => output };
}

function isRunning(d: Daemon): boolean {
  return d.proc.exitCode === null && d.proc.signalCode === null && d.proc.pid !== undefined;
}

async function endDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (!isRunning(d)) return;
  const exited = new Promise<void>((resolve) => d.proc.once('exit', () => resolve()));
  d.proc.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
  if (!killed) {
    d.proc.kill('SIGKILL');
    await exited;
  }
}

/**
 * The processes of this cluster's jobs: each slurmstepd (found by the SLURM_CONF slurmd handed it)
 * with everything in its session, plus job processes that left the session (they carry SLURM_JOB_ID).
 */
function jobProcesses(confPath: string): number[] {
  const all = listProcesses();
  const ours = (pid: number) => processEnv(pid, 'SLURM_CONF') === confPath;
  const stepdSessions = new Set(all.filter((p) => p.cmdline.startsWith('slurmstepd') && ours(p.pid)).map((p) => p.sid));
  return all
    .filter((p) => stepdSessions.has(p.sid) || (processEnv(p.pid, 'SLURM_JOB_ID') !== undefined && ours(p.pid)))
    .map((p) => p.pid);
}

const SQUEUE_FORMAT = ['%i', '%u', '%T', '%P', '%r', '%j'].join('\t'); // name last: it may hold anything

function parseJobs(stdout: string): SlurmJob[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, user, state, partition, reason, ...name] = line.split('\t');
      return { id: id!.trim(), user: user!, state: state!, partition: partition!, reason: reason!, name: name.join('\t') };
    });
}

export async function startSlurm(options: SlurmClusterOptions = {}): Promise<TestSlurm> {
  const tmp = await tempDir('ganymede-slurm-');
  const dir = tmp.path;
  // Job owners run sbatch themselves: they must reach slurm.conf and munged's socket, and munged
  // refuses a socket directory that others cannot search.
  chmodSync(dir, 0o755);
  for (const sub of ['state', 'spool']) mkdirSync(path.join(dir, sub), { mode: 0o755 });
  const layout: Layout = {
    dir,
    mungeSocket: path.join(dir, 'munge.socket'),
    nodeName: os.hostname().split('.')[0]!,
    ctldPort: await freePort(),
    slurmdPort: await freePort(),
  };
  const confPath = path.join(dir, 'slurm.conf');
  writeFileSync(confPath, slurmConf(layout, options), { mode: 0o644 });
  const keyFile = path.join(dir, 'munge.key');
  writeFileSync(keyFile, randomBytes(128), { mode: 0o400 });
  const env = { ...process.env, SLURM_CONF: confPath };

  let munged: Daemon | undefined;
  let ctld: Daemon | undefined;
  let slurmd: Daemon | undefined;
  const daemons = () => [munged, ctld, slurmd].filter((d): d is Daemon => d !== undefined);
  let stopping: Promise<void> | undefined;
  const killEverythingNow = () => {
    killAll(daemons().filter(isRunning).map((d) => d.proc.pid!));
    killAll(jobProcesses(confPath));
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killEverythingNow);

  const run = (cmd: string, args: string[]) => runCommand(cmd, args, env);
  const jobs = async () => {
    const res = await run('squeue', ['--states=all', '--noheader', `--format=${SQUEUE_FORMAT}`]);
    if (res.code !== 0) throw new Error(`squeue failed (${res.code}): ${res.stderr}`);
    return parseJobs(res.stdout);
  };

  const stop = () =>
    (stopping ??= (async () => {
      if (ctld && isRunning(ctld)) {
        const live = await run('squeue', ['--noheader', '--format=%A', '--states=PENDING,RUNNING,SUSPENDED,CONFIGURING,COMPLETING,REQUEUED,RESIZING,STOPPED']);
        const ids = live.stdout.split('\n').filter((id) => id.trim() !== '');
        if (ids.length > 0) {
          await run('scancel', ['--full', ...ids]);
          // Give slurmd a moment to end the steps itself; whatever is left is killed below.
          for (let i = 0; i < 25 && jobProcesses(confPath).length > 0; i++) await sleep(200);
        }
      }
      for (const d of [slurmd, ctld]) if (d) await endDaemon(d);
      killAll(jobProcesses(confPath));
      if (munged) await endDaemon(munged);
      process.removeListener('exit', killEverythingNow);
      await tmp.cleanup();
    })());

  const logTails = () =>
    daemons()
      .map((d) => {
        const logFile = path.join(dir, `${d.name}.log`);
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : d.output();
        return `--- ${d.name} (${isRunning(d) ? 'running' : `exited ${d.proc.exitCode ?? d.proc.signalCode}`}):\n${log}`;
      })
      .join('\n');

  /** Polls `ready` every 100 ms; fails at once if a daemon died. */
  const waitUntil = async (what: string, ready: () => boolean | Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      const dead = daemons().find((d) => !isRunning(d));
      if (dead) throw new Error(`${dead.name} exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  try {
    // In the foreground munged logs to stderr, not to --log-file. Running as root needs no --force.
    munged = startDaemon('munged', 'munged', ['--foreground', `--socket=${layout.mungeSocket}`, `--key-file=${keyFile}`, `--pid-file=${path.join(dir, 'munged.pid')}`, `--log-file=${path.join(dir, 'munged.log')}`, `--seed-file=${path.join(dir, 'munged.seed')}`], env);
    // The socket file exists from bind(), before munged listens: ask it for a credential instead.
    await waitUntil('munged to issue a credential', async () => (await runCommand('munge', ['--no-input', `--socket=${layout.mungeSocket}`], env)).code === 0, 30_000);
    ctld = startDaemon('slurmctld', 'slurmctld', ['-D', '-f', confPath], env);
    slurmd = startDaemon('slurmd', 'slurmd', ['-D', '-f', confPath, '-N', layout.nodeName], env);
    await waitUntil(
      'the node to be idle',
      async () => (await run('sinfo', ['--noheader', '--Node', `--nodes=${layout.nodeName}`, '--format=%T'])).stdout.trim().split('\n')[0] === 'idle',
      60_000,
    );
  } catch (err) {
    const message = `Slurm did not start: ${(err as Error).message}\n${logTails()}`;
    await stop();
    throw new Error(message);
  }

  return {
    confPath,
    env: { SLURM_CONF: confPath },
    nodeName: layout.nodeName,
    run,
    jobs,
    async waitForJob(id, states, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = (await jobs()).find((j) => j.id === id);
        if (job && states.includes(job.state)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} not ${states.join('/')} after ${timeoutMs} ms: ${job ? `${job.state} (${job.reason})` : 'unknown to squeue'}`);
        await sleep(200);
      }
    },
    stop,
  };
}

export interface UnixUser {
  name: string;
  uid: number;
  home: string;
  /** Kills the user's processes and deletes the account and its home; never throws. */
  remove(): Promise<void>;
}

function getent(name: string): Promise<{ uid: number; home: string } | undefined> {
  return runCommand('getent', ['passwd', name], process.env).then((res) => {
    if (res.code !== 0) return undefined;
    const fields = res.stdout.trim().split(':');
    return { uid: Number(fields[2]), home: fields[5]! };
  });
}

/**
 * A local account with a home directory and bash, made with useradd (or the existing one). Its
 * password is set to '*': no password works, but sshd without PAM refuses keys for a "locked"
 * account, which is what useradd's '!' means.
 */
export async function createUnixUser(name: string): Promise<UnixUser> {
  if (!(await getent(name))) {
    const res = await runCommand('useradd', ['-m', '-s', '/bin/bash', name], process.env);
    if (res.code !== 0 && res.code !== 9 /* exists: made meanwhile */) throw new Error(`useradd ${name} failed (${res.code}): ${res.stderr}`);
  }
  const res = await runCommand('usermod', ['-p', '*', name], process.env);
  if (res.code !== 0) throw new Error(`usermod -p '*' ${name} failed: ${res.stderr}`);
  const entry = await getent(name);
  if (!entry) throw new Error(`user ${name} missing right after useradd`);
  return {
    name,
    ...entry,
    async remove() {
      for (let attempt = 0; attempt < 10; attempt++) {
        await runCommand('pkill', ['-KILL', '-u', name], process.env);
        // userdel -r refuses (8) while the user has processes; it warns (12) about a missing mail spool.
        const del = await runCommand('userdel', ['-r', name], process.env);
        if (del.code !== 8 || !(await getent(name))) return;
        await sleep(200);
      }
    },
  };
}

/** Job states in which a job holds or waits for resources. */
export const ACTIVE_JOB_STATES = ['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING'];

/**
 * The hub's `spawner` config the Slurm tests share, for this cluster: debug (1-4 CPUs), small (one CPU,
 * one job: a second one waits) and ghost (known to the hub, not to Slurm: sbatch refuses it).
 */
export function slurmTestSpawner(): Record<string, unknown> {
  return {
    class: 'slurm',
    start_timeout: 40,
    http_timeout: 40,
    poll_interval: 2,
    slurm: {
      partitions: {
        debug: { description: 'shared CPU nodes', cpus: { min: 1, max: 4, default: 1 }, memory_gb: { min: 1, max: 4, default: 1 }, time_minutes: { min: 1, max: 60, default: 10 } },
        small: { cpus: { min: 1, max: 1, default: 1 }, memory_gb: { min: 1, max: 1, default: 1 }, time_minutes: { min: 1, max: 30, default: 10 } },
        ghost: { time_minutes: { min: 1, max: 30, default: 10 } },
      },
      queue_poll_interval: 1,
    },
  };
}
