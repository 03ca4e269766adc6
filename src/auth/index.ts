/**
 * Builds the configured authenticator. Each kind's module (and its libraries: openid-client, ldapts,
 * node-saml, argon2…) is loaded only when configured, so a hub pays memory and start time only for
 * the authenticator it uses.
 */
import type { Logger } from 'pino';
import type { AuthenticatorConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { type Authenticator, normalizeUsername } from './authenticator.js';
import { DummyAuthenticator } from './dummy.js';
import { NullAuthenticator } from './null.js';
import { SharedPasswordGate } from './shared-password.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** Whether the chosen authenticator has an allow rule of its own (groups, organizations, approval). */
export function hasOwnAllowRule(config: AuthenticatorConfig): boolean {
  switch (config.class) {
    case 'oidc':
      return (config.oidc?.allowed_groups.length ?? 0) > 0;
    case 'saml':
      return (config.saml?.allowed_groups.length ?? 0) > 0;
    case 'ldap':
      return (config.ldap?.allowed_groups.length ?? 0) > 0;
    case 'pam':
      return config.pam.allowed_groups.length > 0;
    case 'github':
      return (config.github?.allowed_organizations.length ?? 0) > 0;
    case 'native':
      return true;
    default:
      return false;
  }
}

/** allowed_users and admin_users, normalised: redirect authenticators let them in whatever their groups. */
function listed(config: AuthenticatorConfig): Set<string> {
  return new Set([...config.allowed_users, ...config.admin_users].map(normalizeUsername));
}

/** What some authenticators need from the hub: its database (native accounts) and cookie secret (key derivation). */
export interface AuthenticatorDeps {
  db: Kysely<Database>;
  cookieSecret: Buffer;
}

export async function createAuthenticator(config: AuthenticatorConfig, log: Logger, deps: AuthenticatorDeps): Promise<Authenticator> {
  if (config.class === 'shared-password') {
    if (!config.shared_password) throw new ConfigError('authenticator.shared_password: required when authenticator.class is shared-password');
    return new DummyAuthenticator({ password: config.shared_password });
  }
  const inner = await createInner(config, log, deps);
  if (!config.shared_password) return inner;
  if (!inner.loginForm) {
    throw new ConfigError(
      `authenticator.shared_password: works with login-form authenticators (dummy, ldap, pam, native), not with ${config.class}; for one password in front of the whole site use the top-level shared_password`,
    );
  }
  return new SharedPasswordGate(inner as Authenticator & { loginForm: NonNullable<Authenticator['loginForm']> }, config.shared_password);
}

async function createInner(config: AuthenticatorConfig, log: Logger, deps: AuthenticatorDeps): Promise<Authenticator> {
  switch (config.class) {
    case 'dummy':
      return new DummyAuthenticator(config);
    case 'null':
      return new NullAuthenticator();
    case 'tmp':
      return new (await import('./tmp.js')).TmpAuthenticator(config.force_new_server);
    case 'oidc':
      if (!config.oidc) throw new ConfigError('authenticator.oidc: required when authenticator.class is oidc (issuer, client_id, client_secret)');
      return new (await import('./oidc.js')).OidcAuthenticator(config.oidc, listed(config), log);
    case 'ldap': {
      const ldap = config.ldap;
      if (!ldap) throw new ConfigError('authenticator.ldap: required when authenticator.class is ldap (server_url and bind_dn_template or lookup_dn)');
      if (ldap.lookup_dn && !ldap.user_search_base) throw new ConfigError('authenticator.ldap.user_search_base: required with lookup_dn: true');
      if (!ldap.lookup_dn && ldap.bind_dn_template.length === 0) {
        throw new ConfigError('authenticator.ldap.bind_dn_template: give at least one template, or set lookup_dn: true');
      }
      try {
        new RegExp(ldap.valid_username_regex);
      } catch {
        throw new ConfigError(`authenticator.ldap.valid_username_regex: not a valid regular expression: ${ldap.valid_username_regex}`);
      }
      return new (await import('./ldap.js')).LdapAuthenticator(ldap, log);
    }
    case 'pam':
      return new (await import('./pam.js')).PamAuthenticator(config.pam, log);
    case 'native':
      return new (await import('./native/native.js')).NativeAuthenticator(
        config.native,
        deps.db,
        deps.cookieSecret,
        new Set(config.admin_users.map(normalizeUsername)),
        log,
      );
    case 'github':
      if (!config.github) throw new ConfigError('authenticator.github: required when authenticator.class is github (client_id, client_secret)');
      return new (await import('./github.js')).GithubAuthenticator(config.github, listed(config), log);
    case 'saml': {
      const saml = config.saml;
      if (!saml) throw new ConfigError('authenticator.saml: required when authenticator.class is saml (entity_id, acs_url and the IdP)');
      const sources = [saml.idp_metadata_file, saml.idp_metadata_url, saml.entry_point && saml.idp_cert].filter(Boolean).length;
      if (sources !== 1) {
        throw new ConfigError('authenticator.saml: give exactly one of idp_metadata_file, idp_metadata_url, or entry_point with idp_cert');
      }
      return new (await import('./saml.js')).SamlAuthenticator(saml, listed(config), log);
    }
    case 'shared-password':
      throw new Error('handled by createAuthenticator');
  }
}
