/**
 * The operator's commands, as JupyterHub's `jupyterhub token` and friends: users, tokens and the
 * database, from the command line, with the hub running or not. Each prints what it did; errors are
 * ConfigErrors with a message for a person.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HubConfig } from '../config/schema.js';
import { isValidUsername, normalizeUsername } from '../auth/authenticator.js';
import { AuthGeneration } from '../db/repos/generation.js';
import { ServerRepo } from '../db/repos/servers.js';
import { TokenRepo } from '../db/repos/tokens.js';
import { UserRepo } from '../db/repos/users.js';
import type { ServerRow, UserRow } from '../db/schema.js';
import { ConfigError } from '../errors.js';
import { defineCustomScopes, scopeError } from '../rbac/scopes.js';
import { openSiteDatabase, type SiteDatabase } from './site-database.js';

/** Where the commands write: stdout for results (a token, a list), stderr for what was done. */
export interface Output {
  out(text: string): void;
  info(text: string): void;
}

async function withDatabase<T>(config: HubConfig, work: (db: SiteDatabase, repos: { users: UserRepo; servers: ServerRepo; tokens: TokenRepo }) => Promise<T>): Promise<T> {
  const db = await openSiteDatabase(config, 'require-current');
  try {
    const generation = new AuthGeneration();
    return await work(db, { users: new UserRepo(db.db, generation), servers: new ServerRepo(db.db), tokens: new TokenRepo(db.db, generation) });
  } finally {
    await db.close();
  }
}

function checkedNames(raw: string[]): string[] {
  const names = [...new Set(raw.map(normalizeUsername))];
  const invalid = names.filter((n) => !isValidUsername(n));
  if (invalid.length) throw new ConfigError(`invalid user names: ${invalid.map((n) => JSON.stringify(n)).join(', ')}`);
  return names;
}

async function existingUsers(users: UserRepo, names: string[]): Promise<UserRow[]> {
  const rows: UserRow[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const row = await users.byName(name);
    if (row) rows.push(row);
    else missing.push(name);
  }
  if (missing.length) throw new ConfigError(`no such user: ${missing.join(', ')} (nothing was changed)`);
  return rows;
}

function serverSummary(servers: ServerRow[]): string {
  const active = servers.filter((s) => s.phase !== 'stopped');
  return active.map((s) => `${s.name || 'default'}:${s.phase}`).join(',') || '-';
}

/** `ganymede users list`: every user, one per line (or JSON). */
export async function listUsers(config: HubConfig, format: string, output: Output): Promise<void> {
  if (!['text', 'json'].includes(format)) throw new ConfigError(`--format: text or json (got ${JSON.stringify(format)})`);
  await withDatabase(config, async (_db, { users, servers }) => {
    const rows: UserRow[] = [];
    const byUser = new Map<number, ServerRow[]>();
    // A page at a time, servers too: SQLite takes at most 32,766 values in one `IN (…)`.
    for (let offset = 0; ; offset += 1000) {
      const page = await users.list({ offset, limit: 1000, sort: { key: 'name', descending: false } });
      rows.push(...page.rows);
      for (const s of await servers.forUsers(page.rows.map((r) => r.id))) byUser.set(s.user_id, [...(byUser.get(s.user_id) ?? []), s]);
      if (rows.length >= page.total || page.rows.length === 0) break;
    }
    if (format === 'json') {
      const list = rows.map((u) => ({
        name: u.name,
        admin: u.admin === 1,
        created: u.created,
        last_activity: u.last_activity,
        servers: Object.fromEntries((byUser.get(u.id) ?? []).filter((s) => s.phase !== 'stopped').map((s) => [s.name, { phase: s.phase, started: s.started }])),
      }));
      output.out(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    const table = [['NAME', 'ADMIN', 'SERVERS', 'LAST ACTIVITY', 'CREATED'], ...rows.map((u) => [u.name, u.admin === 1 ? 'yes' : 'no', serverSummary(byUser.get(u.id) ?? []), u.last_activity ?? 'never', u.created])];
    const widths = table[0]!.map((_, i) => table.reduce((w, r) => Math.max(w, r[i]!.length), 0));
    output.out(table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n');
    output.info(`${rows.length} users`);
  });
}

/** `ganymede users add NAME… [--admin]`: creates the users that do not exist yet. */
export async function addUsers(config: HubConfig, raw: string[], admin: boolean, output: Output): Promise<void> {
  const names = checkedNames(raw);
  await withDatabase(config, async (_db, { users }) => {
    const created = await users.createMany(names, admin, config.spawner.class);
    const skipped = names.filter((n) => !created.some((c) => c.name === n));
    if (created.length) output.info(`added ${created.length} user(s)${admin ? ' as admins' : ''}: ${created.map((u) => u.name).join(', ')}`);
    if (skipped.length) output.info(`already there (left as they are): ${skipped.join(', ')}`);
  });
}

/** `ganymede users delete NAME…`: refused, for all of them, while any of them has a server. */
export async function deleteUsers(config: HubConfig, raw: string[], output: Output): Promise<void> {
  const names = checkedNames(raw);
  await withDatabase(config, async (_db, { users, servers }) => {
    const rows = await existingUsers(users, names);
    const busy: string[] = [];
    for (const user of rows) {
      const active = (await servers.forUser(user.id)).filter((s) => s.phase !== 'stopped');
      if (active.length) busy.push(`${user.name} (${serverSummary(active)})`);
    }
    // Only the hub can stop a server; deleting its user under it would leave the process behind.
    if (busy.length) throw new ConfigError(`these users have servers: ${busy.join(', ')}; stop them first (the admin page, or DELETE /hub/api/users/NAME/server); nothing was deleted`);
    for (const user of rows) await users.delete(user.id);
    output.info(`deleted ${rows.length} user(s): ${rows.map((u) => u.name).join(', ')}`);
  });
}

/** `ganymede users set-admin NAME… [--remove]`. */
export async function setAdmin(config: HubConfig, raw: string[], admin: boolean, output: Output): Promise<void> {
  const names = checkedNames(raw);
  await withDatabase(config, async (_db, { users }) => {
    const rows = await existingUsers(users, names);
    for (const user of rows) await users.update(user.id, { admin });
    output.info(`${admin ? 'made admin' : 'no longer admin'}: ${rows.map((u) => u.name).join(', ')}`);
    if (!admin) {
      const listed = rows.filter((u) => config.authenticator.admin_users.includes(u.name));
      if (listed.length) output.info(`note: ${listed.map((u) => u.name).join(', ')} listed in authenticator.admin_users become admin again at their next login; remove them there too`);
    }
  });
}

/** `ganymede token create --user NAME`: a new API token, printed once on stdout. */
export async function createToken(
  config: HubConfig,
  opts: { user: string; scopes?: string; expiresIn?: string; note?: string },
  output: Output,
): Promise<void> {
  defineCustomScopes(config.custom_scopes);
  const scopes = (opts.scopes ?? '').split(/[\s,]+/).filter(Boolean);
  for (const scope of scopes) {
    const error = scopeError(scope);
    if (error) throw new ConfigError(`--scopes: ${error}`);
  }
  let expiresIn: number | null = null;
  if (opts.expiresIn !== undefined) {
    expiresIn = Number(opts.expiresIn);
    if (!Number.isInteger(expiresIn) || expiresIn <= 0) throw new ConfigError(`--expires-in: a positive number of seconds (got ${JSON.stringify(opts.expiresIn)})`);
  }
  const [name] = checkedNames([opts.user]);
  await withDatabase(config, async (_db, { users, tokens }) => {
    const [user] = await existingUsers(users, [name!]);
    // No scopes: the token may do what its owner may (as a token from the token page); more than that it never can.
    const { token, row } = await tokens.create({
      owner: { userId: user!.id },
      kind: 'api',
      note: opts.note ?? 'Created with ganymede token create',
      scopes: scopes.length ? scopes : ['inherit'],
      expiresIn,
    });
    output.out(token + '\n');
    output.info(`token for ${user!.name}${scopes.length ? ` with scopes ${scopes.join(' ')}` : ''}${row.expires_at ? `, expires ${row.expires_at}` : ''} (shown once: keep it now)`);
  });
}

/** `ganymede db upgrade`: applies the schema migrations a database lacks, without starting the hub. */
export async function upgradeDatabase(config: HubConfig, output: Output): Promise<void> {
  const db = await openSiteDatabase(config, 'apply', true);
  try {
    output.info(db.applied.length ? `${db.file}: applied ${db.applied.join(', ')}` : `${db.file}: already up to date`);
  } finally {
    await db.close();
  }
}

/** `ganymede db backup FILE`: a consistent copy, also while the hub runs and writes. */
export async function backupDatabase(config: HubConfig, target: string, output: Output): Promise<void> {
  const file = path.resolve(target);
  if (existsSync(file)) throw new ConfigError(`${file} exists already; name a new file (nothing was written)`);
  if (!existsSync(path.dirname(file))) throw new ConfigError(`${path.dirname(file)}: no such directory`);
  const db = await openSiteDatabase(config, 'require-current');
  try {
    db.backup(file);
  } finally {
    await db.close();
  }
  output.info(`${db.file} copied to ${file}; to restore it, stop the hub and put it in place of ${db.file} (keep cookie_secret and GANYMEDE_CRYPT_KEY too: the copy holds neither)`);
}
