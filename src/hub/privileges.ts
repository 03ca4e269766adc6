/**
 * What the hub process itself may do. Started as root, it prepares its data directory, lets the
 * caller start the privileged launcher (the only part that keeps root: it starts servers under
 * their users' uids), and then drops to the unprivileged `user` account for everything else. Started
 * unprivileged, it needs the launcher's capabilities passed down as ambient ones, or a config that
 * trusts every user (spawner.run_as: hub).
 */
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { lookupAccount, type UnixAccount } from '../spawners/unix-accounts.js';

/** What a process may do, read from the kernel. */
export interface ProcessPrivileges {
  uid: number;
  /** Capabilities that survive execve into the launcher (CapAmb), or, for root, all of them. */
  launcherCapabilities: Set<Capability>;
}

export type Capability = 'CAP_CHOWN' | 'CAP_DAC_OVERRIDE' | 'CAP_FOWNER' | 'CAP_KILL' | 'CAP_SETGID' | 'CAP_SETUID';
const CAPABILITY_BITS: Record<Capability, number> = { CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7 };
/** What the launcher needs: start processes as other uids, signal them, make and hand over their directories. */
export const LAUNCHER_CAPABILITIES: Capability[] = ['CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE'];

/** How this start goes: whether a launcher starts, and whether the hub then changes account. */
export interface PrivilegePlan {
  launcher: boolean;
  /** The account to change to after the launcher started; null: stay. */
  dropTo: string | null;
}

export function readProcessPrivileges(): ProcessPrivileges {
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) return { uid, launcherCapabilities: new Set(LAUNCHER_CAPABILITIES) };
  let ambient = 0n;
  try {
    const match = /^CapAmb:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) ambient = BigInt(`0x${match[1]}`);
  } catch {
    // No /proc: no capabilities we could prove.
  }
  const held = LAUNCHER_CAPABILITIES.filter((cap) => (ambient >> BigInt(CAPABILITY_BITS[cap])) & 1n);
  return { uid, launcherCapabilities: new Set(held) };
}

/**
 * Decide from the config and the process's privileges; a refusal is a ConfigError that says why
 * and names the ways out.
 */
export function planPrivileges(config: Pick<HubConfig, 'user' | 'spawner'>, privileges: ProcessPrivileges): PrivilegePlan {
  const { spawner } = config;
  const isolated = spawner.class === 'local-process' && spawner.run_as !== 'hub';
  if (spawner.run_as === 'hub' && spawner.class === 'local-process' && !spawner.trust_all_users) {
    throw new ConfigError(
      "spawner.run_as: hub runs every server as the hub's own account, so every user could read the hub's secrets and become admin; " +
        'use run_as: dynamic (the default) or system, or set spawner.trust_all_users: true for a one-person or all-trusted hub',
    );
  }
  const root = privileges.uid === 0;
  if (root && config.user === 'root' && !spawner.trust_all_users) {
    throw new ConfigError('user: root keeps the whole hub running as root; name an unprivileged account (default ganymede), or set spawner.trust_all_users: true');
  }
  // The Slurm spawner still submits through sudo from the hub's account: it keeps today's account for now.
  const dropTo = root && config.user !== 'root' && spawner.class === 'local-process' ? config.user : null;
  if (!isolated) return { launcher: false, dropTo };
  const missing = LAUNCHER_CAPABILITIES.filter((cap) => !privileges.launcherCapabilities.has(cap));
  if (missing.length) {
    throw new ConfigError(
      `spawner.run_as: ${spawner.run_as} starts each server under its user's own uid, which needs privileges this hub does not have (missing ${missing.join(', ')}). ` +
        `Either start the hub as root (it starts its launcher and then runs as the account named by user, here ${config.user}), ` +
        'or, for a one-person or all-trusted hub, set spawner.run_as: hub and spawner.trust_all_users: true',
    );
  }
  return { launcher: true, dropTo };
}

/** The account the hub drops to, which must exist and must not be root. */
export function hubAccount(name: string): UnixAccount {
  const account = lookupAccount(name);
  if (!account) {
    throw new ConfigError(`user: the Unix account ${name} does not exist; create it (useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin ${name}) or name another`);
  }
  if (account.uid === 0) throw new ConfigError(`user: ${name} has uid 0; the hub must drop to an unprivileged account`);
  return account;
}

/**
 * Make `dir` the hub account's own: created if missing, owned by it with everything in it, mode
 * 0700, database files 0600. A directory that others could read is fixed, and said so.
 */
export function prepareDataDir(dir: string, owner: { uid: number; gid: number } | null, log: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(dir, 0o700);
    log.warn({ data_dir: dir, was: `0${mode.toString(8)}` }, 'data_dir was readable by other accounts: its mode is now 0700');
  }
  if (owner) chownTree(dir, owner);
  for (const entry of readdirSync(dir)) {
    if (/\.sqlite(-wal|-shm|-journal)?$/.test(entry) || entry === 'cookie_secret') {
      const file = path.join(dir, entry);
      if (lstatSync(file).isFile() && (statSync(file).mode & 0o077)) chmodSync(file, 0o600);
    }
  }
}

/** Fail unless `account` can reach `dir`: every directory above it must let the account pass. */
export function assertReachable(dir: string, account: { uid: number; gid: number; groups: number[]; name: string }, key: string): void {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let current = '/';
  for (const part of ['', ...parts.slice(0, -1)]) {
    current = path.join(current, part);
    const st = statSync(current);
    const bit = st.uid === account.uid ? 0o100 : account.groups.includes(st.gid) || st.gid === account.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) {
      throw new ConfigError(
        `${key}: ${dir} cannot be reached by the account ${account.name}: ${current} (mode 0${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}) does not let it pass; ` +
          `allow it (chmod o+x ${current}) or choose a ${key} elsewhere`,
      );
    }
  }
}

/** Give up root for good: groups, then gid, then uid, and check that root cannot come back. */
export function dropPrivileges(account: UnixAccount): void {
  process.setgroups?.(account.groups);
  process.setgid?.(account.gid);
  process.setuid?.(account.uid);
  if (process.getuid?.() !== account.uid || process.geteuid?.() !== account.uid || process.getgid?.() !== account.gid) {
    throw new Error(`could not change to the account ${account.name}`);
  }
  try {
    process.setuid?.(0);
  } catch {
    return;
  }
  throw new Error(`still able to become root after changing to ${account.name}`);
}

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  const st = lstatSync(dir);
  if (st.uid !== owner.uid || st.gid !== owner.gid) chownSync(dir, owner.uid, owner.gid);
  if (!st.isDirectory()) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(child, owner);
    else {
      const cst = lstatSync(child);
      // lchown semantics: never follow a link out of data_dir.
      if (cst.uid !== owner.uid || cst.gid !== owner.gid) (entry.isSymbolicLink() ? lchownSync : chownSync)(child, owner.uid, owner.gid);
    }
  }
}
