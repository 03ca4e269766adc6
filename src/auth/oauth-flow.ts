/**
 * The OAuth 2 authorization-code flow shared by redirect-based authenticators (OpenID Connect,
 * GitHub): `GET <hub>/oauth_login?next=…` keeps state, nonce and PKCE verifier in a signed cookie and
 * sends the browser to the provider; `GET <hub>/oauth_callback` checks them, exchanges the code with
 * `openid-client`, and hands the tokens to the authenticator, which decides who it is (or refuses).
 * The paths are JupyterHub's OAuthenticator's, so providers configured for it need no change.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { AuthResult, HubLogin } from './authenticator.js';
import { anyone, page } from '../rbac/route-policy.js';

/** How long a started login may take at the provider. */
const LOGIN_STATE_SECONDS = 600;

export type Tokens = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  next: string;
}

export interface RedirectProvider {
  /** Shown in messages, in the middle of a sentence: "the identity provider", "GitHub". */
  readonly name: string;
  readonly callbackUrl?: string;
  /** The provider's endpoints (discovered or fixed). */
  configuration(): Promise<client.Configuration>;
  /** Extra authorization parameters (scope, acr_values…). */
  authorizationParams(): Record<string, string>;
  /** OpenID Connect: an ID token must come with the tokens (and its nonce is checked). */
  readonly idTokenExpected: boolean;
  /** Who logged in, or the reason (shown to the person) the login is refused. */
  resultFor(config: client.Configuration, tokens: Tokens): Promise<AuthResult | string>;
}

export function registerRedirectLogin(app: FastifyInstance, hub: HubLogin, provider: RedirectProvider, log: Logger): void {
  const callbackUrl = (req: FastifyRequest) => provider.callbackUrl ?? hub.publicHubUrl(req, 'oauth_callback');

  app.get<{ Querystring: { next?: string } }>('/oauth_login', page(anyone(), { beforeSecondFactor: true }), async (req, reply) => {
    const config = await provider.configuration();
    const login: LoginState = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      next: hub.safeNext(req.query.next) ?? '',
    };
    const params: Record<string, string> = {
      ...provider.authorizationParams(),
      redirect_uri: callbackUrl(req),
      state: login.state,
      code_challenge: await client.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
    };
    if (provider.idTokenExpected) params.nonce = login.nonce;
    hub.saveLoginState(req, reply, JSON.stringify(login), LOGIN_STATE_SECONDS);
    return reply.redirect(client.buildAuthorizationUrl(config, params).href, 302);
  });

  // The identity provider's answer: checked by the state saved at /oauth_login, PKCE and the provider's token endpoint.
  app.get<{ Querystring: Record<string, string> }>('/oauth_callback', page(anyone(), { beforeSecondFactor: true }), async (req, reply) => {
    const saved = hub.takeLoginState(req, reply);
    if (!saved) return hub.refuse(req, reply, 'The login took too long or was started in another browser. Please sign in again.');
    const login = JSON.parse(saved) as LoginState;
    if (req.query.error) {
      const who = provider.name.charAt(0).toUpperCase() + provider.name.slice(1);
      return hub.refuse(req, reply, `${who} refused the login: ${req.query.error_description ?? req.query.error}`);
    }
    const config = await provider.configuration();
    const current = new URL(callbackUrl(req));
    current.search = new URL(req.url, 'http://x').search;
    let tokens: Tokens;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        ...(provider.idTokenExpected ? { expectedNonce: login.nonce, idTokenExpected: true } : {}),
      });
    } catch (err) {
      log.warn({ provider: provider.name, err: (err as Error).message }, 'OAuth code exchange failed');
      return hub.refuse(req, reply, `The login could not be completed with ${provider.name}. Please sign in again.`);
    }
    const outcome = await provider.resultFor(config, tokens);
    if (typeof outcome === 'string') return hub.refuse(req, reply, outcome);
    await hub.completeLogin(req, reply, outcome, login.next);
    return reply;
  });
}
