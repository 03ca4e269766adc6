/** The batch script: snapshots of what sbatch reads, shell quoting checked against a real bash, and the template checks. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { slurmSchema, spawnerSchema, type SlurmConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { SlurmSpawner } from '../../src/spawners/slurm/index.js';
import { parseSlurmOptions, type SlurmOptions } from '../../src/spawners/slurm/options.js';
import { DEFAULT_BATCH_SCRIPT, jobCommand, loadTemplate, renderScript, shellCommand, shellQuote, WRAPPER, type ScriptInput } from '../../src/spawners/slurm/script.js';

const SNAPSHOTS = fileURLToPath(new URL('./snapshots/slurm/', import.meta.url));

/** Compare with test/unit/snapshots/slurm/<name>.sh; UPDATE_SNAPSHOTS=1 writes it instead. */
function matchSnapshot(name: string, actual: string): void {
  const file = path.join(SNAPSHOTS, `${name}.sh`);
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    mkdirSync(SNAPSHOTS, { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file)) assert.fail(`snapshot ${file} is missing: run with UPDATE_SNAPSHOTS=1 to write it, then read it to check it is right`);
  assert.equal(actual, readFileSync(file, 'utf8'), `the script differs from the snapshot ${file}; if the change is meant, rerun with UPDATE_SNAPSHOTS=1 and review the diff`);
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganymede-slurm-script-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function input(config: SlurmConfig, options: SlurmOptions, more: Partial<ScriptInput> = {}): ScriptInput {
  return { template: DEFAULT_BATCH_SCRIPT, config, options, userName: 'alice', serverCommand: ['jupyterhub-singleuser'], scriptEnv: {}, ...more };
}

function sbatchLines(script: string): string[] {
  return script.split('\n').filter((l) => l.startsWith('#SBATCH '));
}

function execLine(script: string): string {
  const start = script.indexOf('\nexec ');
  assert.notEqual(start, -1, 'the script has an exec line');
  return script.slice(start + 1);
}

/**
 * Run bash with stdin on /dev/null: with a socket as stdin (node's pipes are socket pairs) bash
 * believes sshd started it and reads ~/.bashrc, which must not change what these tests see.
 */
function bash(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): string {
  return execFileSync('bash', args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** bash's own reading of a command line: each word it would pass, NUL-separated. */
function bashWords(commandLine: string): string[] {
  return bash(['-c', `printf '%s\\0' ${commandLine}`]).split('\0').slice(0, -1);
}

const GPU_PARTITIONS = {
  cpu: { cpus: { min: 1, max: 8, default: 1 } },
  gpu: { cpus: { min: 1, max: 32, default: 4 }, memory_gb: { min: 1, max: 256, default: 32 }, gpus: { min: 1, max: 4, default: 1 }, gpu_types: ['a100', 'v100'], accounts: ['proj1', 'proj2'], qos: ['normal', 'long'] },
};

const NASTY_ENV = `it's "$HOME" \`id\` $(id) \\ ! %s\nsecond line\ttab`;

test('snapshot: the default partition, nothing chosen', () => {
  const config = slurmSchema.parse({});
  const script = renderScript(input(config, parseSlurmOptions({}, config)));
  assert.deepEqual(sbatchLines(script), [
    '#SBATCH --job-name=ganymede',
    '#SBATCH --partition=debug',
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks=1',
    '#SBATCH --cpus-per-task=1',
    '#SBATCH --mem=2G',
    '#SBATCH --time=60',
    '#SBATCH --chdir=/home/alice',
    '#SBATCH --no-requeue',
    '#SBATCH --output=/home/alice/.ganymede-slurm-%j.log',
  ]);
  assert.equal(execLine(script), `exec python3 -c ${shellQuote(WRAPPER)} jupyterhub-singleuser\n`);
  assert.ok(script.startsWith('#!/bin/bash\n# A Jupyter server for alice, submitted by Ganymede.\n#SBATCH '));
  matchSnapshot('default-minimal', script);
});

test('snapshot: GPUs of a type, an account and a QOS', () => {
  const config = slurmSchema.parse({ partitions: GPU_PARTITIONS, job_name: 'hub-a', work_dir: '/scratch/{username}/jupyter' });
  const options = parseSlurmOptions({ partition: 'gpu', cpus: 16, memory_gb: 128, time_minutes: 240, gpus: 2, gpu_type: 'v100', account: 'proj2', qos: 'long' }, config);
  const script = renderScript(input(config, options, { userName: 'bob', serverCommand: ['jupyterhub-singleuser', '--debug'] }));
  assert.deepEqual(sbatchLines(script), [
    '#SBATCH --job-name=hub-a',
    '#SBATCH --partition=gpu',
    '#SBATCH --nodes=1',
    '#SBATCH --ntasks=1',
    '#SBATCH --cpus-per-task=16',
    '#SBATCH --mem=128G',
    '#SBATCH --time=240',
    '#SBATCH --chdir=/scratch/bob/jupyter',
    '#SBATCH --no-requeue',
    '#SBATCH --output=/scratch/bob/jupyter/.ganymede-slurm-%j.log',
    '#SBATCH --gres=gpu:v100:2',
    '#SBATCH --account=proj2',
    '#SBATCH --qos=long',
  ]);
  assert.ok(execLine(script).endsWith(' jupyterhub-singleuser --debug\n'));
  matchSnapshot('gpu-account-qos', script);
});

test('GPUs without a type list ask for any GPU', () => {
  const config = slurmSchema.parse({ partitions: { gpu: { gpus: { min: 0, max: 2, default: 1 } } } });
  const script = renderScript(input(config, parseSlurmOptions({}, config)));
  assert.ok(sbatchLines(script).includes('#SBATCH --gres=gpu:1'), script);
  const none = renderScript(input(config, parseSlurmOptions({ gpus: 0 }, config)));
  assert.ok(!none.includes('--gres'), none);
});

test('snapshot: extra sbatch options', () => {
  const config = slurmSchema.parse({ extra_options: ['constraint', 'reservation', 'mail-type'] });
  const options = parseSlurmOptions({ extra: '--constraint=ib,avx512 --reservation=maint_2025 --mail-type=END' }, config);
  const script = renderScript(input(config, options));
  assert.deepEqual(sbatchLines(script).slice(-3), ['#SBATCH --constraint=ib,avx512', '#SBATCH --reservation=maint_2025', '#SBATCH --mail-type=END']);
  matchSnapshot('extra-options', script);
});

test(
  'a constraint with | and & (which the extra field accepts) renders',
  () => {
    const config = slurmSchema.parse({ extra_options: ['constraint'] });
    const options = parseSlurmOptions({ extra: '--constraint=a100|v100&ib' }, config);
    assert.deepEqual(options.extra, { constraint: 'a100|v100&ib' });
    assert.ok(renderScript(input(config, options)).includes('#SBATCH --constraint=a100|v100&ib\n'));
  },
);

test('snapshot: a container image with apptainer exec --nv {image}', () => {
  const config = slurmSchema.parse({
    images: { py311: { image: '/cvmfs/images/python-3.11.sif' }, r43: { image: 'docker://rocker/r-ver:4.3' } },
    container: { command: 'apptainer exec --nv {image}' },
  });
  const options = parseSlurmOptions({ image: 'py311' }, config);
  const script = renderScript(input(config, options));
  assert.equal(execLine(script), `exec apptainer exec --nv /cvmfs/images/python-3.11.sif python3 -c ${shellQuote(WRAPPER)} jupyterhub-singleuser\n`);
  assert.deepEqual(jobCommand({ config, options, serverCommand: ['jupyter', 'lab'] }), ['apptainer', 'exec', '--nv', '/cvmfs/images/python-3.11.sif', 'python3', '-c', WRAPPER, 'jupyter', 'lab']);
  matchSnapshot('container-image', script);
});

test('snapshot: ssh mode, the environment written into the script', () => {
  const config = slurmSchema.parse({ partitions: GPU_PARTITIONS });
  const scriptEnv = {
    JUPYTERHUB_API_TOKEN: 'c0ffee',
    JUPYTERHUB_API_URL: 'http://hub.example.org:8081/hub/api',
    JUPYTERHUB_SERVICE_PREFIX: '/user/alice/',
    NASTY: NASTY_ENV,
    EMPTY: '',
  };
  const script = renderScript(input(config, parseSlurmOptions({ partition: 'gpu' }, config), { scriptEnv }));
  assert.ok(script.includes(`export NASTY='it'\\''s "$HOME" \`id\` $(id) \\ ! %s\nsecond line\ttab'\n`), script);
  assert.ok(script.includes("export EMPTY=''\n"));
  assert.ok(script.includes('export JUPYTERHUB_API_TOKEN=c0ffee\n'));
  assert.ok(!script.includes('not written here'), 'the placeholder comment is only for local mode');
  matchSnapshot('ssh-env', script);
});

test('every snapshot and the ssh script pass bash -n', async (t) => {
  const dir = await tempDir(t);
  const config = slurmSchema.parse({});
  const script = renderScript(input(config, parseSlurmOptions({}, config), { scriptEnv: { NASTY: NASTY_ENV, B: "'''" } }));
  const file = path.join(dir, 'job.sh');
  await writeFile(file, script);
  bash(['-n', file]);
  for (const name of ['default-minimal', 'gpu-account-qos', 'extra-options', 'container-image', 'ssh-env', 'admin-template']) {
    const snapshot = path.join(SNAPSHOTS, `${name}.sh`);
    if (existsSync(snapshot)) bash(['-n', snapshot]);
  }
  // And bash -n does fail on a broken script, so the check above means something.
  await writeFile(file, `export X='unterminated\n`);
  assert.throws(() => bash(['-n', file]));
});

test('the exported variables, read by bash, are exactly the original values', () => {
  const config = slurmSchema.parse({});
  const scriptEnv: Record<string, string> = {
    NASTY: NASTY_ENV,
    QUOTES: `'"''"'`,
    DOLLAR: '$PATH ${PATH} $((1+1))',
    BACKTICK: '`uname`',
    NEWLINES: '\n\nx\n',
    BACKSLASH: '\\n\\\\',
    UNICODE: 'ünïcödé ✓',
    EMPTY: '',
    SPACES: '  a  ',
  };
  const options = parseSlurmOptions({}, config);
  const full = renderScript(input(config, options, { scriptEnv }));
  const exports = renderScript(input(config, options, { template: '{{environment}}\n', scriptEnv }));
  assert.ok(full.includes(exports), 'the same block is in the full script');
  for (const [name, value] of Object.entries(scriptEnv)) {
    const got = bash(['-c', `${exports}printf '%s' "$${name}"`]);
    assert.equal(got, value, name);
  }
  // Exported, not only set: a child process sees them.
  assert.equal(bash(['-c', `${exports}bash -c 'printf %s "$NASTY"'`]), NASTY_ENV);
});

test('the exec line gives bash exactly the command words, the wrapper included', () => {
  const config = slurmSchema.parse({ images: { py: { image: '/cvmfs/py.sif' } }, container: { command: 'apptainer exec --nv {image}' } });
  const options = parseSlurmOptions({}, config);
  const serverCommand = ['jupyterhub-singleuser', "--notebook-dir=~/it's mine", '--x=$(id)', ''];
  const line = renderScript(input(config, options, { template: '{{command}}', serverCommand }));
  assert.deepEqual(bashWords(line), jobCommand({ config, options, serverCommand }));
});

test('shellQuote: bash reads back exactly the original string', () => {
  const nasty = [
    '',
    ' ',
    "'",
    "''",
    '"',
    "'\\''",
    '$(id)',
    '`id`',
    '$HOME',
    '${HOME}',
    '\\',
    '\\n',
    'a\nb',
    '\n',
    '\t',
    '\r',
    '!',
    '!!',
    '*',
    '?',
    '~',
    '~root',
    '#x',
    'a b',
    "it's",
    'ünïcödé',
    '-n',
    '-e',
    '--',
    '%s%d',
    '{a,b}',
    '[a]',
    ';',
    '&&',
    '|',
    '>x',
    '<x',
    'a=b',
    '=',
    '\x01\x7f',
    'x'.repeat(10000),
    "1' || '",
    'debug\n#SBATCH --uid=0',
  ];
  for (const s of nasty) {
    const out = bash(['-c', `printf '%s' ${shellQuote(s)}`]);
    assert.equal(out, s, JSON.stringify(s).slice(0, 60));
  }
  // Safe words are left as they are; the rest are single-quoted.
  assert.equal(shellQuote('jupyterhub-singleuser'), 'jupyterhub-singleuser');
  assert.equal(shellQuote('/cvmfs/a.sif'), '/cvmfs/a.sif');
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.deepEqual(bashWords(shellCommand(nasty)), nasty);
});

test('renderScript refuses an unsafe value in a simple placeholder or directive (options built by hand)', () => {
  const config = slurmSchema.parse({ extra_options: ['constraint'] });
  const good: SlurmOptions = { partition: 'debug', cpus: 1, memory_gb: 2, time_minutes: 60, gpus: 0, extra: {} };
  assert.ok(renderScript(input(config, good)).includes('#SBATCH --partition=debug\n'));
  const bad: Array<[Partial<SlurmOptions>, RegExp]> = [
    [{ partition: 'a b' }, /--partition/],
    [{ partition: 'debug\n#SBATCH --uid=0' }, /--partition/],
    [{ partition: '$(id)' }, /--partition/],
    [{ gpus: 1, gpu_type: 'a100;id' }, /--gres/],
    [{ account: '`id`' }, /--account/],
    [{ qos: "x'y" }, /--qos/],
    [{ extra: { constraint: 'a\n#SBATCH --uid=0' } }, /--constraint/],
    [{ extra: { constraint: '$(id)' } }, /--constraint/],
  ];
  for (const [change, message] of bad) {
    assert.throws(() => renderScript(input(config, { ...good, ...change })), (err: unknown) => err instanceof Error && /^refusing to put/.test(err.message) && message.test(err.message), JSON.stringify(change));
  }
  // Simple placeholders of an admin's template are checked too, e.g. the user name and the work dir.
  // (The directives are built whatever the template, so the work dir here holds no user name.)
  const fixedDir = slurmSchema.parse({ work_dir: '/srv/jupyter' });
  assert.ok(renderScript(input(fixedDir, good, { template: '# {{username}}\n{{command}}', userName: 'alice' })).startsWith('# alice\n'));
  assert.throws(() => renderScript(input(fixedDir, good, { template: '# {{username}}\n{{command}}', userName: 'al ice' })), /\{\{username\}\}/);
  assert.throws(() => renderScript(input(slurmSchema.parse({ work_dir: '/home/{username}; id' }), good)), /--chdir/);
  // Environment variable names are checked; the values are quoted.
  for (const name of ['A-B', 'X;id', '1X', 'A B', '$(id)', '']) {
    assert.throws(() => renderScript(input(config, good, { scriptEnv: { [name]: 'v' } })), /refusing environment variable name/, name);
  }
  // An image that is not configured has nothing to run.
  assert.throws(() => renderScript(input(config, { ...good, image: 'nope' })), /needs spawner\.slurm\.container\.command/);
});

test('snapshot: an admin template with simple placeholders', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'batch.sh');
  await writeFile(
    file,
    [
      '#!/bin/bash',
      '{{directives}}',
      '#SBATCH --comment=user={{username}},job={{job_name}}',
      '{{ environment }}',
      'module load cuda',
      'echo "{{partition}} {{cpus}} {{memory_gb}} {{time_minutes}} {{gpus}} {{gpu_type}} {{account}} {{qos}} {{image}} {{work_dir}}"',
      'exec {{command}}',
      '',
    ].join('\n'),
  );
  const config = slurmSchema.parse({
    partitions: GPU_PARTITIONS,
    batch_script: file,
    images: { py: { image: '/cvmfs/py.sif' } },
    container: { command: 'apptainer exec --nv {image}' },
  });
  const template = loadTemplate(config);
  const options = parseSlurmOptions({ partition: 'gpu', gpus: 2 }, config);
  const script = renderScript(input(config, options, { template }));
  assert.ok(script.includes('#SBATCH --comment=user=alice,job=ganymede\n'), script);
  assert.ok(script.includes('echo "gpu 4 32 60 2 a100 proj1 normal /cvmfs/py.sif /home/alice"\n'), script);
  assert.ok(!/\{\{/.test(script), 'every placeholder filled');
  matchSnapshot('admin-template', script);
});

test('loadTemplate: the shipped template without batch_script; an admin file that is fine is returned as it is', async (t) => {
  assert.equal(loadTemplate(slurmSchema.parse({})), DEFAULT_BATCH_SCRIPT);
  const dir = await tempDir(t);
  const file = path.join(dir, 'ok.sh');
  await writeFile(file, '#!/bin/bash\n{{directives}}\nexec {{ command }}\n');
  assert.equal(loadTemplate(slurmSchema.parse({ batch_script: file })), '#!/bin/bash\n{{directives}}\nexec {{ command }}\n');
});

test('loadTemplate: an unknown placeholder is a ConfigError naming the file and the placeholder', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'typo.sh');
  await writeFile(file, '#!/bin/bash\n{{directives}}\n#SBATCH --mem={{memory}}\nexec {{command}}\n');
  const config = slurmSchema.parse({ batch_script: file });
  assert.throws(
    () => loadTemplate(config),
    (err: unknown) => err instanceof ConfigError && err.message.includes(file) && err.message.includes('{{memory}}') && /unknown placeholder/.test(err.message),
  );
  // The spawner refuses to start with it.
  assert.throws(() => new SlurmSpawner(spawnerSchema.parse({ class: 'slurm', slurm: { batch_script: file } }), pino({ level: 'silent' }), { runner: { envInScript: false, run: () => assert.fail('no command') } }), ConfigError);
});

test('loadTemplate: a template without {{command}} is a ConfigError', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'nocmd.sh');
  await writeFile(file, '#!/bin/bash\n{{directives}}\nexec jupyterhub-singleuser\n');
  assert.throws(
    () => loadTemplate(slurmSchema.parse({ batch_script: file })),
    (err: unknown) => err instanceof ConfigError && err.message.includes(file) && err.message.includes('must contain {{command}}'),
  );
  const missing = path.join(dir, 'missing.sh');
  assert.throws(() => loadTemplate(slurmSchema.parse({ batch_script: missing })), (err: unknown) => err instanceof ConfigError && err.message.includes(missing) && err.message.includes('ENOENT'));
});
