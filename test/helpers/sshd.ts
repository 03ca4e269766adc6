/**
 * A real OpenSSH server for tests: Debian's sshd with a config of our own on a free loopback port, its
 * own ed25519 host key, and one client key per allowed user (key login only, no PAM). `setEnv` reaches
 * every remote command (SLURM_CONF for the Slurm spawner's ssh mode).
 *
 * Needs root, as any sshd that logs other users in does. The accounts must exist (createUnixUser in
 * slurm-cluster.ts) and not be locked: without PAM, sshd refuses keys for a '!' password.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { firstLine, freePort, waitUntilServing } from './ports.js';
import { descendants, killAll } from './processes.js';
import { tempDir } from './tmp.js';

const execFileAsync = promisify(execFile);

export interface SshdOptions {
  /** The only accounts that may log in; each gets a client key pair. */
  users: string[];
  /** Environment for every session (sshd_config SetEnv), e.g. { SLURM_CONF: slurm.confPath }. */
  setEnv?: Record<string, string>;
}

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** 'SHA256:<base64>' as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** The host key's .pub line: 'ssh-ed25519 AAAA... comment'. */
  hostPublicKey: string;
  /** Path of the unencrypted OpenSSH-format private key that logs `user` in. */
  clientKeyFile(user: string): string;
  /** Ends sshd and every session it started, removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

async function keyPair(file: string, comment: string): Promise<void> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** A SetEnv value, double-quoted when it holds spaces or quotes (sshd_config's own quoting). */
function setEnvLine(env: Record<string, string>): string[] {
  const entries = Object.entries(env);
  if (entries.length === 0) return [];
  return [`SetEnv ${entries.map(([k, v]) => (/[\s"]/.test(v) ? `"${k}=${v.replace(/"/g, '\\"')}"` : `${k}=${v}`)).join(' ')}`];
}

export async function startSshd(options: SshdOptions): Promise<TestSshd> {
  const tmp = await tempDir('ganymede-sshd-');
  const dir = tmp.path;
  const hostKey = path.join(dir, 'host_ed25519');
  await keyPair(hostKey, 'ganymede-test-host');
  const keysDir = path.join(dir, 'keys');
  const clientDir = path.join(dir, 'client');
  // sshd reads authorized keys as the user logging in: the directory and keys/ must be searchable
  // by all; client/ (private keys) stays the test's own.
  chmodSync(dir, 0o755);
  mkdirSync(keysDir, { mode: 0o755 });
  mkdirSync(clientDir, { mode: 0o700 });
  for (const user of options.users) {
    await keyPair(path.join(clientDir, user), `ganymede-test-${user}`);
    copyFileSync(path.join(clientDir, `${user}.pub`), path.join(keysDir, `${user}.pub`));
  }
  // sshd's privilege separation directory; Debian's service unit makes it, and none runs here.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });

  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${keysDir}/%u.pub`,
      `AllowUsers ${options.users.join(' ')}`,
      // The key files are the test's (root's), in a temporary directory: no ownership checks.
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin no',
      'LogLevel VERBOSE',
      ...setEnvLine(options.setEnv ?? {}),
      'Subsystem sftp /usr/lib/openssh/sftp-server',
      '',
    ].join('\n'),
  );
  const fingerprint = (await execFileAsync('ssh-keygen', ['-l', '-f', `${hostKey}.pub`])).stdout.split(' ')[1]!;

  // -D: stay a child of the test; -e: log to stderr, kept for error messages.
  const proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  proc.on('error', (err) => (stderr += `${err.message}\n`));
  const isAlive = () => proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined;
  // Sessions are sshd's children: killed with it, or they would outlive the test.
  const killSessions = () => killAll(descendants(proc.pid!).map((p) => p.pid));
  const killNow = () => {
    if (isAlive()) {
      killSessions();
      proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (isAlive()) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        killSessions();
        proc.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000, undefined, { ref: false }).then(() => proc.kill('SIGKILL'))]);
        await exited;
      }
      process.removeListener('exit', killNow);
      await tmp.cleanup();
    })());

  try {
    // Its identification string: a connection is served, not only accepted by the kernel.
    await waitUntilServing('sshd', async () => (await firstLine(port)).startsWith('SSH-2.0-'), isAlive, 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }

  return {
    host: '127.0.0.1',
    port,
    hostKeyFingerprint: fingerprint,
    hostPublicKey: readFileSync(`${hostKey}.pub`, 'utf8').trim(),
    clientKeyFile: (user) => {
      if (!options.users.includes(user)) throw new Error(`no client key for ${user}: not in startSshd's users`);
      return path.join(clientDir, user);
    },
    stop,
  };
}
