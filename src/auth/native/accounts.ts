/**
 * Accounts kept by the hub (`native` authenticator): sign-up with password rules, approval by an
 * admin, argon2id password hashes, lock-out after repeated failures, and second factors (TOTP, and
 * passkeys: passkeys.ts) with one-time recovery codes. TOTP secrets are stored encrypted with a key
 * derived from the hub's cookie secret; recovery codes only as SHA-256 hashes.
 */
import { createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import * as OTPAuth from 'otpauth';
import type { NativeConfig } from '../../config/schema.js';
import type { Database, NativeAccountRow } from '../../db/schema.js';
import { isoNow } from '../../db/time.js';
import { AuthStateCrypt } from '../crypt.js';
import { wallClock } from '../../clock.js';
import { Passkeys } from './passkeys.js';

export type LoginCheck =
  | { ok: true; account: NativeAccountRow; usedRecoveryCode: boolean }
  | { ok: false; reason: 'credentials' | 'pending' | 'rejected' | 'code'; message: string }
  | { ok: false; reason: 'locked'; message: string }
  /** The password is right and the account has a passkey, but no code came with it: a second step asks for either. */
  | { ok: false; reason: 'second-factor'; account: NativeAccountRow };

/** What proves the second factor in a login's second step: a code (TOTP or recovery), or a passkey the caller checks. */
export type SecondFactorProof = { code: string } | { passkey: () => Promise<boolean> };

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const RECOVERY_CODES = 8;

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export class NativeAccounts {
  private readonly crypt: AuthStateCrypt;
  readonly passkeys: Passkeys;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: NativeConfig,
    cookieSecret: Buffer,
    private readonly issuer: string,
  ) {
    // A key of its own for TOTP secrets, derived from the cookie secret the hub already keeps private.
    this.crypt = new AuthStateCrypt([Buffer.from(hkdfSync('sha256', cookieSecret, Buffer.alloc(0), 'ganymede native totp', 32))]);
    this.passkeys = new Passkeys(db, issuer);
  }

  byName(name: string): Promise<NativeAccountRow | undefined> {
    return this.db.selectFrom('native_accounts').selectAll().where('name', '=', name).executeTakeFirst();
  }

  byId(id: number): Promise<NativeAccountRow | undefined> {
    return this.db.selectFrom('native_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Whether logins need a second factor: an authenticator app, or at least one passkey. */
  async hasSecondFactor(account: NativeAccountRow): Promise<boolean> {
    return account.totp_enabled === 1 || (await this.passkeys.count(account.id)) > 0;
  }

  /** Problems with a new password, empty when it is acceptable. */
  passwordProblems(name: string, password: string): string[] {
    const problems: string[] = [];
    if (password.length < this.config.password_min_length) problems.push(`The password needs at least ${this.config.password_min_length} characters.`);
    if (password.length > 1024) problems.push('The password is too long (1024 characters at most).');
    if (name && password.toLowerCase().includes(name)) problems.push('The password must not contain the user name.');
    if (new Set(password).size < 4) problems.push('The password needs more different characters.');
    return problems;
  }

  /** Creates an account; `approved` for admins and when approval is off. Throws a message for the form. */
  async signUp(name: string, password: string, approved: boolean): Promise<NativeAccountRow> {
    if (!NAME.test(name)) throw new Error('User names are 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.');
    const problems = this.passwordProblems(name, password);
    if (problems.length) throw new Error(problems.join(' '));
    if (await this.byName(name)) throw new Error(`The name ${name} is taken.`);
    const hash = await argon2.hash(password, { type: argon2.argon2id });
    return this.db
      .insertInto('native_accounts')
      .values({ name, password_hash: hash, status: approved ? 'approved' : 'pending', created: isoNow(), locked_until: null, totp_secret: null })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Checks a login. Failures count towards the lock-out (wrong password or wrong code); a locked
   * account is refused without checking anything, so guessing while locked gains nothing.
   */
  async checkLogin(name: string, password: string, code: string): Promise<LoginCheck> {
    const account = await this.byName(name);
    const credentials = { ok: false as const, reason: 'credentials' as const, message: 'Invalid username or password' };
    if (!account) {
      await argon2.hash(password || 'x', { type: argon2.argon2id }); // same time as a real check
      return credentials;
    }
    const locked = this.lockRefusal(account);
    if (locked) return locked;
    if (!(await argon2.verify(account.password_hash, password))) return this.fail(account, credentials);
    const status = this.statusRefusal(account);
    if (status) return status;
    const passkeys = await this.passkeys.count(account.id);
    if (!account.totp_enabled && passkeys === 0) return this.succeed(account, false);
    const given = code.replace(/\s+/g, '');
    // Not a failure: the second step (passkey, or a code) comes next, on a ticket only this answer gives.
    if (!given && passkeys > 0) return { ok: false, reason: 'second-factor', account };
    return this.checkCode(account, given);
  }

  /**
   * The second step of a login whose password was right (checkLogin's 'second-factor'): a code, or a
   * passkey. Lock-out, approval and failure counting as for the first step.
   */
  async checkSecondStep(accountId: number, proof: SecondFactorProof): Promise<LoginCheck> {
    const account = await this.byId(accountId);
    if (!account) return { ok: false, reason: 'credentials', message: 'Invalid username or password' };
    const refused = this.lockRefusal(account) ?? this.statusRefusal(account);
    if (refused) return refused;
    if ('code' in proof) return this.checkCode(account, proof.code.replace(/\s+/g, ''));
    if (!(await proof.passkey())) return this.fail(account, { ok: false, reason: 'code', message: 'That passkey was not accepted. Sign in again and use one of your passkeys, or a code.' });
    return this.succeed(account, false);
  }

  private lockRefusal(account: NativeAccountRow): LoginCheck | null {
    if (!account.locked_until || Date.parse(account.locked_until) <= wallClock.now()) return null;
    const minutes = Math.ceil((Date.parse(account.locked_until) - wallClock.now()) / 60_000);
    return { ok: false, reason: 'locked', message: `This account is locked after too many failed logins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` };
  }

  private statusRefusal(account: NativeAccountRow): LoginCheck | null {
    if (account.status === 'pending') return { ok: false, reason: 'pending', message: 'Your account is waiting for an administrator to approve it.' };
    if (account.status === 'rejected') return { ok: false, reason: 'rejected', message: 'Your account was not approved.' };
    return null;
  }

  /** A TOTP code (when the app is on) or a recovery code, for an account with a second factor. */
  private async checkCode(account: NativeAccountRow, given: string): Promise<LoginCheck> {
    if (!given) {
      const message = account.totp_enabled ? 'Enter the code from your authenticator app.' : 'Use your passkey, or enter a recovery code.';
      return this.fail(account, { ok: false, reason: 'code', message });
    }
    // A pending (unconfirmed) app secret proves nothing: only an enabled one counts.
    if (account.totp_enabled && this.totpValid(account, given)) return this.succeed(account, false);
    if (await this.useRecoveryCode(account, given)) return this.succeed(account, true);
    return this.fail(account, { ok: false, reason: 'code', message: 'Wrong two-factor code.' });
  }

  /** The login succeeds: the failure count starts again. */
  private async succeed(account: NativeAccountRow, usedRecoveryCode: boolean): Promise<LoginCheck> {
    // Only if no parallel attempt locked the account meanwhile (they were all checked before any failed).
    const now = new Date(wallClock.now()).toISOString();
    const cleared = await this.db
      .updateTable('native_accounts')
      .set({ failed_logins: 0, locked_until: null })
      .where('id', '=', account.id)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .executeTakeFirst();
    if (Number(cleared.numUpdatedRows) === 0) return this.lockedMessage();
    return { ok: true, account, usedRecoveryCode };
  }

  /**
   * Counts a failed login in one statement (parallel attempts each add one: a read-then-write count
   * let 12 parallel guesses leave it at 1) and locks the account when the count reaches
   * lockout_attempts.
   */
  private async fail(account: NativeAccountRow, result: LoginCheck): Promise<LoginCheck> {
    const counted = await this.db
      .updateTable('native_accounts')
      .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
      .where('id', '=', account.id)
      .returning('failed_logins')
      .executeTakeFirst();
    if ((counted?.failed_logins ?? 0) < this.config.lockout_attempts) return result;
    const until = new Date(wallClock.now() + this.config.lockout_minutes * 60_000).toISOString();
    await this.db.updateTable('native_accounts').set({ failed_logins: 0, locked_until: until }).where('id', '=', account.id).execute();
    return this.lockedMessage();
  }

  private lockedMessage(): LoginCheck {
    return { ok: false, reason: 'locked', message: `Too many failed logins: this account is locked for ${this.config.lockout_minutes} minutes.` };
  }

  async setStatus(name: string, status: 'approved' | 'rejected'): Promise<boolean> {
    const res = await this.db.updateTable('native_accounts').set({ status }).where('name', '=', name).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async setPassword(name: string, password: string): Promise<void> {
    const problems = this.passwordProblems(name, password);
    if (problems.length) throw new Error(problems.join(' '));
    const hash = await argon2.hash(password, { type: argon2.argon2id });
    await this.db.updateTable('native_accounts').set({ password_hash: hash, failed_logins: 0, locked_until: null }).where('name', '=', name).execute();
  }

  async verifyPassword(account: NativeAccountRow, password: string): Promise<boolean> {
    return argon2.verify(account.password_hash, password);
  }

  /**
   * Proof that the person at the keyboard owns the account, before its second factor changes: the
   * password, or (when two-factor is on) a current code from the app.
   */
  async provesOwnership(account: NativeAccountRow, given: string): Promise<boolean> {
    const proof = given.trim();
    if (!proof) return false;
    if (account.totp_enabled && /^\d{6}$/.test(proof.replace(/\s+/g, '')) && this.totpValid(account, proof.replace(/\s+/g, ''))) return true;
    return this.verifyPassword(account, given);
  }

  list(): Promise<NativeAccountRow[]> {
    return this.db.selectFrom('native_accounts').selectAll().orderBy('created').execute();
  }

  // --- TOTP -------------------------------------------------------------------------------------

  private totp(name: string, secret: string): OTPAuth.TOTP {
    return new OTPAuth.TOTP({ issuer: this.issuer, label: name, algorithm: 'SHA1', digits: 6, period: 30, secret: OTPAuth.Secret.fromBase32(secret) });
  }

  private totpValid(account: NativeAccountRow, code: string): boolean {
    if (!account.totp_secret || !/^\d{6}$/.test(code)) return false;
    const secret = String(this.crypt.decrypt(account.totp_secret).secret);
    return this.totp(account.name, secret).validate({ token: code, window: 1 }) !== null;
  }

  /** Starts (or restarts) enrolment: a new secret, not active until confirmed. Returns the otpauth:// URI and the secret. */
  async beginTotp(account: NativeAccountRow): Promise<{ uri: string; secret: string }> {
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    await this.db
      .updateTable('native_accounts')
      .set({ totp_secret: this.crypt.encrypt({ secret }), totp_enabled: 0 })
      .where('id', '=', account.id)
      .execute();
    return { uri: this.totp(account.name, secret).toString(), secret };
  }

  /** The pending secret's URI, for showing the QR code again. */
  pendingTotp(account: NativeAccountRow): { uri: string; secret: string } | null {
    if (!account.totp_secret || account.totp_enabled) return null;
    const secret = String(this.crypt.decrypt(account.totp_secret).secret);
    return { uri: this.totp(account.name, secret).toString(), secret };
  }

  /** Confirms enrolment with a code from the app; returns the recovery codes (shown once), or null for a wrong code. */
  async confirmTotp(account: NativeAccountRow, code: string): Promise<string[] | null> {
    if (!this.totpValid(account, code.replace(/\s+/g, ''))) return null;
    await this.db.updateTable('native_accounts').set({ totp_enabled: 1 }).where('id', '=', account.id).execute();
    return this.issueRecoveryCodes(account.id);
  }

  // --- recovery codes ---------------------------------------------------------------------------

  /** New recovery codes replacing any old ones: returned once in the clear, stored hashed. */
  async issueRecoveryCodes(accountId: number): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODES }, () => randomBytes(5).toString('hex').replace(/(.{5})/, '$1-'));
    await this.db.updateTable('native_accounts').set({ recovery_codes: JSON.stringify(codes.map(sha256)) }).where('id', '=', accountId).execute();
    return codes;
  }

  /** With no second factor left, its recovery codes go too (the next one gets new codes). */
  async forgetRecoveryCodes(accountId: number): Promise<void> {
    await this.db.updateTable('native_accounts').set({ recovery_codes: '[]' }).where('id', '=', accountId).execute();
  }

  private async useRecoveryCode(account: NativeAccountRow, code: string): Promise<boolean> {
    const hashes = JSON.parse(account.recovery_codes) as string[];
    const given = Buffer.from(sha256(code.toLowerCase()));
    const index = hashes.findIndex((h) => timingSafeEqual(Buffer.from(h), given));
    if (index < 0) return false;
    hashes.splice(index, 1);
    await this.db.updateTable('native_accounts').set({ recovery_codes: JSON.stringify(hashes) }).where('id', '=', account.id).execute();
    return true;
  }
}
