/** Users and their group memberships. */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, UserRow } from '../schema.js';
import { isoNow } from '../time.js';
import type { AuthGeneration } from './generation.js';
import { namesById } from './collect.js';

/** JupyterHub 5's sort keys of GET /users, and Ganymede's `running` (users with a server first). */
export const USER_SORT_KEYS = ['id', 'name', 'last_activity', 'running'] as const;
export type UserSortKey = (typeof USER_SORT_KEYS)[number];

export interface UserListQuery {
  offset: number;
  limit: number;
  /** Part of the name, any case (JupyterHub 5's name_filter). */
  nameFilter?: string;
  /** Order (default id ascending); JupyterHub's nulls rule: first when ascending, last when descending. */
  sort?: { key: UserSortKey; descending: boolean };
  /** Only admins (true) or only non-admins (false). */
  admin?: boolean;
  /** Only members of this group. */
  group?: string;
  /** 'active': has a server starting/running/stopping; 'ready': has a running server; 'inactive': neither. */
  state?: 'active' | 'ready' | 'inactive';
  /** Restrict to these names (from a filtered scope); undefined = all. */
  names?: Set<string>;
  groupIds?: number[];
}

export class UserRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  byName(name: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  byId(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Creates the user with an empty default server record; returns the existing user if the name is taken. */
  async create(name: string, admin: boolean, spawnerKind: string): Promise<UserRow> {
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      if (existing) return existing;
      const row = await tx
        .insertInto('users')
        .values({ name, admin: admin ? 1 : 0, created: isoNow(), last_activity: null, cookie_id: randomUUID(), auth_state: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      await tx.insertInto('servers').values({ user_id: row.id, name: '', phase: 'stopped', spawner: spawnerKind }).execute();
      if (admin) this.generation.bump();
      return row;
    });
  }

  /** Creates many users in one transaction with a few multi-row statements; names that exist are skipped. Returns the created rows. */
  async createMany(names: string[], admin: boolean, spawnerKind: string): Promise<UserRow[]> {
    if (names.length === 0) return [];
    return this.db.transaction().execute(async (tx) => {
      const created: UserRow[] = [];
      const now = isoNow();
      // SQLite allows 32766 bound parameters; 200 rows × 6 columns stays far below.
      for (let i = 0; i < names.length; i += 200) {
        const chunk = names.slice(i, i + 200);
        const existing = new Set((await tx.selectFrom('users').select('name').where('name', 'in', chunk).execute()).map((r) => r.name));
        const fresh = chunk.filter((n) => !existing.has(n));
        if (fresh.length === 0) continue;
        const rows = await tx
          .insertInto('users')
          .values(fresh.map((name) => ({ name, admin: admin ? 1 : 0, created: now, last_activity: null, cookie_id: randomUUID(), auth_state: null })))
          .returningAll()
          .execute();
        await tx.insertInto('servers').values(rows.map((r) => ({ user_id: r.id, name: '', phase: 'stopped' as const, spawner: spawnerKind }))).execute();
        created.push(...rows);
      }
      if (created.length && admin) this.generation.bump();
      return created;
    });
  }

  async update(id: number, patch: { name?: string; admin?: boolean; last_activity?: string }): Promise<void> {
    const values: Partial<Pick<UserRow, 'name' | 'admin' | 'last_activity'>> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.admin !== undefined) values.admin = patch.admin ? 1 : 0;
    if (patch.last_activity !== undefined) values.last_activity = patch.last_activity;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('users').set(values).where('id', '=', id).execute();
    if (values.name !== undefined || values.admin !== undefined) this.generation.bump();
  }

  /** Only moves last_activity forward. */
  async touch(id: number, when: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ last_activity: when })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_activity', 'is', null), eb('last_activity', '<', when)]))
      .execute();
  }

  /** Replaces the stored (encrypted) auth_state; null clears it. */
  async setAuthState(id: number, stored: string | null): Promise<void> {
    await this.db.updateTable('users').set({ auth_state: stored }).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('users').where('id', '=', id).execute();
    this.generation.bump();
  }

  /** Users with no server starting, running or stopping whose last activity (or, without any, creation) is before `iso`. */
  inactiveSince(iso: string): Promise<UserRow[]> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('last_activity', '<', iso), eb.and([eb('last_activity', 'is', null), eb('created', '<', iso)])]))
      .where('id', 'not in', (eb) => eb.selectFrom('servers').select('user_id').where('phase', '!=', 'stopped'))
      .orderBy('id')
      .execute();
  }

  /** How many users were active at or after `iso` (JupyterHub's active_users metric). */
  async countActiveSince(iso: string): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('last_activity', '>=', iso).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async list(q: UserListQuery): Promise<{ rows: UserRow[]; total: number }> {
    let query = this.db.selectFrom('users');
    if (q.nameFilter) query = query.where(sql<boolean>`name LIKE ${`%${q.nameFilter.replace(/[\\%_]/g, (c) => '\\' + c)}%`} ESCAPE '\\'`);
    if (q.admin !== undefined) query = query.where('admin', '=', q.admin ? 1 : 0);
    if (q.group !== undefined) {
      const group = q.group;
      query = query.where('id', 'in', (eb) =>
        eb.selectFrom('user_groups').innerJoin('groups', 'groups.id', 'user_groups.group_id').select('user_groups.user_id').where('groups.name', '=', group),
      );
    }
    if (q.names) query = query.where('name', 'in', q.names.size ? [...q.names] : ['\u0000']);
    if (q.state === 'active' || q.state === 'ready') {
      const phases = q.state === 'ready' ? (['running'] as const) : (['spawning', 'running', 'stopping'] as const);
      query = query.where('id', 'in', (eb) => eb.selectFrom('servers').select('user_id').where('phase', 'in', [...phases]));
    } else if (q.state === 'inactive') {
      query = query.where('id', 'not in', (eb) => eb.selectFrom('servers').select('user_id').where('phase', '!=', 'stopped'));
    }
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { key, descending } = q.sort ?? { key: 'id', descending: false };
    let ordered = query.selectAll();
    if (key === 'running') {
      const running = sql<number>`EXISTS (SELECT 1 FROM servers WHERE servers.user_id = users.id AND servers.phase != 'stopped')`;
      ordered = ordered.orderBy(running, descending ? 'asc' : 'desc').orderBy('name');
    } else {
      if (key === 'last_activity') ordered = ordered.orderBy(descending ? sql`last_activity IS NULL` : sql`last_activity IS NOT NULL`);
      ordered = ordered.orderBy(key, descending ? 'desc' : 'asc');
    }
    const rows = await ordered.orderBy('id').offset(q.offset).limit(q.limit).execute();
    return { rows, total: Number(totalRow.n) };
  }

  /** Group names for many users at once (for list endpoints). */
  async groupNamesFor(userIds: number[]): Promise<Map<number, string[]>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('user_groups')
      .innerJoin('groups', 'groups.id', 'user_groups.group_id')
      .select(['user_groups.user_id as id', 'groups.name'])
      .where('user_groups.user_id', 'in', userIds)
      .orderBy('groups.name')
      .execute();
    return namesById(rows);
  }

  /** Names of the members of these groups. */
  async namesInGroups(groupNames: string[]): Promise<string[]> {
    if (groupNames.length === 0) return [];
    const rows = await this.db
      .selectFrom('user_groups')
      .innerJoin('groups', 'groups.id', 'user_groups.group_id')
      .innerJoin('users', 'users.id', 'user_groups.user_id')
      .select('users.name')
      .where('groups.name', 'in', groupNames)
      .execute();
    return rows.map((r) => r.name);
  }
}
