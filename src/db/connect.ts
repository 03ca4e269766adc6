/** Opens the database named by db_url and brings its schema up to date. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { ConfigError } from '../errors.js';
import type { Database } from './schema.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-sharing.js';
import * as m003 from './migrations/003-native-accounts.js';
import * as m004 from './migrations/004-courses.js';
import * as m005 from './migrations/005-unix-ids.js';
import * as m006 from './migrations/006-login-sessions.js';
import * as m007 from './migrations/007-course-changes.js';
import * as m008 from './migrations/008-member-terms.js';
import * as m009 from './migrations/009-passkeys.js';

const MIGRATIONS: Record<string, Migration> = {
  '001-initial': m001,
  '002-sharing': m002,
  '003-native-accounts': m003,
  '004-courses': m004,
  '005-unix-ids': m005,
  '006-login-sessions': m006,
  '007-course-changes': m007,
  '008-member-terms': m008,
  '009-passkeys': m009,
};

class StaticMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface OpenDatabase {
  db: Kysely<Database>;
  /** Human-readable description for logs (no credentials). */
  description: string;
  /**
   * Calls `onChange` (within `intervalMs`) whenever another process committed to the database: an
   * operator's `ganymede users …`, or any other client. The hub drops its caches of who may do what
   * then. Returns the function that stops watching.
   */
  watchExternalWrites(onChange: () => void, intervalMs: number): () => void;
  /** A consistent copy of the whole database in a new file (SQLite's VACUUM INTO), safe while the hub writes. */
  backup(file: string): void;
  close(): Promise<void>;
}

/** What opening does with migrations: apply them (the hub, `db upgrade`), or refuse a database that lacks some (other commands). */
export type MigrationMode = 'apply' | 'require-current';

/** `sqlite:///relative.sqlite`, `sqlite:////absolute/path.sqlite`, `sqlite:///:memory:` (as SQLAlchemy, which JupyterHub admins know). */
export function sqlitePathFromUrl(dbUrl: string): string {
  const m = /^sqlite:\/\/\/(.*)$/.exec(dbUrl);
  if (!m) throw new ConfigError(`db_url: unsupported database URL ${JSON.stringify(dbUrl.replace(/\/\/[^@/]*@/, '//***@'))} (supported: sqlite:///path)`);
  // SQLite would take an empty name for a temporary database, gone at the next restart.
  if (m[1] === '') throw new ConfigError(`db_url: ${JSON.stringify(dbUrl)} names no database file (e.g. sqlite:////var/lib/ganymede/ganymede.sqlite)`);
  return m[1] === ':memory:' ? ':memory:' : m[1]!;
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing is most of the cost of a small
 * query. Statements are reusable in better-sqlite3 (execution is synchronous), so keep the recent ones.
 */
export function withStatementCache(db: SQLite.Database, max = 1000): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        // Move to the back: the map's order is the eviction order.
        cache.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

export async function openDatabase(dbUrl: string, mode: MigrationMode = 'apply'): Promise<OpenDatabase & { applied: string[] }> {
  const file = sqlitePathFromUrl(dbUrl);
  let sqlite: SQLite.Database | undefined;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    sqlite = new SQLite(file);
    // The first statement reads the file: a directory or a file that is no database fails here.
    sqlite.pragma('journal_mode = WAL');
  } catch (err) {
    sqlite?.close();
    throw new ConfigError(`db_url: cannot open the database ${path.resolve(file)}: ${(err as Error).message}`);
  }
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  let applied: string[] = [];
  try {
    if (mode === 'apply') applied = await migrate(db);
    else {
      const pending = await pendingMigrations(db);
      if (pending.length) throw new ConfigError(`db_url: the database ${path.resolve(file)} needs ${pending.length} schema upgrade(s) (${pending.join(', ')}): run \`ganymede db upgrade\` (with the hub stopped) first`);
    }
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const open = sqlite;
  return {
    db,
    applied,
    description: `sqlite:${file}`,
    watchExternalWrites(onChange, intervalMs) {
      // data_version changes only for commits of other connections (https://sqlite.org/pragma.html#pragma_data_version).
      let seen = open.pragma('data_version', { simple: true });
      const timer = setInterval(() => {
        if (!open.open) return;
        const now = open.pragma('data_version', { simple: true });
        if (now !== seen) {
          seen = now;
          onChange();
        }
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    backup(target) {
      open.prepare('VACUUM INTO ?').run(target);
    },
    close: () => db.destroy(),
  };
}

/** Applies the migrations the database lacks; their names. */
export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticMigrations() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of the migrations the database has not had yet. */
async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticMigrations() });
  return (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}
