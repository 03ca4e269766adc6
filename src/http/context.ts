/** What every API and page route needs from the hub, and the shared request helpers (caller, scope checks). */
import type { LoginSessionRepo } from '../db/repos/login-sessions.js';
import type { GuessLimits } from './guess-limits.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuthPolicy, Authenticator } from '../auth/authenticator.js';
import type { AuthStateStore } from '../auth/auth-state.js';
import type { HubConfig, ServiceConfig } from '../config/schema.js';
import type { Branding } from '../config/branding.js';
import type { OAuthRepo } from '../db/repos/oauth.js';
import type { GroupRepo } from '../db/repos/groups.js';
import type { RoleRepo } from '../db/repos/roles.js';
import type { ShareRepo } from '../db/repos/shares.js';
import type { ServerRepo } from '../db/repos/servers.js';
import type { TokenRepo } from '../db/repos/tokens.js';
import type { UserRepo } from '../db/repos/users.js';
import type { UserRow } from '../db/schema.js';
import type { CourseService } from '../courses/service.js';
import { HubError } from '../errors.js';
import type { AccessControl } from '../hub/access.js';
import type { ServerLifecycle } from '../hub/server-lifecycle.js';
import type { ServerProfiles } from '../hub/server-profiles.js';
import type { HubUrls } from '../hub/urls.js';
import type { Caller, Identity } from './identity.js';
import type { Sessions } from './session.js';
import type { RouteTable } from '../proxy/route-table.js';
import { checkScope, holdsScope, serverOwner, type ScopeTarget } from '../rbac/scopes.js';

export interface HubContext {
  config: HubConfig;
  urls: HubUrls;
  log: Logger;
  users: UserRepo;
  servers: ServerRepo;
  tokens: TokenRepo;
  roles: RoleRepo;
  groups: GroupRepo;
  shares: ShareRepo;
  oauth: OAuthRepo;
  access: AccessControl;
  identity: Identity;
  sessions: Sessions;
  /** Logins of browsers, which logout, "log out everywhere" and password changes end. */
  loginSessions: LoginSessionRepo;
  /** Counts of failed logins, OAuth client checks and join codes, per client and account (429 past the limit). */
  guessing: GuessLimits;
  lifecycle: ServerLifecycle;
  /** Features owning particular servers (a course's `<slug>` server): their command, directory, resources. */
  serverProfiles: ServerProfiles;
  /** Course hubs (null unless courses.enabled). */
  courses: CourseService | null;
  routes: RouteTable;
  authenticator: Authenticator;
  policy: AuthPolicy;
  services: ServiceConfig[];
  /** auth_state, encrypted at rest (authenticator.enable_auth_state). */
  authState: AuthStateStore;
  /** Lets the authenticator refresh the user's auth_state (tokens about to expire): 'refreshed' when it stored new tokens, 'expired' means log in again. */
  refreshAuthState(user: UserRow): Promise<'ok' | 'refreshed' | 'expired'>;
  /** Creates (or finds) a user, applying admin_users; used by login and POST /users. */
  ensureUser(name: string): Promise<UserRow>;
  startedAt: string;
  /** The site's logo, stylesheet, name and footer (config logo_file and branding), read at start. */
  branding: Branding;
  /** The process id of a running managed service, 0 otherwise. */
  servicePid(name: string): number;
  /** Asks the hub to shut down (POST /hub/api/shutdown); returns at once. */
  requestShutdown(options: ShutdownOptions): void;
}

export interface ShutdownOptions {
  /** Stop users' servers too (default: the cleanup_servers setting). */
  servers?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export function requireCaller(req: FastifyRequest): Caller {
  if (!req.caller) throw new HubError(403, 'Missing or invalid credentials');
  return req.caller;
}

export function hasGroupFilters(scopes: Set<string>): boolean {
  for (const s of scopes) if (s.includes('!group=')) return true;
  return false;
}

/**
 * Throws 403 naming the scopes unless the caller holds one of `required` for `target`.
 * Group membership of the target user is looked up only when the caller has group-filtered scopes.
 */
export async function requireScope(
  ctx: HubContext,
  req: FastifyRequest,
  required: string | string[],
  target: ScopeTarget = {},
): Promise<Caller> {
  const caller = requireCaller(req);
  const list = Array.isArray(required) ? required : [required];
  const t = await withGroups(ctx, caller, target);
  for (const scope of list) if (checkScope(caller.scopes, scope, t)) return caller;
  const onResource = [target.user, target.server, target.group, target.service].some((v) => v !== undefined);
  // As JupyterHub: a scope held for other resources only gets the answer a missing resource gets,
  // so that filtered access does not reveal who or what exists.
  if (onResource && list.some((scope) => holdsScope(caller.scopes, scope))) {
    throw new HubError(404, 'No access to resources or resources not found');
  }
  throw new HubError(403, `Action is not authorized with current scopes; requires any of [${list.join(', ')}]`);
}

/**
 * For list endpoints (JupyterHub's `post_filter`): the caller needs the scope in some form; a
 * filtered one limits what the list shows, which the endpoint does with `scopeFilterFor`.
 */
export function requireListScope(req: FastifyRequest, scope: string): Caller {
  const caller = requireCaller(req);
  if (holdsScope(caller.scopes, scope)) return caller;
  throw new HubError(403, `Action is not authorized with current scopes; requires any of [${scope}]`);
}

/** Fills target.groups for a user or server target (the server's owner) when group filters could matter. */
export async function withGroups(ctx: HubContext, caller: Caller, target: ScopeTarget): Promise<ScopeTarget> {
  const userName = target.user ?? (target.server !== undefined ? serverOwner(target.server) : undefined);
  if (userName && !target.groups && hasGroupFilters(caller.scopes)) {
    const u = await ctx.users.byName(userName);
    return { ...target, groups: u ? await ctx.access.userGroups(u) : [] };
  }
  return target;
}

export function may(caller: Caller, scope: string, target: ScopeTarget): boolean {
  return checkScope(caller.scopes, scope, target);
}

export async function findUserOr404(ctx: HubContext, name: string): Promise<UserRow> {
  const user = await ctx.users.byName(name);
  if (!user) throw new HubError(404, `No such user: ${name}`);
  return user;
}

/** Reply helper: JupyterHub answers some writes with an empty text/plain body. */
export function emptyReply(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).type('text/plain').send('');
}
