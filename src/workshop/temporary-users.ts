/**
 * Workshop mode's users: temporary users (authenticator.class tmp) are deleted, with their working
 * directory, as soon as their server stops, whether the visitor stopped it, the culler did or a
 * new visit replaced it (force_new_server). A warm pool keeps `warm_pool` of them with servers
 * already running, so that a visitor is handed a ready server at once.
 */
import type { Logger } from 'pino';
import { isTemporaryName, temporaryName, type TmpVisits } from '../auth/tmp.js';
import type { ServerRepo } from '../db/repos/servers.js';
import type { UserRepo } from '../db/repos/users.js';
import type { UserRow } from '../db/schema.js';
import { HubError } from '../errors.js';
import type { ServerLifecycle } from '../hub/server-lifecycle.js';
import { wallClock } from '../clock.js';

export interface WorkshopDeps {
  users: UserRepo;
  servers: ServerRepo;
  lifecycle: ServerLifecycle;
  log: Logger;
  ensureUser(name: string): Promise<UserRow>;
  /** Deletes the user's working directory (and frees its uid) before the user is deleted. */
  removeUserFiles(user: { id: number; name: string }): Promise<void>;
  /** Pool members to keep ready (0: no pool). */
  poolSize: number;
  /** Seconds after which a pool member nobody took is replaced by a fresh one. */
  poolMaxAge: number;
  spawnerKind: string;
}

interface Member {
  userId: number;
  name: string;
  readyAt: number;
}

const RETRY_MS = 1000;
const START_WAIT_MS = 10 * 60 * 1000;

export class Workshop implements TmpVisits {
  private readonly pool: Member[] = [];
  /** Pool members being started, by user id: not yet ready, not to be deleted when a start fails. */
  private readonly filling = new Set<number>();
  private closed = false;
  private refillTimer: NodeJS.Timeout | null = null;
  private recycleTimer: NodeJS.Timeout | null = null;
  /** Visitors served from the pool and without it (the benchmark and tests read them). */
  readonly counts = { pooled: 0, fresh: 0 };

  constructor(private readonly d: WorkshopDeps) {}

  start(): void {
    if (this.d.poolSize <= 0) return;
    this.refill();
    this.recycleTimer = setInterval(() => void this.recycle(), Math.max(1000, Math.min(this.d.poolMaxAge * 250, 60_000))).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    if (this.recycleTimer) clearInterval(this.recycleTimer);
  }

  /** Is this user waiting in the pool (not to be culled or deleted)? */
  isPooled(userId: number): boolean {
    return this.filling.has(userId) || this.pool.some((m) => m.userId === userId);
  }

  get ready(): number {
    return this.pool.length;
  }

  async nameForVisitor(): Promise<string> {
    for (let member = this.pool.shift(); member; member = this.pool.shift()) {
      this.refill();
      const row = await this.d.servers.get(member.userId, '');
      if (row?.phase === 'running') {
        this.counts.pooled++;
        this.d.log.info({ user: member.name, waited_ms: wallClock.now() - member.readyAt }, 'visitor handed a pooled server');
        return member.name;
      }
      await this.remove(member.userId); // died in the pool: never hand it out
    }
    this.counts.fresh++;
    return temporaryName();
  }

  abandon(name: string): void {
    void (async () => {
      const user = await this.d.users.byName(name);
      if (!user) return;
      // Stopping its server deletes the user (serverStopped); without one, delete it here.
      if ((await this.d.lifecycle.stopUserServers(user)) === 0) await this.remove(user.id);
    })().catch((err: unknown) => this.d.log.warn({ user: name, err: (err as Error).message }, 'could not remove a left temporary user'));
  }

  /** The lifecycle's hook: a temporary user's server stopped, so the user and their files go. */
  async serverStopped(userId: number): Promise<void> {
    if (this.isPooled(userId)) {
      const i = this.pool.findIndex((m) => m.userId === userId);
      if (i >= 0) this.pool.splice(i, 1);
      this.refill();
    }
    const user = await this.d.users.byId(userId);
    if (!user || !isTemporaryName(user.name) || this.filling.has(userId)) return;
    await this.remove(userId);
  }

  private async remove(userId: number): Promise<void> {
    const user = await this.d.users.byId(userId);
    if (!user) return;
    if ((await this.d.servers.forUser(userId)).some((s) => s.phase !== 'stopped')) return;
    // Files first: a uid whose files remain is kept from other users (src/db/repos/unix-ids.ts).
    await this.d.removeUserFiles(user).catch((err: unknown) => this.d.log.warn({ user: user.name, err: (err as Error).message }, "could not delete a temporary user's files; its uid stays reserved"));
    await this.d.users.delete(userId);
    this.d.log.info({ user: user.name }, 'temporary user removed');
  }

  /** Start pool members until `poolSize` are ready or starting; a full spawn limit means: try again soon. */
  private refill(): void {
    if (this.closed) return;
    const missing = this.d.poolSize - this.pool.length - this.filling.size;
    for (let i = 0; i < missing; i++) void this.addMember();
  }

  private async addMember(): Promise<void> {
    const user = await this.d.ensureUser(temporaryName());
    this.filling.add(user.id);
    try {
      const server = await this.d.servers.ensure(user.id, '', this.d.spawnerKind);
      const { status } = await this.d.lifecycle.start(user, server, {}, START_WAIT_MS);
      if (status !== 'ready') throw new Error('the pooled server did not start in time');
      this.filling.delete(user.id);
      if (this.closed) return;
      this.pool.push({ userId: user.id, name: user.name, readyAt: wallClock.now() });
    } catch (err) {
      this.filling.delete(user.id);
      await this.remove(user.id).catch(() => undefined);
      if (this.closed) return;
      const busy = err instanceof HubError && err.status === 429;
      if (!busy) this.d.log.warn({ err: (err as Error).message }, 'could not start a pooled server');
      this.refillTimer ??= setTimeout(() => {
        this.refillTimer = null;
        this.refill();
      }, RETRY_MS).unref();
    }
  }

  /** Pool members nobody took within poolMaxAge are stopped (and so deleted) and replaced. */
  async recycle(): Promise<void> {
    const old = this.pool.filter((m) => wallClock.now() - m.readyAt > this.d.poolMaxAge * 1000);
    for (const member of old) {
      this.pool.splice(this.pool.indexOf(member), 1);
      const user = await this.d.users.byId(member.userId);
      const server = user && (await this.d.servers.get(user.id, ''));
      if (user && server) await this.d.lifecycle.stop(user, server, 'done').catch(() => undefined);
      await this.remove(member.userId).catch(() => undefined);
    }
    if (old.length) {
      this.d.log.info({ recycled: old.length }, 'recycled pooled servers nobody took');
      this.refill();
    }
  }
}
