/**
 * What the local-process spawner needs to run servers under their users' own uids: the privileged
 * launcher (launcher/), seen through the few operations it uses, who runs each server, and where
 * their directories may be. Without it (run_as: hub) servers are the hub's own children.
 */
import type { AccountSource } from './accounts.js';
import type { Launcher } from './launcher/client.js';

export type { LaunchRequest, LaunchedServer, ListedServer, ServerExit, ServerLimits } from './launcher/client.js';

/** The launcher's operations the spawner uses. */
export type ServerLauncher = Pick<Launcher, 'launch' | 'signal' | 'killCgroup' | 'list' | 'mkdir' | 'remove' | 'onExit' | 'stats'>;

export interface Isolation {
  launcher: ServerLauncher;
  accounts: AccountSource;
  /** Every server's working directory lies below it (home/, courses/, ephemeral/). */
  usersRoot: string;
  pidsLimit: number;
}
