/**
 * The `native` authenticator: accounts kept by the hub (see accounts.ts). Its pages: `/hub/signup`,
 * `/hub/authorize` (admins approve, reject and reset passwords), `/hub/totp` (two-factor enrolment,
 * recovery codes) and `/hub/change-password`. The login form gets an optional two-factor code field.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import QRCode from 'qrcode';
import type { NativeConfig } from '../../config/schema.js';
import type { Database } from '../../db/schema.js';
import { HubError } from '../../errors.js';
import { approvalPage, changePasswordPage, signupPage, totpPage } from '../../web/templates/native.js';
import { type AuthRefusal, type AuthResult, type Authenticator, type HubLogin, type LoginForm, normalizeUsername } from '../authenticator.js';
import { NativeAccounts } from './accounts.js';
import { wallClock } from '../../clock.js';
import { anyone, caller, page } from '../../rbac/route-policy.js';

type Form = Record<string, string | undefined>;

export class NativeAuthenticator implements Authenticator {
  readonly kind = 'native';
  readonly loginForm;
  readonly accounts: NativeAccounts;

  constructor(
    private readonly config: NativeConfig,
    db: Kysely<Database>,
    cookieSecret: Buffer,
    /** admin_users, normalised: approved at sign-up (someone must be able to approve the others). */
    private readonly admins: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    this.accounts = new NativeAccounts(db, config, cookieSecret, config.totp_issuer);
    this.loginForm = { passwordRequired: true, otpField: true, signupPath: config.signup ? 'signup' : undefined };
  }

  async authenticate(form: LoginForm): Promise<AuthResult | AuthRefusal | null> {
    const name = normalizeUsername(form.username ?? '');
    const check = await this.accounts.checkLogin(name, form.password ?? '', form.otp ?? '');
    if (!check.ok) {
      this.log.info({ user: name.slice(0, 64), reason: check.reason }, 'native login refused');
      return check.reason === 'credentials' ? null : { refused: check.message };
    }
    if (check.usedRecoveryCode) this.log.warn({ user: name }, 'native login with a recovery code');
    const mustEnrol = this.config.require_mfa && !check.account.totp_enabled;
    // An approved account is what "allowed" means here.
    return { name, allowed: true, firstVisit: mustEnrol ? 'totp' : undefined };
  }

  async requiredStep(user: { name: string }): Promise<string | null> {
    if (!this.config.require_mfa) return null;
    const account = await this.accounts.byName(user.name);
    return account && !account.totp_enabled ? 'totp' : null;
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
      const accounts = (await this.accounts.list()).map((a) => ({
        name: a.name,
        status: a.status,
        created: a.created,
        totp: a.totp_enabled === 1,
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
    const showTotp = async (req: FastifyRequest, reply: FastifyReply, opts: { error?: string; restart?: boolean } = {}) => {
      const account = await myAccount(req, reply);
      if (!account) return reply;
      if (account.totp_enabled && !opts.restart) {
        return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: this.config.require_mfa }));
      }
      const pending = (!opts.restart && this.accounts.pendingTotp(account)) || (await this.accounts.beginTotp(account));
      const qrSvg = await QRCode.toString(pending.uri, { type: 'svg', margin: 1, width: 200 });
      return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { qrSvg, secret: pending.secret, enabled: false, required: this.config.require_mfa, error: opts.error }), opts.error ? 400 : 200);
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
          return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: this.config.require_mfa, error: 'Enter your password or a current code from your authenticator app to set up a new one.' }), 403);
        }
        return showTotp(req, reply, { restart: true });
      }
      const codes = await this.accounts.confirmTotp(account, f.code ?? '');
      if (!codes) return showTotp(req, reply, { error: 'That code is not right: check the time on your phone and try the next code.' });
      const ended = await hub.endOtherLogins(req);
      this.log.info({ user: account.name, other_logins_ended: ended }, 'two-factor authentication turned on');
      return hub.sendPage(req, reply, (ctx) => totpPage(ctx, { enabled: true, required: false, recoveryCodes: codes }));
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
