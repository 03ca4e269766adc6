/**
 * The machine's Unix accounts through PAM. The check runs in `libexec/pam-check.py` with pamela (the
 * binding JupyterHub's PAMAuthenticator uses), started with Debian's python3 for each login: the name
 * and password go over its stdin, never its command line. As with JupyterHub, checking other users'
 * passwords needs the hub to run as root (or in the shadow group).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { PamConfig } from '../config/schema.js';
import { type AuthResult, type Authenticator, type LoginForm, normalizeUsername } from './authenticator.js';

/** libexec/pam-check.py, from src/auth or dist/auth alike. */
export const PAM_HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'libexec', 'pam-check.py');
const HELPER_TIMEOUT_MS = 15_000;
/** Unix user names (useradd's default rule, plus upper case that we lower anyway). */
const UNIX_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

interface HelperAnswer {
  ok: boolean;
  reason?: string;
  groups?: string[];
}

export class PamAuthenticator implements Authenticator {
  readonly kind = 'pam';
  readonly loginForm = { passwordRequired: true };

  constructor(
    private readonly config: PamConfig,
    private readonly log: Logger,
  ) {}

  private check(username: string, password: string): Promise<HelperAnswer> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.python, [PAM_HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${this.config.python} for PAM: ${e.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(out) as HelperAnswer);
        } catch {
          reject(new Error(`the PAM helper failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}`));
        }
      });
      child.stdin.end(JSON.stringify({ service: this.config.service, username, password, check_account: this.config.check_account }));
    });
  }

  async authenticate(form: LoginForm): Promise<AuthResult | null> {
    const username = normalizeUsername(form.username ?? '');
    const password = form.password ?? '';
    if (!UNIX_NAME.test(username) || password === '') return null;
    const answer = await this.check(username, password);
    if (!answer.ok) {
      this.log.info({ user: username, reason: answer.reason }, 'PAM refused the login');
      return null;
    }
    const groups = answer.groups ?? [];
    if (this.config.allowed_groups.length && ![...this.config.allowed_groups, ...this.config.admin_groups].some((g) => groups.includes(g))) {
      this.log.info({ user: username }, 'PAM login refused: not in allowed_groups');
      return null;
    }
    return {
      name: username,
      admin: this.config.admin_groups.length ? this.config.admin_groups.some((g) => groups.includes(g)) : undefined,
      allowed: this.config.allowed_groups.length ? true : undefined,
    };
  }
}
