/**
 * OpenID Connect login (Keycloak, Authentik, any certified provider) with `openid-client`: the
 * authorization-code flow with PKCE, state and nonce; user name and groups from the ID token (or the
 * userinfo endpoint); group rules; a second-factor requirement checked on the ID token's `amr`/`acr`;
 * the tokens kept in auth_state and refreshed before a server starts; optional logout at the provider.
 *
 * The redirect flow itself (routes, state, PKCE) is `oauth-flow.ts`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { OidcConfig } from '../config/schema.js';
import type { JsonObject } from '../spawners/spawner.js';
import { type AuthResult, type Authenticator, type HubLogin, type RefreshResult, isValidUsername, normalizeUsername } from './authenticator.js';
import { applyGroupRules, valueAt } from './group-rules.js';
import { registerRedirectLogin, type Tokens } from './oauth-flow.js';


/** Group names from a claim: a list of strings (Keycloak's full paths `/physics` lose their leading slash). */
export function groupsFrom(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((g): g is string => typeof g === 'string' && g !== '').map((g) => g.replace(/^\//, ''));
}

/** Whether the ID token proves a second factor: an `amr` value or the `acr` is among the accepted ones. */
export function provesMfa(claims: Record<string, unknown>, amrValues: readonly string[], acrValues: readonly string[]): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
  if (amr.some((v) => amrValues.includes(v))) return true;
  return typeof claims.acr === 'string' && acrValues.includes(claims.acr);
}

export class OidcAuthenticator implements Authenticator {
  readonly kind = 'oidc';
  readonly loginForm = null;
  readonly loginRedirect: { label: string; path: string; auto: boolean };
  private configuration: Promise<client.Configuration> | null = null;
  /** The discovered metadata once known (logout needs it synchronously). */
  private discovered: client.Configuration | null = null;

  constructor(
    private readonly config: OidcConfig,
    /** allowed_users and admin_users (normalised): they may log in whatever their groups. */
    private readonly listed: ReadonlySet<string>,
    private readonly log: Logger,
  ) {
    this.loginRedirect = { label: `Sign in with ${config.login_service}`, path: 'oauth_login', auto: config.auto_login };
  }

  /** The provider's metadata, discovered once (and again after a failure, so a provider that was down is found later). */
  private provider(): Promise<client.Configuration> {
    this.configuration ??= client
      .discovery(new URL(this.config.issuer), this.config.client_id, undefined, client.ClientSecretPost(this.config.client_secret), {
        execute: this.config.allow_http ? [client.allowInsecureRequests] : [],
      })
      .then((provider) => {
        this.discovered = provider;
        return provider;
      })
      .catch((err: unknown) => {
        this.configuration = null;
        throw new Error(`OpenID provider ${this.config.issuer} cannot be reached or is not valid: ${(err as Error).message}`);
      });
    return this.configuration;
  }

  async authenticate(): Promise<AuthResult | null> {
    return null; // no login form: logins go through the provider
  }

  registerRoutes(app: FastifyInstance, hub: HubLogin): void {
    registerRedirectLogin(
      app,
      hub,
      {
        name: 'the identity provider',
        callbackUrl: this.config.callback_url,
        idTokenExpected: true,
        configuration: () => this.provider(),
        authorizationParams: () => ({
          scope: this.config.scopes.join(' '),
          ...(this.config.require_mfa && this.config.mfa_acr_values.length ? { acr_values: this.config.mfa_acr_values.join(' ') } : {}),
        }),
        resultFor: (provider, tokens) => this.resultFor(provider, tokens),
      },
      this.log,
    );
  }

  /** The login's result, or the reason it is refused. */
  private async resultFor(provider: client.Configuration, tokens: Tokens): Promise<AuthResult | string> {
    const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
    let claims: Record<string, unknown> = idClaims;
    // Providers often leave groups or the user name out of the ID token: ask userinfo then.
    if (valueAt(claims, this.config.username_claim) === undefined || valueAt(claims, this.config.groups_claim) === undefined) {
      try {
        const info = await client.fetchUserInfo(provider, tokens.access_token, String(idClaims.sub));
        claims = { ...info, ...idClaims };
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'OpenID Connect userinfo failed');
      }
    }
    const raw = valueAt(claims, this.config.username_claim);
    const name = typeof raw === 'string' ? normalizeUsername(raw) : '';
    if (!isValidUsername(name)) return `The identity provider gave no usable user name (claim ${this.config.username_claim}).`;
    if (this.config.require_mfa && !provesMfa(idClaims, this.config.mfa_amr_values, this.config.mfa_acr_values)) {
      this.log.warn({ user: name, amr: idClaims.amr ?? null, acr: idClaims.acr ?? null }, 'login refused: the ID token proves no second factor');
      return 'This hub requires two-factor authentication: sign in at the identity provider with a second factor.';
    }
    const rules = applyGroupRules(name, groupsFrom(valueAt(claims, this.config.groups_claim)), this.config, this.listed);
    if (typeof rules === 'string') return rules;
    return { name, ...rules, authState: tokenState(tokens, claims) };
  }

  async refresh(authState: JsonObject): Promise<RefreshResult> {
    const expiresAt = typeof authState.expires_at === 'number' ? authState.expires_at : null;
    if (expiresAt === null || expiresAt - Date.now() / 1000 > this.config.refresh_before_spawn) return 'unchanged';
    const refreshToken = typeof authState.refresh_token === 'string' ? authState.refresh_token : null;
    if (!refreshToken) return 'expired';
    try {
      const tokens = await client.refreshTokenGrant(await this.provider(), refreshToken);
      const claims = (tokens.claims() ?? authState.claims ?? {}) as Record<string, unknown>;
      const next = tokenState(tokens, claims);
      if (!next.refresh_token) next.refresh_token = refreshToken; // providers may keep the old one valid
      if (!next.id_token && authState.id_token) next.id_token = authState.id_token;
      return { authState: next };
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'OpenID Connect refresh failed: the user must log in again');
      return 'expired';
    }
  }

  logoutUrl(authState: JsonObject | null, req: FastifyRequest, hub: HubLogin): string | null {
    const provider = this.discovered;
    if (!this.config.logout_redirect || !provider?.serverMetadata().end_session_endpoint) return null;
    const params: Record<string, string> = { post_logout_redirect_uri: hub.publicHubUrl(req, 'login'), client_id: this.config.client_id };
    if (typeof authState?.id_token === 'string') params.id_token_hint = authState.id_token;
    return client.buildEndSessionUrl(provider, params).href;
  }
}

/** auth_state for a token response: tokens, when the access token expires (epoch seconds), and the claims. */
function tokenState(tokens: Tokens, claims: Record<string, unknown>): JsonObject {
  const expiresIn = tokens.expiresIn();
  return {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token ?? null,
    id_token: tokens.id_token ?? null,
    token_type: tokens.token_type,
    expires_at: expiresIn === undefined ? null : Math.floor(Date.now() / 1000) + expiresIn,
    claims: claims as JsonObject,
  };
}
