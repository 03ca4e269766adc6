/** Login sessions (migration 006): created at login, looked up by the login cookie's secret, deleted at logout. */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { AuthGeneration } from './generation.js';
import { hashToken, newSecret } from './tokens.js';
import { isoIn, isoNow } from '../time.js';

export interface LoginSession {
  userId: number;
  /** ISO time after which the session is over. */
  expires: string;
}

export class LoginSessionRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  /** A new session for this user, lasting `seconds`; returns the secret for the cookie (stored only hashed). */
  async create(userId: number, seconds: number): Promise<string> {
    const secret = newSecret();
    const now = isoNow();
    await this.db.deleteFrom('login_sessions').where('expires', '<', now).execute();
    await this.db.insertInto('login_sessions').values({ id: hashToken(secret), user_id: userId, created: now, expires: isoIn(seconds) }).execute();
    return secret;
  }

  async find(secret: string): Promise<LoginSession | undefined> {
    const row = await this.db.selectFrom('login_sessions').select(['user_id', 'expires']).where('id', '=', hashToken(secret)).executeTakeFirst();
    return row && { userId: row.user_id, expires: row.expires };
  }

  /** Ends one session (logout). */
  async end(secret: string): Promise<void> {
    await this.db.deleteFrom('login_sessions').where('id', '=', hashToken(secret)).execute();
    this.generation.bump();
  }

  /** Ends every session of the user but `keep` (a secret) if given; returns how many ended. */
  async endAll(userId: number, keep?: string): Promise<number> {
    let q = this.db.deleteFrom('login_sessions').where('user_id', '=', userId);
    if (keep) q = q.where('id', '!=', hashToken(keep));
    const res = await q.executeTakeFirst();
    this.generation.bump();
    return Number(res.numDeletedRows);
  }

  async countFor(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('login_sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('expires', '>=', isoNow())
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
