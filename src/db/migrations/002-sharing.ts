import type { Kysely } from 'kysely';

/** Shares (JupyterHub 5 sharing): a server's access granted to a user or a group, and codes to accept one. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('shares')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('server_id', 'integer', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'integer', (c) => c.references('groups.id').onDelete('cascade'))
    .addColumn('scopes', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('shares_server_user').on('shares').columns(['server_id', 'user_id']).unique().execute();
  await db.schema.createIndex('shares_server_group').on('shares').columns(['server_id', 'group_id']).unique().execute();
  await db.schema.createIndex('shares_user').on('shares').column('user_id').execute();
  await db.schema.createIndex('shares_group').on('shares').column('group_id').execute();

  await db.schema
    .createTable('share_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('server_id', 'integer', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('hashed', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('exchange_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_exchanged_at', 'varchar(32)')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('share_codes').execute();
  await db.schema.dropTable('shares').execute();
}
