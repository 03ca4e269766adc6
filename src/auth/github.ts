/**
 * GitHub OAuth login (and GitHub Enterprise, whose endpoints are configurable), through the shared
 * redirect flow. The user name is the GitHub login, lower-cased. `allowed_organizations` entries are
 * `org` (membership checked with `GET /orgs/{org}/members/{user}`, 204 = member) or `org:team`
 * (`GET /orgs/{org}/teams/{team}/memberships/{user}` with state `active`), asked with the user's own
 * token, which therefore gets the `read:org` scope, as JupyterHub's GitHubOAuthenticator does.
 */
import type { FastifyInstance } from 'fastify';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { GithubConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import { type AuthResult, type Authenticator, type HubLogin, isValidUsername, normalizeUsername } from './authenticator.js';
import { registerRedirectLogin, type Tokens } from './oauth-flow.js';

interface GithubUser {
  login: string;
  id: number;
  name?: string | null;
  email?: string | null;
}

export class GithubAuthenticator implements Authenticator {
  readonly kind = 'github';
  readonly loginForm = null;
  readonly loginRedirect: { label: string; path: string; auto: boolean };
  private readonly configuration: client.Configuration;

  constructor(
    private readonly config: GithubConfig,
    /** allowed_users and admin_users (normalised): they may log in whatever their organizations. */
    private readonly listed: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    this.loginRedirect = { label: `Sign in with ${config.login_service}`, path: 'oauth_login', auto: config.auto_login };
    const origin = new URL(config.authorize_url).origin;
    this.configuration = new client.Configuration(
      { issuer: origin, authorization_endpoint: config.authorize_url, token_endpoint: config.token_url },
      config.client_id,
      undefined,
      client.ClientSecretPost(config.client_secret),
    );
    if (config.allow_http) client.allowInsecureRequests(this.configuration);
  }

  async authenticate(): Promise<AuthResult | null> {
    return null; // no login form: logins go through GitHub
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    const scopes = new Set(this.config.scopes);
    if (this.config.allowed_organizations.length) scopes.add('read:org');
    registerRedirectLogin(
      app,
      hub,
      {
        name: 'GitHub',
        callbackUrl: this.config.callback_url,
        idTokenExpected: false,
        configuration: async () => this.configuration,
        authorizationParams: () => ({ scope: [...scopes].join(' ') }),
        resultFor: (_config, tokens) => this.resultFor(tokens),
      },
      this.log,
    );
  }

  private async api(path: string, token: string): Promise<Response> {
    return fetch(`${this.config.api_url.replace(/\/$/, '')}${path}`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json', 'User-Agent': 'ganymede' },
      signal: AbortSignal.timeout(10_000),
    });
  }

  private async resultFor(tokens: Tokens): Promise<AuthResult | string> {
    const res = await this.api('/user', tokens.access_token);
    if (res.status !== 200) return `GitHub did not say who you are (status ${res.status}). Please sign in again.`;
    const user = (await res.json()) as GithubUser;
    const name = normalizeUsername(user.login ?? '');
    if (!isValidUsername(name)) return 'GitHub gave no usable user name.';
    const orgs = this.config.allowed_organizations;
    if (orgs.length && !this.listed.has(name)) {
      let member = false;
      for (const entry of orgs) {
        if (await this.isMember(entry, user.login, tokens.access_token)) {
          member = true;
          break;
        }
      }
      if (!member) return `${name} is not a member of an organization or team allowed to use this hub.`;
    }
    const authState: JsonObject = {
      access_token: tokens.access_token,
      github_user: { login: user.login, id: user.id, name: user.name ?? null, email: user.email ?? null },
    };
    return { name, authState, allowed: orgs.length ? true : undefined };
  }

  private async isMember(entry: string, login: string, token: string): Promise<boolean> {
    const [org, team] = entry.split(':', 2) as [string, string | undefined];
    const enc = encodeURIComponent;
    if (team === undefined) {
      const res = await this.api(`/orgs/${enc(org)}/members/${enc(login)}`, token);
      return res.status === 204;
    }
    const res = await this.api(`/orgs/${enc(org)}/teams/${enc(team)}/memberships/${enc(login)}`, token);
    if (res.status !== 200) return false;
    return ((await res.json()) as { state?: string }).state === 'active';
  }
}
