/**
 * The pages that manage a native account's passkeys, beside its authenticator app on /hub/totp:
 *   POST /hub/passkeys/new          name (+ password or code once a second factor is on) → the page that creates it
 *   POST /hub/passkeys              the browser's answer → stored; the first second factor also gets recovery codes
 *   POST /hub/passkeys/:id/rename   a new name
 *   POST /hub/passkeys/:id/remove   asks first; removing the last second factor needs the password
 * Plain forms with the XSRF token (the request policy's `page` door); only creating the passkey
 * needs JavaScript (src/web/static/passkeys.js). The registration's challenge stays in the hub's
 * memory (SingleUseStore), once and for a few minutes, tied to the account that asked for it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { HubError } from '../../errors.js';
import type { NativeAccountRow } from '../../db/schema.js';
import { passkeyCreatePage, removePasskeyPage } from '../../web/templates/passkeys.js';
import { caller, page } from '../../rbac/route-policy.js';
import type { HubLogin } from '../authenticator.js';
import type { NativeAccounts } from './accounts.js';
import { passkeyName, parseRegistrationResponse, relyingPartyOf } from './passkey-input.js';
import { PasskeyError, type PasskeyChallenge } from './passkeys.js';
import { SingleUseStore } from './single-use-store.js';

type Form = Record<string, string | undefined>;

/** What the two-factor page shows in its passkeys card after an action. */
export type PasskeyNotice = { message?: string; error?: string; name?: string };

export interface PasskeyPageDeps {
  accounts: NativeAccounts;
  hub: HubLogin;
  log: Logger;
  /** The logged-in person's native account; null once the browser was sent to the login page. */
  myAccount(req: FastifyRequest, reply: FastifyReply): Promise<NativeAccountRow | null>;
  /** The two-factor page with a notice in its passkeys card. */
  showTwoFactor(req: FastifyRequest, reply: FastifyReply, notice: PasskeyNotice, status?: number): Promise<FastifyReply>;
  /** The page of recovery codes, shown once, when a passkey turned two-factor on. */
  showRecoveryCodes(req: FastifyRequest, reply: FastifyReply, codes: string[], message: string): Promise<FastifyReply>;
}

type PendingRegistration = { accountId: number; name: string; ceremony: PasskeyChallenge };

/** Long enough to read the page and answer the browser's dialog (which gives up after CEREMONY_TIMEOUT_MS). */
const REGISTRATION_TTL_MS = 5 * 60_000;

export const PASSKEYS_NEED_A_NAME =
  'Passkeys work only when the hub is reached by its domain name (not an IP address such as 127.0.0.1).';

function passkeyIdOf(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new HubError(404, 'No such passkey');
  return id;
}

export function registerPasskeyPages(app: FastifyInstance, deps: PasskeyPageDeps): void {
  const { accounts, hub, log } = deps;
  const registrations = new SingleUseStore<PendingRegistration>(REGISTRATION_TTL_MS);
  const form = (req: FastifyRequest) => (req.body ?? {}) as Form;

  // Adding a passkey is a way to set up the second factor that require_mfa waits for.
  const ownAccountFirst = page(caller("the caller's own native account"), { beforeSecondFactor: true });
  const ownAccount = page(caller("the caller's own native account; only its own passkeys"));

  app.post('/passkeys/new', ownAccountFirst, async (req, reply) => {
    const account = await deps.myAccount(req, reply);
    if (!account) return reply;
    const f = form(req);
    const named = passkeyName(f.name);
    if ('problem' in named) return deps.showTwoFactor(req, reply, { error: named.problem, name: f.name }, 400);
    const rp = relyingPartyOf(hub.publicOrigin(req));
    if (!rp) return deps.showTwoFactor(req, reply, { error: PASSKEYS_NEED_A_NAME }, 400);
    // A new way in, once there is a second factor to protect: only with the password (or a current code).
    if ((await accounts.hasSecondFactor(account)) && !(await accounts.provesOwnership(account, f.proof ?? ''))) {
      return deps.showTwoFactor(req, reply, { error: 'Enter your password (or a current code from your authenticator app) to add a passkey.', name: named.name }, 403);
    }
    const { options, pending } = await accounts.passkeys.registrationOptions(account, rp);
    const registration = registrations.put({ accountId: account.id, name: named.name, ceremony: pending });
    return hub.sendPage(req, reply, (ctx) => passkeyCreatePage(ctx, { name: named.name, registration, options }));
  });

  app.post('/passkeys', ownAccountFirst, async (req, reply) => {
    const account = await deps.myAccount(req, reply);
    if (!account) return reply;
    const f = form(req);
    const pending = registrations.take(f.registration ?? '');
    if (!pending || pending.accountId !== account.id) {
      return deps.showTwoFactor(req, reply, { error: 'That request to add a passkey expired or was used already: add the passkey again.' }, 400);
    }
    const response = parseRegistrationResponse(f.credential);
    if (!response) return deps.showTwoFactor(req, reply, { error: 'The browser sent no passkey: add the passkey again.', name: pending.name }, 400);
    const hadSecondFactor = await accounts.hasSecondFactor(account);
    let added;
    try {
      added = await accounts.passkeys.register(account.id, pending.name, response, pending.ceremony);
    } catch (err) {
      if (!(err instanceof PasskeyError)) throw err;
      log.info({ user: account.name, reason: err.message }, 'passkey registration refused');
      return deps.showTwoFactor(req, reply, { error: err.message, name: pending.name }, 400);
    }
    log.info({ user: account.name, passkey: added.id }, 'passkey added');
    const message = `The passkey “${added.name}” is added.`;
    if (hadSecondFactor) return deps.showTwoFactor(req, reply, { message });
    // The first second factor: as when the app is turned on, other logins end and recovery codes are shown once.
    const ended = await hub.endOtherLogins(req);
    log.info({ user: account.name, other_logins_ended: ended }, 'two-factor authentication turned on');
    return deps.showRecoveryCodes(req, reply, await accounts.issueRecoveryCodes(account.id), `${message} Two-factor authentication is on.`);
  });

  app.post<{ Params: { id: string } }>('/passkeys/:id/rename', ownAccount, async (req, reply) => {
    const account = await deps.myAccount(req, reply);
    if (!account) return reply;
    const id = passkeyIdOf(req.params.id);
    const named = passkeyName(form(req).name);
    if ('problem' in named) return deps.showTwoFactor(req, reply, { error: named.problem }, 400);
    if (!(await accounts.passkeys.rename(account.id, id, named.name))) throw new HubError(404, 'No such passkey');
    return deps.showTwoFactor(req, reply, { message: `The passkey is now called “${named.name}”.` });
  });

  app.post<{ Params: { id: string } }>('/passkeys/:id/remove', ownAccount, async (req, reply) => {
    const account = await deps.myAccount(req, reply);
    if (!account) return reply;
    const passkey = await accounts.passkeys.get(account.id, passkeyIdOf(req.params.id));
    if (!passkey) throw new HubError(404, 'No such passkey');
    const f = form(req);
    const lastFactor = !account.totp_enabled && (await accounts.passkeys.count(account.id)) === 1;
    if (f.confirm !== '1') return hub.sendPage(req, reply, (ctx) => removePasskeyPage(ctx, { passkey, lastFactor }));
    // Turning two-factor off, as replacing the app, takes the password.
    if (lastFactor && !(await accounts.verifyPassword(account, f.proof ?? ''))) {
      return hub.sendPage(req, reply, (ctx) => removePasskeyPage(ctx, { passkey, lastFactor, error: 'The password is wrong.' }), 403);
    }
    if (!(await accounts.passkeys.remove(account.id, passkey.id))) throw new HubError(404, 'No such passkey');
    if (!(await accounts.hasSecondFactor(account))) await accounts.forgetRecoveryCodes(account.id);
    log.info({ user: account.name, passkey: passkey.id, second_factor_left: !lastFactor }, 'passkey removed');
    return deps.showTwoFactor(req, reply, { message: `The passkey “${passkey.name}” is removed.` });
  });
}
