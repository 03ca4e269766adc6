/** OAuth clients (one per user server and per OAuth service) and short-lived authorization codes (stored hashed). */
import type { Kysely } from 'kysely';
import type { Database, OAuthClientRow } from '../schema.js';
import { hashToken, newSecret } from './tokens.js';
import { isoIn, isoNow } from '../time.js';

export interface CodeGrant {
  clientId: string;
  userId: number;
  redirectUri: string;
  scopes: string[];
  sessionId: string | null;
}

export class OAuthRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** The same repository inside a transaction. */
  within(trx: Kysely<Database>): OAuthRepo {
    return new OAuthRepo(trx);
  }

  client(id: string): Promise<OAuthClientRow | undefined> {
    return this.db.selectFrom('oauth_clients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async upsertClient(c: { id: string; description: string; secret: string; redirectUri: string; allowedScopes: string[] }): Promise<void> {
    const values = {
      description: c.description,
      secret_hash: hashToken(c.secret),
      redirect_uri: c.redirectUri,
      allowed_scopes: JSON.stringify(c.allowedScopes),
    };
    await this.db
      .insertInto('oauth_clients')
      .values({ id: c.id, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  }

  async deleteClient(id: string): Promise<void> {
    await this.db.deleteFrom('oauth_clients').where('id', '=', id).execute();
  }

  /** Issues a one-time code valid for `ttlSeconds`. */
  async createCode(grant: CodeGrant, ttlSeconds = 300): Promise<string> {
    const code = newSecret();
    await this.db
      .insertInto('oauth_codes')
      .values({
        code_hash: hashToken(code),
        client_id: grant.clientId,
        user_id: grant.userId,
        redirect_uri: grant.redirectUri,
        scopes: JSON.stringify(grant.scopes),
        session_id: grant.sessionId,
        expires_at: isoIn(ttlSeconds),
      })
      .execute();
    return code;
  }

  /** Takes a code: returns its grant once and deletes it; undefined when unknown or expired. */
  async consumeCode(code: string): Promise<CodeGrant | undefined> {
    const row = await this.db.deleteFrom('oauth_codes').where('code_hash', '=', hashToken(code)).returningAll().executeTakeFirst();
    if (!row || row.expires_at <= isoNow()) return undefined;
    return {
      clientId: row.client_id,
      userId: row.user_id,
      redirectUri: row.redirect_uri,
      scopes: JSON.parse(row.scopes) as string[],
      sessionId: row.session_id,
    };
  }
}
