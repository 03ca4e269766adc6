/**
 * A real OpenID provider for tests: the `oidc-provider` package (certified, used in production by
 * many), on a free loopback port, with a small login page of our own. The page takes a user name and a
 * "second factor" checkbox, so that tests choose who logs in and whether the ID token's `amr` proves
 * a second factor. Consent is given at once. Access tokens live 30 s, so a hub that refreshes tokens
 * shortly before they expire refreshes at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

export interface IdpUser {
  groups: string[];
  email?: string;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** How many refresh-token grants the provider answered. */
  refreshes(): number;
  stop(): Promise<void>;
}

function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const LOGIN_PAGE = (uid: string) => `<!doctype html><title>Test IdP</title>
<form method="post" action="/interaction/${uid}">
  <input name="username"> <label><input type="checkbox" name="mfa" value="1"> second factor</label>
  <button type="submit">Sign in</button>
</form>`;

export async function startTestIdp(users: Record<string, IdpUser>, redirectUris: string[]): Promise<TestIdp> {
  // Listening first, on port 0 (the kernel picks a free port as it binds): the issuer URL holds the port.
  let handle: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  server.unref(); // until it is handed over: a throw while setting up must not keep the test process alive
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'ganymede-test';
  const clientSecret = 'test-secret-0123456789abcdef0123456789';
  let refreshes = 0;
  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: redirectUris.map((u) => u.replace(/oauth_callback$/, 'login')),
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    async findAccount(_ctx, id) {
      const user = users[id];
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, email: user.email ?? `${id}@example.org`, groups: user.groups }) };
    },
    // amr, acr and auth_time go into every ID token, as Keycloak and Authentik put them there
    claims: { openid: ['sub', 'amr', 'acr', 'auth_time'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 30, IdToken: 300, RefreshToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    cookies: { keys: ['test-idp-cookie-key'] },
  };
  const provider = new Provider(issuer, config);
  provider.on('grant.success', (ctx) => {
    if ((ctx.oidc.params as Record<string, unknown> | undefined)?.grant_type === 'refresh_token') refreshes++;
  });
  const handler = provider.callback();
  handle = async (req, res) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) return handler(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'consent') {
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        grant.addOIDCClaims(['preferred_username', 'email', 'groups']);
        await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
        return;
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(LOGIN_PAGE(m[1]!));
        return;
      }
      const form = await readForm(req);
      const username = form.get('username') ?? '';
      if (!users[username]) {
        await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown user' }, { mergeWithLastSubmission: false });
        return;
      }
      const amr = form.get('mfa') ? ['pwd', 'otp'] : ['pwd'];
      await provider.interactionFinished(req, res, { login: { accountId: username, amr } }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  };
  server.ref();
  return {
    issuer,
    clientId,
    clientSecret,
    refreshes: () => refreshes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
