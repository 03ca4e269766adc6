/**
 * The `native` authenticator: accounts kept by the hub (see accounts.ts). Its pages: `/hub/signup`,
 * `/hub/authorize` (admins approve, reject and reset passwords), `/hub/totp` (two-factor: the
 * authenticator app, recovery codes, and the passkeys of passkey-routes.ts) and
 * `/hub/change-password`. The login form gets an optional two-factor code field; an account with a
 * passkey whose login brings no code gets a second step ("Use a passkey", or a code).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import QRCode from 'qrcode';
import type { NativeConfig } from '../../config/schema.js';
import type { Database, NativeAccountRow } from '../../db/schema.js';
import { HubError } from '../../errors.js';
import { approvalPage, changePasswordPage, signupPage, totpPage } from '../../web/templates/native.js';
import type { PasskeysView } from '../../web/templates/passkeys.js';
import {
  type AuthRefusal,
  type AuthResult,
  type AuthSecondStep,
  type Authenticator,
  type HubLogin,
  type LoginForm,
  type LoginRequest,
  normalizeUsername,
  SECOND_STEP_FIELD,
} from '../authenticator.js';
import { type LoginCheck, NativeAccounts, type SecondFactorProof } from './accounts.js';
import { wallClock } from '../../clock.js';
import { anyone, caller, page } from '../../rbac/route-policy.js';
import { parseAuthenticationResponse, relyingPartyOf } from './passkey-input.js';
import { PASSKEYS_NEED_A_NAME, type PasskeyNotice, registerPasskeyPages } from './passkey-routes.js';
import { PasskeyError, type PasskeyChallenge } from './passkeys.js';
import { SingleUseStore } from './single-use-store.js';

type Form = Record<string, string | undefined>;

/** A login between its password and its second factor: handed out as the second step's ticket. */
type LoginTicket = { accountId: number; name: string; passkey: PasskeyChallenge | null };

/** Long enough to find one's security key; the browser's dialog itself gives up after two minutes. */
const SECOND_STEP_TTL_MS = 5 * 60_000;

export class NativeAuthenticator implements Authenticator {
  readonly kind = 'native';
  readonly loginForm;
  readonly accounts: NativeAccounts;
  private readonly loginTickets = new SingleUseStore<LoginTicket>(SECOND_STEP_TTL_MS);

  constructor(
    private readonly config: NativeConfig,
    db: Kysely<Database>,
    cookieSecret: Buffer,
    /** admin_users, normalised: approved at sign-up (someone must be able to approve the others). */
    private readonly admins: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    this.accounts = new NativeAccounts(db, config, cookieSecret, config.totp_issuer);
    this.loginForm = { passwordRequired: true, otpField: true, signupPath: config.signup ? 'signup' : undefined, secondStep: true };
  }

  async authenticate(form: LoginForm, request: LoginRequest): Promise<AuthResult | AuthRefusal | AuthSecondStep | null> {
    const name = normalizeUsername(form.username ?? '');
    if (form[SECOND_STEP_FIELD]) return this.continueSecondStep(name, form);
    const check = await this.accounts.checkLogin(name, form.password ?? '', form.otp ?? '');
    if (!check.ok && check.reason === 'second-factor') return this.secondStep(check.account, request);
    return this.outcome(name, check);
  }

  /** The second step's page: "Use a passkey" (when the browser can reach the hub by name) and a code field. */
  private async secondStep(account: NativeAccountRow, request: LoginRequest): Promise<AuthSecondStep> {
    const rp = relyingPartyOf(request.origin);
    const ceremony = rp ? await this.accounts.passkeys.authenticationOptions(account.id, rp) : null;
    const ticket = this.loginTickets.put({ accountId: account.id, name: account.name, passkey: ceremony?.pending ?? null });
    const codes = account.totp_enabled ? 'a code from your authenticator app, or a recovery code' : 'a recovery code';
    return {
      secondStep: {
        username: account.name,
        ticket,
        codeLabel: ceremony ? `Or ${codes}` : codes[0]!.toUpperCase() + codes.slice(1),
        passkeyOptions: ceremony?.options,
        passkeyUnavailable: rp ? undefined : PASSKEYS_NEED_A_NAME,
      },
    };
  }

  /** The second step's answer: its ticket works once, for the account it was given to. */
  private async continueSecondStep(name: string, form: LoginForm): Promise<AuthResult | AuthRefusal | null> {
    const ticket = this.loginTickets.take(form[SECOND_STEP_FIELD] ?? '');
    if (!ticket || ticket.name !== name) {
      this.log.info({ user: name.slice(0, 64) }, 'native login: unknown or expired second step');
      return { refused: 'That sign-in took too long or was used already: please sign in again.' };
    }
    const proof: SecondFactorProof = form.passkey ? { passkey: () => this.passkeyProves(ticket, form.passkey ?? '') } : { code: form.otp ?? '' };
    return this.outcome(name, await this.accounts.checkSecondStep(ticket.accountId, proof));
  }

  /** Whether the browser's WebAuthn answer proves one of the ticket's account's passkeys (the reason goes to the log, not the page). */
  private async passkeyProves(ticket: LoginTicket, answer: string): Promise<boolean> {
    const response = parseAuthenticationResponse(answer);
    if (!response || !ticket.passkey) return false;
    try {
      const used = await this.accounts.passkeys.verifyLogin(ticket.accountId, response, ticket.passkey);
      this.log.info({ user: ticket.name, passkey: used.id }, 'native login with a passkey');
      return true;
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      this.log.info({ user: ticket.name, reason: err.message }, 'native login: passkey refused');
      return false;
    }
  }

  private async outcome(name: string, check: LoginCheck): Promise<AuthResult | AuthRefusal | null> {
    if (!check.ok) {
      this.log.info({ user: name.slice(0, 64), reason: check.reason }, 'native login refused');
      // Not reached (authenticate answers it with the second step), but it carries no message.
      if (check.reason === 'second-factor') return { refused: 'Enter a two-factor code.' };
      return check.reason === 'credentials' ? null : { refused: check.message };
    }
    if (check.usedRecoveryCode) this.log.warn({ user: name }, 'native login with a recovery code');
    const mustEnrol = this.config.require_mfa && !(await this.accounts.hasSecondFactor(check.account));
    // An approved account is what "allowed" means here.
    return { name, allowed: true, firstVisit: mustEnrol ? 'totp' : undefined };
  }

  async requiredStep(user: { name: string }): Promise<string | null> {
    if (!this.config.require_mfa) return null;
    const account = await this.accounts.byName(user.name);
    // A passkey counts as the second factor exactly as the app does.
    return account && !(await this.accounts.hasSecondFactor(account)) ? 'totp' : null;
  }

  navLinks(user: { name: string; admin: boolean }): Array<{ label: string; path: string }> {
    return [
      { label: 'Two-factor', path: 'totp' },
      { label: 'Password', path: 'change-password' },
      ...(user.admin ? [{ label: 'Accounts', path: 'authorize' }] : []),
    ];
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    const form = (req: FastifyRequest) => (req.body ?? {}) as Form;

    if (this.config.signup) {
      const beforeLogin = page(anyone(), { beforeSecondFactor: true });
      app.get('/signup', beforeLogin, (req, reply) => hub.sendPage(req, reply, (ctx) => signupPage(ctx, {})));
      app.post('/signup', beforeLogin, async (req, reply) => {
        const f = form(req);
        const name = normalizeUsername(f.username ?? '');
        if ((f.password ?? '') !== (f.password2 ?? '')) return hub.sendPage(req, reply, (ctx) => signupPage(ctx, { username: name, error: 'The two passwords differ.' }), 400);
        const approved = !this.config.require_approval || this.admins.has(name);
        try {
          await this.accounts.signUp(name, f.password ?? '', approved);
        } catch (err) {
          return hub.sendPage(req, reply, (ctx) => signupPage(ctx, { username: name, error: (err as Error).message }), 400);
        }
        this.log.info({ user: name, approved }, 'native account created');
        const done = approved ? 'Your account is ready: you can sign in now.' : 'Your account is created. An administrator must approve it before you can sign in.';
        return hub.sendPage(req, reply, (ctx) => signupPage(ctx, { done }));
      });
    }

    const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
      const user = await hub.currentUser(req);
      if (!user) {
        hub.toLogin(req, reply);
        return null;
      }
      if (!user.admin) throw new HubError(403, 'Only admins may manage accounts');
      return user;
    };
    const showAccounts = async (req: FastifyRequest, reply: FastifyReply, message?: string, error?: string) => {
      const now = wallClock.now();
      const passkeys = await this.accounts.passkeys.counts();
      const accounts = (await this.accounts.list()).map((a) => ({
        name: a.name,
        status: a.status,
        created: a.created,
        twoFactor: twoFactorSummary(a.totp_enabled === 1, passkeys.get(a.id) ?? 0),
        locked: a.locked_until !== null && Date.parse(a.locked_until) > now,
      }));
      return hub.sendPage(req, reply, (ctx) => approvalPage(ctx, { accounts, message, error }), error ? 400 : 200);
    };
    const admins = page(caller('an admin (the native accounts)'));
    app.get('/authorize', admins, async (req, reply) => ((await requireAdmin(req, reply)) ? showAccounts(req, reply) : reply));
    app.post<{ Params: { name: string } }>('/authorize/:name', admins, async (req, reply) => {
      const admin = await requireAdmin(req, reply);
      if (!admin) return reply;
      const { name } = req.params;
      const f = form(req);
      if (f.action === 'approve' || f.action === 'reject') {
        const status = f.action === 'approve' ? 'approved' : 'rejected';
        if (!(await this.accounts.setStatus(name, status))) return showAccounts(req, reply, undefined, `No account ${name}`);
        this.log.info({ user: name, by: admin.name, status }, 'native account reviewed');
        return showAccounts(req, reply, `${name} is ${status}.`);
      }
      if (f.action === 'reset') {
        try {
          await this.accounts.setPassword(name, f.password ?? '');
        } catch (err) {
          return showAccounts(req, reply, undefined, `${name}: ${(err as Error).message}`);
        }
        this.log.info({ user: name, by: admin.name }, 'native password reset by an admin');
        return showAccounts(req, reply, `The password of ${name} is reset.`);
      }
      return showAccounts(req, reply, undefined, 'Unknown action');
    });

    /** The logged-in person's native account, or a redirect to the login page. */
    const myAccount = async (req: FastifyRequest, reply: FastifyReply) => {
      const user = await hub.currentUser(req);
      if (!user) {
        hub.toLogin(req, reply);
        return null;
      }
      const account = await this.accounts.byName(user.name);
      if (!account) throw new HubError(404, `${user.name} has no account of this hub's own`);
      return account;
    };
    /** The passkeys card of the two-factor page. */
    const passkeysView = async (req: FastifyRequest, account: NativeAccountRow, notice: PasskeyNotice): Promise<PasskeysView> => {
      const passkeys = await this.accounts.passkeys.list(account.id);
      const hasSecondFactor = account.totp_enabled === 1 || passkeys.length > 0;
      return {
        passkeys,
        unavailable: relyingPartyOf(hub.publicOrigin(req)) ? undefined : PASSKEYS_NEED_A_NAME,
        proof: hasSecondFactor ? (account.totp_enabled ? 'password-or-code' : 'password') : undefined,
        ...notice,
      };
    };
    const showTotp = async (req: FastifyRequest, reply: FastifyReply, opts: { error?: string; restart?: boolean; notice?: PasskeyNotice; status?: number } = {}) => {
      const account = await myAccount(req, reply);
      if (!account) return reply;
      const passkeys = await passkeysView(req, account, opts.notice ?? {});
      // require_mfa is met by a passkey as by the app.
      const required = this.config.require_mfa && !account.totp_enabled && passkeys.passkeys.length === 0;
      const status = opts.status ?? (opts.error ? 400 : 200);
      if (account.totp_enabled && !opts.restart) {
        return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required, passkeys }), status);
      }
      const pending = (!opts.restart && this.accounts.pendingTotp(account)) || (await this.accounts.beginTotp(account));
      const qrSvg = await QRCode.toString(pending.uri, { type: 'svg', margin: 1, width: 200 });
      return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { qrSvg, secret: pending.secret, enabled: false, required, error: opts.error, passkeys }), status);
    };
    // Setting up the second factor is what a login that lacks it may still do.
    const ownAccountFirst = page(caller('the caller\'s own native account'), { beforeSecondFactor: true });
    app.get('/totp', ownAccountFirst, (req, reply) => showTotp(req, reply));
    app.post('/totp', ownAccountFirst, async (req, reply) => {
      const f = form(req);
      const account = await myAccount(req, reply);
      if (!account) return reply;
      if (f.action === 'restart') {
        // Replacing the second factor turns the current one off: only with the password or a current code.
        if (account.totp_enabled && !(await this.accounts.provesOwnership(account, f.proof ?? ''))) {
          const passkeys = await passkeysView(req, account, {});
          return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: false, passkeys, error: 'Enter your password or a current code from your authenticator app to set up a new one.' }), 403);
        }
        return showTotp(req, reply, { restart: true });
      }
      const codes = await this.accounts.confirmTotp(account, f.code ?? '');
      if (!codes) return showTotp(req, reply, { error: 'That code is not right: check the time on your phone and try the next code.' });
      const ended = await hub.endOtherLogins(req);
      this.log.info({ user: account.name, other_logins_ended: ended }, 'two-factor authentication turned on');
      return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: false, recoveryCodes: codes }));
    });

    registerPasskeyPages(app, {
      accounts: this.accounts,
      hub,
      log: this.log,
      myAccount,
      showTwoFactor: (req, reply, notice, status) => showTotp(req, reply, { notice, status }),
      showRecoveryCodes: (req, reply, recoveryCodes, message) => hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: false, recoveryCodes, message })),
    });

    const ownAccount = page(caller('the caller\'s own native account'));
    app.get('/change-password', ownAccount, async (req, reply) => ((await myAccount(req, reply)) ? hub.sendPage(req, reply, (ctx) => changePasswordPage(ctx, {})) : reply));
    app.post('/change-password', ownAccount, async (req, reply) => {
      const account = await myAccount(req, reply);
      if (!account) return reply;
      const f = form(req);
      const fail = (error: string) => hub.sendPage(req, reply, (ctx) => changePasswordPage(ctx, { error }), 400);
      if (!(await this.accounts.verifyPassword(account, f.current ?? ''))) return fail('The current password is wrong.');
      if ((f.password ?? '') !== (f.password2 ?? '')) return fail('The two new passwords differ.');
      try {
        await this.accounts.setPassword(account.name, f.password ?? '');
      } catch (err) {
        return fail((err as Error).message);
      }
      const ended = await hub.endOtherLogins(req);
      this.log.info({ user: account.name, other_logins_ended: ended }, 'native password changed');
      return hub.sendPage(req, reply, (ctx) => changePasswordPage(ctx, { done: true }));
    });
  }
}

/** What an account's logins need besides the password, for the admins' Accounts page. */
export function twoFactorSummary(app: boolean, passkeys: number): string {
  const parts = [...(app ? ['app'] : []), ...(passkeys ? [`${passkeys} passkey${passkeys === 1 ? '' : 's'}`] : [])];
  return parts.length ? parts.join(', ') : 'off';
}
