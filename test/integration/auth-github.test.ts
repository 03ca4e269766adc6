/**
 * GitHub login. GitHub itself cannot be reached from this machine, so the test
 * runs a local stand-in speaking GitHub's OAuth endpoints and the `/user`, organization-membership and
 * team-membership shapes (test/helpers/github-standin.ts); the authenticator is configured for it the
 * way a GitHub Enterprise site would be, through authorize_url, token_url and api_url.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { freePort } from '../helpers/ports.js';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { startGithubStandin } from '../helpers/github-standin.js';
import { ADMIN_TOKEN, adminServiceConfig } from '../helpers/fixtures.js';

test('GitHub login with organization and team rules (against a stand-in for GitHub)', { timeout: 60_000 }, async (t) => {
  const github = await startGithubStandin({
    Ada: { id: 1, name: 'Ada L.', orgs: ['physics-dept'] },
    bo: { id: 2, name: 'Bo', orgs: ['chem-dept'] },
    cy: { id: 3, name: 'Cy', orgs: ['chem-dept'], teams: ['chem-dept:tutors'] },
  });
  t.after(() => github.stop());
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const hub = await startHub({
    env: { GANYMEDE_CRYPT_KEY: randomBytes(32).toString('hex') },
    config: {
      ...adminServiceConfig(),
      bind_url: `${origin}/`,
      authenticator: {
        class: 'github',
        enable_auth_state: true,
        github: {
          client_id: github.clientId,
          client_secret: github.clientSecret,
          allowed_organizations: ['physics-dept', 'chem-dept:tutors'],
          authorize_url: `${github.url}/login/oauth/authorize`,
          token_url: `${github.url}/login/oauth/access_token`,
          api_url: github.url,
          allow_http: true,
        },
      },
    },
  });
  t.after(() => hub.stop());

  async function login(who: string) {
    github.nextLogin = who;
    const browser = new CookieSession(origin);
    const done = await browser.follow('/hub/oauth_login?next=%2Fhub%2Fhome');
    return { browser, done };
  }

  await t.test('the login page offers GitHub', async () => {
    const page = await (await new CookieSession(origin).fetch('/hub/login')).text();
    assert.match(page, /Sign in with GitHub/);
  });

  await t.test('an organization member logs in; the name is the lower-cased login', async () => {
    const { browser, done } = await login('Ada');
    assert.equal(done.res.status, 200, done.trail.join(' → '));
    assert.ok(done.trail.at(-1)!.endsWith('/hub/home'));
    assert.ok(browser.jar.has('jupyterhub-hub-login'));
    assert.ok(github.lastScopes.includes('read:org'), 'read:org is asked for organization checks');
    const ada = (await hub.api('/users/ada', { token: ADMIN_TOKEN })).json;
    assert.equal(ada.auth_state.github_user.login, 'Ada');
    assert.match(ada.auth_state.access_token, /^gho_/);
  });

  await t.test('a member of an allowed team logs in', async () => {
    assert.equal((await login('cy')).done.res.status, 200);
  });

  await t.test('someone in the organization but not in the team is refused', async () => {
    const { done } = await login('bo');
    assert.equal(done.res.status, 403);
    assert.match(await done.res.text(), /bo is not a member of an organization or team allowed/);
    assert.equal((await hub.api('/users/bo', { token: ADMIN_TOKEN })).status, 404);
  });

  await t.test('a callback without the login state is refused with a readable page', async () => {
    const res = await new CookieSession(origin).fetch('/hub/oauth_callback?code=x&state=y');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Please sign in again/);
  });
});
