/**
 * The authenticator contract. The hub core calls `authenticate` for the login form and applies
 * the allow/block/admin lists in one place (`AuthPolicy`), so that authenticators only prove identity.
 * Redirect-based kinds (OpenID Connect, GitHub, SAML) register their own routes with `registerRoutes`
 * and finish with `HubLogin.completeLogin`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatorConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import type { PageContext } from '../web/templates/layout.js';

export interface AuthResult {
  name: string;
  /** true/false sets the admin flag; undefined leaves it as it is (admin_users still apply). */
  admin?: boolean;
  authState?: JsonObject;
  /** When set, the user's groups become exactly these (authenticators with manage_groups). */
  groups?: string[];
  /** The authenticator's own allow rule admitted the user (e.g. allowed_groups): allowed_users need not list them. */
  allowed?: boolean;
  /** A hub path the person must visit first (e.g. two-factor enrolment), instead of `next`. */
  firstVisit?: string;
}

/** A login refused with a reason worth telling the person (locked account, wrong second factor). */
export interface AuthRefusal {
  refused: string;
}

/**
 * The form's field that carries a second step's ticket. A form with it continues a login whose first
 * step passed (and passed the site password, src/auth/shared-password.ts): the authenticator checks
 * the ticket, which only it can have handed out.
 */
export const SECOND_STEP_FIELD = 'second_step';

/**
 * The first factor was right and a second is due that the login form did not carry (a passkey, or a
 * code): the hub answers with the second step's page (src/web/templates/login.ts), whose form posts
 * back to the login route with the ticket in SECOND_STEP_FIELD, the user name, and either a code
 * (`otp`) or the browser's WebAuthn answer (`passkey`).
 */
export interface AuthSecondStep {
  secondStep: SecondStepView;
}

export interface SecondStepView {
  username: string;
  /** Single-use and short-lived; ties the second step to the first. */
  ticket: string;
  /** A code field (name `otp`) with this label, when codes are accepted. */
  codeLabel?: string;
  /** Options for navigator.credentials.get() (WebAuthn's PublicKeyCredentialRequestOptionsJSON): a "Use a passkey" button. */
  passkeyOptions?: object;
  /** Why a passkey cannot be offered here (e.g. the hub reached by an IP address), shown as text. */
  passkeyUnavailable?: string;
}

/** What the hub knows of a login request besides its form. */
export interface LoginRequest {
  /** The hub's origin as people reach it: public_url's (or subdomain_host's), else the request's (X-Forwarded-* of trusted proxies honoured). */
  origin: string;
}

/** What the login form shows besides user name and password. */
export interface LoginFormOptions {
  passwordRequired: boolean;
  /** An optional field for a two-factor code (name `otp`). */
  otpField?: boolean;
  /** A hub path where people create an account (shown as a link). */
  signupPath?: string;
  /** A "Site password" field (name `shared_password`), for authenticator.shared_password. */
  sharedPasswordField?: boolean;
  /** The authenticator may answer with a second step (AuthSecondStep), and checks the tickets of the forms that continue one. */
  secondStep?: boolean;
}

export interface LoginForm {
  username: string;
  password: string;
  [field: string]: string;
}

/** What the hub offers to authenticators that log in through redirects. */
export interface HubLogin {
  /** Applies allow/block/admin rules, stores auth_state and groups, sets the login cookie, redirects to `next`. */
  completeLogin(req: FastifyRequest, reply: FastifyReply, result: AuthResult, next: string): Promise<void>;
  /** Keeps a login's state (OAuth state, nonce, PKCE verifier, next) in a signed cookie for `maxAgeSeconds`. */
  saveLoginState(req: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void;
  /** The state saved by saveLoginState, once; null when absent, expired or tampered with. */
  takeLoginState(req: FastifyRequest, reply: FastifyReply): string | null;
  /** An absolute URL of a hub path (e.g. 'oauth_callback') as the browser sees the hub (X-Forwarded-* honoured). */
  publicHubUrl(req: FastifyRequest, path: string): string;
  /** The hub's origin as people reach it (LoginRequest.origin): what WebAuthn checks. */
  publicOrigin(req: FastifyRequest): string;
  /** A checked local `next` path, or null. */
  safeNext(next: unknown): string | null;
  /** Shows the login page with an error (403), for a refused login. */
  refuse(req: FastifyRequest, reply: FastifyReply, message: string): Promise<FastifyReply>;
  /** The logged-in user of the browser (login cookie), or null. */
  currentUser(req: FastifyRequest): Promise<{ id: number; name: string; admin: boolean } | null>;
  /** Sends a hub page: `render` gets the page context (user, XSRF token, URLs) and returns the HTML document. */
  sendPage(req: FastifyRequest, reply: FastifyReply, render: (ctx: PageContext) => string, status?: number): Promise<FastifyReply>;
  /** Sends the browser to the login page, coming back to this URL afterwards. */
  toLogin(req: FastifyRequest, reply: FastifyReply): FastifyReply;
  /**
   * Ends every login of the browser's user but this browser's (after a password or second-factor
   * change: whoever logged in with the old one is out); returns how many ended.
   */
  endOtherLogins(req: FastifyRequest): Promise<number>;
}

/** Result of refreshing a user's auth_state (e.g. an OpenID Connect access token about to expire). */
export type RefreshResult = { authState: JsonObject } | 'unchanged' | 'expired';

export interface Authenticator {
  readonly kind: string;
  /** null: no login form (e.g. the null authenticator, or one that redirects at once). */
  readonly loginForm: LoginFormOptions | null;
  /** Redirect-based kinds: the login page shows a button to this hub path (`label`), or goes there at once (`auto`). */
  readonly loginRedirect?: { label: string; path: string; auto: boolean };
  /** Refreshes auth_state before a server starts (JupyterHub's refresh_user); 'expired' sends the user to log in again. */
  refresh?(authState: JsonObject): Promise<RefreshResult>;
  /** Where to send the browser after the hub's logout (e.g. the identity provider's end-session URL), if anywhere. */
  logoutUrl?(authState: JsonObject | null, req: FastifyRequest, hub: HubLogin): string | null;
  /**
   * Checks a submitted login form; null means the credentials are wrong (a refusal says more). Only
   * authenticators with a second step of their own answer with one.
   */
  authenticate(form: LoginForm, request: LoginRequest): Promise<AuthResult | AuthRefusal | AuthSecondStep | null>;
  /**
   * A hub path this logged-in user must visit before any other page (e.g. two-factor enrolment when
   * it is required), or null. Asked on every page request of a logged-in user.
   */
  requiredStep?(user: { name: string }): Promise<string | null>;
  /** Links the authenticator adds to the navigation bar for this user (e.g. account approval for admins). */
  navLinks?(user: { name: string; admin: boolean }): Array<{ label: string; path: string }>;
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

/** Classes that let everyone who logs in use the hub unless allowed_users says otherwise (JupyterHub's DummyAuthenticator). */
const OPEN_BY_DEFAULT: ReadonlySet<string> = new Set(['dummy', 'shared-password', 'null', 'tmp']);

/**
 * admin_users / allowed_users / blocked_users / allow_all / allow_existing_users, as JupyterHub 5
 * applies them: blocked users never get in; then admins, allowed_users, whoever the authenticator's
 * own rule admits (allowed_groups, organizations, approved accounts), existing users when
 * allow_existing_users, or everyone when allow_all.
 */
/** JupyterHub 5's warning, in Ganymede's keys. */
export const NO_ALLOW_RULE =
  "no allow rule: only admin_users (and, with allow_existing_users, users already known) can log in; set authenticator.allow_all, allowed_users or the authenticator's group rule";

export class AuthPolicy {
  private readonly admins: Set<string>;
  private readonly allowed: Set<string>;
  private readonly blocked: Set<string>;
  readonly allowAll: boolean;
  readonly allowExistingUsers: boolean;

  /**
   * `ownRule`: the authenticator has an allow rule of its own configured (a group rule): without it,
   * allow_all or allowed_users, only admins (and perhaps existing users) get in.
   */
  constructor(
    config: Pick<AuthenticatorConfig, 'class' | 'admin_users' | 'allowed_users' | 'blocked_users' | 'allow_all' | 'allow_existing_users'>,
    private readonly ownRule = false,
  ) {
    this.admins = new Set(config.admin_users.map(normalizeUsername));
    this.allowed = new Set(config.allowed_users.map(normalizeUsername));
    this.blocked = new Set(config.blocked_users.map(normalizeUsername));
    this.allowAll = config.allow_all ?? (OPEN_BY_DEFAULT.has(config.class) && this.allowed.size === 0);
    this.allowExistingUsers = config.allow_existing_users ?? this.allowed.size > 0;
  }

  /**
   * Whether a person the authenticator has identified may use the hub. `admittedByAuthenticator`: its
   * own rule let them in; `exists`: the user is already in the database.
   */
  admits(name: string, admittedByAuthenticator: boolean, exists: boolean): boolean {
    if (this.blocked.has(name)) return false;
    return this.allowAll || admittedByAuthenticator || this.allowed.has(name) || this.admins.has(name) || (this.allowExistingUsers && exists);
  }

  /** No rule lets anyone but admins (and, with allow_existing_users, known users) in: JupyterHub 5 warns at start. */
  get nobodyAllowed(): boolean {
    return !this.allowAll && this.allowed.size === 0 && !this.ownRule;
  }

  /** Logged when a login is refused: why nobody gets in, for admins reading the log (not shown to the person). */
  refusalHint(): string | undefined {
    return this.nobodyAllowed ? NO_ALLOW_RULE : undefined;
  }

  isAdmin(name: string): boolean {
    return this.admins.has(name);
  }

  isBlocked(name: string): boolean {
    return this.blocked.has(name);
  }


  get adminNames(): string[] {
    return [...this.admins];
  }
}
