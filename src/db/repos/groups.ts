/** Groups: their members, properties and roles. Every write bumps the auth generation (scopes follow groups). */
import type { Kysely } from 'kysely';
import type { Database, GroupRow } from '../schema.js';
import type { AuthGeneration } from './generation.js';
import { namesById } from './collect.js';

export interface GroupListQuery {
  offset: number;
  limit: number;
  /** Restrict to these names (from a filtered scope); undefined = all. */
  names?: ReadonlySet<string>;
}

export class GroupRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  byName(name: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async list(q: GroupListQuery): Promise<{ rows: GroupRow[]; total: number }> {
    let query = this.db.selectFrom('groups');
    if (q.names) query = query.where('name', 'in', q.names.size ? [...q.names] : ['\u0000']);
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy('id').offset(q.offset).limit(q.limit).execute();
    return { rows, total: Number(totalRow.n) };
  }

  /**
   * Creates the groups, each with the same members, in one transaction. Returns `{ taken }`, creating
   * nothing, when one of the names is taken (the caller answers 409 naming it).
   */
  async create(names: string[], userIds: number[], properties: Record<string, unknown> = {}): Promise<GroupRow[] | { taken: string }> {
    const result = await this.db.transaction().execute(async (tx) => {
      const taken = await tx.selectFrom('groups').select('name').where('name', 'in', names).executeTakeFirst();
      if (taken) return { taken: taken.name };
      const rows = await tx
        .insertInto('groups')
        .values(names.map((name) => ({ name, properties: JSON.stringify(properties) })))
        .returningAll()
        .execute();
      const links = rows.flatMap((g) => userIds.map((user_id) => ({ user_id, group_id: g.id })));
      for (let i = 0; i < links.length; i += 1000) await tx.insertInto('user_groups').values(links.slice(i, i + 1000)).execute();
      return rows;
    });
    if (!('taken' in result)) this.generation.bump();
    return result;
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('groups').where('id', '=', id).execute();
    this.generation.bump();
  }

  async addUsers(groupId: number, userIds: number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db
      .insertInto('user_groups')
      .values(userIds.map((user_id) => ({ user_id, group_id: groupId })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    this.generation.bump();
  }

  async removeUsers(groupId: number, userIds: number[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.db.deleteFrom('user_groups').where('group_id', '=', groupId).where('user_id', 'in', userIds).execute();
    this.generation.bump();
  }

  /**
   * Makes a user's groups exactly `names` (authenticators that manage groups); creates missing groups.
   * Groups a course owns (properties.course) are left alone both ways: a login neither removes a
   * participant from their course nor lets an identity provider's group of that name add members.
   */
  async setUserGroups(userId: number, names: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const owned = await tx.selectFrom('groups').select(['id', 'name']).where('properties', 'like', '%"course":%').execute();
      const ownedNames = new Set(owned.map((g) => g.name));
      const wanted = names.filter((n) => !ownedNames.has(n));
      if (wanted.length) {
        await tx.insertInto('groups').values(wanted.map((name) => ({ name, properties: '{}' }))).onConflict((oc) => oc.column('name').doNothing()).execute();
      }
      let remove = tx.deleteFrom('user_groups').where('user_id', '=', userId);
      if (owned.length) remove = remove.where('group_id', 'not in', owned.map((g) => g.id));
      await remove.execute();
      if (wanted.length) {
        const ids = await tx.selectFrom('groups').select('id').where('name', 'in', wanted).execute();
        await tx.insertInto('user_groups').values(ids.map((g) => ({ user_id: userId, group_id: g.id }))).execute();
      }
    });
    this.generation.bump();
  }

  async setProperties(id: number, properties: Record<string, unknown>): Promise<void> {
    await this.db.updateTable('groups').set({ properties: JSON.stringify(properties) }).where('id', '=', id).execute();
  }

  /** Member names of many groups at once, sorted. */
  async memberNames(groupIds: number[]): Promise<Map<number, string[]>> {
    if (groupIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('user_groups')
      .innerJoin('users', 'users.id', 'user_groups.user_id')
      .select(['user_groups.group_id as id', 'users.name'])
      .where('user_groups.group_id', 'in', groupIds)
      .orderBy('users.name')
      .execute();
    return namesById(rows);
  }

  /** Role names of many groups at once, sorted. */
  async roleNames(groupIds: number[]): Promise<Map<number, string[]>> {
    if (groupIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('group_roles')
      .innerJoin('roles', 'roles.id', 'group_roles.role_id')
      .select(['group_roles.group_id as id', 'roles.name'])
      .where('group_roles.group_id', 'in', groupIds)
      .orderBy('roles.name')
      .execute();
    return namesById(rows);
  }

  /** Ids of the groups a user belongs to. */
  async idsOfUser(userId: number): Promise<number[]> {
    const rows = await this.db.selectFrom('user_groups').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }
}
