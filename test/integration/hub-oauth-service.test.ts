/**
 * A managed service written with the `jupyterhub` Python package's own HubOAuth (Debian's package,
 * the version jupyterhub-singleuser comes with), unchanged: the hub runs it, a person opening
 * /services/whoami/ is sent through the hub's OAuth login, asked to authorize it, and the service
 * then reads that person's user model from the hub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/fixtures.js';

const SERVICE = path.resolve('test/fixtures/hub-oauth-whoami.py');

test("a service built on the jupyterhub package's HubOAuth logs a person in through Ganymede", { timeout: 90_000 }, async (t) => {
  const port = await freePort();
  const hub = await startHub({
    config: {
      authenticator: { class: 'dummy' },
      services: [{ name: 'whoami', url: `http://127.0.0.1:${port}`, command: ['/usr/bin/python3', SERVICE] }],
      // As on a JupyterHub site: users may reach services once a role says so.
      load_roles: [{ name: 'user', scopes: ['self', 'access:services'] }],
    },
  });
  t.after(() => hub.stop());
  // The hub starts it; it serves once tornado listens.
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/services/whoami/`, { redirect: 'manual' }).catch(() => null))?.status === 302, 30_000, 'the service to listen');

  const browser = new CookieSession(`http://127.0.0.1:${hub.port}`);
  await browser.login('/hub/', 'alice');
  const consent = await browser.follow('/services/whoami/');
  const authorizeUrl = consent.trail.at(-1)!;
  assert.ok(authorizeUrl.includes('/hub/api/oauth2/authorize'), consent.trail.join(' → '));
  const page = await consent.res.text();
  assert.match(page, /Authorize access/);
  assert.match(page, /whoami/);
  const authorized = await browser.postForm(new URL(authorizeUrl).pathname + new URL(authorizeUrl).search, {}, page);
  assert.equal(authorized.status, 302);
  const done = await browser.follow(authorized.headers.get('location')!);
  assert.equal(done.res.status, 200, `${done.trail.join(' → ')}: ${await done.res.clone().text()}`);
  const body = (await done.res.json()) as { service: string; user: { kind: string; name: string; scopes: string[] } };
  assert.equal(body.service, 'whoami');
  assert.equal(body.user.kind, 'user');
  assert.equal(body.user.name, 'alice');
  assert.ok(body.user.scopes.includes('access:services!service=whoami'), body.user.scopes.join(' '));

  // The service's own login cookie now lets alice in without the hub.
  const again = await browser.fetch('/services/whoami/');
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { user: { name: string } }).user.name, 'alice');

  // Someone who is not logged in is sent to the hub's login.
  const stranger = await new CookieSession(`http://127.0.0.1:${hub.port}`).follow('/services/whoami/');
  assert.match(stranger.trail.at(-1)!, /\/hub\/login/);
});
