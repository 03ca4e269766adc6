import type { Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they must not depend on today's types.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_activity', 'varchar(32)')
    .addColumn('cookie_id', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('auth_state', 'text')
    .execute();

  await db.schema
    .createTable('servers')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('phase', 'varchar(16)', (c) => c.notNull().defaultTo('stopped'))
    .addColumn('spawner', 'varchar(64)', (c) => c.notNull())
    .addColumn('spawner_state', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('target', 'varchar(255)')
    .addColumn('started', 'varchar(32)')
    .addColumn('last_activity', 'varchar(32)')
    .addColumn('user_options', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('failure', 'text')
    .addColumn('api_token_id', 'integer')
    .addUniqueConstraint('servers_user_name', ['user_id', 'name'])
    .execute();
  await db.schema.createIndex('servers_phase').on('servers').column('phase').execute();

  await db.schema
    .createTable('groups')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .createTable('user_groups')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'integer', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_groups_pk', ['user_id', 'group_id'])
    .execute();
  await db.schema.createIndex('user_groups_group').on('user_groups').column('group_id').execute();

  await db.schema
    .createTable('services')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('from_config', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();

  await db.schema
    .createTable('roles')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('managed_by', 'varchar(16)', (c) => c.notNull().defaultTo('config'))
    .execute();
  for (const [table, col, ref] of [
    ['user_roles', 'user_id', 'users.id'],
    ['group_roles', 'group_id', 'groups.id'],
    ['service_roles', 'service_id', 'services.id'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn(col, 'integer', (c) => c.notNull().references(ref).onDelete('cascade'))
      .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
      .addPrimaryKeyConstraint(`${table}_pk`, [col, 'role_id'])
      .execute();
  }

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('hashed', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('service_id', 'integer', (c) => c.references('services.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('client_id', 'varchar(255)', (c) => c.notNull().defaultTo('jupyterhub'))
    .addColumn('session_id', 'varchar(64)')
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)')
    .addColumn('last_activity', 'varchar(32)')
    .execute();
  await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
  await db.schema.createIndex('api_tokens_session').on('api_tokens').column('session_id').execute();

  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('allowed_scopes', 'text', (c) => c.notNull().defaultTo('[]'))
    .execute();

  await db.schema
    .createTable('oauth_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('code_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('client_id', 'varchar(255)', (c) => c.notNull().references('oauth_clients.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('session_id', 'varchar(64)')
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('kv')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'kv', 'oauth_codes', 'oauth_clients', 'api_tokens', 'service_roles', 'group_roles', 'user_roles',
    'roles', 'services', 'user_groups', 'groups', 'servers', 'users',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
