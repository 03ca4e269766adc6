import type { Kysely } from 'kysely';

/** Course hubs: the courses, who teaches and takes them, and the audit log of every change. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('courses')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('slug', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('title', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('state', 'varchar(32)', (c) => c.notNull())
    .addColumn('starts_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('ends_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('expected_participants', 'integer', (c) => c.notNull())
    .addColumn('environment', 'varchar(64)', (c) => c.notNull())
    .addColumn('custom_image', 'text')
    .addColumn('resources', 'text', (c) => c.notNull())
    .addColumn('content_repo', 'text')
    .addColumn('requested_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('contact_email', 'varchar(255)')
    .addColumn('accepted_terms_version', 'varchar(64)', (c) => c.notNull())
    .addColumn('created', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated', 'varchar(32)', (c) => c.notNull())
    .addColumn('review_comment', 'text')
    .addColumn('failure', 'text')
    .addColumn('join_nonce', 'varchar(64)', (c) => c.notNull())
    .addColumn('join_expires_at', 'varchar(32)')
    .addColumn('auto_accept', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ending_notified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('courses_state').on('courses').column('state').execute();

  await db.schema
    .createTable('course_members')
    .addColumn('course_id', 'integer', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('email', 'varchar(255)')
    .addColumn('applied_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('decided_at', 'varchar(32)')
    .addColumn('first_started', 'varchar(32)')
    .addColumn('last_started', 'varchar(32)')
    .addPrimaryKeyConstraint('course_members_pk', ['course_id', 'user_id'])
    .execute();
  await db.schema.createIndex('course_members_user').on('course_members').column('user_id').execute();

  await db.schema
    .createTable('course_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('course_id', 'integer', (c) => c.notNull().references('courses.id').onDelete('cascade'))
    .addColumn('at', 'varchar(32)', (c) => c.notNull())
    .addColumn('actor', 'varchar(255)', (c) => c.notNull())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('from_state', 'varchar(32)')
    .addColumn('to_state', 'varchar(32)')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('course_events_course').on('course_events').column('course_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('course_events').execute();
  await db.schema.dropTable('course_members').execute();
  await db.schema.dropTable('courses').execute();
}
