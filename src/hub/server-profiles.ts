/**
 * Features that decide how particular servers start: a course's server `<slug>` runs the course's
 * environment, in the course's directory, with its resources and content. A source answers for the
 * servers it owns and stays silent (null) for the others, which start as the spawner config says.
 * Spawners never know where a profile came from.
 */
import type { UserRow } from '../db/schema.js';
import type { ResourceLimits } from '../spawners/spawner.js';

export interface ServerProfile {
  /** Who decided (for logs), e.g. `course stats1`. */
  source: string;
  /** The server command instead of spawner.cmd. */
  cmd?: string[];
  /** Environment added to the server's (after the hub's own JUPYTERHUB_* variables, which it cannot replace). */
  env?: Record<string, string>;
  /** JUPYTERHUB_DEFAULT_URL. */
  defaultUrl?: string;
  /** Working directory, for spawners that run servers on the hub's file system. */
  workDir?: string;
  /** The hub's groups the server is in, and its umask, where servers run under their users' uids (SpawnRequest.profile). */
  groups?: string[];
  umask?: number;
  resources?: ResourceLimits & { gpu?: number; storageGb?: number };
  /**
   * Work before the spawner starts the server (e.g. cloning the course content), reporting progress;
   * a throw fails the spawn with its message.
   */
  prepare?(progress: (message: string) => void, signal: AbortSignal): Promise<void>;
  /** Called once the server runs (e.g. to record who started when). */
  onStarted?(): Promise<void>;
}

export interface ServerProfileSource {
  /**
   * The profile of `user`'s server `serverName`, or null when this source does not own that name.
   * Throws HubError (403) when the source owns the name but `user` may not start it now.
   */
  profileFor(user: UserRow, serverName: string): Promise<ServerProfile | null>;
  /** Whether this source owns the server name (owned names exist without allow_named_servers). */
  owns(serverName: string): Promise<boolean>;
}

export class ServerProfiles {
  private readonly sources: ServerProfileSource[] = [];

  add(source: ServerProfileSource): void {
    this.sources.push(source);
  }

  async resolve(user: UserRow, serverName: string): Promise<ServerProfile | null> {
    for (const source of this.sources) {
      const profile = await source.profileFor(user, serverName);
      if (profile) return profile;
    }
    return null;
  }

  async owns(serverName: string): Promise<boolean> {
    if (!serverName) return false;
    for (const source of this.sources) if (await source.owns(serverName)) return true;
    return false;
  }
}
