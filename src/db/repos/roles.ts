/** Roles, groups and services as far as scope resolution needs them, and syncing load_roles from config. */
import type { Kysely } from 'kysely';
import type { Database, RoleRow } from '../schema.js';
import type { AuthGeneration } from './generation.js';
import { namesById } from './collect.js';

export interface RoleSpec {
  name: string;
  description: string;
  scopes: string[];
  users: string[];
  groups: string[];
  services: string[];
}

export class RoleRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  all(): Promise<RoleRow[]> {
    return this.db.selectFrom('roles').selectAll().orderBy('name').execute();
  }

  /** Directly held role names of many users at once (for list endpoints). */
  async userRoleNamesFor(userIds: number[]): Promise<Map<number, string[]>> {
    if (userIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select(['user_roles.user_id as id', 'roles.name'])
      .where('user_roles.user_id', 'in', userIds)
      .execute();
    return namesById(rows);
  }

  /** Scopes (as stored, unexpanded) of every role the user has directly or through a group. */
  async scopesOfUser(userId: number): Promise<string[]> {
    const direct = this.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select('roles.scopes')
      .where('user_roles.user_id', '=', userId);
    const viaGroups = this.db
      .selectFrom('user_groups')
      .innerJoin('group_roles', 'group_roles.group_id', 'user_groups.group_id')
      .innerJoin('roles', 'roles.id', 'group_roles.role_id')
      .select('roles.scopes')
      .where('user_groups.user_id', '=', userId);
    const rows = await direct.union(viaGroups).execute();
    return rows.flatMap((r) => JSON.parse(r.scopes) as string[]);
  }

  async scopesOfService(serviceId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('service_roles')
      .innerJoin('roles', 'roles.id', 'service_roles.role_id')
      .select('roles.scopes')
      .where('service_roles.service_id', '=', serviceId)
      .execute();
    return rows.flatMap((r) => JSON.parse(r.scopes) as string[]);
  }

  async serviceRoleNames(serviceId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('service_roles')
      .innerJoin('roles', 'roles.id', 'service_roles.role_id')
      .select('roles.name')
      .where('service_roles.service_id', '=', serviceId)
      .orderBy('roles.name')
      .execute();
    return rows.map((r) => r.name);
  }

  /** Creates or updates a role; `managedBy` says who re-applies it ('config' at every start, 'course' by the course scheduler). */
  async upsertRole(spec: Pick<RoleSpec, 'name' | 'description' | 'scopes'>, managedBy = 'config'): Promise<number> {
    await this.db
      .insertInto('roles')
      .values({ name: spec.name, description: spec.description, scopes: JSON.stringify(spec.scopes), managed_by: managedBy })
      .onConflict((oc) => oc.column('name').doUpdateSet({ description: spec.description, scopes: JSON.stringify(spec.scopes) }))
      .execute();
    const row = await this.db.selectFrom('roles').select('id').where('name', '=', spec.name).executeTakeFirstOrThrow();
    this.generation.bump();
    return row.id;
  }

  /** Ids of the users a role is granted to directly (not through groups). */
  async userIdsOf(roleName: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select('user_roles.user_id')
      .where('roles.name', '=', roleName)
      .execute();
    return rows.map((r) => r.user_id);
  }

  async deleteRole(name: string): Promise<void> {
    await this.db.deleteFrom('roles').where('name', '=', name).execute();
    this.generation.bump();
  }

  async grantToUser(roleName: string, userId: number): Promise<void> {
    const role = await this.db.selectFrom('roles').select('id').where('name', '=', roleName).executeTakeFirstOrThrow();
    await this.db.insertInto('user_roles').values({ user_id: userId, role_id: role.id }).onConflict((oc) => oc.doNothing()).execute();
    this.generation.bump();
  }

  async revokeFromUser(roleName: string, userId: number): Promise<void> {
    const role = await this.db.selectFrom('roles').select('id').where('name', '=', roleName).executeTakeFirst();
    if (role) await this.db.deleteFrom('user_roles').where('user_id', '=', userId).where('role_id', '=', role.id).execute();
    this.generation.bump();
  }

  /**
   * Makes the database's config-managed roles equal to `specs`: creates users, groups and services
   * named as members when missing, replaces member lists, and drops config roles no longer configured.
   */
  async syncFromConfig(specs: RoleSpec[], ensureUser: (name: string) => Promise<number>): Promise<void> {
    this.generation.bump();
    const configured = new Set(specs.map((s) => s.name));
    const stale = await this.db.selectFrom('roles').select(['id', 'name']).where('managed_by', '=', 'config').execute();
    for (const r of stale) if (!configured.has(r.name)) await this.db.deleteFrom('roles').where('id', '=', r.id).execute();
    for (const spec of specs) {
      const roleId = await this.upsertRole(spec);
      // Default roles keep members granted by the hub (e.g. every user has 'user'); config members are added.
      const isDefault = ['user', 'admin', 'server', 'token'].includes(spec.name);
      if (!isDefault) {
        await this.db.deleteFrom('user_roles').where('role_id', '=', roleId).execute();
        await this.db.deleteFrom('group_roles').where('role_id', '=', roleId).execute();
        await this.db.deleteFrom('service_roles').where('role_id', '=', roleId).execute();
      }
      for (const u of spec.users) {
        const userId = await ensureUser(u);
        await this.db.insertInto('user_roles').values({ user_id: userId, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
      }
      for (const g of spec.groups) {
        await this.db.insertInto('groups').values({ name: g, properties: '{}' }).onConflict((oc) => oc.doNothing()).execute();
        const group = await this.db.selectFrom('groups').select('id').where('name', '=', g).executeTakeFirstOrThrow();
        await this.db.insertInto('group_roles').values({ group_id: group.id, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
      }
      for (const s of spec.services) {
        const svc = await this.db.selectFrom('services').select('id').where('name', '=', s).executeTakeFirst();
        if (!svc) throw new Error(`load_roles: role ${spec.name} names service ${s}, which is not in services`);
        await this.db.insertInto('service_roles').values({ service_id: svc.id, role_id: roleId }).onConflict((oc) => oc.doNothing()).execute();
      }
    }
  }

  async ensureService(name: string): Promise<number> {
    await this.db.insertInto('services').values({ name, from_config: 1 }).onConflict((oc) => oc.column('name').doUpdateSet({ from_config: 1 })).execute();
    const row = await this.db.selectFrom('services').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    return row.id;
  }

  async serviceByName(name: string): Promise<{ id: number; name: string } | undefined> {
    return this.db.selectFrom('services').select(['id', 'name']).where('name', '=', name).executeTakeFirst();
  }

  async serviceById(id: number): Promise<{ id: number; name: string } | undefined> {
    return this.db.selectFrom('services').select(['id', 'name']).where('id', '=', id).executeTakeFirst();
  }
}
