/**
 * Temporary users, no login form (`authenticator.class: tmp`, as JupyterHub's tmpauthenticator): a
 * visitor of `/hub/tmplogin` (where the login page sends everyone) becomes a new user with a random,
 * unguessable name and goes on to a server. With a warm pool the name is that of a user whose server
 * already runs. Temporary users are deleted with their data when their server stops (see
 * src/workshop/temporary-users.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthResult, Authenticator, HubLogin } from './authenticator.js';
import { anyone, page } from '../rbac/route-policy.js';

/** Every temporary user's name starts so; no other authenticator makes such names with class tmp. */
export const TEMPORARY_PREFIX = 'tmp-';

/** 16 random characters of [a-z0-9] (about 80 bits): a name nobody can guess or enumerate. */
export function temporaryName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(16);
  let out = TEMPORARY_PREFIX;
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function isTemporaryName(name: string): boolean {
  return name.startsWith(TEMPORARY_PREFIX) && name.length === TEMPORARY_PREFIX.length + 16;
}

export interface TmpVisits {
  /** The name for a new visitor: a ready pooled user, or a new one. */
  nameForVisitor(): Promise<string>;
  /** The visitor's previous temporary user, left for a new one (force_new_server): stop and delete it. */
  abandon(name: string): void;
}

export class TmpAuthenticator implements Authenticator {
  readonly kind = 'tmp';
  readonly loginForm = null;
  readonly loginRedirect = { label: 'Start', path: 'tmplogin', auto: true };
  private visits: TmpVisits = { nameForVisitor: async () => temporaryName(), abandon: () => undefined };

  constructor(private readonly forceNewServer: boolean) {}

  /** The workshop layer (warm pool, removal) plugs in here once the hub is built. */
  setVisits(visits: TmpVisits): void {
    this.visits = visits;
  }

  async authenticate(): Promise<AuthResult | null> {
    return null;
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    app.get('/tmplogin', page(anyone(), { beforeSecondFactor: true }), async (req: FastifyRequest<{ Querystring: { next?: string } }>, reply) => {
      const current = await hub.currentUser(req);
      const next = hub.safeNext(req.query.next) ?? '';
      let name: string;
      if (current && isTemporaryName(current.name) && !this.forceNewServer) {
        name = current.name; // back again: the same user and server
      } else {
        if (current && isTemporaryName(current.name)) this.visits.abandon(current.name);
        name = await this.visits.nameForVisitor();
      }
      await hub.completeLogin(req, reply, { name, allowed: true }, next);
      return reply;
    });
  }
}
