/**
 * Shares (a server's access granted by its owner to a user or a group) and share codes (which a
 * recipient exchanges for a share). Writes that change who may access what bump the auth generation.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, ServerPhase, ShareCodeRow, ShareRow } from '../schema.js';
import { isExpired, isoIn, isoNow } from '../time.js';
import type { AuthGeneration } from './generation.js';
import { hashToken } from './tokens.js';

/** Who a share is with. */
export type ShareTarget = { userId: number } | { groupId: number };

/** A share or code with the names its model shows. */
export interface ServerRef {
  ownerName: string;
  serverName: string;
  phase: ServerPhase;
}
export type ShareView = ShareRow & ServerRef & { userName: string | null; groupName: string | null };
export type ShareCodeView = ShareCodeRow & ServerRef;

/** Which shares a list shows. */
export type ShareFilter = { serverId: number } | { ownerId: number } | { userId: number; groupIds: number[] } | { groupId: number };

type Page = { offset: number; limit: number };

export class ShareRepo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly generation: AuthGeneration,
  ) {}

  private targetColumn(target: ShareTarget): ['user_id' | 'group_id', number] {
    return 'userId' in target ? ['user_id', target.userId] : ['group_id', target.groupId];
  }

  find(serverId: number, target: ShareTarget): Promise<ShareRow | undefined> {
    const [column, id] = this.targetColumn(target);
    return this.db.selectFrom('shares').selectAll().where('server_id', '=', serverId).where(column, '=', id).executeTakeFirst();
  }

  /** Adds `scopes` to the share of `server` with `target`, creating it if needed. */
  async grant(server: { id: number; user_id: number }, target: ShareTarget, scopes: string[]): Promise<ShareRow> {
    const row = await this.db.transaction().execute(async (tx) => {
      const [column, id] = this.targetColumn(target);
      const existing = await tx.selectFrom('shares').selectAll().where('server_id', '=', server.id).where(column, '=', id).executeTakeFirst();
      if (existing) {
        const merged = [...new Set([...(JSON.parse(existing.scopes) as string[]), ...scopes])].sort();
        if (merged.length === (JSON.parse(existing.scopes) as string[]).length) return existing;
        return tx.updateTable('shares').set({ scopes: JSON.stringify(merged) }).where('id', '=', existing.id).returningAll().executeTakeFirstOrThrow();
      }
      return tx
        .insertInto('shares')
        .values({
          created_at: isoNow(),
          owner_id: server.user_id,
          server_id: server.id,
          user_id: 'userId' in target ? target.userId : null,
          group_id: 'groupId' in target ? target.groupId : null,
          scopes: JSON.stringify([...new Set(scopes)].sort()),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
    this.generation.bump();
    return row;
  }

  /** Removes `scopes` (all when null) from a share; deletes it when none remain. Returns what is left. */
  async revoke(serverId: number, target: ShareTarget, scopes: string[] | null): Promise<ShareRow | undefined> {
    const share = await this.find(serverId, target);
    if (!share) return undefined;
    const held = JSON.parse(share.scopes) as string[];
    const left = scopes === null ? [] : held.filter((s) => !scopes.includes(s));
    if (left.length === held.length) return share;
    // Bumped after the write: a scope read that starts after the bump sees the revocation.
    if (left.length === 0) {
      await this.db.deleteFrom('shares').where('id', '=', share.id).execute();
      this.generation.bump();
      return undefined;
    }
    const updated = await this.db.updateTable('shares').set({ scopes: JSON.stringify(left) }).where('id', '=', share.id).returningAll().executeTakeFirstOrThrow();
    this.generation.bump();
    return updated;
  }

  async delete(id: number): Promise<void> {
    await this.db.deleteFrom('shares').where('id', '=', id).execute();
    this.generation.bump();
  }

  async deleteForServer(serverId: number): Promise<number> {
    const result = await this.db.deleteFrom('shares').where('server_id', '=', serverId).executeTakeFirst();
    this.generation.bump();
    return Number(result.numDeletedRows);
  }

  /** Scopes shared with a user directly or through one of their groups (unexpanded). */
  async scopesFor(userId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('shares')
      .select('scopes')
      .where((eb) =>
        eb.or([
          eb('user_id', '=', userId),
          eb('group_id', 'in', eb.selectFrom('user_groups').select('group_id').where('user_id', '=', userId)),
        ]),
      )
      .execute();
    return rows.flatMap((r) => JSON.parse(r.scopes) as string[]);
  }

  private sharesQuery() {
    return this.db
      .selectFrom('shares')
      .innerJoin('servers', 'servers.id', 'shares.server_id')
      .innerJoin('users as owner', 'owner.id', 'shares.owner_id')
      .leftJoin('users as recipient', 'recipient.id', 'shares.user_id')
      .leftJoin('groups', 'groups.id', 'shares.group_id');
  }

  private static readonly VIEW_COLUMNS = [
    'owner.name as ownerName',
    'servers.name as serverName',
    'servers.phase as phase',
    'recipient.name as userName',
    'groups.name as groupName',
  ] as const;

  /** One share with the names its model shows. */
  view(id: number): Promise<ShareView | undefined> {
    return this.sharesQuery().selectAll('shares').select(ShareRepo.VIEW_COLUMNS).where('shares.id', '=', id).executeTakeFirst();
  }

  async list(filter: ShareFilter, page: Page): Promise<{ rows: ShareView[]; total: number }> {
    let query = this.sharesQuery();
    if ('serverId' in filter) query = query.where('shares.server_id', '=', filter.serverId);
    else if ('ownerId' in filter) query = query.where('shares.owner_id', '=', filter.ownerId);
    else if ('groupId' in filter) query = query.where('shares.group_id', '=', filter.groupId);
    else {
      const { userId, groupIds } = filter;
      query = query.where((eb) => eb.or([eb('shares.user_id', '=', userId), ...(groupIds.length ? [eb('shares.group_id', 'in', groupIds)] : [])]));
    }
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await query
      .selectAll('shares')
      .select(ShareRepo.VIEW_COLUMNS)
      .orderBy('shares.id')
      .offset(page.offset)
      .limit(page.limit)
      .execute();
    return { rows, total: Number(totalRow.n) };
  }

  // share codes ---------------------------------------------------------------------------------

  /** Issues a code for `server`; the code is returned this once, only its hash is kept. */
  async createCode(server: { id: number; user_id: number }, scopes: string[], expiresIn: number): Promise<{ row: ShareCodeRow; code: string }> {
    const code = randomBytes(32).toString('base64url');
    const now = isoNow();
    await this.db.deleteFrom('share_codes').where('expires_at', '<=', now).execute();
    const row = await this.db
      .insertInto('share_codes')
      .values({
        created_at: now,
        owner_id: server.user_id,
        server_id: server.id,
        hashed: hashToken(code),
        scopes: JSON.stringify([...new Set(scopes)].sort()),
        expires_at: isoIn(expiresIn),
        last_exchanged_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { row, code };
  }

  private codesQuery() {
    return this.db
      .selectFrom('share_codes')
      .innerJoin('servers', 'servers.id', 'share_codes.server_id')
      .innerJoin('users as owner', 'owner.id', 'share_codes.owner_id');
  }

  /** The valid (unexpired) code, optionally only for one server. */
  async findCode(code: string, serverId?: number): Promise<ShareCodeView | undefined> {
    let query = this.codesQuery().where('share_codes.hashed', '=', hashToken(code));
    if (serverId !== undefined) query = query.where('share_codes.server_id', '=', serverId);
    const row = await query
      .selectAll('share_codes')
      .select(['owner.name as ownerName', 'servers.name as serverName', 'servers.phase as phase'])
      .executeTakeFirst();
    return row && !isExpired(row.expires_at) ? row : undefined;
  }

  async listCodes(filter: { serverId: number } | { ownerId: number }, page: Page): Promise<{ rows: ShareCodeView[]; total: number }> {
    const now = isoNow();
    let query = this.codesQuery().where('share_codes.expires_at', '>', now);
    query = 'serverId' in filter ? query.where('share_codes.server_id', '=', filter.serverId) : query.where('share_codes.owner_id', '=', filter.ownerId);
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await query
      .selectAll('share_codes')
      .select(['owner.name as ownerName', 'servers.name as serverName', 'servers.phase as phase'])
      .orderBy('share_codes.id')
      .offset(page.offset)
      .limit(page.limit)
      .execute();
    return { rows, total: Number(totalRow.n) };
  }

  /** Deletes one code (by id) or all of a server's codes; returns how many went. */
  async deleteCodes(serverId: number, id?: number): Promise<number> {
    let query = this.db.deleteFrom('share_codes').where('server_id', '=', serverId);
    if (id !== undefined) query = query.where('id', '=', id);
    return Number((await query.executeTakeFirst()).numDeletedRows);
  }

  /** Exchanges a code for a share with `userId` (merging scopes into an existing share) and counts the exchange. */
  async exchange(code: ShareCodeView, userId: number): Promise<ShareRow> {
    const share = await this.grant({ id: code.server_id, user_id: code.owner_id }, { userId }, JSON.parse(code.scopes) as string[]);
    await this.db
      .updateTable('share_codes')
      .set((eb) => ({ exchange_count: eb('exchange_count', '+', 1), last_exchanged_at: isoNow() }))
      .where('id', '=', code.id)
      .execute();
    return share;
  }
}
