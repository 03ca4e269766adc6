/**
 * One request policy for every route. `ganymede routes` lists the routes of a hub with every feature
 * on (native accounts with sign-up and two-factor, courses, named servers), each with the policy it
 * declares; a route without one cannot be registered (test/unit/route-policy.test.ts). Here: every
 * declaration is complete and names real scopes, docs/rest-api.md's table is the one the declarations
 * give, and, through a running hub, every route that changes state refuses a cookie without its XSRF
 * token: so a new form or endpoint cannot forget it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, runCli, startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { isValidScope } from '../../src/rbac/scopes.js';
import type { DeclaredRoute } from '../../src/rbac/route-policy.js';

const FEATURES = {
  authenticator: { class: 'native', admin_users: ['ada'], allow_all: true, native: { require_approval: false, signup: true } },
  allow_named_servers: true,
  courses: { enabled: true, environments: { python: { description: 'Python 3' } } },
};

async function declaredRoutes(config: Record<string, unknown>): Promise<DeclaredRoute[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ganymede-routes-test-'));
  try {
    const file = path.join(dir, 'hub.yaml');
    writeFileSync(file, JSON.stringify(config));
    const out = await runCli(['routes', '-f', file, '--format', 'json']);
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdout) as DeclaredRoute[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const concrete = (url: string) => url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'x');

/** The authenticators that add routes of their own, each with the least config it starts with. */
const AUTHENTICATOR_ROUTES: Array<[Record<string, unknown>, string[]]> = [
  [{ class: 'tmp' }, ['GET /hub/tmplogin']],
  [{ class: 'github', github: { client_id: 'id', client_secret: 'secret' } }, ['GET /hub/oauth_login', 'GET /hub/oauth_callback']],
  [{ class: 'oidc', oidc: { issuer: 'https://idp.example.org', client_id: 'id', client_secret: 'secret' } }, ['GET /hub/oauth_login', 'GET /hub/oauth_callback']],
  [
    { class: 'saml', saml: { entity_id: 'https://hub.example.org/hub/saml/metadata', acs_url: 'https://hub.example.org/hub/saml/acs', idp_metadata_url: 'http://127.0.0.1:9/metadata' } },
    ['GET /hub/saml/login', 'GET /hub/saml/metadata', 'POST /hub/saml/acs'],
  ],
];

test('every route of a hub with every feature, and of every authenticator with routes, declares a complete policy naming real scopes', { timeout: 120_000 }, async () => {
  const everything = await declaredRoutes(FEATURES);
  checkDeclarations(everything, ['GET /hub/api/users/:name', 'POST /hub/signup', 'POST /hub/totp', 'POST /hub/passkeys/new', 'POST /hub/passkeys/:id/remove', 'POST /hub/api/courses', 'POST /hub/courses/:slug/join', 'GET /hub/metrics', 'POST /hub/api/oauth2/token']);
  // Open to anyone on the API: its version only. Every other API route needs a caller.
  const openApi = everything.filter((r) => r.policy.door === 'api' && r.policy.access.kind === 'anyone' && r.method !== 'HEAD');
  assert.deepEqual(openApi.map((r) => `${r.method} ${r.url}`), ['GET /hub/api']);
  const perAuthenticator = await Promise.all(AUTHENTICATOR_ROUTES.map(([authenticator]) => declaredRoutes({ authenticator })));
  perAuthenticator.forEach((routes, i) => checkDeclarations(routes, AUTHENTICATOR_ROUTES[i]![1]));
});

function checkDeclarations(routes: DeclaredRoute[], expected: string[]): void {
  const keys = new Set(routes.map((r) => `${r.method} ${r.url}`));
  for (const route of expected) assert.ok(keys.has(route), `${route} is among the ${routes.length} routes`);
  for (const r of routes) {
    const { door, access } = r.policy;
    assert.ok(['api', 'page', 'none'].includes(door), `${r.method} ${r.url}: door ${door}`);
    if (door === 'none') {
      assert.equal(access.kind, 'anyone', `${r.method} ${r.url}`);
      assert.ok(r.policy.credentials, `${r.method} ${r.url} says what stands in for the hub's check`);
    }
    if (access.kind === 'scopes') {
      assert.ok(access.scopes.length > 0, `${r.method} ${r.url} names a scope`);
      for (const s of access.scopes) assert.ok(isValidScope(s), `${r.method} ${r.url}: ${s} is a scope`);
    }
    if (access.kind === 'list') assert.ok(isValidScope(access.scope), `${r.method} ${r.url}: ${access.scope}`);
    if (access.kind === 'caller') assert.ok(access.checks.length > 0, `${r.method} ${r.url} says what its handler checks`);
    if (['GET', 'HEAD'].includes(r.method)) assert.equal(r.changes, false, `${r.method} ${r.url} changes nothing`);
  }
}

test("docs/rest-api.md's endpoint → scope table is the one the declarations give", { timeout: 60_000 }, async () => {
  const out = await runCli(['routes', '-f', path.join(REPO_ROOT, 'examples/dev.yaml'), '--format', 'markdown']);
  assert.equal(out.code, 0, out.stderr);
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/rest-api.md'), 'utf8');
  const block = /<!-- routes:begin[^>]*-->\n([\s\S]*?)<!-- routes:end -->/.exec(doc)?.[1];
  assert.ok(block, 'docs/rest-api.md has the generated block');
  assert.equal(block, out.stdout, 'docs/rest-api.md is out of date: run `npx tsx src/cli.ts routes -f examples/dev.yaml --format markdown`');
});

test('every route that changes state refuses the login cookie without its XSRF token, pages and API alike', { timeout: 120_000 }, async (t) => {
  const routes = await declaredRoutes(FEATURES);
  const hub = await startHub({ config: FEATURES });
  t.after(() => hub.stop());
  const ada = new CookieSession(`http://127.0.0.1:${hub.port}`);
  const signup = await (await ada.fetch('/hub/signup')).text();
  assert.equal((await ada.postForm('/hub/signup', { username: 'ada', password: 'Long-Enough-1', password2: 'Long-Enough-1' }, signup)).status, 200);
  await ada.login('/hub/', 'ada', 'Long-Enough-1');
  assert.equal((await ada.fetch('/hub/token')).status, 200, 'logged in');

  const changing = routes.filter((r) => r.changes && r.policy.door !== 'none' && r.method !== 'ANY');
  assert.ok(changing.length > 40, `${changing.length} routes change state`);
  for (const r of changing) {
    const url = concrete(r.url);
    const res = await ada.fetch(url, { method: r.method, headers: { 'content-type': r.policy.door === 'api' ? 'application/json' : 'application/x-www-form-urlencoded' }, body: r.policy.door === 'api' ? '{}' : 'a=1' });
    const body = await res.text();
    assert.equal(res.status, 403, `${r.method} ${url} without the XSRF token: ${res.status} ${body.slice(0, 200)}`);
    if (r.policy.door === 'api') assert.match(body, /_xsrf/, `${r.method} ${url} names the missing token`);
  }
  assert.equal((await ada.fetch('/hub/token')).status, 200, 'still logged in: nothing was changed by the refused requests');
});
