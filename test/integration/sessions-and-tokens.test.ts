/**
 * Login sessions and tokens as a site configures them, through one hub process and HTTP:
 * - `cookie_max_age_days` sets the lifetime of the login cookie the browser gets, and the hub refuses
 *   an older one (a copied cookie does not outlive the login);
 * - `services[].oauth_no_confirm` lets a service's OAuth login skip the consent page, which is shown
 *   otherwise;
 * - `oauth_token_expires_in` is the lifetime of the access token a service gets for a visitor through
 *   the authorization-code flow (shown on the hub's controlled clock, to the second);
 * - every kind of token (a user's API token, service tokens from config, OAuth access tokens and codes,
 *   a server's token) is stored only as a hash: its text appears nowhere in the database files while
 *   it works, and its SHA-256 does.
 * The services are external ones (a url, no process): the test plays their part of the OAuth flow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { ADMIN_TOKEN } from '../helpers/fixtures.js';

const MOCK = path.resolve('test/fixtures/mock-singleuser.mjs');
const COOKIE_MAX_AGE_DAYS = 3;
const OAUTH_TOKEN_SECONDS = 3600;
const GRADER_TOKEN = randomBytes(24).toString('hex');
const VIEWER_TOKEN = randomBytes(24).toString('hex');
const HOUR_MS = 3600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

test('login cookie lifetime, OAuth consent and token lifetime, and tokens stored as hashes', { timeout: 90_000 }, async (t) => {
  // Nothing listens at the services' urls: the test follows their redirects itself.
  const [graderPort, viewerPort] = [await freePort(), await freePort()];
  const hub = await startHub({
    clock: {},
    config: {
      authenticator: { class: 'dummy' },
      cookie_max_age_days: COOKIE_MAX_AGE_DAYS,
      oauth_token_expires_in: OAUTH_TOKEN_SECONDS,
      spawner: { class: 'local-process', cmd: [process.execPath, MOCK] },
      services: [
        { name: 'test-admin', api_token: ADMIN_TOKEN },
        { name: 'grader', url: `http://127.0.0.1:${graderPort}`, api_token: GRADER_TOKEN, oauth_no_confirm: true },
        { name: 'viewer', url: `http://127.0.0.1:${viewerPort}`, api_token: VIEWER_TOKEN },
      ],
      load_roles: [
        { name: 'admin', services: ['test-admin'] },
        { name: 'user', scopes: ['self', 'access:services'] },
      ],
    },
  });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;
  const admin = (p: string, method = 'GET', body?: unknown) => hub.api(p, { method, token: ADMIN_TOKEN, body });
  const alice = new CookieSession(origin);

  /** Asks the hub to authorize `service` for alice, as the service's login redirect would. */
  const authorize = (service: string, state: string) =>
    alice.fetch(
      `/hub/api/oauth2/authorize?${new URLSearchParams({
        client_id: `service-${service}`,
        response_type: 'code',
        redirect_uri: `/services/${service}/oauth_callback`,
        state,
      })}`,
    );
  /** The service's side: exchanges a code for an access token with its client secret (its API token). */
  const exchange = (service: string, secret: string, code: string) =>
    fetch(`${origin}/hub/api/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: `service-${service}`, client_secret: secret, code, redirect_uri: `/services/${service}/oauth_callback` }),
    });
  const codeIn = (location: string | null, service: string, state: string): string => {
    assert.ok(location, 'a redirect');
    const back = new URL(location, origin);
    assert.equal(back.pathname, `/services/${service}/oauth_callback`);
    assert.equal(back.searchParams.get('state'), state);
    const code = back.searchParams.get('code');
    assert.match(code ?? '', /^[0-9a-f]{64}$/);
    return code!;
  };

  await t.test('the login cookie lasts cookie_max_age_days', async () => {
    const form = await (await alice.fetch('/hub/login')).text();
    const loggedIn = await alice.postForm('/hub/login', { username: 'alice', password: '' }, form);
    assert.equal(loggedIn.status, 302);
    const cookie = loggedIn.headers.getSetCookie().find((c) => c.startsWith('jupyterhub-hub-login='));
    assert.ok(cookie, loggedIn.headers.getSetCookie().join('\n'));
    const seconds = COOKIE_MAX_AGE_DAYS * 24 * 3600;
    assert.match(cookie, new RegExp(`; Max-Age=${seconds}(;|$)`), cookie);
    assert.match(cookie, /; HttpOnly/);
    assert.equal((await alice.fetch('/hub/home')).status, 200, 'the cookie logs alice in');
  });

  let graderCode = '';
  await t.test('a service with oauth_no_confirm gets its code without a consent page', async () => {
    const res = await authorize('grader', 'g1');
    assert.equal(res.status, 302, 'straight back to the service');
    graderCode = codeIn(res.headers.get('location'), 'grader', 'g1');
  });

  await t.test('a service without oauth_no_confirm gets the consent page first', async () => {
    const res = await authorize('viewer', 'v1');
    assert.equal(res.status, 200, 'the consent page');
    const page = await res.text();
    assert.match(page, /Authorize access/);
    assert.match(page, /Service viewer/);
    const here = new URL(res.url);
    const authorized = await alice.postForm(here.pathname + here.search, {}, page);
    assert.equal(authorized.status, 302);
    const code = codeIn(authorized.headers.get('location'), 'viewer', 'v1');
    assert.equal((await exchange('viewer', VIEWER_TOKEN, code)).status, 200);
  });

  await t.test('an OAuth access token works for oauth_token_expires_in seconds, then is refused', async () => {
    const res = await exchange('grader', GRADER_TOKEN, graderCode);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.expires_in, OAUTH_TOKEN_SECONDS);
    const whoami = () => hub.api('/user', { token: body.access_token });
    const first = await whoami();
    assert.equal(first.status, 200);
    assert.equal(first.json.name, 'alice');
    const model = (await admin('/users/alice/tokens')).json.api_tokens.find((tok: { oauth_client: string }) => tok.oauth_client === 'Service grader');
    assert.ok(model, 'the token is listed with its client');
    assert.equal(Date.parse(model.expires_at) - Date.parse(model.created), OAUTH_TOKEN_SECONDS * 1000);

    await hub.advanceClock(OAUTH_TOKEN_SECONDS * 1000 - 60_000);
    assert.equal((await whoami()).status, 200, 'a minute before it expires');
    await hub.advanceClock(61_000);
    const expired = await whoami();
    assert.equal(expired.status, 403, `a second after it expired: ${expired.text}`);
  });

  await t.test('tokens of every kind are stored only as hashes', async () => {
    const userToken = (await admin('/users/alice/tokens', 'POST', { note: 'stored hashed' })).json.token as string;
    assert.equal((await admin('/users/alice/server', 'POST')).status, 201);
    const serverEnv = await fetch(`${origin}/user/alice/env`).then((r) => r.json() as Promise<{ env: Record<string, string> }>);
    const serverToken = serverEnv.env.JUPYTERHUB_API_TOKEN!;
    const oauthCode = codeIn((await authorize('grader', 'g2')).headers.get('location'), 'grader', 'g2');
    const oauthToken = await exchange('grader', GRADER_TOKEN, oauthCode);
    assert.equal(oauthToken.status, 200);
    // a code handed out but not exchanged yet
    const pendingCode = codeIn((await authorize('grader', 'g3')).headers.get('location'), 'grader', 'g3');
    const tokens: Record<string, string> = {
      "a user's API token": userToken,
      'a service token from config (admin)': ADMIN_TOKEN,
      'a service token from config (OAuth client secret)': GRADER_TOKEN,
      'an OAuth access token': ((await oauthToken.json()) as { access_token: string }).access_token,
      "a server's token": serverToken,
    };
    for (const [what, token] of Object.entries(tokens)) {
      assert.match(token, /^[0-9a-f]{48,64}$/, what);
      const res = await hub.api('/user', { token });
      assert.equal(res.status, 200, `${what} works: ${res.text}`);
    }
    const secrets: Record<string, string> = { ...tokens, 'an OAuth code': pendingCode };

    // The raw bytes of the database and its write-ahead log: no secret, and the hash of each token.
    const files = (await readdir(hub.dataDir)).filter((f) => f.startsWith('ganymede.sqlite'));
    assert.ok(files.includes('ganymede.sqlite') && files.includes('ganymede.sqlite-wal'), files.join(', '));
    const bytes = await Promise.all(files.map((f) => readFile(path.join(hub.dataDir, f))));
    for (const [what, secret] of Object.entries(secrets)) {
      for (const [i, content] of bytes.entries()) assert.equal(content.indexOf(secret), -1, `${what} is in ${files[i]}`);
      assert.ok(bytes.some((content) => content.includes(sha256(secret))), `the hash of ${what} is stored`);
    }

    // Every column of every row, as SQLite reads them.
    const db = new Database(path.join(hub.dataDir, 'ganymede.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      assert.ok(tables.some((row) => row.name === 'api_tokens'), tables.map((row) => row.name).join(', '));
      let cells = 0;
      for (const { name } of tables) {
        for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>) {
          for (const [column, value] of Object.entries(row)) {
            cells++;
            const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
            for (const [what, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${what} is in ${name}.${column}`);
          }
        }
      }
      assert.ok(cells > 100, `read ${cells} cells`);
      const hashed = new Set((db.prepare('SELECT hashed FROM api_tokens').all() as Array<{ hashed: string }>).map((row) => row.hashed));
      for (const [what, token] of Object.entries(tokens)) assert.ok(hashed.has(sha256(token)), `${what} is found by its hash`);
    } finally {
      db.close();
    }
  });

  await t.test('the hub refuses a login cookie older than cookie_max_age_days, as JupyterHub does', async () => {
    // The clock moved an hour and a minute since alice logged in; two minutes of margin each side.
    const maxAgeMs = COOKIE_MAX_AGE_DAYS * 24 * HOUR_MS;
    await hub.advanceClock(maxAgeMs - HOUR_MS - 3 * 60_000);
    assert.equal((await alice.fetch('/hub/home')).status, 200, 'just before it is too old');
    await hub.advanceClock(4 * 60_000);
    const home = await alice.fetch('/hub/home');
    assert.equal(home.status, 302, 'too old: log in again');
    assert.match(home.headers.get('location') ?? '', /^\/hub\/login/);
    assert.equal((await alice.fetch('/hub/api/user')).status, 403);
  });
});
