import type { Kysely } from 'kysely';

/**
 * Login sessions: one row per login of one browser. The login cookie holds a random secret; the row
 * is keyed by its SHA-256, so the database alone opens no session. Logout deletes the row, "log out
 * everywhere" and a password or second-factor change delete all of a user's.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_sessions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_sessions_user').on('login_sessions').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_sessions').execute();
}
