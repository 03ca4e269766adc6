/**
 * The idle culler, built in: what `jupyterhub-idle-culler` does as a service, with the same settings
 * and the same results, without a token, an HTTP round trip per user, or a second process.
 *  - A ready server whose last activity (proxy traffic, the server's own activity reports) is older
 *    than `timeout` is stopped; with `max_age`, one older than that is stopped however busy it is.
 *    A server that never reported activity counts from when it started. Starting or stopping ones are left alone.
 *  - With `cull_users`, a user with no active server left whose own last activity is older than
 *    `timeout` is deleted (admins too unless `cull_admin_users` is off, as the service's default).
 *  - At most `concurrency` stops run at once.
 */
import type { Logger } from 'pino';
import type { ServerWithUser, ServerRepo } from '../db/repos/servers.js';
import type { UserRepo } from '../db/repos/users.js';
import type { UserRow } from '../db/schema.js';
import type { ServerLifecycle } from './server-lifecycle.js';
import { wallClock } from '../clock.js';
import { inBatches } from './batches.js';

export interface CullerSettings {
  enabled: boolean;
  /** Seconds before a stop that the user's pages warn (0: never). */
  warn_before: number;
  /** Seconds of inactivity after which a server is culled. */
  timeout: number;
  /** Seconds between runs; 0 means timeout / 2, as the service. */
  every: number;
  /** Seconds after its start a server is culled even when active; 0: never. */
  max_age: number;
  cull_users: boolean;
  cull_admin_users: boolean;
  /** Named servers culled are also deleted (the service's --remove-named-servers). */
  remove_named_servers: boolean;
  concurrency: number;
}

export type CullReason = 'inactive' | 'max_age';

/** Whether a server is due, and why; the rule the service applies to each server model. */
export function cullReason(server: Pick<ServerWithUser, 'phase' | 'started' | 'last_activity'>, now: number, s: Pick<CullerSettings, 'timeout' | 'max_age'>): CullReason | null {
  if (server.phase !== 'running') return null;
  const started = server.started ? Date.parse(server.started) : NaN;
  const active = server.last_activity ? Date.parse(server.last_activity) : started;
  if (s.max_age > 0 && Number.isFinite(started) && now - started > s.max_age * 1000) return 'max_age';
  if (Number.isFinite(active) && now - active > s.timeout * 1000) return 'inactive';
  return null;
}

/** When the culler will stop a running server, and why. */
export interface CullWarning {
  /** The earliest moment (ms since the epoch) a culler pass stops it; not before now. */
  at: number;
  reason: CullReason;
}

/**
 * The culler's next stop of `server` when it is `warn_before` seconds away or less (its user's pages
 * say so); null when it is further, or the culler is off. Activity (or "keep it running") moves it.
 */
export function cullWarning(
  server: Pick<ServerWithUser, 'phase' | 'started' | 'last_activity'>,
  now: number,
  s: Pick<CullerSettings, 'enabled' | 'timeout' | 'max_age' | 'warn_before'>,
): CullWarning | null {
  if (!s.enabled || s.warn_before <= 0 || server.phase !== 'running') return null;
  const started = server.started ? Date.parse(server.started) : NaN;
  const active = server.last_activity ? Date.parse(server.last_activity) : started;
  const dates: Array<[number, CullReason]> = [];
  if (Number.isFinite(active)) dates.push([active + s.timeout * 1000, 'inactive']);
  if (s.max_age > 0 && Number.isFinite(started)) dates.push([started + s.max_age * 1000, 'max_age']);
  const next = dates.sort((a, b) => a[0] - b[0])[0];
  if (!next || next[0] - now > s.warn_before * 1000) return null;
  return { at: Math.max(next[0], now), reason: next[1] };
}

export interface CullerDeps {
  settings: CullerSettings;
  servers: ServerRepo;
  users: UserRepo;
  lifecycle: ServerLifecycle;
  log: Logger;
  /** Writes the proxy's recent activity to the database first, so a busy server is not culled on stale data. */
  flushActivity(): Promise<void>;
  /** Deletes a user (and what belongs to them), as DELETE /users/{name} does. */
  removeUser(user: UserRow): Promise<void>;
  /** Deletes a named server row after its stop. */
  removeServer(serverId: number): Promise<void>;
  /** Users the culler leaves alone (a warm pool's ready servers wait unused on purpose). */
  skip?(userId: number): boolean;
}

export interface CullCounts {
  servers: number;
  users: number;
}

export class IdleCuller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CullCounts> | null = null;
  /** Totals since start (the metrics read them). */
  readonly totals = { servers: 0, users: 0, runs: 0 };

  constructor(private readonly d: CullerDeps) {}

  get intervalSeconds(): number {
    const s = this.d.settings;
    return s.every > 0 ? s.every : Math.max(1, s.timeout / 2);
  }

  start(): void {
    if (!this.d.settings.enabled) return;
    const tick = () => {
      void this.runOnce()
        .catch((err: unknown) => this.d.log.error({ err: (err as Error).message }, 'culler run failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalSeconds * 1000).unref();
        });
    };
    this.timer = setTimeout(tick, this.intervalSeconds * 1000).unref();
    this.d.log.info({ timeout: this.d.settings.timeout, every: this.intervalSeconds, max_age: this.d.settings.max_age, cull_users: this.d.settings.cull_users }, 'idle culler on');
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One pass over every server and user; overlapping calls share the pass under way. */
  runOnce(now = wallClock.now()): Promise<CullCounts> {
    this.running ??= this.pass(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** A pass that begins after the one under way (if any) ends, so that it sees the clock as it is now. */
  async runFresh(): Promise<CullCounts> {
    await this.running?.catch(() => undefined);
    return this.runOnce();
  }

  private async pass(now: number): Promise<CullCounts> {
    const s = this.d.settings;
    await this.d.flushActivity();
    const due = (await this.d.servers.inPhases(['running']))
      .filter((row) => !this.d.skip?.(row.user_id))
      .map((row) => ({ row, reason: cullReason(row, now, s) }))
      .filter((x): x is { row: ServerWithUser; reason: CullReason } => x.reason !== null);
    let servers = 0;
    await inBatches(due, s.concurrency, async ({ row, reason }) => {
      const user = await this.d.users.byId(row.user_id);
      if (!user) return;
      const idleFor = row.last_activity ? Math.round((now - Date.parse(row.last_activity)) / 1000) : null;
      this.d.log.info({ user: user.name, server: row.name, reason, idle_seconds: idleFor }, reason === 'max_age' ? 'culling server (max age)' : 'culling idle server');
      await this.d.lifecycle.stop(user, row, 'done');
      if (row.name && s.remove_named_servers) await this.d.removeServer(row.id);
      servers++;
    });
    let users = 0;
    if (s.cull_users) {
      for (const user of await this.d.users.inactiveSince(new Date(now - s.timeout * 1000).toISOString())) {
        if ((user.admin === 1 && !s.cull_admin_users) || this.d.skip?.(user.id)) continue;
        const active = (await this.d.servers.forUser(user.id)).some((r) => r.phase !== 'stopped');
        if (active) continue;
        this.d.log.info({ user: user.name }, 'culling idle user');
        await this.d.removeUser(user);
        users++;
      }
    }
    this.totals.servers += servers;
    this.totals.users += users;
    this.totals.runs++;
    return { servers, users };
  }
}
