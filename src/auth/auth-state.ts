/**
 * Where authenticators keep what they learned at login (tokens, groups, attributes): the user's
 * `auth_state`, encrypted at rest, readable by the hub, by admins with `admin:auth_state`, and, for
 * the keys the admin lists in `authenticator.auth_state_env`, by the user's server as environment
 * variables (JupyterHub sites do the last with a pre_spawn_start hook).
 */
import type { UserRow } from '../db/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import { AuthStateCrypt, CryptKeyError, parseCryptKeys } from './crypt.js';
import { ConfigError } from '../errors.js';
import { valueAt } from './group-rules.js';

export class AuthStateStore {
  private constructor(
    private readonly crypt: AuthStateCrypt | null,
    private readonly envMap: Readonly<Record<string, string>>,
  ) {}

  /**
   * `enabled` is authenticator.enable_auth_state; the keys come from GANYMEDE_CRYPT_KEY. Enabled
   * without a key (or with a bad one) is a configuration error: the hub does not start.
   */
  static create(enabled: boolean, cryptKey: string | undefined, envMap: Record<string, string>): AuthStateStore {
    if (!enabled) {
      if (Object.keys(envMap).length) throw new ConfigError('authenticator.auth_state_env needs authenticator.enable_auth_state: true');
      return new AuthStateStore(null, {});
    }
    if (!cryptKey) {
      throw new ConfigError(
        'authenticator.enable_auth_state is true, but GANYMEDE_CRYPT_KEY is not set: auth_state is stored encrypted. ' +
          'Set it to one or more 32-byte keys in hex (openssl rand -hex 32), separated by ";".',
      );
    }
    try {
      return new AuthStateStore(new AuthStateCrypt(parseCryptKeys(cryptKey)), envMap);
    } catch (err) {
      if (err instanceof CryptKeyError) throw new ConfigError(err.message);
      throw err;
    }
  }

  get enabled(): boolean {
    return this.crypt !== null;
  }

  /** What to store for a login's auth_state: ciphertext, or null when auth_state is off. */
  encode(state: JsonObject | undefined): string | null {
    return this.crypt && state ? this.crypt.encrypt(state) : null;
  }

  /** The user's decrypted auth_state; null when off, empty, or not readable with the current keys. */
  read(user: Pick<UserRow, 'auth_state'>): JsonObject | null {
    if (!this.crypt || !user.auth_state) return null;
    try {
      return this.crypt.decrypt(user.auth_state);
    } catch {
      return null;
    }
  }

  /** Environment variables for the user's server from `auth_state_env` (`VAR: key` or `VAR: key.sub`). */
  env(state: JsonObject | null): Record<string, string> {
    const out: Record<string, string> = {};
    if (!state) return out;
    for (const [name, path] of Object.entries(this.envMap)) {
      const value = valueAt(state, path);
      if (typeof value === 'string') out[name] = value;
      else if (typeof value === 'number' || typeof value === 'boolean') out[name] = String(value);
      else if (value !== undefined && value !== null) out[name] = JSON.stringify(value);
    }
    return out;
  }
}
