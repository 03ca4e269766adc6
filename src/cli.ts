#!/usr/bin/env node
/**
 * Command line: `ganymede [start] [-f FILE]`, `ganymede generate-config`, `ganymede config-docs`,
 * `ganymede routes`, and the operator's `ganymede users …`, `ganymede token create`, `ganymede db …`.
 */
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
import type { Output } from './operator/commands.js';

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

const output: Output = {
  out: (text) => process.stdout.write(text),
  info: (text) => process.stderr.write(`ganymede: ${text}\n`),
};

type Commands = typeof import('./operator/commands.js');

/** Runs an operator's command on the site the config file describes (its modules loaded only then). */
function operator(configFile: string | undefined, work: (commands: Commands, config: ReturnType<typeof loadConfig>['config']) => Promise<void>): Promise<void> {
  return (async () => work(await import('./operator/commands.js'), loadConfig(configFile).config))().catch(fail);
}

const CONFIG_OPTION = ['-f, --config <file>', 'YAML config file of the hub (default ./ganymede.yaml when present): where its database is'] as const;

const users = program.command('users').description("list, add and delete users, and make them admins: the hub's database, with the hub running or not");
users
  .command('list')
  .description('every user with admin flag, running servers, last activity and creation time')
  .option(...CONFIG_OPTION)
  .option('--format <format>', 'text or json', 'text')
  .action((opts: { config?: string; format: string }) => operator(opts.config, (k, c) => k.listUsers(c, opts.format, output)));
users
  .command('add')
  .description('create users (names as the login gives them); existing ones are left as they are')
  .argument('<names...>')
  .option(...CONFIG_OPTION)
  .option('--admin', 'make them admins', false)
  .action((names: string[], opts: { config?: string; admin: boolean }) => operator(opts.config, (k, c) => k.addUsers(c, names, opts.admin, output)));
users
  .command('delete')
  .description('delete users with their tokens, named servers and group memberships; refused while one of them has a server')
  .argument('<names...>')
  .option(...CONFIG_OPTION)
  .action((names: string[], opts: { config?: string }) => operator(opts.config, (k, c) => k.deleteUsers(c, names, output)));
users
  .command('set-admin')
  .description('make users admins (or, with --remove, no longer)')
  .argument('<names...>')
  .option(...CONFIG_OPTION)
  .option('--remove', 'take the admin flag away instead', false)
  .action((names: string[], opts: { config?: string; remove: boolean }) => operator(opts.config, (k, c) => k.setAdmin(c, names, !opts.remove, output)));

program
  .command('token')
  .description('API tokens')
  .command('create')
  .description("create an API token for a user and print it (once) on stdout, as JupyterHub's `jupyterhub token`")
  .requiredOption('--user <name>', 'the owner')
  .option('--scopes <scopes>', 'scopes separated by commas or spaces (default: whatever the owner may do)')
  .option('--expires-in <seconds>', 'lifetime in seconds (default: never expires)')
  .option('--note <note>', 'what the token is for (shown on the token page)')
  .option(...CONFIG_OPTION)
  .action((opts: { config?: string; user: string; scopes?: string; expiresIn?: string; note?: string }) => operator(opts.config, (k, c) => k.createToken(c, opts, output)));

const db = program.command('db').description("the hub's database");
db.command('upgrade')
  .description('apply the schema upgrades a new version needs, without starting the hub (stop the hub first)')
  .option(...CONFIG_OPTION)
  .action((opts: { config?: string }) => operator(opts.config, (k, c) => k.upgradeDatabase(c, output)));
db.command('backup')
  .description('write a consistent copy of the database to FILE, also while the hub runs')
  .argument('<file>')
  .option(...CONFIG_OPTION)
  .action((file: string, opts: { config?: string }) => operator(opts.config, (k, c) => k.backupDatabase(c, file, output)));

program.parseAsync(process.argv).catch(fail);
