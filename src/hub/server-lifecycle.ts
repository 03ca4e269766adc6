/**
 * Starting, stopping, watching and reattaching user servers. The servers row is the source of
 * truth; this module moves it between phases (stopped → spawning → running → stopping → stopped)
 * with atomic transitions, keeps the route table in step, and feeds the progress stream.
 */
import type { Logger } from 'pino';
import type { HubConfig } from '../config/schema.js';
import type { ServerRow, UserRow } from '../db/schema.js';
import type { ServerRepo } from '../db/repos/servers.js';
import type { TokenRepo } from '../db/repos/tokens.js';
import type { OAuthRepo } from '../db/repos/oauth.js';
import { isoNow } from '../db/time.js';
import { HubError } from '../errors.js';
import type { RouteTable } from '../proxy/route-table.js';
import { buildServerEnv, oauthAccessScopes } from '../spawners/env.js';
import { SpawnFailure, type JsonObject, type LocationReport, type ServerDetail, type ServerUsage, type Spawner, type SpawnerState, type UserOptions } from '../spawners/spawner.js';
import type { UserFileAccess } from '../spawners/user-files.js';
import { waitForHttp } from '../spawners/wait-for-http.js';
import { ProgressBoard, type ProgressChannel } from './progress.js';
import { queueMessage, SpawnQueue, type SpawnSlot } from './spawn-queue.js';
import type { ServerProfile } from './server-profiles.js';
import { HubUrls } from './urls.js';
import { secondsSince, type HubMetrics, type StopStatus } from './metrics.js';

export interface LifecycleDeps {
  config: HubConfig;
  urls: HubUrls;
  servers: ServerRepo;
  tokens: TokenRepo;
  oauth: OAuthRepo;
  spawner: Spawner;
  routes: RouteTable;
  log: Logger;
  /** Runs `work` in one database transaction, with the repositories bound to it. */
  atomically<T>(work: (repos: { servers: ServerRepo; tokens: TokenRepo; oauth: OAuthRepo }) => Promise<T>): Promise<T>;
  /** Scopes of a server's own API token (the `server` role, resolved for this server). */
  serverTokenScopes(userName: string, serverName: string): string[];
  /** The user's group names (cached by the caller; spawners may choose options or profiles by group). */
  userGroups(user: UserRow): Promise<string[]>;
  /** The user's decrypted auth_state (null when auth_state is off or empty). */
  authState(user: UserRow): JsonObject | null;
  /** Environment variables taken from auth_state (authenticator.auth_state_env). */
  authStateEnv(state: JsonObject | null): Record<string, string>;
  /** Told after a server stopped (by anyone, for any reason, a failed start included), e.g. to delete a temporary user. */
  onStopped?(userId: number, serverName: string): Promise<void>;
  /** JupyterHub's spawn, stop and poll histograms (absent in tests that build a lifecycle alone). */
  metrics?: HubMetrics;
}

export interface StartOutcome {
  /** 'ready' when the server was up within the wait; 'pending' when it is still starting. */
  status: 'ready' | 'pending';
}

/** How long API calls wait for a spawn or stop before answering 202, as JupyterHub's slow_spawn_timeout. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const SLOW_WAIT_MS = 10_000;

/** Rolls back claimForSpawn's transaction: the server was not stopped. */
class NotStopped extends Error {}

function logName(userName: string, serverName: string): string {
  return serverName ? `${userName}:${serverName}` : userName;
}

export class ServerLifecycle {
  readonly progress = new ProgressBoard();
  /** concurrent_spawn_limit: the spawns beyond it wait here, in order. */
  readonly queue: SpawnQueue;
  /** Set by shutdown(): polls stop, so that servers the hub stops itself are not reported as failed. */
  private shuttingDown = false;
  private stopping = new Map<number, Promise<void>>();
  private spawnAborts = new Map<number, AbortController>();
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: LifecycleDeps) {
    this.queue = new SpawnQueue(() => d.config.concurrent_spawn_limit);
  }

  get spawnerKind(): string {
    return this.d.spawner.kind;
  }

  async optionsForm(user: UserRow, groups: string[], values?: JsonObject): Promise<string | undefined> {
    return this.d.spawner.optionsForm?.({ id: user.id, name: user.name, admin: user.admin === 1, groups }, values);
  }

  /** The server's path prefix (/user/alice/), what the server serves under. */
  routePrefix(userName: string, serverName: string): string {
    return this.d.urls.userServer(userName, serverName);
  }

  /** The proxy's key for the server: its prefix, with its user's host in front under subdomain_host. */
  private routeKey(userName: string, serverName: string): string {
    return this.d.urls.userRouteKey(userName, serverName);
  }

  /**
   * Starts a server (the row must exist and belong to `user`). Resolves once the server is ready or
   * SLOW_WAIT_MS passed; throws HubError for a server already running/pending or over a limit,
   * and for a spawn that failed within the wait.
   */
  async start(user: UserRow, server: ServerRow, userOptions: UserOptions, waitMs = SLOW_WAIT_MS, profile: ServerProfile | null = null): Promise<StartOutcome> {
    const name = logName(user.name, server.name);
    const { config } = this.d;
    const began = performance.now();
    if (config.active_server_limit > 0 && (await this.d.servers.countActive()) >= config.active_server_limit) {
      this.d.metrics?.spawn('too-many-users', secondsSince(began));
      throw new HubError(429, 'Active user limit exceeded. Try again in a few minutes.', { 'Retry-After': '60' });
    }
    const claimed = await this.claimForSpawn(user, server, userOptions);
    if (!claimed) {
      const now = await this.d.servers.byId(server.id);
      if (now?.phase === 'spawning') {
        this.d.metrics?.spawn('already-pending', secondsSince(began));
        return { status: 'pending' };
      }
      if (now?.phase === 'running') throw new HubError(400, `${name} is already running`);
      throw new HubError(400, `${name} is pending ${now?.phase === 'stopping' ? 'stop' : 'spawn'}`);
    }
    const channel = this.progress.open(server.id);
    const spawnDone = this.runSpawn(user, server, userOptions, channel, profile, claimed).then((outcome) => {
      this.d.metrics?.spawn(outcome.ready ? 'success' : 'failure', secondsSince(began));
      return outcome;
    });
    const finished = await within(spawnDone, waitMs);
    if (finished === null) return { status: 'pending' };
    if (!finished.value.ready) throw new HubError(500, finished.value.message);
    return { status: 'ready' };
  }

  /**
   * Moves a stopped server to spawning, with its new API token and its OAuth client, in one
   * transaction: all of it or none. Null when the server was not stopped (nothing is written then).
   */
  private async claimForSpawn(user: UserRow, server: ServerRow, userOptions: UserOptions): Promise<{ token: string; tokenId: number } | null> {
    const prefix = this.routePrefix(user.name, server.name);
    try {
      return await this.d.atomically(async ({ tokens, servers, oauth }) => {
        const created = await tokens.create({
          owner: { userId: user.id },
          kind: 'server',
          note: `Server at ${prefix}`,
          scopes: this.d.serverTokenScopes(user.name, server.name),
        });
        const moved = await servers.transition(server.id, ['stopped'], 'spawning', {
          failure: null,
          user_options: JSON.stringify(userOptions),
          spawner: this.d.spawner.kind,
          started: isoNow(),
          target: null,
          api_token_id: created.row.id,
        });
        if (!moved) throw new NotStopped();
        await oauth.upsertClient({
          id: HubUrls.serverClientId(user.name, server.name),
          description: `Server at ${prefix}`,
          secret: created.token,
          // Absolute on the user's own origin under subdomain_host, as JUPYTERHUB_OAUTH_CALLBACK_URL.
          redirectUri: `${this.d.urls.userServerUrl(user.name, server.name)}oauth_callback`,
          allowedScopes: oauthAccessScopes(user.name, server.name),
        });
        return { token: created.token, tokenId: created.row.id };
      });
    } catch (err) {
      if (err instanceof NotStopped) return null;
      throw err;
    }
  }

  private async runSpawn(
    user: UserRow,
    server: ServerRow,
    userOptions: UserOptions,
    channel: ProgressChannel,
    profile: ServerProfile | null,
    claimed: { token: string; tokenId: number },
  ): Promise<{ ready: true } | { ready: false; message: string }> {
    const { config, log } = this.d;
    const name = logName(user.name, server.name);
    const prefix = this.routePrefix(user.name, server.name);
    const abort = new AbortController();
    this.spawnAborts.set(server.id, abort);
    let timeout: NodeJS.Timeout | undefined;
    let slot: SpawnSlot | undefined;
    let state: SpawnerState = {};
    const { token, tokenId } = claimed;
    try {
      channel.push({ progress: 0, message: 'Server requested' });
      // Beyond concurrent_spawn_limit, wait for a turn (told the place); start_timeout counts from the turn.
      let queued = false;
      slot = await this.queue.enter((place) => {
        queued = true;
        channel.pushStatus({ progress: 0, message: queueMessage(place) }, 'queue');
      }, abort.signal);
      if (queued) {
        channel.push({ progress: 0, message: 'Your turn: starting your server' });
        await this.d.servers.update(server.id, { started: isoNow() });
      }
      timeout = setTimeout(() => abort.abort(new Error(`Server didn't start within ${config.spawner.start_timeout} seconds`)), config.spawner.start_timeout * 1000);
      const authState = this.d.authState(user);
      const resources = { memLimit: profile?.resources?.memLimit ?? config.spawner.mem_limit, cpuLimit: profile?.resources?.cpuLimit ?? config.spawner.cpu_limit };
      const spawnerConfig = { ...config.spawner, ...(profile?.workDir ? { notebook_dir: undefined } : {}), default_url: profile?.defaultUrl ?? config.spawner.default_url, mem_limit: resources.memLimit, cpu_limit: resources.cpuLimit };
      const env = {
        ...buildServerEnv({ config: spawnerConfig, urls: this.d.urls, userName: user.name, serverName: server.name, apiToken: token, admin: user.admin === 1, rootDir: profile?.workDir }),
        ...Object.fromEntries(Object.entries(profile?.env ?? {}).filter(([k]) => !k.startsWith('JUPYTERHUB_'))),
        ...this.d.authStateEnv(authState),
      };
      if (profile?.prepare) {
        await profile.prepare((message) => channel.push({ progress: 5, message }), abort.signal);
        abort.signal.throwIfAborted();
      }
      const previousState = JSON.parse(server.spawner_state) as SpawnerState;
      const result = await this.d.spawner.start(
        {
          user: { id: user.id, name: user.name, admin: user.admin === 1, groups: await this.d.userGroups(user) },
          serverName: server.name,
          env,
          servicePrefix: prefix,
          userOptions,
          resources,
          previousState,
          authState,
          ...(profile ? { profile: { cmd: profile.cmd, workDir: profile.workDir, groups: profile.groups, umask: profile.umask } } : {}),
        },
        {
          progress: (e) => channel.push(e),
          saveState: async (s) => {
            state = s;
            await this.d.servers.update(server.id, { spawner_state: JSON.stringify(s) });
          },
        },
        abort.signal,
      );
      state = result.state;
      if (!result.answering) await this.waitForHttp(result.target, prefix, abort.signal);
      const moved = await this.d.servers.transition(server.id, ['spawning'], 'running', {
        target: result.target,
        spawner_state: JSON.stringify(state),
        started: isoNow(),
        last_activity: isoNow(),
      });
      if (!moved) throw new Error('the spawn was cancelled');
      this.addRoute(user, server.id, server.name, result.target);
      log.info({ server: name, target: result.target, ...(profile ? { profile: profile.source } : {}) }, 'server ready');
      await profile?.onStarted?.().catch((err: unknown) => log.warn({ server: name, err: (err as Error).message }, 'after-start step failed'));
      const outcome = { ready: true } as const;
      channel.finish(outcome);
      return outcome;
    } catch (err) {
      const message =
        err instanceof SpawnFailure || !(abort.signal.aborted && abort.signal.reason instanceof Error) ? (err as Error).message : abort.signal.reason.message;
      log.warn({ server: name, err: message }, 'spawn failed');
      try {
        await this.d.spawner.stop(state, { graceSeconds: config.spawner.stop_timeout });
      } catch (stopErr) {
        log.error({ server: name, err: (stopErr as Error).message }, 'cleanup after failed spawn failed');
      }
      await this.d.tokens.delete(tokenId);
      this.d.routes.remove(this.routeKey(user.name, server.name));
      await this.d.servers.update(server.id, { phase: 'stopped', target: null, failure: message, api_token_id: null, spawner_state: JSON.stringify(state) });
      await this.d.onStopped?.(user.id, server.name).catch((hookErr: unknown) => log.warn({ server: name, err: (hookErr as Error).message }, 'after-stop step failed'));
      const outcome = { ready: false, message } as const;
      channel.finish(outcome);
      return outcome;
    } finally {
      clearTimeout(timeout);
      slot?.release();
      this.spawnAborts.delete(server.id);
      // Keep the finished channel briefly so late subscribers see the ending; the row has it after that.
      setTimeout(() => this.progress.close(server.id, channel), 30_000).unref();
    }
  }

  private addRoute(user: Pick<UserRow, 'id' | 'name'>, serverId: number, serverName: string, target: string): void {
    this.d.routes.add(this.routeKey(user.name, serverName), {
      target,
      kind: 'user',
      id: serverId,
      userId: user.id,
      data: { user: user.name, server_name: serverName },
    });
  }

  /** For spawners that do not wait themselves: any HTTP answer below 500 at the server's prefix means it is up (a 302 to login is fine). */
  private async waitForHttp(origin: string, prefix: string, signal: AbortSignal): Promise<void> {
    const seconds = this.d.config.spawner.http_timeout;
    const timeout = AbortSignal.timeout(seconds * 1000);
    try {
      await waitForHttp(origin, prefix, AbortSignal.any([signal, timeout]));
    } catch (err) {
      signal.throwIfAborted();
      if (timeout.aborted) throw new Error(`Server at ${origin}${prefix} didn't respond in ${seconds} seconds`);
      throw err;
    }
  }

  /**
   * Stops a server. Resolves 'stopped' when done within `waitMs` ('done': however long it takes),
   * 'pending' otherwise. A spawn under way is cancelled.
   */
  async stop(user: UserRow, server: ServerRow, waitMs: number | 'done' = SLOW_WAIT_MS): Promise<'stopped' | 'pending'> {
    const existing = this.stopping.get(server.id);
    if (existing) return (await within(existing, waitMs)) ? 'stopped' : 'pending';
    const moved = await this.d.servers.transition(server.id, ['running'], 'stopping');
    if (!moved) {
      const now = await this.d.servers.byId(server.id);
      if (now?.phase === 'spawning') {
        this.spawnAborts.get(server.id)?.abort(new Error('Spawn cancelled'));
        return 'pending';
      }
      return 'stopped';
    }
    const done = this.runStop(user, server.id).finally(() => this.stopping.delete(server.id));
    this.stopping.set(server.id, done);
    return (await within(done, waitMs)) ? 'stopped' : 'pending';
  }

  /** Stops the server and marks it stopped; `failure` (why it died) goes into the same write, so nobody sees it stopped without the reason. */
  private async runStop(user: Pick<UserRow, 'name'>, serverId: number, failure?: string): Promise<void> {
    const began = performance.now();
    const row = await this.d.servers.byId(serverId);
    if (!row) return;
    let stopped: StopStatus = 'success';
    const name = logName(user.name, row.name);
    this.d.routes.remove(this.routeKey(user.name, row.name));
    // The finished spawn's events no longer describe the server: its progress now tells how it ended.
    const channel = this.progress.get(serverId);
    if (channel) this.progress.close(serverId, channel);
    try {
      await this.d.spawner.stop(JSON.parse(row.spawner_state) as SpawnerState, { graceSeconds: this.d.config.spawner.stop_timeout });
    } catch (err) {
      stopped = 'failure';
      this.d.log.error({ server: name, err: (err as Error).message }, 'stopping server failed');
    }
    this.d.metrics?.stop(stopped, secondsSince(began));
    if (row.api_token_id !== null) await this.d.tokens.delete(row.api_token_id);
    await this.d.servers.update(serverId, { phase: 'stopped', target: null, api_token_id: null, ...(failure === undefined ? {} : { failure }) });
    this.d.log.info({ server: name }, 'server stopped');
    await this.d.onStopped?.(row.user_id, row.name).catch((err: unknown) => this.d.log.warn({ server: name, err: (err as Error).message }, 'after-stop step failed'));
  }

  /** Stops every running server of `user` and waits until they are gone (deleting a user); returns how many. */
  async stopUserServers(user: UserRow): Promise<number> {
    const running = (await this.d.servers.forUser(user.id)).filter((s) => s.phase === 'running');
    for (const s of running) await this.stop(user, s, 'done');
    return running.length;
  }

  /** Waits for a stop under way (tests, shutdown). */
  async settled(serverId: number): Promise<void> {
    await this.stopping.get(serverId);
    const ch = this.progress.get(serverId);
    if (ch) await ch.done;
  }

  /** At start: rebuild routes from the database, reattaching to servers that still run. */
  async reattach(): Promise<{ reattached: number; lost: number }> {
    const rows = await this.d.servers.inPhases(['running', 'spawning', 'stopping']);
    let reattached = 0;
    let lost = 0;
    await Promise.all(
      rows.map(async (row) => {
        const state = JSON.parse(row.spawner_state) as SpawnerState;
        if (row.phase === 'running' && row.target) {
          // A poll that fails (a batch system's controller briefly away) is no proof of death: keep the
          // route, and let the periodic poll decide once it answers again.
          const polled = await this.d.spawner.poll(state).catch((err: unknown) => {
            this.d.log.warn({ server: logName(row.user_name, row.name), err: (err as Error).message }, 'could not check a server at start; keeping it');
            return { running: true as const };
          });
          if (polled.running) {
            this.addRoute({ id: row.user_id, name: row.user_name }, row.id, row.name, row.target);
            reattached++;
            return;
          }
        }
        // A spawn or stop interrupted by the restart, or a server that died meanwhile: make sure it is gone.
        lost++;
        await this.d.spawner.stop(state, { graceSeconds: this.d.config.spawner.stop_timeout }).catch(() => undefined);
        if (row.api_token_id !== null) await this.d.tokens.delete(row.api_token_id);
        await this.d.servers.update(row.id, {
          phase: 'stopped',
          target: null,
          api_token_id: null,
          failure: row.phase === 'spawning' ? 'The hub restarted while the server was starting' : row.failure,
        });
      }),
    );
    if (this.d.spawner.reconcile) {
      const known = (await this.d.servers.inPhases(['running'])).map((r) => JSON.parse(r.spawner_state) as SpawnerState);
      await this.d.spawner.reconcile(known).catch((err: unknown) => this.d.log.error({ err: (err as Error).message }, 'looking for orphaned servers failed'));
    }
    return { reattached, lost };
  }

  /** Periodically checks running servers; a server that died loses its route and is marked stopped. */
  startPolling(): void {
    // A server that exits is noticed at once; exits close together share one poll.
    let pollQueued = false;
    this.d.spawner.onServerExit?.(() => {
      // At shutdown the hub stops its servers itself: their exits are no surprise.
      if (pollQueued || this.shuttingDown) return;
      pollQueued = true;
      setImmediate(() => {
        pollQueued = false;
        void this.pollOnce().catch((err: unknown) => this.d.log.error({ err: (err as Error).message }, 'server poll failed'));
      });
    });
    const every = this.d.config.spawner.poll_interval * 1000;
    if (every <= 0) return;
    const tick = async (): Promise<void> => {
      try {
        await this.pollOnce();
      } catch (err) {
        this.d.log.error({ err: (err as Error).message }, 'server poll failed');
      }
      this.pollTimer = setTimeout(() => void tick(), every);
      this.pollTimer.unref();
    };
    this.pollTimer = setTimeout(() => void tick(), every);
    this.pollTimer.unref();
  }

  async pollOnce(): Promise<void> {
    if (this.shuttingDown) return;
    const rows = await this.d.servers.inPhases(['running']);
    await Promise.all(
      rows.map(async (row) => {
        const polled = await this.timedPoll(row);
        if (polled.running) return;
        // Only act if it is still 'running' (not stopped by someone else meanwhile).
        if (!(await this.d.servers.transition(row.id, ['running'], 'stopping'))) return;
        const code = polled.exitCode !== undefined && polled.exitCode !== null ? ` with exit code ${polled.exitCode}` : '';
        const detail = polled.message ? `${code}: ${polled.message}` : code;
        this.d.log.warn({ server: logName(row.user_name, row.name) }, `server stopped unexpectedly${detail}`);
        await this.runStop({ name: row.user_name }, row.id, polled.failure ?? `Server stopped unexpectedly${detail}`);
      }),
    );
  }

  /** The spawner's poll of one running server, into JupyterHub's poll histogram. */
  private async timedPoll(row: ServerRow): Promise<Awaited<ReturnType<Spawner['poll']>>> {
    const began = performance.now();
    const polled = await this.d.spawner.poll(JSON.parse(row.spawner_state) as SpawnerState);
    this.d.metrics?.poll(polled.running ? 'running' : 'stopped', secondsSince(began));
    return polled;
  }

  /** Checks one server right now (used before answering "already running"). */
  async pollServer(row: ServerRow, userName: string): Promise<boolean> {
    if (row.phase !== 'running') return false;
    const polled = await this.timedPoll(row);
    if (polled.running) return true;
    if (await this.d.servers.transition(row.id, ['running'], 'stopping')) {
      await this.runStop({ name: userName }, row.id, polled.message ? (polled.failure ?? `Server stopped unexpectedly: ${polled.message}`) : undefined);
    }
    return false;
  }

  /**
   * Hub shutdown: stop polling; stop every server when `stopServers` (default: cleanup_servers),
   * else leave them running for reattach.
   */
  async shutdown(stopServers = this.d.config.cleanup_servers): Promise<void> {
    this.shuttingDown = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const c of this.spawnAborts.values()) c.abort(new Error('The hub is shutting down'));
    const pendingSpawns = [...this.spawnAborts.keys()].map((id) => this.progress.get(id)?.done);
    await Promise.all(pendingSpawns);
    if (stopServers) {
      const rows = await this.d.servers.inPhases(['running', 'stopping']);
      await Promise.all(rows.map((r) => this.stopping.get(r.id) ?? this.runStop({ name: r.user_name }, r.id)));
    }
    await Promise.all(this.stopping.values());
    await this.d.spawner.close?.();
  }

  /** A server inside a batch job reports where it listens; false when no start waits for it. */
  acceptReport(report: LocationReport): boolean {
    return this.d.spawner.acceptReport?.(report) ?? false;
  }

  /**
   * A running server's root directory on this host and its files as its user (content links), or
   * null when its files are elsewhere.
   */
  async localFiles(user: { id: number; name: string }, row: ServerRow): Promise<{ root: string; files: UserFileAccess } | null> {
    const root = this.d.spawner.localRoot?.(JSON.parse(row.spawner_state) as SpawnerState) ?? null;
    const userFiles = this.d.spawner.userFiles;
    if (!root || !userFiles) return null;
    return { root, files: await userFiles.forUser(user, { home: root }) };
  }

  /** What the spawner tells about a server (job id, resources, time left); empty for spawners with nothing to add. */
  details(row: ServerRow): ServerDetail[] {
    if (!this.d.spawner.describe || row.phase === 'stopped') return [];
    return this.d.spawner.describe(JSON.parse(row.spawner_state) as SpawnerState);
  }

  /** A running server's memory and CPU use, where the spawner knows it. */
  async usage(row: ServerRow): Promise<ServerUsage | null> {
    if (!this.d.spawner.usage || row.phase !== 'running') return null;
    return this.d.spawner.usage(JSON.parse(row.spawner_state) as SpawnerState);
  }

  /** For spawner options: JSON body of the API or form data. */
  async parseOptions(input: JsonObject, user: UserRow, groups: string[]): Promise<UserOptions> {
    if (!this.d.spawner.parseOptions) return input;
    return this.d.spawner.parseOptions(input, { id: user.id, name: user.name, admin: user.admin === 1, groups });
  }
}

/** `work`'s result if it settles within `waitMs` ('done': however long it takes), else null. */
async function within<T>(work: Promise<T>, waitMs: number | 'done'): Promise<{ value: T } | null> {
  if (waitMs === 'done') return { value: await work };
  // A plain timer: an AbortController's abort() builds a DOMException with a stack on every call,
  // which showed up in spawn-storm profiles.
  let timer: NodeJS.Timeout | undefined;
  // Node fires timers longer than 2^31-1 ms at once, hence the cap.
  const wait = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.min(waitMs, MAX_TIMER_MS));
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), wait]);
  } finally {
    clearTimeout(timer);
  }
}
