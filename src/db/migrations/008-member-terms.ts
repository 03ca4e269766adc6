import type { Kysely } from 'kysely';

/**
 * The terms of use each participant accepted, and when: recorded at joining and again whenever a
 * new version of the terms asks them to (at their next start). Members from before have none, and
 * accept at their next start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('course_members').addColumn('terms_version', 'varchar(64)').execute();
  await db.schema.alterTable('course_members').addColumn('terms_accepted_at', 'varchar(32)').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('course_members').dropColumn('terms_accepted_at').execute();
  await db.schema.alterTable('course_members').dropColumn('terms_version').execute();
}
