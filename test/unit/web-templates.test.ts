import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  errorPage,
  homePage,
  html,
  loginPage,
  oauthConfirmPage,
  page,
  raw,
  spawnFormPage,
  spawnPendingPage,
  tokenPage,
  type PageContext,
  type ServerView,
} from '../../src/web/templates/index.js';

const EVIL = '<script>alert("x")</script>';
const EVIL_ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';

function context(overrides: Partial<PageContext> = {}): PageContext {
  return {
    baseUrl: '/jh/',
    user: { name: 'alice', admin: false },
    xsrfToken: 'xsrf-123',
    staticUrl: (p) => `/jh/hub/static/${p}`,
    ...overrides,
  };
}

const stopped: ServerView = { name: '', ready: false, pending: null, url: '/jh/user/alice/', lastActivity: null, details: [], failure: null };

test('html escapes interpolated strings and keeps SafeHtml', () => {
  assert.equal(html`<p title="${`"'&`}">${EVIL}</p>`.toString(), `<p title="&quot;&#39;&amp;">${EVIL_ESCAPED}</p>`);
  assert.equal(html`<div>${html`<b>${'<i>'}</b>`}</div>`.toString(), '<div><b>&lt;i&gt;</b></div>');
  assert.equal(html`${raw('<hr>')}`.toString(), '<hr>');
});

test('html joins arrays and renders null, undefined and false as nothing', () => {
  assert.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.toString(), '<ul><li>a&lt;</li><li>b</li></ul>');
  assert.equal(html`[${null}${undefined}${false}${0}]`.toString(), '[0]');
});

test('layout has the viewport meta, the meta tags for scripts, and the nav bar', () => {
  const doc = page(context(), 'Title', html`<p>body</p>`, ['home.js']);
  assert.match(doc, /^<!doctype html>/);
  assert.match(doc, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.match(doc, /<meta name="xsrf-token" content="xsrf-123">/);
  assert.match(doc, /<meta name="base-url" content="\/jh\/">/);
  assert.match(doc, /<script src="\/jh\/hub\/static\/home\.js" defer><\/script>/);
  assert.match(doc, /href="\/jh\/hub\/home"[^>]*>.*Ganymede/);
  assert.match(doc, /href="\/jh\/hub\/logout"/);
  assert.match(doc, /href="\/jh\/hub\/token"/);
});

test('layout without a user has no logout link', () => {
  const doc = page(context({ user: null }), 'Title', html``);
  assert.doesNotMatch(doc, /logout/);
});

test('a user name with markup is escaped everywhere', () => {
  const ctx = context({ user: { name: EVIL, admin: false } });
  const doc = homePage(ctx, { defaultServer: stopped, namedServers: [], allowNamedServers: true, services: [] });
  assert.ok(!doc.includes(EVIL));
  assert.ok(doc.includes(EVIL_ESCAPED));
});

test('login page posts to the login URL under the base URL, with the _xsrf field', () => {
  const doc = loginPage(context({ user: null }), { next: '/jh/user/alice/lab?x=1&y=2', passwordRequired: true });
  assert.match(doc, /<form method="post" action="\/jh\/hub\/login\?next=%2Fjh%2Fuser%2Falice%2Flab%3Fx%3D1%26y%3D2"/);
  assert.match(doc, /<input type="hidden" name="_xsrf" value="xsrf-123">/);
  assert.match(doc, /name="username"/);
  assert.match(doc, /name="password" type="password"[^>]* required/);
  assert.doesNotMatch(doc, /role="alert"/);
});

test('login page shows an escaped error in an alert and keeps the escaped user name', () => {
  const doc = loginPage(context({ user: null }), { next: '', username: EVIL, error: EVIL, passwordRequired: false });
  assert.ok(!doc.includes(EVIL));
  assert.ok(doc.includes(`role="alert" id="login-error">${EVIL_ESCAPED}</div>`));
  assert.ok(doc.includes(`value="${EVIL_ESCAPED}"`));
});

test('home page links and buttons follow the server state', () => {
  const ctx = context();
  const notRunning = homePage(ctx, { defaultServer: stopped, namedServers: [], allowNamedServers: false, services: [] });
  assert.match(notRunning, /href="\/jh\/hub\/spawn"[^>]*>Start My Server/);
  assert.doesNotMatch(notRunning, /Stop My Server/);
  assert.doesNotMatch(notRunning, /new-server-form/);

  const running = homePage(ctx, {
    defaultServer: { ...stopped, ready: true, lastActivity: '2024-05-01T10:00:00.000Z' },
    namedServers: [{ ...stopped, name: 'gpu box', url: '/jh/user/alice/gpu%20box/' }],
    allowNamedServers: true,
    services: [{ name: 'grader', url: '/jh/services/grader/' }],
  });
  assert.match(running, /href="\/jh\/user\/alice\/"[^>]*>My Server/);
  assert.match(running, /id="stop"[^>]*>Stop My Server/);
  assert.match(running, /href="\/jh\/hub\/spawn\/alice\/gpu%20box"/);
  assert.match(running, /data-server-name="gpu box"/);
  assert.match(running, /<time datetime="2024-05-01T10:00:00.000Z">2024-05-01 10:00 UTC<\/time>/);
  assert.match(running, /href="\/jh\/services\/grader\/"/);
});

test('spawn-pending page references the progress URL and the next URL', () => {
  const doc = spawnPendingPage(context(), {
    userName: 'alice',
    serverName: '',
    progressUrl: '/jh/hub/api/users/alice/server/progress',
    nextUrl: '/jh/user/alice/',
  });
  assert.match(doc, /data-progress-url="\/jh\/hub\/api\/users\/alice\/server\/progress"/);
  assert.match(doc, /data-next-url="\/jh\/user\/alice\/"/);
  assert.match(doc, /<progress /);
  assert.match(doc, /spawn-pending\.js/);
});

test('spawn form wraps the trusted options form with _xsrf and escapes the error', () => {
  const doc = spawnFormPage(context(), {
    userName: 'alice',
    serverName: 'gpu',
    formHtml: raw('<select name="image"><option>a</option></select>'),
    actionUrl: '/jh/hub/spawn/alice/gpu',
    error: EVIL,
  });
  assert.match(doc, /<form id="spawn_form" method="post" action="\/jh\/hub\/spawn\/alice\/gpu"/);
  assert.match(doc, /<select name="image"><option>a<\/option><\/select>/);
  assert.match(doc, /name="_xsrf" value="xsrf-123"/);
  assert.ok(doc.includes(EVIL_ESCAPED) && !doc.includes(EVIL));
});

test('token page escapes notes and client names and lists revocable tokens', () => {
  const doc = tokenPage(context(), {
    userName: 'alice',
    tokens: [{ id: 'a1', note: EVIL, scopes: ['read:users'], created: '2024-05-01T10:00:00Z', lastActivity: null, expiresAt: null }],
    oauthClients: [{ clientName: EVIL, tokenIds: ['o1', 'o2'], lastActivity: null }],
    loginSessions: 2,
    logoutUrl: '/jh/hub/logout',
  });
  assert.ok(!doc.includes(EVIL));
  assert.match(doc, /<form id="logout-everywhere-form" method="post" action="\/jh\/hub\/logout">/);
  assert.match(doc, /in 2 browsers or devices/);
  assert.match(doc, /data-token-id="a1"/);
  assert.match(doc, /data-token-ids="o1 o2"/);
  assert.match(doc, /<option value="2592000">30 days<\/option>/);
  assert.match(doc, /token\.js/);
});

test('error page shows the status, a sentence for it and the escaped message', () => {
  const doc = errorPage(context(), { status: 404, message: EVIL });
  assert.match(doc, /<title>404 Page not found/);
  assert.match(doc, />404</);
  assert.ok(doc.includes(EVIL_ESCAPED) && !doc.includes(EVIL));
  assert.match(doc, /href="\/jh\/hub\/home"/);
  assert.match(errorPage(context(), { status: 403, message: '' }), /You don&#39;t have permission/);
  assert.match(errorPage(context(), { status: 503, message: 'x' }), /Service unavailable/);
  assert.match(errorPage(context(), { status: 418, message: 'x' }), /I&#39;m a Teapot/i);
});

test('OAuth confirmation posts the hidden fields and _xsrf', () => {
  const doc = oauthConfirmPage(context(), {
    clientName: 'JupyterLab <alice>',
    scopeDescriptions: ['read:users!user: Read your user model'],
    formAction: '/jh/hub/api/oauth2/authorize?client_id=x&state=y',
    hidden: { state: '"y"' },
  });
  assert.match(doc, /action="\/jh\/hub\/api\/oauth2\/authorize\?client_id=x&amp;state=y"/);
  assert.match(doc, /name="state" value="&quot;y&quot;"/);
  assert.match(doc, /name="_xsrf"/);
  assert.match(doc, /JupyterLab &lt;alice&gt;/);
});
