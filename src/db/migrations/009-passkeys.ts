import type { Kysely } from 'kysely';

/**
 * Passkeys and security keys (WebAuthn) of native accounts, a second factor beside TOTP: one row per
 * registered credential. The public key is all the hub keeps (no secret); the signature counter is
 * kept to notice a cloned authenticator. They go with their account.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('native_passkeys')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('account_id', 'integer', (c) => c.notNull().references('native_accounts.id').onDelete('cascade'))
    .addColumn('credential_id', 'varchar(1024)', (c) => c.notNull().unique())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_used', 'varchar(32)')
    .execute();
  await db.schema.createIndex('native_passkeys_account').on('native_passkeys').column('account_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('native_passkeys').execute();
}
