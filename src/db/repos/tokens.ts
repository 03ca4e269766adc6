/**
 * API tokens. Only a SHA-256 hash of each token is stored. Tokens are 32 random bytes, so a
 * fast unsalted hash is safe against guessing (unlike passwords) and lets a token be found
 * by one indexed lookup instead of JupyterHub's prefix scan + salted hashing per candidate.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, TokenRow } from '../schema.js';
import { isoIn, isoNow } from '../time.js';
import type { AuthGeneration } from './generation.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

export interface NewToken {
  owner: { userId: number } | { serviceId: number };
  kind: 'api' | 'server' | 'oauth' | 'service';
  note?: string;
  scopes?: string[];
  clientId?: string;
  sessionId?: string | null;
  expiresIn?: number | null;
  /** Use this token string instead of a random one (service tokens from config). */
  token?: string;
}

/** The public token id, as JupyterHub shows it: 'a' + database id. */
export function tokenApiId(row: Pick<TokenRow, 'id'>): string {
  return `a${row.id}`;
}

export function parseTokenApiId(apiId: string): number | null {
  const m = /^a(\d+)$/.exec(apiId);
  return m ? Number(m[1]) : null;
}

export class TokenRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  /** The same repository inside a transaction. */
  within(trx: Kysely<Database>): TokenRepo {
    return new TokenRepo(trx, this.generation);
  }

  async create(t: NewToken): Promise<{ token: string; row: TokenRow }> {
    const token = t.token ?? newSecret();
    const row = await this.db
      .insertInto('api_tokens')
      .values({
        hashed: hashToken(token),
        prefix: token.slice(0, 4),
        user_id: 'userId' in t.owner ? t.owner.userId : null,
        service_id: 'serviceId' in t.owner ? t.owner.serviceId : null,
        kind: t.kind,
        note: t.note ?? '',
        scopes: JSON.stringify(t.scopes ?? []),
        client_id: t.clientId ?? 'jupyterhub',
        session_id: t.sessionId ?? null,
        created: isoNow(),
        expires_at: t.expiresIn ? isoIn(t.expiresIn) : null,
        last_activity: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, row };
  }

  byToken(token: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('hashed', '=', hashToken(token)).executeTakeFirst();
  }

  byId(id: number): Promise<TokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  forUser(userId: number): Promise<TokenRow[]> {
    return this.db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('id').execute();
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('api_tokens').where('id', '=', id).execute();
    this.generation.bump();
  }

  async deleteSession(sessionId: string): Promise<number[]> {
    const rows = await this.db.deleteFrom('api_tokens').where('session_id', '=', sessionId).returning('id').execute();
    this.generation.bump();
    return rows.map((r) => r.id);
  }

  async deleteExpired(): Promise<number[]> {
    const rows = await this.db.deleteFrom('api_tokens').where('expires_at', '<=', isoNow()).returning('id').execute();
    if (rows.length) this.generation.bump();
    return rows.map((r) => r.id);
  }

  async touch(id: number, when: string): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_activity: when }).where('id', '=', id).execute();
  }
}
