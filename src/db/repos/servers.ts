/** Server records: one row per (user, server name); the single source of truth for a server's state. */
import type { Kysely } from 'kysely';
import type { Database, ServerPhase, ServerRow, ServerUpdate } from '../schema.js';

export interface ServerWithUser extends ServerRow {
  user_name: string;
}

export class ServerRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** The same repository inside a transaction. */
  within(trx: Kysely<Database>): ServerRepo {
    return new ServerRepo(trx);
  }

  get(userId: number, name: string): Promise<ServerRow | undefined> {
    return this.db.selectFrom('servers').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  }

  byId(id: number): Promise<ServerRow | undefined> {
    return this.db.selectFrom('servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  forUser(userId: number): Promise<ServerRow[]> {
    return this.db.selectFrom('servers').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }

  forUsers(userIds: number[]): Promise<ServerRow[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('servers').selectAll().where('user_id', 'in', userIds).orderBy('name').execute();
  }

  async ensure(userId: number, name: string, spawner: string): Promise<ServerRow> {
    const existing = await this.get(userId, name);
    if (existing) return existing;
    await this.db.insertInto('servers').values({ user_id: userId, name, phase: 'stopped', spawner }).onConflict((oc) => oc.doNothing()).execute();
    return (await this.get(userId, name))!;
  }

  async update(id: number, patch: ServerUpdate): Promise<void> {
    await this.db.updateTable('servers').set(patch).where('id', '=', id).execute();
  }

  /** Atomically moves a server from one of `from` phases to `to`; false when it was not in one of them. */
  async transition(id: number, from: ServerPhase[], to: ServerPhase, patch: ServerUpdate = {}): Promise<boolean> {
    const res = await this.db
      .updateTable('servers')
      .set({ ...patch, phase: to })
      .where('id', '=', id)
      .where('phase', 'in', from)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('servers').where('id', '=', id).execute();
  }

  inPhases(phases: ServerPhase[]): Promise<ServerWithUser[]> {
    return this.db
      .selectFrom('servers')
      .innerJoin('users', 'users.id', 'servers.user_id')
      .selectAll('servers')
      .select('users.name as user_name')
      .where('servers.phase', 'in', phases)
      .execute();
  }

  /** Whether any user has a server of this name. */
  async nameInUse(name: string): Promise<boolean> {
    return (await this.db.selectFrom('servers').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  async countActive(): Promise<number> {
    const row = await this.db
      .selectFrom('servers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('phase', '!=', 'stopped')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async touch(id: number, when: string): Promise<void> {
    await this.db
      .updateTable('servers')
      .set({ last_activity: when })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', when)]))
      .execute();
  }
}
