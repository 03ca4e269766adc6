/**
 * The one interface every place-to-run-servers implements (local processes, Slurm jobs,
 * Kubernetes pods). A Spawner object holds no per-server state: everything it needs to
 * find a server again is the JSON `state` it returns, which the hub keeps in the database
 * (the `servers.spawner_state` column). That is what lets a restarted hub reattach, and
 * what lets a batch spawner whose start is a queued job save the job id before it waits.
 */
import type { ResourceLimits } from './resources.js';
import type { UserFiles } from './user-files.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Per-server persisted spawner state (pid, port, job id, pod name...). */
export type SpawnerState = JsonObject;

/** User options chosen in the options form or sent as the JSON body of `POST /users/{name}/server`. */
export type UserOptions = JsonObject;

/** One event of the spawn progress stream (`GET /hub/api/users/{name}/server/progress`). */
export interface ProgressEvent {
  /** 0..100 */
  progress: number;
  message: string;
  html_message?: string;
}

export type { ResourceLimits } from './resources.js';

/** Everything a spawner needs to start one server. Built by the hub; the spawner must not reach into the database. */
export interface SpawnRequest {
  user: { id: number; name: string; admin: boolean; groups: string[] };
  /** '' for the default server. */
  serverName: string;
  /** Environment the server must get: every JUPYTERHUB_* variable, the admin's `environment`, and nothing secret in logs. */
  env: Record<string, string>;
  /** The path prefix the server serves under, e.g. `/user/alice/` (`JUPYTERHUB_SERVICE_PREFIX`). */
  servicePrefix: string;
  userOptions: UserOptions;
  /** Resource limits for this server (from the config; a spawner with an options form may narrow them from userOptions). */
  resources: ResourceLimits;
  /** State left from a previous run of this server (may be `{}`); spawners that keep e.g. a volume name reuse it. */
  previousState: SpawnerState;
  /** The user's decrypted auth_state (e.g. per-user credentials a spawner needs); null when auth_state is off. */
  authState: JsonObject | null;
  /** Set by a feature that owns this server (e.g. a course): the command and working directory to use instead of the config's. */
  profile?: ProfileRun;
}

/** How a feature that owns a server (a course) wants it run. */
export interface ProfileRun {
  cmd?: string[];
  workDir?: string;
  /**
   * The hub's groups (UserFiles.groupDirectory) whose gids the server gets besides its user's own,
   * and its umask (default 0o077), where servers run under their users' own uids: a course's
   * teachers share the course's shared folder this way. Others ignore both.
   */
  groups?: string[];
  umask?: number;
}

/** What a spawner reports while it starts; the hub forwards events to the progress stream and persists state at once. */
export interface SpawnReporter {
  progress(event: ProgressEvent): void;
  /**
   * Persist state before `start` resolves (e.g. the pid right after fork, the job id right after sbatch),
   * so that a hub that dies mid-spawn can still find and stop what was started.
   */
  saveState(state: SpawnerState): Promise<void>;
}

export interface StartResult {
  /** Where the proxy sends this server's traffic: scheme, host and port, e.g. `http://127.0.0.1:53211`. The path prefix is kept as requested. */
  target: string;
  state: SpawnerState;
  /** True when the spawner itself saw the server answer HTTP at its prefix; else the hub waits for that (http_timeout). */
  answering?: boolean;
}

export type PollResult =
  | { running: true }
  | {
      running: false;
      exitCode?: number | null;
      message?: string;
      /** A sentence that explains the stop by itself (e.g. the memory limit), shown instead of "Server stopped unexpectedly…". */
      failure?: string;
    };

/**
 * A start that failed for a reason the user should read as it is (sbatch's refusal, a job that stayed
 * queued past start_timeout): the hub shows this message even when the start was aborted.
 */
export class SpawnFailure extends Error {
  override readonly name = 'SpawnFailure';
}

/** Where a server inside a batch job listens, as its start-up wrapper reports it (`POST /hub/api/batchspawner`). */
export interface LocationReport {
  userName: string;
  serverName: string;
  port: number;
}

/** One line of what the home page and the server model show about a running server (e.g. its job id). */
export interface ServerDetail {
  label: string;
  value: string;
}

/** A running server's use of memory and CPU, where the spawner can read it (the cgroup's counters). */
export interface ServerUsage {
  memoryBytes: number;
  /** null: no limit. */
  memoryLimitBytes: number | null;
  /** CPU time used since the server started; null where the machine does not count it. */
  cpuSeconds: number | null;
}

export interface StopOptions {
  /** Seconds to wait after the polite signal before forcing. */
  graceSeconds: number;
}

export interface Spawner {
  /** The config `class` name, e.g. `local-process`. */
  readonly kind: string;
  /**
   * Start the server and resolve once it is reachable at `target` (the hub then also checks it answers HTTP).
   * `signal` aborts when the hub gives up (start_timeout, user cancelled, shutdown): clean up whatever was started.
   */
  start(request: SpawnRequest, reporter: SpawnReporter, signal: AbortSignal): Promise<StartResult>;
  /** Is the server described by `state` still alive? Must be cheap: the hub polls every server periodically. */
  poll(state: SpawnerState): Promise<PollResult>;
  /** Stop the server described by `state`; resolve when it is gone. Idempotent. */
  stop(state: SpawnerState, options: StopOptions): Promise<void>;
  /** HTML of the options form for `/hub/spawn`, or undefined when the spawner has no options; `values` refills it after a refusal. */
  optionsForm?(user: SpawnRequest['user'], values?: JsonObject): Promise<string | undefined>;
  /** Turn form fields or API JSON into validated user options; throw HubError(400) naming the field on bad input. */
  parseOptions?(input: JsonObject, user: SpawnRequest['user']): Promise<UserOptions>;
  /** A server inside a job reports its port; false when no start of that server waits for one. */
  acceptReport?(report: LocationReport): boolean;
  /** What to show about the server described by `state` (job id, partition, resources, time left). */
  describe?(state: SpawnerState): ServerDetail[];
  /**
   * Called once at hub start, after reattaching, with the states of every server the hub still knows:
   * anything this spawner started that is not among them (an orphan) must be stopped.
   */
  reconcile?(known: SpawnerState[]): Promise<void>;
  /**
   * Delete what this spawner keeps on disk for a user who is being deleted with its files (a
   * temporary user): its working directory and whatever the states of its stopped servers name
   * (an ephemeral run's directory a failed stop left), and with them the claim on the user's uid.
   * Rejects when something could not be deleted: the uid then stays reserved.
   */
  removeUserFiles?(user: { id: number; name: string }, states: SpawnerState[]): Promise<void>;
  /** The running server's memory and CPU use; null when this server's are not known. */
  usage?(state: SpawnerState): Promise<ServerUsage | null>;
  /** The server's root directory on the hub host (where content links clone), or null when it is elsewhere. */
  localRoot?(state: SpawnerState): string | null;
  /**
   * How the hub works in users' files on the hub host (a course's content and archives, content
   * links): as each user's own uid when servers run under them (src/spawners/user-files.ts).
   * Absent: the spawner's servers keep no files on this host.
   */
  readonly userFiles?: UserFiles;
  /** Called when a server of this spawner exits, so that the hub polls at once instead of at its next poll_interval. */
  onServerExit?(listener: () => void): void;
  /** Hub shutdown: stop timers, close connections. */
  close?(): Promise<void>;
}
