import type { Kysely } from 'kysely';

/**
 * The Unix uid each hub user's servers run as (spawner.run_as: dynamic). A row outlives its user
 * while files of that uid may remain (user_id null, `user_name` kept for the record): the uid is
 * handed to nobody else until the hub has removed those files and deleted the row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('unix_ids')
    .addColumn('uid', 'integer', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.unique().references('users.id').onDelete('set null'))
    .addColumn('user_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('released', 'varchar(32)')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('unix_ids').execute();
}
