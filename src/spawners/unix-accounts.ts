/**
 * Unix accounts by name, through the system's name service (`getent`, so that LDAP and SSSD
 * accounts are found as well as /etc/passwd's). Node has no getpwnam; getent is in every libc.
 */
import { execFileSync } from 'node:child_process';
import { SpawnFailure } from './spawner.js';

/** Who a server runs as. */
export interface ServerAccount {
  uid: number;
  gid: number;
  /** Supplementary groups, primary first. */
  groups: number[];
  /** The account's home directory when it has one (run_as system). */
  home: string | null;
}

export interface UnixAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Every group the account is in (primary first), as `initgroups` would set them. */
  groups: number[];
}

const GETENT_TIMEOUT_MS = 10_000;

/** The account named `name`, or undefined when the name service knows none. */
export function lookupAccount(name: string): UnixAccount | undefined {
  // A name getent would read as a number or an option is never an account name here.
  if (!/^[A-Za-z_][A-Za-z0-9._-]*\$?$/.test(name)) return undefined;
  const entry = getent(['passwd', name]);
  if (entry === undefined) return undefined;
  const fields = entry.split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields[0] !== name || !Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) return undefined;
  return { name, uid, gid, home: fields[5] ?? '/', groups: [gid, ...supplementaryGroups(name, gid)] };
}

/** The groups listing `name` as a member, besides its primary group. */
function supplementaryGroups(name: string, primary: number): number[] {
  const out = getent(['initgroups', name]);
  if (out === undefined) return [];
  // "name  gid1 gid2 ..."
  const gids = out.trim().split(/\s+/).slice(1).map(Number);
  return [...new Set(gids.filter((g) => Number.isSafeInteger(g) && g !== primary))];
}

function getent(args: string[]): string | undefined {
  try {
    return execFileSync('getent', args, { encoding: 'utf8', timeout: GETENT_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch (error) {
    // Exit status 2: no such key. Anything else (getent missing, a timeout) is a real failure.
    if ((error as { status?: number }).status === 2) return undefined;
    throw new Error(`getent ${args.join(' ')} failed: ${(error as Error).message}`);
  }
}

/**
 * The Unix account named like the hub user, if it may run a server: it exists and its uid is at
 * least `minUid` (so never root, daemon, postgres or slurm). Shared with the Slurm spawner's sudo path.
 */
export function systemAccount(name: string, minUid: number): ServerAccount {
  const account = lookupAccount(name);
  if (!account) throw new SpawnFailure(`There is no Unix account named ${name} on this host to run the server as`);
  if (account.uid < minUid || isReservedUid(account.uid)) {
    throw new SpawnFailure(
      `The Unix account ${name} (uid ${account.uid}) is a system account: servers run only as accounts with uid ${minUid} or above (spawner.min_uid), outside 60000-65535`,
    );
  }
  return { uid: account.uid, gid: account.gid, groups: account.groups, home: account.home };
}

/**
 * Uids above any min_uid that are still never a person's: 60000-64999, which Debian hands to system
 * packages (slurm is 64030), 65534 (nobody, the kernel's overflow uid) and 65535.
 */
export function isReservedUid(uid: number): boolean {
  return uid >= 60000 && uid <= 65535;
}
