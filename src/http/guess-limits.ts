/**
 * Limits on guessing, for every authenticator: wrong logins (`POST /hub/login`), wrong OAuth client
 * credentials or codes (`/hub/api/oauth2/token`) and wrong course join codes are counted per client
 * address (after trusted_proxies) and per account; past the limit the request gets 429 with
 * Retry-After, right or wrong, until the window has passed. Only failures count, and a success does
 * not clear a client's count (an attacker could otherwise reset it with a login of their own).
 * Counts live in this hub process's memory.
 */
import { wallClock } from '../clock.js';
import { HubError } from '../errors.js';
import { FailureWindow } from './failure-window.js';

export interface GuessLimitSettings {
  max_failures_per_client: number;
  max_failures_per_account: number;
  /** Seconds over which failures are counted, and the wait after too many. */
  window: number;
}


/** Who is guessing: the client address, and the account (a user name) when the request names one. */
export interface Guesser {
  client: string;
  account?: string;
}

export class GuessLimits {
  private readonly clients: FailureWindow;
  private readonly accounts: FailureWindow;

  constructor(settings: GuessLimitSettings, private readonly clock: { now(): number } = wallClock) {
    this.clients = new FailureWindow(settings.max_failures_per_client, settings.window * 1000);
    this.accounts = new FailureWindow(settings.max_failures_per_account, settings.window * 1000);
  }

  /** Throws 429 (with Retry-After) when this client or account has failed too often in `what` (e.g. 'login'). */
  check(what: string, who: Guesser): void {
    const now = this.clock.now();
    const wait = Math.max(this.clients.waitSeconds(`${what}:${who.client}`, now), who.account ? this.accounts.waitSeconds(`${what}:${who.account}`, now) : 0);
    if (wait > 0) throw new HubError(429, `Too many failed attempts. Try again in ${wait} seconds.`, { 'Retry-After': String(wait) });
  }

  failed(what: string, who: Guesser): void {
    const now = this.clock.now();
    this.clients.fail(`${what}:${who.client}`, now);
    if (who.account) this.accounts.fail(`${what}:${who.account}`, now);
  }

  /** A success for the account: its count starts again (the client's does not). */
  succeeded(what: string, who: Guesser): void {
    if (who.account) this.accounts.clear(`${what}:${who.account}`);
  }

  /** Runs `attempt`; a HubError with one of `failureStatuses` counts as a failed guess. */
  async guarded<T>(what: string, who: Guesser, attempt: () => Promise<T>, failureStatuses: readonly number[] = [400, 401, 403, 404, 410]): Promise<T> {
    this.check(what, who);
    try {
      const result = await attempt();
      this.succeeded(what, who);
      return result;
    } catch (err) {
      if (err instanceof HubError && failureStatuses.includes(err.status)) this.failed(what, who);
      throw err;
    }
  }
}
