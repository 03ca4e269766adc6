/**
 * Whose Unix account runs a user's server (spawner.run_as):
 *   dynamic  a uid of its own per hub user, from spawner.uid_range, kept in the database; its gid is
 *            the same number and no /etc/passwd entry exists (the server gets HOME, USER, LOGNAME);
 *   system   the Unix account of the user's name, refused when missing or below spawner.min_uid.
 * (`hub`, the hub's own account, needs no launcher and is handled by the spawner itself.)
 */
import type { UnixIdRepo } from '../../db/repos/unix-ids.js';
import { systemAccount, type ServerAccount } from '../unix-accounts.js';

export type { ServerAccount };

export interface AccountSource {
  readonly kind: 'dynamic' | 'system';
  accountFor(user: { id: number; name: string }): Promise<ServerAccount>;
  /** The account the user's servers have run as, or null when it has none yet (dynamic: no uid recorded); gives none out. */
  recorded(user: { id: number; name: string }): Promise<ServerAccount | null>;
  /** The uid ranges the launcher may start servers under. */
  uidRanges(): [number, number][];
  /** The user's files are gone and the user is being deleted: its uid may go to someone else. */
  forget(user: { id: number }): Promise<void>;
  /** The gid of the hub's group `name` (a course's teachers or members), from spawner.uid_range, recorded. */
  groupId(name: string): Promise<number>;
}

/** The highest uid a launcher may be asked for (4294967295 is (uid_t)-1). */
const MAX_UID = 4294967294;

export class DynamicAccounts implements AccountSource {
  readonly kind = 'dynamic';
  constructor(
    private readonly ids: UnixIdRepo,
    private readonly range: [number, number],
  ) {}

  async accountFor(user: { id: number; name: string }): Promise<ServerAccount> {
    return dynamicAccount(await this.ids.uidFor(user));
  }

  async recorded(user: { id: number }): Promise<ServerAccount | null> {
    const uid = await this.ids.find(user.id);
    return uid === undefined ? null : dynamicAccount(uid);
  }

  uidRanges(): [number, number][] {
    return [this.range];
  }

  forget(user: { id: number }): Promise<void> {
    return this.ids.forgetUser(user.id);
  }

  groupId(name: string): Promise<number> {
    return this.ids.groupId(name);
  }
}

/** A dynamic uid's account: its gid is the same number, and it has no home of its own. */
function dynamicAccount(uid: number): ServerAccount {
  return { uid, gid: uid, groups: [uid], home: null };
}

export class SystemAccounts implements AccountSource {
  readonly kind = 'system';
  constructor(
    private readonly minUid: number,
    /** spawner.uid_range, for the hub's own groups only: it must hold no account of the system's. */
    private readonly ids: UnixIdRepo,
  ) {}

  groupId(name: string): Promise<number> {
    return this.ids.groupId(name);
  }

  async accountFor(user: { id: number; name: string }): Promise<ServerAccount> {
    return systemAccount(user.name, this.minUid);
  }

  async recorded(user: { id: number; name: string }): Promise<ServerAccount | null> {
    return this.accountFor(user).catch(() => null);
  }

  uidRanges(): [number, number][] {
    return [[this.minUid, MAX_UID]];
  }

  async forget(): Promise<void> {
    // A system account's uid is the system's to give.
  }
}
