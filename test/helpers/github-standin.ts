/**
 * A local stand-in for GitHub (github.com cannot be reached from here): its OAuth endpoints
 * (`/login/oauth/authorize`, `/login/oauth/access_token`) and the REST shapes the authenticator reads
 * (`/user`, `/orgs/{org}/members/{user}`, `/orgs/{org}/teams/{team}/memberships/{user}`), following
 * GitHub's documentation: 204/404 for organization membership, `{"state": "active"}` for teams, a
 * bearer token. The authorize step signs in whoever the test names with `nextLogin`; the token step
 * checks the client secret, the redirect URI and the PKCE verifier.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubPerson {
  id: number;
  name: string;
  orgs: string[];
  /** `org:team` memberships. */
  teams?: string[];
}

export interface GithubStandin {
  url: string;
  clientId: string;
  clientSecret: string;
  /** The GitHub login the next authorize request signs in. */
  nextLogin: string;
  /** Scopes asked for at the last authorize request. */
  lastScopes: string[];
  stop(): Promise<void>;
}

export async function startGithubStandin(people: Record<string, GithubPerson>): Promise<GithubStandin> {
  const codes = new Map<string, { login: string; redirectUri: string; challenge: string; scopes: string[] }>();
  const tokens = new Map<string, { login: string; scopes: string[] }>();
  const standin: GithubStandin = {
    url: '',
    clientId: 'Iv1.standin',
    clientSecret: randomBytes(20).toString('hex'),
    nextLogin: '',
    lastScopes: [],
    stop: async () => undefined,
  };
  const json = (res: http.ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', standin.url);
    if (url.pathname === '/login/oauth/authorize') {
      const code = randomBytes(10).toString('hex');
      const scopes = (url.searchParams.get('scope') ?? '').split(/[ ,]+/).filter(Boolean);
      standin.lastScopes = scopes;
      codes.set(code, { login: standin.nextLogin, redirectUri: url.searchParams.get('redirect_uri') ?? '', challenge: url.searchParams.get('code_challenge') ?? '', scopes });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href });
      res.end();
      return;
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (form.get('client_id') !== standin.clientId || form.get('client_secret') !== standin.clientSecret) return json(res, 200, { error: 'incorrect_client_credentials' });
        if (!grant || grant.redirectUri !== form.get('redirect_uri') || (grant.challenge && grant.challenge !== challenge)) return json(res, 200, { error: 'bad_verification_code' });
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, { login: grant.login, scopes: grant.scopes });
        json(res, 200, { access_token: token, token_type: 'bearer', scope: grant.scopes.join(',') });
      });
      return;
    }
    const auth = tokens.get((req.headers.authorization ?? '').replace(/^(Bearer|token) /i, ''));
    if (!auth) return json(res, 401, { message: 'Requires authentication' });
    const me = people[auth.login];
    if (url.pathname === '/user' && me) return json(res, 200, { login: auth.login, id: me.id, name: me.name, email: null });
    const member = /^\/orgs\/([^/]+)\/members\/([^/]+)$/.exec(url.pathname);
    if (member) {
      if (!auth.scopes.includes('read:org')) return json(res, 403, { message: 'read:org scope needed' });
      return json(res, people[member[2]!]?.orgs.includes(member[1]!) ? 204 : 404);
    }
    const team = /^\/orgs\/([^/]+)\/teams\/([^/]+)\/memberships\/([^/]+)$/.exec(url.pathname);
    if (team) {
      const ok = people[team[3]!]?.teams?.includes(`${team[1]}:${team[2]}`);
      return ok ? json(res, 200, { state: 'active', role: 'member' }) : json(res, 404, { message: 'Not Found' });
    }
    json(res, 404, { message: 'Not Found' });
  });
  // Port 0: the kernel picks a free port as it binds, so no other process can take it in between.
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  standin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standin.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standin;
}
