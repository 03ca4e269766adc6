/** Running Slurm's commands: locally behind the exec prefix (no shell), or over SSH to a pinned host key. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import ssh2, { type Connection } from 'ssh2';
import { slurmSchema, slurmSshSchema, type SlurmConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { checkUnixName, createRunner, LocalRunner, sshFingerprint, SshRunner } from '../../src/spawners/slurm/commands.js';
import { lookupAccount } from '../../src/spawners/unix-accounts.js';
import { SpawnFailure } from '../../src/spawners/spawner.js';
import { shellCommand } from '../../src/spawners/slurm/script.js';

const isRoot = process.getuid?.() === 0;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ganymede-slurm-cmd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

interface Record_ {
  script: string;
  argv: string[];
  stdin: string;
  env: Record<string, string>;
  cwd: string;
}

/** A program that writes down how it was called (argv, stdin, environment, cwd) into record.json next to it. */
async function recorder(dir: string): Promise<{ program: string; read: () => Promise<Record_>; clear: () => Promise<void> }> {
  const program = path.join(dir, 'record');
  const file = path.join(dir, 'record.json');
  await writeFile(
    program,
    `#!${process.execPath}
const fs = require('fs');
let stdin = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (stdin += d));
process.stdin.on('end', () => {
  fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify({ script: process.argv[1], argv: process.argv.slice(2), stdin, env: process.env, cwd: process.cwd() }));
  process.stdout.write('out:' + process.argv.length);
  process.stderr.write('err');
  process.exitCode = Number(process.env.REC_EXIT || 0);
});
`,
  );
  await chmod(program, 0o755);
  return {
    program,
    read: async () => JSON.parse(await readFile(file, 'utf8')) as Record_,
    clear: () => unlink(file).catch(() => undefined),
  };
}

function local(exec_prefix: string): SlurmConfig {
  return slurmSchema.parse({ submit: { mode: 'local', exec_prefix } });
}

test('as root, a prefix that does not switch to the user is a ConfigError', { skip: !isRoot && 'needs root' }, () => {
  for (const prefix of ['', '   ', 'nice', 'sudo -u alice --', 'env']) {
    assert.throws(() => new LocalRunner(local(prefix), 1000), (err: unknown) => err instanceof ConfigError && /must switch to the user \(contain \{username\}\)/.test(err.message), JSON.stringify(prefix));
  }
  assert.ok(new LocalRunner(local('sudo -E -u {username} --'), 1000));
  assert.ok(createRunner(local('runuser -u {username} --'), 1000) instanceof LocalRunner);
});

test('LocalRunner: the prefix with the user name, then the command, with no shell in between', async (t) => {
  const dir = await tempDir(t);
  const rec = await recorder(dir);
  // min_uid 0 here so that an account every machine has (daemon) stands for a person's.
  const runner = new LocalRunner(local(`${rec.program} -u {username} --user={username} --`), 0);
  const argv = ['sbatch', '--parsable', '$(id)', '`id`;x', 'a b', "it's", '"q"', '', 'line1\nline2', '*', '~', '$HOME'];
  const stdin = `#!/bin/bash\n#SBATCH --partition=debug\nexport X='it'\\''s'\nexec python3 -c 'print(1)'\n${'x'.repeat(200_000)}\n`;
  process.env.SLURM_CONF = '/etc/slurm/test.conf';
  process.env.GANYMEDE_NOT_FOR_SLURM = 'secret';
  t.after(() => {
    delete process.env.SLURM_CONF;
    delete process.env.GANYMEDE_NOT_FOR_SLURM;
  });
  const result = await runner.run('daemon', argv, { stdin, env: { JUPYTERHUB_API_TOKEN: 'c0ffee', WEIRD: 'a b $(id)\n`x`' } });
  assert.deepEqual(result, { code: 0, stdout: `out:${2 + 4 + argv.length}`, stderr: 'err' });
  const seen = await rec.read();
  assert.equal(seen.script, rec.program);
  assert.deepEqual(seen.argv, ['-u', 'daemon', '--user=daemon', '--', ...argv]);
  assert.equal(seen.stdin, stdin);
  assert.equal(seen.env.JUPYTERHUB_API_TOKEN, 'c0ffee');
  assert.equal(seen.env.WEIRD, 'a b $(id)\n`x`');
  assert.equal(seen.env.PATH, process.env.PATH);
  assert.equal(seen.env.SLURM_CONF, '/etc/slurm/test.conf', "Slurm's own variables pass");
  assert.equal(seen.env.GANYMEDE_NOT_FOR_SLURM, undefined, "the rest of the hub's environment does not");
  assert.equal(seen.cwd, '/');
});

test('LocalRunner: run(null, ...) runs the command itself, without the prefix', async (t) => {
  const dir = await tempDir(t);
  const rec = await recorder(dir);
  const runner = new LocalRunner(local(`${path.join(dir, 'no-such-prefix')} {username} --`), 1000);
  const result = await runner.run(null, [rec.program, '--noheader', '$(id)']);
  assert.equal(result.code, 0);
  const seen = await rec.read();
  assert.equal(seen.script, rec.program);
  assert.deepEqual(seen.argv, ['--noheader', '$(id)']);
  assert.equal(seen.stdin, '', 'stdin is closed, empty');
});

test('LocalRunner: exit codes and output come back; a missing command is an error', async (t) => {
  const dir = await tempDir(t);
  const rec = await recorder(dir);
  const runner = new LocalRunner(local('sudo -E -u {username} --'), 1000);
  assert.deepEqual(await runner.run(null, [rec.program], { env: { REC_EXIT: '3' } }), { code: 3, stdout: 'out:2', stderr: 'err' });
  await assert.rejects(runner.run(null, [path.join(dir, 'missing')]), (err: unknown) => err instanceof Error && err.message.includes(path.join(dir, 'missing')));
  // A command that exits without reading its stdin is fine too.
  assert.equal((await runner.run(null, ['true'], { stdin: 'x'.repeat(1 << 20) })).code, 0);
});

test('LocalRunner: a user name that is not a Unix name never reaches the prefix', async (t) => {
  const dir = await tempDir(t);
  const rec = await recorder(dir);
  const runner = new LocalRunner(local(`${rec.program} -u {username} --`), 1000);
  for (const name of ['a;b', 'al ice', '$(id)', '../x', '-x', 'root\n']) {
    await rec.clear();
    await assert.rejects(async () => runner.run(name, ['sbatch']), /not a Unix account name/, JSON.stringify(name));
    assert.equal(existsSync(path.join(dir, 'record.json')), false, `nothing ran for ${JSON.stringify(name)}`);
  }
});

test('LocalRunner: the prefix switches only to a person\'s account: system accounts, the hub\'s own and unknown names are refused', async (t) => {
  const dir = await tempDir(t);
  const rec = await recorder(dir);
  const runner = new LocalRunner(local(`${rec.program} -u {username} --`), 1000);
  const names = ['daemon', 'nobody', 'no-such-account-here', ...['slurm', 'munge', 'postgres', 'ganymede'].filter((n) => lookupAccount(n))];
  for (const name of names) {
    await rec.clear();
    await assert.rejects(async () => runner.run(name, ['sbatch']), (err: unknown) => err instanceof SpawnFailure && /system account|no Unix account/.test(err.message), name);
    assert.equal(existsSync(path.join(dir, 'record.json')), false, `nothing ran as ${name}`);
  }
});

test('checkUnixName: account names pass, anything a shell, sudo or a path could read otherwise does not', () => {
  for (const name of ['alice', 'a.b', 'x_1', '_svc', 'a-b', 'Alice', 'alice@example.org', 'a.', 'x'.repeat(64)]) assert.equal(checkUnixName(name), name);
  const refused = [
    '',
    ' ',
    'al ice',
    'alice ',
    'a\tb',
    'root;id',
    'a;b',
    '$(id)',
    'a$b',
    '`id`',
    'a|b',
    'a&b',
    'a>b',
    "a'b",
    'a"b',
    'a\\b',
    'a/b',
    '../x',
    '..',
    'a..b',
    '.x',
    '-x',
    '--help',
    '1abc',
    'alice\n',
    'a\nb',
    'a\rb',
    'a\0b',
    'ünï',
    'a*',
    'x'.repeat(65),
  ];
  for (const name of refused) assert.throws(() => checkUnixName(name), /is not a Unix account name/, JSON.stringify(name));
});

function keygen(dir: string, name: string, type: 'ed25519' | 'ecdsa'): { privateKey: string; publicKey: string; fingerprint: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const printed = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' });
  return { privateKey: file, publicKey: `${file}.pub`, fingerprint: printed.split(' ')[1]! };
}

test('sshFingerprint is what ssh-keygen -lf prints, and what the config accepts', async (t) => {
  const dir = await tempDir(t);
  for (const type of ['ed25519', 'ecdsa'] as const) {
    const key = keygen(dir, `host_${type}`, type);
    const [algo, blob] = (await readFile(key.publicKey, 'utf8')).split(' ');
    assert.equal(algo, type === 'ed25519' ? 'ssh-ed25519' : 'ecdsa-sha2-nistp256');
    assert.match(key.fingerprint, /^SHA256:/);
    assert.equal(sshFingerprint(Buffer.from(blob!, 'base64')), key.fingerprint);
    assert.ok(slurmSshSchema.safeParse({ host: 'login', private_key_file: 'k', host_key_fingerprint: key.fingerprint, poll_username: 'p', poll_private_key_file: 'pk' }).success);
  }
});

interface SshLog {
  connections: number;
  logins: string[];
  commands: Array<{ user: string; command: string; stdin: string }>;
}

/** A small SSH server: any public key logs in; exec answers `out:<command>` and exits with 3. */
async function sshServer(t: TestContext, hostKey: string): Promise<{ port: number; log: SshLog }> {
  const log: SshLog = { connections: 0, logins: [], commands: [] };
  const server = new ssh2.Server({ hostKeys: [await readFile(hostKey)] }, (client: Connection) => {
    log.connections++;
    let user = '';
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      user = ctx.username;
      if (ctx.signature) log.logins.push(user);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().once('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          let stdin = '';
          stream.on('data', (d: Buffer) => (stdin += d.toString('utf8')));
          stream.on('end', () => {
            log.commands.push({ user, command: info.command, stdin });
            stream.write(`out:${info.command}`);
            stream.stderr.write('err');
            stream.exit(3);
            stream.end();
          });
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, log };
}

async function sshSetup(t: TestContext, fingerprint?: string) {
  const dir = await tempDir(t);
  const host = keygen(dir, 'host', 'ed25519');
  keygen(dir, 'alice', 'ed25519');
  keygen(dir, 'hubpoll', 'ed25519');
  const { port, log } = await sshServer(t, host.privateKey);
  const config = slurmSchema.parse({
    submit: { mode: 'ssh' },
    ssh: {
      host: '127.0.0.1',
      port,
      private_key_file: path.join(dir, '{username}'),
      host_key_fingerprint: fingerprint ?? host.fingerprint,
      poll_username: 'hubpoll',
      poll_private_key_file: path.join(dir, 'hubpoll'),
      timeout: 10,
    },
  });
  const runner = createRunner(config, 1000);
  assert.ok(runner instanceof SshRunner);
  assert.equal(runner.envInScript, true);
  return { dir, log, runner };
}

test('SshRunner: the command goes over as shell-quoted words, the script on stdin, as the user', async (t) => {
  const { log, runner } = await sshSetup(t);
  const argv = ['sbatch', '--parsable', '$(id)', "it's", 'a b', ''];
  const result = await runner.run('alice', argv, { stdin: '#!/bin/bash\nexec true\n' });
  assert.deepEqual(result, { code: 3, stdout: `out:${shellCommand(argv)}`, stderr: 'err' });
  assert.deepEqual(log.commands, [{ user: 'alice', command: "sbatch --parsable '$(id)' 'it'\\''s' 'a b' ''", stdin: '#!/bin/bash\nexec true\n' }]);
  await runner.run(null, ['squeue', '--noheader']);
  assert.deepEqual(log.commands[1], { user: 'hubpoll', command: 'squeue --noheader', stdin: '' });
  assert.deepEqual(log.logins, ['alice', 'hubpoll']);
});

test('SshRunner: a host key with another fingerprint is refused before logging in', async (t) => {
  const other = keygen(await tempDir(t), 'other', 'ed25519');
  const { log, runner } = await sshSetup(t, other.fingerprint);
  await assert.rejects(runner.run('alice', ['sbatch']), /SSH to alice@127\.0\.0\.1:\d+/);
  assert.deepEqual(log.logins, []);
  assert.deepEqual(log.commands, []);
});

test('SshRunner: a bad user name or a missing key fails without a connection', async (t) => {
  const { log, runner } = await sshSetup(t);
  await assert.rejects(async () => runner.run('a;b', ['sbatch']), /not a Unix account name/);
  await assert.rejects(runner.run('bob', ['sbatch']), /no SSH key for bob \(ENOENT/);
  assert.equal(log.connections, 0);
  assert.throws(() => new SshRunner(slurmSchema.parse({ submit: { mode: 'ssh' } })), ConfigError);
});

test('checkUnixName refuses root: a user’s job is never root’s', () => {
  assert.throws(() => checkUnixName('root'), /"root" may not run Slurm jobs/);
});
