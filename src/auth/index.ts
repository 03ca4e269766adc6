/** Builds the configured authenticator. */
import type { Logger } from 'pino';
import type { AuthenticatorConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { type Authenticator, normalizeUsername } from './authenticator.js';
import { DummyAuthenticator } from './dummy.js';
import { NullAuthenticator } from './null.js';
import { OidcAuthenticator } from './oidc.js';

export function createAuthenticator(config: AuthenticatorConfig, log: Logger): Authenticator {
  switch (config.class) {
    case 'dummy':
      return new DummyAuthenticator(config);
    case 'null':
      return new NullAuthenticator();
    case 'oidc':
      if (!config.oidc) throw new ConfigError('authenticator.oidc: required when authenticator.class is oidc (issuer, client_id, client_secret)');
      return new OidcAuthenticator(config.oidc, new Set([...config.allowed_users, ...config.admin_users].map(normalizeUsername)), log);
  }
}
