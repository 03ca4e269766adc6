#!/usr/bin/env node
/** Command line: `ganymede [start] [-f FILE]`, `ganymede generate-config`, `ganymede config-docs`, `ganymede routes`. */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { loadConfig } from './config/load.js';
import { generateConfigMarkdown, generateConfigYaml } from './config/generate.js';
import { ConfigError } from './errors.js';
import { startClockControl } from './hub/clock-control.js';
import { apiScopeTable, routesText } from './rbac/route-listing.js';
import { GANYMEDE_VERSION } from './version.js';

async function start(configFile: string | undefined): Promise<void> {
  const { config, file } = loadConfig(configFile);
  const clockControl = startClockControl();
  // Loaded on demand so that generate-config needs none of the hub's modules.
  const { createHub } = await import('./app.js');
  const hub = await createHub(config).catch((err: unknown) => {
    // Checks that need more than the schema (e.g. a section the chosen class requires) name the file too.
    if (err instanceof ConfigError && file) throw new ConfigError(`${file}: ${err.message}`);
    throw err;
  });
  let stopping = false;
  const stop = (reason: string, options: { servers?: boolean } = {}) => {
    if (stopping) return;
    stopping = true;
    hub.ctx.log.info({ reason }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 60_000);
    force.unref();
    hub.close(options).then(
      () => process.exit(0),
      (err: unknown) => {
        hub.ctx.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  hub.onShutdownRequest((options) => stop('POST /hub/api/shutdown', options));
  await hub.listen();
  clockControl?.serve(() => hub.runDueWork(), hub.ctx.log);
  if (file) hub.ctx.log.info({ config: file }, 'configuration loaded');
}

/**
 * Prints every route with its request policy. The hub is built as `start` builds it, but on a fresh
 * temporary data directory and with servers as the hub's own account (no launcher): nothing of a
 * running site's data is opened or changed, and nothing listens.
 */
async function printRoutes(configFile: string | undefined, format: string): Promise<void> {
  if (!['text', 'json', 'markdown'].includes(format)) throw new ConfigError(`--format: one of text, json, markdown (got ${JSON.stringify(format)})`);
  const { config } = loadConfig(configFile);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'ganymede-routes-'));
  chmodSync(dataDir, 0o755);
  const { createHub } = await import('./app.js');
  const pino = (await import('pino')).default;
  const hub = await createHub(
    { ...config, data_dir: dataDir, db_url: undefined, spawner: { ...config.spawner, run_as: 'hub', trust_all_users: true } },
    { log: pino({ level: 'silent' }) },
  );
  try {
    if (format === 'json') process.stdout.write(JSON.stringify(hub.routes, null, 2) + '\n');
    else if (format === 'markdown') process.stdout.write(apiScopeTable(hub.routes, hub.ctx.urls.api));
    else process.stdout.write(routesText(hub.routes));
  } finally {
    await hub.close({ servers: false });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`ganymede: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    process.stderr.write(`ganymede: cannot listen: address already in use (bind_url)\n`);
    process.exit(1);
  }
  process.stderr.write(`ganymede: ${e?.stack ?? String(err)}\n`);
  process.exit(1);
}

const program = new Command()
  .name('ganymede')
  .description('A fast multi-user Jupyter hub, compatible with JupyterHub')
  .version(GANYMEDE_VERSION);

program
  .command('start', { isDefault: true })
  .description('run the hub (default command)')
  .option('-f, --config <file>', 'YAML config file (default ./ganymede.yaml when present)')
  .action((opts: { config?: string }) => start(opts.config).catch(fail));

program
  .command('generate-config')
  .description('print a complete config file with every key, its default and a comment')
  .action(() => {
    process.stdout.write(generateConfigYaml());
  });

program
  .command('config-docs')
  .description('print the Markdown table of config keys (docs/configuration.md)')
  .action(() => {
    process.stdout.write(generateConfigMarkdown());
  });

program
  .command('routes')
  .description('list every route with its request policy: who may call it, how the caller is known, whether it changes state')
  .option('-f, --config <file>', 'YAML config file (default ./ganymede.yaml when present): its features decide which routes exist')
  .option('--format <format>', 'text, json, or markdown (the REST API scope table of docs/rest-api.md)', 'text')
  .action((opts: { config?: string; format: string }) => printRoutes(opts.config, opts.format).catch(fail));

program.parseAsync(process.argv).catch(fail);
