/**
 * The site's database for the operator's commands (`ganymede users …`, `token …`, `db …`): found
 * from the same config file as the hub, opened beside a running hub. The hub notices what these
 * commands commit within half a second (src/db/connect.ts, watchExternalWrites) and drops its caches
 * of who may do what. Run as root, SQLite gives the files it creates the database file's owner, so
 * nothing here leaves a file the hub's account cannot open.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HubConfig } from '../config/schema.js';
import { openDatabase, sqlitePathFromUrl, type MigrationMode, type OpenDatabase } from '../db/connect.js';
import { ConfigError } from '../errors.js';
import { resolveDataPaths } from '../hub/data-paths.js';

export interface SiteDatabase extends OpenDatabase {
  /** The database file. */
  file: string;
  /** Migrations applied while opening (db upgrade only). */
  applied: string[];
}

/**
 * Opens the database named by the config. `create`: a missing file is made (db upgrade on a new
 * site); otherwise a missing file is an error that says where the hub keeps it.
 */
export async function openSiteDatabase(config: HubConfig, mode: MigrationMode, create = false): Promise<SiteDatabase> {
  const { dbUrl } = resolveDataPaths(config);
  const file = sqlitePathFromUrl(dbUrl);
  if (file === ':memory:') throw new ConfigError('db_url: an in-memory database lives only inside the hub process; there is nothing to open from here');
  const resolved = path.resolve(file);
  if (!create && !existsSync(resolved)) {
    throw new ConfigError(`db_url: no database at ${resolved} (the hub creates it at its first start; check data_dir and db_url in the config file)`);
  }
  // Files this command creates (a backup, SQLite's journal) are private.
  process.umask(0o077);
  const opened = await openDatabase(dbUrl, mode);
  return { ...opened, file: resolved };
}
