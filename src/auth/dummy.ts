/** Any user name logs in; if `password` is set, everyone must type that one password. For tests, demos and workshops. */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AuthenticatorConfig } from '../config/schema.js';
import { type AuthResult, type Authenticator, type LoginForm, isValidUsername, normalizeUsername } from './authenticator.js';

function sameSecret(a: string, b: string): boolean {
  // Hash first so that the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export class DummyAuthenticator implements Authenticator {
  readonly kind = 'dummy';
  readonly loginForm: { passwordRequired: boolean };

  constructor(private readonly config: Pick<AuthenticatorConfig, 'password'>) {
    this.loginForm = { passwordRequired: Boolean(config.password) };
  }

  async authenticate(form: LoginForm): Promise<AuthResult | null> {
    const name = normalizeUsername(form.username ?? '');
    if (!isValidUsername(name)) return null;
    if (this.config.password && !sameSecret(form.password ?? '', this.config.password)) return null;
    return { name };
  }
}
