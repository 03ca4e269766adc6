/** Builds the configured spawner. */
import type { Logger } from 'pino';
import type { SpawnerConfig } from '../config/schema.js';
import { LocalProcessSpawner } from './local-process/index.js';
import { SlurmSpawner } from './slurm/index.js';
import type { Spawner } from './spawner.js';
import type { Isolation } from './local-process/isolation.js';

export function createSpawner(config: SpawnerConfig, dataDir: string, log: Logger, isolation: Isolation | null = null): Spawner {
  switch (config.class) {
    case 'local-process':
      return new LocalProcessSpawner({ ...config, dataDir }, log, isolation);
    case 'slurm':
      return new SlurmSpawner(config, log);
  }
}
