/**
 * Which Unix uid runs each hub user's servers (spawner.run_as: dynamic). A uid is recorded on the
 * user's first start and kept while the user exists. When the user is deleted the row is released,
 * not deleted: the uid may still own files. A user created again under the same name gets it back
 * (the same name owns the same directory, as a Unix account's home would); any other user gets a
 * new uid until `forget` is called once the old owner's files are gone.
 *
 * The same range gives gids to groups of the hub's (a course's teachers, its members: shared folders),
 * recorded as rows without a user under the name `group:<name>`, with `released` set to `never`
 * (GROUP_ROW): no user ever gets such a row, whatever their name, and no group a user's (a dynamic
 * user's gid is its uid).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { isoNow } from '../time.js';

/** `released` of a group's row: it belongs to no user and is never handed to one. */
const GROUP_ROW = 'never';

export class UidRangeExhausted extends Error {
  override readonly name = 'UidRangeExhausted';
}

export class UnixIdRepo {
  /**
   * Uids by user id, as recorded: a user's uid never changes while the user exists, and user ids are
   * never reused (AUTOINCREMENT), so an entry can only go stale through this repository (release,
   * forgetUser), which drops it.
   */
  private readonly known = new Map<number, number>();
  /** Gids of the hub's groups by `group:<name>`: never change once recorded. */
  private readonly groups = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly range: readonly [number, number],
  ) {}

  /** The uid of this user, recorded now when it has none. */
  async uidFor(user: { id: number; name: string }): Promise<number> {
    const cached = this.known.get(user.id);
    if (cached !== undefined) return cached;
    const uid = await this.db.transaction().execute(async (trx) => {
      // One look for both: the user's own uid, or one released under the same name.
      const candidates = await trx
        .selectFrom('unix_ids')
        .select(['uid', 'user_id'])
        .where((eb) => eb.or([eb('user_id', '=', user.id), eb.and([eb('user_id', 'is', null), eb.or([eb('released', 'is', null), eb('released', '!=', GROUP_ROW)]), eb('user_name', '=', user.name)])]))
        .orderBy('uid')
        .execute();
      const own = candidates.find((c) => c.user_id === user.id);
      if (own) return own.uid;
      const released = candidates.find((c) => c.user_id === null);
      if (released) {
        await trx.updateTable('unix_ids').set({ user_id: user.id, released: null }).where('uid', '=', released.uid).execute();
        return released.uid;
      }
      // Usually one statement: the uid after the highest taken one, while the range's top is free.
      const [low, high] = this.range;
      const next = await sql<{ uid: number }>`
        INSERT INTO unix_ids (uid, user_id, user_name, created, released)
        SELECT COALESCE(MAX(uid) + 1, ${low}), ${user.id}, ${user.name}, ${isoNow()}, NULL
        FROM unix_ids WHERE uid >= ${low} AND uid <= ${high}
        HAVING COALESCE(MAX(uid), ${low - 1}) < ${high}
        RETURNING uid`.execute(trx);
      if (next.rows[0]) return next.rows[0].uid;
      const free = await this.lowestFree(trx);
      await trx.insertInto('unix_ids').values({ uid: free, user_id: user.id, user_name: user.name, created: isoNow(), released: null }).execute();
      return free;
    });
    this.known.set(user.id, uid);
    return uid;
  }

  /** The gid of the hub's group `name` (a course's teachers, say), recorded now when it has none. */
  async groupId(name: string): Promise<number> {
    const key = `group:${name}`;
    const cached = this.groups.get(key);
    if (cached !== undefined) return cached;
    const gid = await this.db.transaction().execute(async (trx) => {
      const found = await trx.selectFrom('unix_ids').select('uid').where('released', '=', GROUP_ROW).where('user_name', '=', key).executeTakeFirst();
      if (found) return found.uid;
      const free = await this.lowestFree(trx);
      await trx.insertInto('unix_ids').values({ uid: free, user_id: null, user_name: key, created: isoNow(), released: GROUP_ROW }).execute();
      return free;
    });
    this.groups.set(key, gid);
    return gid;
  }

  /** The uid recorded for this user, or undefined; records nothing. */
  async find(userId: number): Promise<number | undefined> {
    const cached = this.known.get(userId);
    if (cached !== undefined) return cached;
    const uid = (await this.db.selectFrom('unix_ids').select('uid').where('user_id', '=', userId).executeTakeFirst())?.uid;
    if (uid !== undefined) this.known.set(userId, uid);
    return uid;
  }

  /** The user is being deleted: its uid stays taken (its files may remain) but belongs to nobody. */
  async release(userId: number): Promise<void> {
    this.known.delete(userId);
    await this.db.updateTable('unix_ids').set({ user_id: null, released: isoNow() }).where('user_id', '=', userId).execute();
  }

  /** A user whose files were removed before it is deleted (a temporary user): its uid is free at once. */
  async forgetUser(userId: number): Promise<void> {
    this.known.delete(userId);
    await this.db.deleteFrom('unix_ids').where('user_id', '=', userId).execute();
  }

  /** The uid owns nothing any more (its files were removed): it may be handed to anyone. */
  async forget(uid: number): Promise<void> {
    await this.db.deleteFrom('unix_ids').where('uid', '=', uid).where('user_id', 'is', null).where((eb) => eb.or([eb('released', 'is', null), eb('released', '!=', GROUP_ROW)])).execute();
  }

  /** Released uids whose files may remain, with the name they belonged to. */
  released(): Promise<{ uid: number; user_name: string }[]> {
    return this.db
      .selectFrom('unix_ids')
      .select(['uid', 'user_name'])
      .where('user_id', 'is', null)
      .where((eb) => eb.or([eb('released', 'is', null), eb('released', '!=', GROUP_ROW)]))
      .orderBy('uid')
      .execute();
  }

  /** The lowest uid of the range no row holds: after the highest held one, else the first gap. */
  private async lowestFree(trx: Kysely<Database>): Promise<number> {
    const [low, high] = this.range;
    const { max } = await trx
      .selectFrom('unix_ids')
      .select((eb) => eb.fn.max<number | null>('uid').as('max'))
      .where('uid', '>=', low)
      .where('uid', '<=', high)
      .executeTakeFirstOrThrow();
    if (max === null) return low;
    if (max < high) return max + 1;
    // The range's top is taken: find the first uid whose successor is free (gaps left by forget()).
    const gap = await sql<{ uid: number }>`
      SELECT a.uid + 1 AS uid FROM unix_ids a
      WHERE a.uid >= ${low} AND a.uid < ${high}
        AND NOT EXISTS (SELECT 1 FROM unix_ids b WHERE b.uid = a.uid + 1)
      ORDER BY a.uid LIMIT 1`.execute(trx);
    const first = await trx.selectFrom('unix_ids').select('uid').where('uid', '=', low).executeTakeFirst();
    if (!first) return low;
    const found = gap.rows[0]?.uid;
    if (found === undefined) throw new UidRangeExhausted(`spawner.uid_range [${low}, ${high}] has no free uid left`);
    return found;
  }
}
