/**
 * What /hub/login does, as a visitor meets it, for hubs configured without a login page of their own:
 * - `authenticator.class: null` (JupyterHub's NullAuthenticator): there is no login page and no form,
 *   nobody logs in with a password, and the hub is used with API tokens;
 * - `auto_login` of a redirect-based authenticator (GitHub, against the local stand-in of
 *   test/helpers/github-standin.ts): /hub/login sends the visitor straight to the provider and they come
 *   back logged in. Without it (the default), /hub/login shows the page with the "Sign in with GitHub"
 *   button: auth-github.test.ts ("the login page offers GitHub") shows that on its hub, so no third hub
 *   is started here for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { startGithubStandin } from '../helpers/github-standin.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

test('the login page with no authenticator, and with auto_login', { timeout: 90_000 }, async (t) => {
  // The hubs start one after the other: a start is CPU-bound, so starting them together gains little on a busy machine.
  const noLogin = await startHub({ config: { ...adminServiceConfig(), authenticator: { class: 'null' } } });
  t.after(() => noLogin.stop());
  const originOf = (hub: { port: number }) => `http://127.0.0.1:${hub.port}`;

  await t.test('with authenticator null, /hub/login has no page and no form', async () => {
    const browser = new CookieSession(originOf(noLogin));
    const page = await browser.fetch('/hub/login');
    assert.equal(page.status, 404);
    const text = await page.text();
    assert.match(text, /This hub has no login page: use an API token/);
    assert.doesNotMatch(text, /<form|name="password"/);
    // pages that need a login send the visitor there, and so end at the same answer
    const home = await browser.follow('/hub/home');
    assert.equal(new URL(home.trail.at(-1)!).pathname, '/hub/login');
    assert.equal(home.res.status, 404);
  });

  await t.test('with authenticator null, nobody logs in with a password, not even an existing user', async () => {
    const noLoginApi = (p: string, method = 'GET', body?: unknown) => noLogin.api(p, { method, token: ADMIN_TOKEN, body });
    assert.equal((await noLoginApi('/users/alice', 'POST')).status, 201);
    const browser = new CookieSession(originOf(noLogin));
    // as a script would try: the login page's XSRF value if it had one, then the form post
    const page = await (await browser.fetch('/hub/login')).text();
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const attempt = await browser.fetch('/hub/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: 'alice', _xsrf: xsrf }).toString(),
    });
    assert.equal(attempt.status, 404);
    assert.ok(!attempt.headers.getSetCookie().some((c) => c.startsWith('jupyterhub-hub-login=')), attempt.headers.getSetCookie().join('\n'));
    assert.equal((await browser.fetch('/hub/api/user')).status, 403, 'no cookie identifies anyone');
  });

  await t.test('with authenticator null, API tokens work', async () => {
    const issued = await noLogin.api('/users/alice/tokens', { method: 'POST', token: ADMIN_TOKEN, body: { note: 'scripts' } });
    assert.equal(issued.status, 201, issued.text);
    const me = await noLogin.api('/user', { token: issued.json.token });
    assert.equal(me.status, 200);
    assert.equal(me.json.name, 'alice');
    const own = await noLogin.api('/users/alice', { token: issued.json.token });
    assert.equal(own.status, 200, 'the token acts as alice');
    assert.equal((await noLogin.api('/user', { token: 'not-a-token' })).status, 403);
  });

  const github = await startGithubStandin({ ada: { id: 1, name: 'Ada', orgs: ['physics-dept'] } });
  t.after(() => github.stop());
  const auto = await startHub({
    config: {
      authenticator: {
        class: 'github',
        allowed_users: ['ada'],
        github: {
          client_id: github.clientId,
          client_secret: github.clientSecret,
          authorize_url: `${github.url}/login/oauth/authorize`,
          token_url: `${github.url}/login/oauth/access_token`,
          api_url: github.url,
          allow_http: true,
          auto_login: true,
        },
      },
    },
  });
  t.after(() => auto.stop());

  await t.test('with auto_login, /hub/login goes straight to the provider and the visitor comes back logged in', async () => {
    github.nextLogin = 'ada';
    const browser = new CookieSession(originOf(auto));
    const done = await browser.follow('/hub/login?next=%2Fhub%2Fhome');
    // /hub/login answered with a redirect to the hub's GitHub login, which went on to GitHub
    assert.equal(done.trail[1], `${originOf(auto)}/hub/oauth_login?next=%2Fhub%2Fhome`, done.trail.join(' → '));
    assert.ok(done.trail[2]!.startsWith(`${github.url}/login/oauth/authorize?`), done.trail.join(' → '));
    assert.equal(done.res.status, 200, done.trail.join(' → '));
    assert.equal(new URL(done.trail.at(-1)!).pathname, '/hub/home');
    const me = await browser.fetch('/hub/api/user');
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { name: string }).name, 'ada');
  });
});
