/**
 * The authenticator contract. The hub core calls `authenticate` for the login form and applies
 * the allow/block/admin lists in one place (`AuthPolicy`), so that authenticators only prove identity.
 * Redirect-based kinds (OpenID Connect, GitHub, SAML) register their own routes with `registerRoutes`
 * and finish with `HubLogin.completeLogin`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatorConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';

export interface AuthResult {
  name: string;
  /** true/false sets the admin flag; undefined leaves it as it is (admin_users still apply). */
  admin?: boolean;
  authState?: JsonObject;
  groups?: string[];
}

export interface LoginForm {
  username: string;
  password: string;
  [field: string]: string;
}

/** What the hub offers to authenticators that log in through redirects. */
export interface HubLogin {
  completeLogin(req: FastifyRequest, reply: FastifyReply, result: AuthResult, next: string): Promise<void>;
}

export interface Authenticator {
  readonly kind: string;
  /** null: no login form (e.g. the null authenticator, or one that redirects at once). */
  readonly loginForm: { passwordRequired: boolean } | null;
  /** Checks a submitted login form; null means the credentials are wrong. */
  authenticate(form: LoginForm): Promise<AuthResult | null>;
  registerRoutes?(app: FastifyInstance, hub: HubLogin): void;
}

/** JupyterHub's default username normalisation: lower case, surrounding space removed. */
export function normalizeUsername(name: string): string {
  return name.trim().toLowerCase();
}

/** Names that can be a URL path segment and a directory name safely enough: no '/', no control characters, not '.' or '..'. */
export function isValidUsername(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !/[/\\\u0000-\u001f\u007f]/.test(name) && name !== '.' && name !== '..';
}

/** admin_users / allowed_users / blocked_users, as JupyterHub applies them. */
export class AuthPolicy {
  private readonly admins: Set<string>;
  private readonly allowed: Set<string>;
  private readonly blocked: Set<string>;

  constructor(config: Pick<AuthenticatorConfig, 'admin_users' | 'allowed_users' | 'blocked_users'>) {
    this.admins = new Set(config.admin_users.map(normalizeUsername));
    this.allowed = new Set(config.allowed_users.map(normalizeUsername));
    this.blocked = new Set(config.blocked_users.map(normalizeUsername));
  }

  isAdmin(name: string): boolean {
    return this.admins.has(name);
  }

  /** Allowed when not blocked, and either no allow list is set or the name is on it (admins always are). */
  isAllowed(name: string): boolean {
    if (this.blocked.has(name)) return false;
    if (this.allowed.size === 0) return true;
    return this.allowed.has(name) || this.admins.has(name);
  }

  get adminNames(): string[] {
    return [...this.admins];
  }
}
