import type { Kysely } from 'kysely';

/**
 * Changes teachers propose to a course after its approval: what would change (new values, and the
 * old ones as they were when proposed), and governance's decision. Applied changes are written to
 * the course in the same transaction as the decision.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('course_changes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('course_id', 'integer', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .addColumn('previous', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'varchar(255)', (c) => c.notNull())
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('decided_by', 'varchar(255)')
    .addColumn('decided_at', 'varchar(32)')
    .addColumn('comment', 'text')
    .execute();
  await db.schema.createIndex('course_changes_course').on('course_changes').column('course_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('course_changes').execute();
}
