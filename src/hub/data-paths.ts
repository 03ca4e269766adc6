/** Where a hub keeps its data: data_dir, and the database (db_url, by default a SQLite file in data_dir). */
import path from 'node:path';
import type { HubConfig } from '../config/schema.js';

export function resolveDataPaths(config: Pick<HubConfig, 'data_dir' | 'db_url'>): { dataDir: string; dbUrl: string } {
  const dataDir = path.resolve(config.data_dir);
  return { dataDir, dbUrl: config.db_url ?? `sqlite:///${path.join(dataDir, 'ganymede.sqlite')}` };
}
