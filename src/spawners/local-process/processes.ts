/**
 * Finding, signalling and waiting for a server's process group from its saved identity alone,
 * so that a hub restarted since the spawn can still poll and stop it.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** What identifies a server process across hub restarts. */
export interface ProcessIdentity {
  pid: number;
  /** The process group the server leads (spawned detached, so equal to pid). */
  pgid: number;
  /** `/proc/<pid>/stat` field 22 (clock ticks since boot); tells our process from a later one that got the same pid. */
  startTime?: number;
}

const POLL_MS = 50;

/** Field 22 of `/proc/<pid>/stat`; undefined without /proc (not Linux) or when the process is gone. */
export function readProcStartTime(pid: number): number | undefined {
  const stat = readProcStat(pid);
  return typeof stat === 'object' ? stat.startTime : undefined;
}

/**
 * Is the process described by `identity` still running (and still the one we started)? A server
 * started under another uid (`otherAccount`, by the launcher) cannot be probed with kill(0), which
 * then fails with EPERM: /proc and its start time tell.
 */
export function isAlive(identity: ProcessIdentity, options: { otherAccount?: boolean } = {}): boolean {
  try {
    process.kill(identity.pid, 0);
  } catch (error) {
    // EPERM for a server of our own account: the pid now belongs to another user, so it is not ours.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || (code === 'EPERM' && !options.otherAccount)) return false;
    if (code !== 'EPERM') throw error;
  }
  const stat = readProcStat(identity.pid);
  if (stat === 'gone') return false;
  if (stat === 'unknown') return true;
  if (stat.state === 'Z') return false;
  return identity.startTime === undefined || stat.startTime === identity.startTime;
}

/** Send `signal` to the whole process group, but only while its leader is still the process we started. */
export function signalGroup(identity: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isAlive(identity)) return;
  try {
    process.kill(-identity.pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Resolve true once the process is gone, false after `timeoutMs`. For a child we spawned, `exited` (its
 * 'exit' event, which comes once it is reaped) is the answer; for a process of a previous hub, poll every 50 ms.
 */
export async function waitForExit(
  identity: ProcessIdentity,
  timeoutMs: number,
  exited?: Promise<unknown>,
  options: { otherAccount?: boolean } = {},
): Promise<boolean> {
  if (exited) {
    const timer = new AbortController();
    const gone = await Promise.race([exited.then(() => true), sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false)]);
    timer.abort();
    return gone;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(identity, options)) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await sleep(Math.min(POLL_MS, left));
  }
  return true;
}

/** Checks that `pid`/`pgid` from saved state are real process ids; `kill(-1)` or `kill(0)` would signal far too much. */
export function isValidPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 1;
}

type ProcStat = { state: string; startTime: number } | 'gone' | 'unknown';

function readProcStat(pid: number): ProcStat {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return 'unknown';
    return procAvailable() ? 'gone' : 'unknown';
  }
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const startTime = Number(fields[22 - 3]);
  return Number.isSafeInteger(startTime) ? { state, startTime } : 'unknown';
}

let procChecked: boolean | undefined;
function procAvailable(): boolean {
  if (procChecked === undefined) {
    try {
      readFileSync('/proc/self/stat');
      procChecked = true;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}
