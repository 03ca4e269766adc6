/**
 * LDAP login with `ldapts`: bind as the user with a DN from `bind_dn_template` (tried in order), or
 * search for the user's DN with a lookup account first (`lookup_dn`). Optional group rule on group
 * DNs (groupOfNames/groupOfUniqueNames `member`/`uniqueMember`, posixGroup `memberUid`), StartTLS or
 * ldaps://, and chosen attributes kept in auth_state.
 *
 * Nothing typed at the login form reaches a DN or a filter unescaped: names must match
 * `valid_username_regex`, DN values are escaped as RFC 4514 says and filter values by ldapts' filter
 * objects (RFC 4515). An empty password is refused before any bind: LDAP treats a bind with a DN and
 * no password as an anonymous bind that succeeds.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Client, EqualityFilter, InvalidCredentialsError, OrFilter, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import type { LdapConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import { type AuthRefusal, type AuthResult, type Authenticator, type LoginForm, normalizeUsername } from './authenticator.js';

/** Escapes a value for use in a DN (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=\u0000]/g, (c) => (c === '\u0000' ? '\\00' : `\\${c}`));
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function firstValue(entry: Entry, attribute: string): string | undefined {
  const v = entry[attribute];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

export class LdapAuthenticator implements Authenticator {
  readonly kind = 'ldap';
  readonly loginForm = { passwordRequired: true };
  private readonly usernamePattern: RegExp;
  private readonly tlsOptions: { ca?: Buffer; rejectUnauthorized: boolean };

  constructor(
    private readonly config: LdapConfig,
    private readonly log: Logger,
  ) {
    this.usernamePattern = new RegExp(config.valid_username_regex);
    this.tlsOptions = { rejectUnauthorized: config.tls_verify, ...(config.tls_ca_file ? { ca: readFileSync(config.tls_ca_file) } : {}) };
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      url: this.config.server_url,
      timeout: this.config.timeout * 1000,
      connectTimeout: this.config.timeout * 1000,
      // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps://.
      ...(this.config.server_url.startsWith('ldaps://') ? { tlsOptions: this.tlsOptions } : {}),
    });
    if (this.config.start_tls) {
      // ldapts does not tell TLS which host it talks to: without this the certificate is checked against "localhost".
      const host = new URL(this.config.server_url).hostname.replace(/^\[|\]$/g, '');
      await client.startTLS({ ...this.tlsOptions, host, ...(isIP(host) ? {} : { servername: host }) });
    }
    return client;
  }

  /** Binds as the lookup account when one is configured (else searches run anonymously, or as the user). */
  private async bindLookupAccount(client: Client): Promise<void> {
    if (this.config.lookup_dn_search_user) await client.bind(this.config.lookup_dn_search_user, this.config.lookup_dn_search_password ?? '');
  }

  /** The user's DN by search (lookup_dn), or null when not exactly one entry matches. */
  private async lookupDn(client: Client, username: string): Promise<string | null> {
    await this.bindLookupAccount(client);
    const { searchEntries } = await client.search(this.config.user_search_base!, {
      scope: 'sub',
      filter: new EqualityFilter({ attribute: this.config.user_attribute, value: username }),
      attributes: ['dn'],
      sizeLimit: 2,
    });
    if (searchEntries.length !== 1) {
      this.log.info({ user: username, found: searchEntries.length }, 'LDAP search for the user did not find exactly one entry');
      return null;
    }
    return searchEntries[0]!.dn;
  }

  /** Binds as `dn`; false on wrong credentials. */
  private async bindAs(client: Client, dn: string, password: string): Promise<boolean> {
    try {
      await client.bind(dn, password);
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw err;
    }
  }

  async authenticate(form: LoginForm): Promise<AuthResult | AuthRefusal | null> {
    try {
      return await this.check(form);
    } catch (err) {
      // Unreachable server, TLS failure, timeout: the person is told, the admin finds the cause in the log.
      this.log.error({ server: this.config.server_url, err: (err as Error).message }, 'LDAP server error');
      return { refused: 'The directory server cannot be reached right now. Please try again later.' };
    }
  }

  private async check(form: LoginForm): Promise<AuthResult | null> {
    const username = normalizeUsername(form.username ?? '');
    const password = form.password ?? '';
    if (!this.usernamePattern.test(username)) {
      this.log.info({ user: username.slice(0, 64) }, 'LDAP login refused: the name does not match valid_username_regex');
      return null;
    }
    if (password === '') return null;
    const client = await this.connect();
    try {
      let userDn: string | null = null;
      if (this.config.lookup_dn) {
        const dn = await this.lookupDn(client, username);
        if (dn && (await this.bindAs(client, dn, password))) userDn = dn;
      } else {
        for (const template of this.config.bind_dn_template) {
          const dn = template.replaceAll('{username}', escapeDnValue(username));
          if (await this.bindAs(client, dn, password)) {
            userDn = dn;
            break;
          }
        }
      }
      if (!userDn) return null;
      if (this.config.allowed_groups.length && !(await this.inAllowedGroup(client, userDn, username))) {
        this.log.info({ user: username }, 'LDAP login refused: not in allowed_groups');
        return null;
      }
      return { name: username, authState: await this.attributes(client, userDn), allowed: this.config.allowed_groups.length ? true : undefined };
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** Member of one of allowed_groups (read bound as the user, or as the lookup account when configured). */
  private async inAllowedGroup(client: Client, userDn: string, username: string): Promise<boolean> {
    await this.bindLookupAccount(client);
    const filter = new OrFilter({
      filters: [
        new EqualityFilter({ attribute: 'member', value: userDn }),
        new EqualityFilter({ attribute: 'uniqueMember', value: userDn }),
        new EqualityFilter({ attribute: 'memberUid', value: username }),
      ],
    });
    for (const group of this.config.allowed_groups) {
      try {
        const { searchEntries } = await client.search(group, { scope: 'base', filter, attributes: ['dn'] });
        if (searchEntries.length > 0) return true;
      } catch (err) {
        this.log.warn({ group, err: (err as Error).message }, 'LDAP group lookup failed');
      }
    }
    return false;
  }

  private async attributes(client: Client, userDn: string): Promise<JsonObject | undefined> {
    const wanted = this.config.auth_state_attributes;
    if (!wanted.length) return undefined;
    const { searchEntries } = await client.search(userDn, { scope: 'base', attributes: wanted });
    const entry = searchEntries[0];
    if (!entry) return undefined;
    const state: JsonObject = { dn: userDn };
    for (const attribute of wanted) {
      const value = firstValue(entry, attribute);
      if (value !== undefined) state[attribute] = value;
    }
    return state;
  }
}
