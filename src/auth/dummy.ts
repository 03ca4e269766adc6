/** Any user name logs in; if `password` is set, everyone must type that one password. For tests, demos and workshops. */
import type { AuthenticatorConfig } from '../config/schema.js';
import { type AuthResult, type Authenticator, type LoginForm, isValidUsername, normalizeUsername } from './authenticator.js';

import { sameSecret } from './shared-password.js';

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
