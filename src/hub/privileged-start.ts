/**
 * The first steps of a hub start, while it may still be root: make data_dir the hub account's own,
 * start the launcher when servers run under their users' uids, then drop to `user`. Everything after
 * (the database, the cookie secret, every request) runs unprivileged.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/schema.js';
import type { Database } from '../db/schema.js';
import { UnixIdRepo } from '../db/repos/unix-ids.js';
import { ConfigError } from '../errors.js';
import { DynamicAccounts, SystemAccounts, type AccountSource } from '../spawners/local-process/accounts.js';
import type { Isolation } from '../spawners/local-process/isolation.js';
import { Launcher } from '../spawners/local-process/launcher/client.js';
import { assertReachable, dropPrivileges, hubAccount, planPrivileges, prepareDataDir, readProcessPrivileges } from './privileges.js';

export interface IsolatedServers {
  launcher: Launcher;
  /** The spawner's isolation, once the database (which keeps dynamic uids) is open. */
  isolation(db: Kysely<Database>): Isolation;
}

/** The directory below which every server's working directory lies: spawner.users_root, default `<data_dir>-users`. */
export function usersRoot(config: HubConfig, dataDir: string): string {
  if (config.spawner.users_root) return path.resolve(config.spawner.users_root);
  if (config.spawner.run_as === 'system') return '/home';
  return `${dataDir}-users`;
}

/** Prepare data_dir, start the launcher when the config isolates servers, and drop to `user` when started as root. */
export async function startPrivileged(config: HubConfig, dataDir: string, log: Logger): Promise<IsolatedServers | null> {
  const plan = planPrivileges(config, readProcessPrivileges());
  // Whatever the hub creates from now on (the database and its journal first) is its own alone.
  process.umask(0o077);
  checkUidRange(config);
  const account = plan.dropTo ? hubAccount(plan.dropTo) : null;
  prepareDataDir(dataDir, account, log);
  if (account) assertReachable(dataDir, account, 'data_dir');
  const logsRoot = path.join(dataDir, 'logs');
  mkdirSync(logsRoot, { recursive: true, mode: 0o700 });
  if (account) chownSync(logsRoot, account.uid, account.gid);

  let launcher: Launcher | null = null;
  const root = usersRoot(config, dataDir);
  if (plan.launcher) {
    prepareUsersRoot(root, config.spawner.run_as === 'system', log);
    const uidRanges: [number, number][] = config.spawner.run_as === 'system' ? [[config.spawner.min_uid, 4294967294]] : [config.spawner.uid_range];
    const owner = account ?? { uid: process.getuid!(), gid: process.getgid!() };
    launcher = await Launcher.start({
      config: {
        uidRanges,
        minUid: config.spawner.min_uid,
        // users (100): the primary group of many sites' accounts, which run_as system starts servers with.
        allowedGids: config.spawner.run_as === 'system' ? [100] : [],
        usersRoot: root,
        logsRoot,
        logOwner: { uid: owner.uid, gid: owner.gid },
        scope: createHash('sha256').update(dataDir).digest('hex').slice(0, 12),
        cgroup: { mode: 'auto' },
      },
      log: log.child({ component: 'launcher' }),
    });
    log.info({ pid: launcher.pid, users_root: root, run_as: config.spawner.run_as }, 'launcher started');
  }
  if (account) {
    dropPrivileges(account);
    log.info({ user: account.name, uid: account.uid }, 'the hub now runs as its own account');
  }
  if (!launcher) return null;
  const started = launcher;
  return {
    launcher: started,
    isolation: (db) => ({
      launcher: started,
      accounts: accountSource(config, db),
      usersRoot: root,
      pidsLimit: config.spawner.pids_limit,
    }),
  };
}

function accountSource(config: HubConfig, db: Kysely<Database>): AccountSource {
  const { run_as, uid_range, min_uid } = config.spawner;
  return run_as === 'system' ? new SystemAccounts(min_uid, new UnixIdRepo(db, uid_range)) : new DynamicAccounts(new UnixIdRepo(db, uid_range), uid_range);
}

function checkUidRange(config: HubConfig): void {
  const [low, high] = config.spawner.uid_range;
  if (low > high) throw new ConfigError(`spawner.uid_range: [${low}, ${high}] is empty (the first uid is above the last)`);
  if (low < config.spawner.min_uid) throw new ConfigError(`spawner.uid_range: starts at ${low}, below spawner.min_uid ${config.spawner.min_uid}`);
  if (low <= 65535 && high >= 60000) throw new ConfigError(`spawner.uid_range: [${low}, ${high}] overlaps 60000-65535, uids Debian gives system accounts (and nobody)`);
}

/**
 * The users' root and its home/, courses/ and ephemeral/ folders: root's, mode 0711, so each server
 * can pass through to its own directory but nobody can list the others'. run_as system's default
 * (/home) is the system's and left as it is.
 */
function prepareUsersRoot(root: string, system: boolean, log: Logger): void {
  if (system) return;
  for (const dir of [root, ...['home', 'courses', 'ephemeral'].map((d) => path.join(root, d))]) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new ConfigError(`spawner.users_root: ${dir} is not a directory`);
    if ((st.mode & 0o777) !== 0o711) {
      chmodSync(dir, 0o711);
      log.info({ dir, was: `0${(st.mode & 0o777).toString(8)}` }, 'users_root folder set to mode 0711');
    }
  }
  assertReachable(path.join(root, 'home', 'x'), { name: "the servers' accounts", uid: -1, gid: -1, groups: [] }, 'spawner.users_root');
}
