/** Builds the configured authenticator. */
import type { AuthenticatorConfig } from '../config/schema.js';
import type { Authenticator } from './authenticator.js';
import { DummyAuthenticator } from './dummy.js';
import { NullAuthenticator } from './null.js';

export function createAuthenticator(config: AuthenticatorConfig): Authenticator {
  switch (config.class) {
    case 'dummy':
      return new DummyAuthenticator(config);
    case 'null':
      return new NullAuthenticator();
  }
}
