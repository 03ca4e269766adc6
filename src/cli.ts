#!/usr/bin/env node
/** Command line: `ganymede [start] [-f FILE]`, `ganymede generate-config`, `ganymede config-docs`. */
import { Command } from 'commander';
import { loadConfig } from './config/load.js';
import { generateConfigMarkdown, generateConfigYaml } from './config/generate.js';
import { ConfigError } from './errors.js';
import { startClockControl } from './hub/clock-control.js';
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

program.parseAsync(process.argv).catch(fail);
