/** No login at all: the hub is used through API tokens only (JupyterHub's NullAuthenticator). */
import type { AuthResult, Authenticator } from './authenticator.js';

export class NullAuthenticator implements Authenticator {
  readonly kind = 'null';
  readonly loginForm = null;

  async authenticate(): Promise<AuthResult | null> {
    return null;
  }
}
