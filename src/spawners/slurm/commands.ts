/**
 * Running Slurm's commands, as the user whose job it is or as the hub's poll account:
 *  - local: argv arrays through execFile, behind `submit.exec_prefix` (default `sudo -E -u {username} --`);
 *    no shell, so nothing is parsed twice;
 *  - ssh: a login node over SSH (the ssh2 package), with the user's key; the remote side has a
 *    shell, so every word is shell-quoted, and the host key must match the configured fingerprint.
 * Either way the script goes in on stdin (sbatch reads it from there), never in a file or an argument.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Client, type ConnectConfig } from 'ssh2';
import type { SlurmConfig } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import { shellCommand } from './script.js';
import { systemAccount } from '../unix-accounts.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
  /** Extra environment (local mode; over SSH it is not passed on, the script carries it instead). */
  env?: Record<string, string>;
}

export interface CommandRunner {
  /** Where the job's JUPYTERHUB_* variables travel: in sbatch's environment (local) or in the script (ssh). */
  readonly envInScript: boolean;
  /** Run `argv` as `user` (the job's owner), or as the hub's poll account when user is null. */
  run(user: string | null, argv: string[], options?: RunOptions): Promise<CommandResult>;
}

/** A Unix account name safe to hand to sudo or SSH: what useradd accepts, plus "@" and "." that directory accounts use. */
const UNIX_NAME = /^[a-z_][a-z0-9_.@-]{0,63}$/i;

export function checkUnixName(name: string): string {
  if (!UNIX_NAME.test(name) || name.includes('..')) throw new Error(`"${name}" is not a Unix account name Slurm jobs can run as`);
  // A user's job is never root's, whatever the hub's user names are.
  if (name === 'root') throw new Error('"root" may not run Slurm jobs through the hub');
  return name;
}

const MAX_OUTPUT = 16 * 1024 * 1024;

/** Variables of the hub's own environment that Slurm's commands need (where slurm.conf is, PATH). */
function clientEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k === 'PATH' || k === 'LANG' || k === 'LC_ALL' || k.startsWith('SLURM_'))) env[k] = v;
  }
  return env;
}

export class LocalRunner implements CommandRunner {
  readonly envInScript = false;
  private readonly prefix: string[];

  constructor(
    private readonly config: SlurmConfig,
    /** spawner.min_uid: the prefix switches only to accounts of this uid or above, as local servers do. */
    private readonly minUid: number,
  ) {
    this.prefix = config.submit.exec_prefix.trim() ? config.submit.exec_prefix.trim().split(/\s+/) : [];
    // The brief's rule: the hub never runs a user's Slurm commands as root.
    if (process.getuid?.() === 0 && !this.prefix.some((w) => w.includes('{username}'))) {
      throw new ConfigError('spawner.slurm.submit.exec_prefix: the hub runs as root, so the prefix must switch to the user (contain {username}), e.g. "sudo -E -u {username} --"');
    }
  }

  run(user: string | null, argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    // The account the prefix switches to must be a person's: never root, daemon, slurm or the hub's own.
    if (user !== null && this.prefix.some((w) => w.includes('{username}'))) systemAccount(checkUnixName(user), this.minUid);
    const words = user === null ? argv : [...this.prefix.map((w) => w.replaceAll('{username}', checkUnixName(user))), ...argv];
    const [command, ...args] = words;
    return new Promise((resolve, reject) => {
      const child = execFile(
        command!,
        args,
        { env: { ...clientEnv(), ...options.env }, timeout: this.config.command_timeout * 1000, maxBuffer: MAX_OUTPUT, cwd: '/' },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          if (code === null) return reject(new Error(`${command} ${args[0] ?? ''}: ${err!.killed ? `no answer within ${this.config.command_timeout} s` : err!.message}`));
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.on('error', () => undefined); // a command that exits without reading its stdin
      child.stdin?.end(options.stdin ?? '');
    });
  }
}

/** `SHA256:…` of an SSH public key blob, as ssh-keygen -l prints it. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export class SshRunner implements CommandRunner {
  readonly envInScript = true;
  private readonly ssh: NonNullable<SlurmConfig['ssh']>;

  constructor(private readonly config: SlurmConfig) {
    if (!config.ssh) throw new ConfigError('spawner.slurm.ssh: required when spawner.slurm.submit.mode is ssh (host, private_key_file, host_key_fingerprint, poll_username, poll_private_key_file)');
    this.ssh = config.ssh;
  }

  async run(user: string | null, argv: string[], options: RunOptions = {}): Promise<CommandResult> {
    const username = user === null ? this.ssh.poll_username : this.ssh.username.replaceAll('{username}', checkUnixName(user));
    const keyFile = user === null ? this.ssh.poll_private_key_file : this.ssh.private_key_file.replaceAll('{username}', user);
    let privateKey: Buffer;
    try {
      privateKey = await readFile(keyFile);
    } catch (err) {
      throw new Error(`no SSH key for ${username} (${(err as NodeJS.ErrnoException).code ?? String(err)} reading ${keyFile})`);
    }
    const timeoutMs = this.ssh.timeout * 1000;
    const connect: ConnectConfig = {
      host: this.ssh.host,
      port: this.ssh.port,
      username,
      privateKey,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => sshFingerprint(key) === this.ssh.host_key_fingerprint,
    };
    return new Promise((resolve, reject) => {
      const client = new Client();
      let settled = false;
      const finish = (outcome: CommandResult | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.end();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish(new Error(`${this.ssh.host}: no answer within ${this.ssh.timeout} s`)), timeoutMs + this.config.command_timeout * 1000);
      client.on('error', (err) => finish(new Error(`SSH to ${username}@${this.ssh.host}:${this.ssh.port}: ${err.message}`)));
      client.on('ready', () => {
        client.exec(shellCommand(argv), (err, stream) => {
          if (err) return finish(new Error(`SSH exec on ${this.ssh.host}: ${err.message}`));
          let stdout = '';
          let stderr = '';
          stream.on('data', (d: Buffer) => {
            if (stdout.length < MAX_OUTPUT) stdout += d.toString('utf8');
          });
          stream.stderr.on('data', (d: Buffer) => {
            if (stderr.length < MAX_OUTPUT) stderr += d.toString('utf8');
          });
          stream.on('close', (code: number | null) => finish({ code: code ?? 255, stdout, stderr }));
          stream.end(options.stdin ?? '');
        });
      });
      client.connect(connect);
    });
  }
}

export function createRunner(config: SlurmConfig, minUid: number): CommandRunner {
  return config.submit.mode === 'ssh' ? new SshRunner(config) : new LocalRunner(config, minUid);
}
