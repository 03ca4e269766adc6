/** Finds who is calling: an API token (header or ?token=), or the browser's login cookie (a login session). */
import type { FastifyRequest } from 'fastify';
import type { AccessControl, Caller, Principal } from '../hub/access.js';

export type { Caller } from '../hub/access.js';
import type { RoleRepo } from '../db/repos/roles.js';
import type { TokenRepo } from '../db/repos/tokens.js';
import type { UserRepo } from '../db/repos/users.js';
import type { TokenRow } from '../db/schema.js';
import { hashToken } from '../db/repos/tokens.js';
import type { AuthGeneration } from '../db/repos/generation.js';
import type { LoginSession, LoginSessionRepo } from '../db/repos/login-sessions.js';
import { isExpired, isoNow } from '../db/time.js';
import type { Sessions } from './session.js';
import { cookieMayOpenPage } from './fetch-metadata.js';


const AUTH_HEADER = /^(?:token|bearer)\s+(\S+)\s*$/i;
/** Don't write last_activity for a token more often than this. */
const TOKEN_TOUCH_MS = 60_000;

/** The token of an `Authorization: token …` or `Bearer …` header, or null. */
export function tokenFromAuthorization(header: string | undefined): string | null {
  return (header && AUTH_HEADER.exec(header)?.[1]) || null;
}

export function tokenFromRequest(req: FastifyRequest): string | null {
  const h = tokenFromAuthorization(req.headers.authorization);
  if (h) return h;
  const q = req.query as Record<string, unknown> | undefined;
  if (q && typeof q.token === 'string' && q.token) return q.token;
  return null;
}

/** Most recent tokens seen, kept while nothing that affects identities changed (see AuthGeneration). */
const TOKEN_CACHE_SIZE = 10_000;

/**
 * Values by key, kept while the AuthGeneration stays where it was (at most TOKEN_CACHE_SIZE, the
 * oldest dropped first); a value loaded while the generation moved is returned but not kept.
 */
class GenerationCache<V> {
  private readonly values = new Map<string, V>();
  private at = -1;

  constructor(private readonly generation: AuthGeneration) {}

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (this.at !== this.generation.value) {
      this.values.clear();
      this.at = this.generation.value;
    }
    const hit = this.values.get(key);
    if (hit !== undefined) return hit;
    const loadedAt = this.generation.value;
    const found = await load();
    if (found !== undefined && loadedAt === this.generation.value) {
      if (this.values.size >= TOKEN_CACHE_SIZE) this.values.delete(this.values.keys().next().value!);
      this.values.set(key, found);
    }
    return found;
  }
}

export class Identity {
  private touched = new Map<number, number>();
  private readonly tokenCache: GenerationCache<{ row: TokenRow; principal: Principal }>;
  private readonly sessionCache: GenerationCache<LoginSession>;

  constructor(
    private readonly d: {
      tokens: TokenRepo;
      users: UserRepo;
      roles: RoleRepo;
      access: AccessControl;
      sessions: Sessions;
      loginSessions: LoginSessionRepo;
      generation: AuthGeneration;
    },
  ) {
    this.tokenCache = new GenerationCache(d.generation);
    this.sessionCache = new GenerationCache(d.generation);
  }

  /** The caller a token identifies, or null when the token is unknown, revoked or expired. */
  async byToken(token: string): Promise<Caller | null> {
    const found = await this.tokenOwner(token);
    if (!found || isExpired(found.row.expires_at)) return null;
    const { row, principal } = found;
    this.touchToken(row.id);
    return { principal, scopes: await this.d.access.tokenScopes(row, principal), token: row, sessionId: row.session_id };
  }

  /** Token row and owner, from the cache when no revocation, rename or role change happened since. */
  private async tokenOwner(token: string): Promise<{ row: TokenRow; principal: Principal } | null> {
    return (await this.tokenCache.get(hashToken(token), async () => (await this.loadTokenOwner(token)) ?? undefined)) ?? null;
  }

  private async loadTokenOwner(token: string): Promise<{ row: TokenRow; principal: Principal } | null> {
    const row = await this.d.tokens.byToken(token);
    if (!row) return null;
    let principal: Principal;
    if (row.user_id !== null) {
      const user = await this.d.users.byId(row.user_id);
      if (!user) return null;
      principal = { kind: 'user', user };
    } else if (row.service_id !== null) {
      const service = await this.d.roles.serviceById(row.service_id);
      if (!service) return null;
      principal = { kind: 'service', service };
    } else {
      return null;
    }
    return { row, principal };
  }

  /**
   * The person the login cookie names, on a hub page: only for a navigation, never for a script's
   * fetch of the page (src/http/fetch-metadata.ts). API requests use byCookieForApi and the XSRF rule.
   */
  async byCookie(req: FastifyRequest): Promise<Caller | null> {
    if (!cookieMayOpenPage(req)) return null;
    return this.byCookieForApi(req);
  }

  /** The person the login cookie names, for the API: the caller then applies apiNeedsXsrf. */
  async byCookieForApi(req: FastifyRequest): Promise<Caller | null> {
    const secret = this.d.sessions.loginSecret(req);
    if (!secret) return null;
    const session = await this.loginSession(secret);
    if (!session || isExpired(session.expires)) return null;
    const user = await this.d.users.byId(session.userId);
    if (!user) return null;
    const principal: Principal = { kind: 'user', user };
    return { principal, scopes: await this.d.access.userScopes(user), token: null, sessionId: this.d.sessions.existingSessionId(req) };
  }

  /** A login session by its cookie's secret, from the cache while no logout (or other auth change) happened since. */
  private loginSession(secret: string): Promise<LoginSession | undefined> {
    return this.sessionCache.get(secret, () => this.d.loginSessions.find(secret));
  }

  private touchToken(id: number): void {
    const now = Date.now();
    const last = this.touched.get(id) ?? 0;
    if (now - last < TOKEN_TOUCH_MS) return;
    this.touched.set(id, now);
    void this.d.tokens.touch(id, isoNow()).catch(() => undefined);
  }
}
