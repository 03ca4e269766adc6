/**
 * Passkeys and security keys (WebAuthn) of native accounts, a second factor beside TOTP: the stored
 * credentials (table native_passkeys) and the two ceremonies, with @simplewebauthn/server doing the
 * cryptography. The callers keep each ceremony's challenge (SingleUseStore) and say which relying
 * party the browser saw (passkey-input.ts).
 *
 * A passkey here is a *second* factor: the password has named and proved the account first. So the
 * login lists the account's own credentials (allowCredentials: none needs to be discoverable), and
 * user verification (a PIN or fingerprint on the key) is asked for but not required: the touch that
 * proves presence, together with the password, makes the two factors. Requiring it would shut out
 * security keys without a PIN.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import type { Database, NativeAccountRow, NativePasskeyRow } from '../../db/schema.js';
import { isoNow } from '../../db/time.js';
import { knownTransports, type RelyingParty } from './passkey-input.js';

/** A passkey as its owner's page lists it. */
export interface PasskeyView {
  id: number;
  name: string;
  created: string;
  lastUsed: string | null;
}

/** A ceremony's state kept server-side between the options and the browser's answer. */
export interface PasskeyChallenge {
  challenge: string;
  rp: RelyingParty;
}

/** A registration or login the hub refuses, with a message for the person. */
export class PasskeyError extends Error {}

/** How long the browser lets the person answer (the challenge store keeps them a little longer). */
export const CEREMONY_TIMEOUT_MS = 120_000;

function view(row: NativePasskeyRow): PasskeyView {
  return { id: row.id, name: row.name, created: row.created, lastUsed: row.last_used };
}

function transportsOf(row: NativePasskeyRow): string[] {
  try {
    const list: unknown = JSON.parse(row.transports);
    return Array.isArray(list) ? knownTransports(list.filter((t): t is string => typeof t === 'string')) : [];
  } catch {
    return [];
  }
}

export class Passkeys {
  constructor(
    private readonly db: Kysely<Database>,
    /** The name passkey dialogs show for the hub. */
    private readonly rpName: string,
  ) {}

  private rows(accountId: number): Promise<NativePasskeyRow[]> {
    return this.db.selectFrom('native_passkeys').selectAll().where('account_id', '=', accountId).orderBy('id').execute();
  }

  async list(accountId: number): Promise<PasskeyView[]> {
    return (await this.rows(accountId)).map(view);
  }

  async count(accountId: number): Promise<number> {
    const row = await this.db.selectFrom('native_passkeys').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', accountId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** How many passkeys each account has (the admins' Accounts page); accounts with none are absent. */
  async counts(): Promise<Map<number, number>> {
    const rows = await this.db.selectFrom('native_passkeys').select(['account_id', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('account_id').execute();
    return new Map(rows.map((r) => [r.account_id, Number(r.n)]));
  }

  /** One of the account's passkeys; another account's is as absent as an unknown one. */
  async get(accountId: number, id: number): Promise<PasskeyView | undefined> {
    const row = await this.db.selectFrom('native_passkeys').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return row && view(row);
  }

  /** Options for navigator.credentials.create(), and the challenge to keep for the answer. */
  async registrationOptions(account: NativeAccountRow, rp: RelyingParty): Promise<{ options: PublicKeyCredentialCreationOptionsJSON; pending: PasskeyChallenge }> {
    const options = await generateRegistrationOptions({
      rpName: this.rpName,
      rpID: rp.id,
      userName: account.name,
      userDisplayName: account.name,
      // A stable handle per account: an authenticator keeps one credential per (hub, account).
      userID: new TextEncoder().encode(`ganymede-native-${account.id}`),
      attestationType: 'none',
      timeout: CEREMONY_TIMEOUT_MS,
      // The same key twice would be one factor counted twice.
      excludeCredentials: (await this.rows(account.id)).map((r) => ({ id: r.credential_id, transports: transportsOf(r) })),
      // Not discoverable: the password names the account first, and security keys keep their few resident slots.
      authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
    });
    return { options, pending: { challenge: options.challenge, rp } };
  }

  /** Verifies the browser's answer to registrationOptions and stores the new passkey. */
  async register(accountId: number, name: string, response: RegistrationResponseJSON, pending: PasskeyChallenge): Promise<PasskeyView> {
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: pending.rp.origin,
        expectedRPID: pending.rp.id,
        // A second factor: presence (a touch) is enough, see the header.
        requireUserVerification: false,
      });
    } catch (err) {
      throw new PasskeyError(`The passkey could not be checked: ${(err as Error).message}`);
    }
    if (!verified.verified) throw new PasskeyError('The passkey could not be checked.');
    const { credential } = verified.registrationInfo;
    const taken = await this.db.selectFrom('native_passkeys').select('id').where('credential_id', '=', credential.id).executeTakeFirst();
    if (taken) throw new PasskeyError('This passkey is registered already.');
    // A registration of the same credential at the same moment loses the race on the unique index.
    const row = await this.db
      .insertInto('native_passkeys')
      .values({
        account_id: accountId,
        credential_id: credential.id,
        public_key: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: JSON.stringify(knownTransports(response.response.transports ?? credential.transports)),
        name,
        created: isoNow(),
        last_used: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch((err: unknown) => {
        if (/UNIQUE constraint failed|duplicate key/i.test((err as Error).message)) throw new PasskeyError('This passkey is registered already.');
        throw err;
      });
    return view(row);
  }

  /** Options for navigator.credentials.get() listing the account's passkeys, and the challenge to keep; null when it has none. */
  async authenticationOptions(accountId: number, rp: RelyingParty): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; pending: PasskeyChallenge } | null> {
    const rows = await this.rows(accountId);
    if (rows.length === 0) return null;
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: rows.map((r) => ({ id: r.credential_id, transports: transportsOf(r) })),
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'preferred',
    });
    return { options, pending: { challenge: options.challenge, rp } };
  }

  /**
   * Checks the browser's answer to authenticationOptions for this account: the credential must be one
   * of its own, signed over the kept challenge at the expected origin, with a counter that went up
   * (or stays 0 for authenticators without one). Updates the counter and last use. Throws PasskeyError.
   */
  async verifyLogin(accountId: number, response: AuthenticationResponseJSON, pending: PasskeyChallenge): Promise<PasskeyView> {
    const row = await this.db.selectFrom('native_passkeys').selectAll().where('credential_id', '=', response.id).executeTakeFirst();
    // Someone else's passkey proves nothing about this account.
    if (!row || row.account_id !== accountId) throw new PasskeyError('That passkey is not one of this account\'s.');
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: pending.rp.origin,
        expectedRPID: pending.rp.id,
        credential: { id: row.credential_id, publicKey: Buffer.from(row.public_key, 'base64url'), counter: row.counter, transports: transportsOf(row) },
        // A second factor: presence (a touch) is enough, see the header.
        requireUserVerification: false,
      });
    } catch (err) {
      // The library also refuses a counter that did not go up: a sign of a cloned authenticator.
      throw new PasskeyError(`The passkey was not accepted: ${(err as Error).message}`);
    }
    if (!verified.verified) throw new PasskeyError('The passkey was not accepted.');
    // Only over the counter just checked: a parallel login with the same key cannot move it back.
    const updated = await this.db
      .updateTable('native_passkeys')
      .set({ counter: verified.authenticationInfo.newCounter, last_used: isoNow() })
      .where('id', '=', row.id)
      .where('counter', '=', row.counter)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new PasskeyError('The passkey was used at the same time elsewhere: try again.');
    return view({ ...row, last_used: isoNow() });
  }

  async rename(accountId: number, id: number, name: string): Promise<boolean> {
    const res = await this.db.updateTable('native_passkeys').set({ name }).where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async remove(accountId: number, id: number): Promise<boolean> {
    const res = await this.db.deleteFrom('native_passkeys').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
