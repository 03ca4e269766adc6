/**
 * The privileged launcher in tests: started for real (as root), with its users' and logs' roots in a
 * temporary directory and a scope of its own, and everything it started removed after the test:
 * servers killed through it (it reaps them), then the scope's cgroups removed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { Launcher, type LauncherConfig, type ServerExit } from '../../src/spawners/local-process/launcher/client.js';
import { tempDir } from './tmp.js';

/** The hub's own account in these tests: owns the logs, and is never a server's uid. */
export const HUB_ACCOUNT = { uid: 200_999, gid: 200_999 };

export const isRoot = process.getuid?.() === 0;

export interface LauncherDirs {
  /** A directory servers may enter (0755), holding usersRoot and logsRoot. */
  dir: string;
  usersRoot: string;
  logsRoot: string;
}

export async function launcherDirs(t: TestContext): Promise<LauncherDirs> {
  const tmp = await tempDir('ganymede-launcher-');
  t.after(() => tmp.cleanup());
  await chmod(tmp.path, 0o755); // servers run as other uids and must reach their directories
  const usersRoot = path.join(tmp.path, 'users');
  const logsRoot = path.join(tmp.path, 'logs');
  await mkdir(usersRoot, { mode: 0o755 });
  await chmod(usersRoot, 0o755);
  await mkdir(logsRoot, { mode: 0o700 });
  return { dir: tmp.path, usersRoot, logsRoot };
}

/** A configuration with a fresh scope: uids 100000-299999 are in range, but those below 200000 below min_uid. */
export function launcherConfig(dirs: LauncherDirs, overrides: Partial<LauncherConfig> = {}): LauncherConfig {
  return {
    uidRanges: [[100_000, 299_999]],
    minUid: 200_000,
    allowedGids: [100],
    usersRoot: dirs.usersRoot,
    logsRoot: dirs.logsRoot,
    logOwner: HUB_ACCOUNT,
    scope: `t${randomBytes(6).toString('hex')}`,
    cgroup: { mode: 'auto' },
    ...overrides,
  };
}

/** A ready launcher; after the test its servers are killed, it is closed, and its scope's cgroups are removed. */
export async function startLauncher(t: TestContext, config: LauncherConfig): Promise<Launcher> {
  const launcher = await Launcher.start({ config, log: pino({ level: process.env.GANYMEDE_TEST_VERBOSE ? 'info' : 'silent' }) });
  t.after(async () => {
    for (const server of await launcher.list().catch(() => [])) await launcher.killCgroup(server.name);
    await launcher.close();
    await removeScopeCgroups(launcher.cgroup.bases, config.scope);
  });
  return launcher;
}

/**
 * Remove `<base>/<scope>` and what is below it in each base, then the base itself if no other scope
 * uses it. Only empty cgroups can be removed: their processes must be gone first.
 */
export async function removeScopeCgroups(bases: readonly string[], scope: string): Promise<void> {
  for (const base of bases) {
    const scopeDir = path.join(base, scope);
    const names = await readdir(scopeDir, { withFileTypes: true }).catch(() => []);
    for (const entry of names) if (entry.isDirectory()) await rmdir(path.join(scopeDir, entry.name)).catch(() => {});
    await rmdir(scopeDir).catch(() => {});
    await rmdir(base).catch(() => {}); // busy while another launcher (another test, a hub) has a scope there
  }
}

/** Every exit event of a launcher from now on, to wait for one by server name. */
export class ExitLog {
  private readonly exits: ServerExit[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(launcher: Launcher) {
    launcher.onExit((exit) => {
      this.exits.push(exit);
      for (const wake of this.waiters) wake();
    });
  }

  /** The exit of the server `name`, once it has come (a server that never exits fails the test by its timeout). */
  async of(name: string): Promise<ServerExit> {
    for (;;) {
      const exit = this.exits.find((e) => e.name === name);
      if (exit) return exit;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
      });
    }
  }
}

/** The `Key:` lines of /proc/<pid>/status. */
export function procStatus(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return fields;
}

/** Fields of /proc/<pid>/stat after the command name: [0] is field 3 (state), [19] field 22 (start time). */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` still runs: it is neither gone nor a zombie. */
export function running(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}
