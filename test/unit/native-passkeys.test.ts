/**
 * The pure parts of passkeys (src/auth/native/): the single-use challenge store, the relying party
 * from the hub's origin, passkey names, the browser's answers checked before the library sees them,
 * the Accounts page's summary, and the pages (names and options escaped, the second step's form).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { SingleUseStore } from '../../src/auth/native/single-use-store.js';
import { knownTransports, passkeyName, parseAuthenticationResponse, parseRegistrationResponse, relyingPartyOf } from '../../src/auth/native/passkey-input.js';
import { twoFactorSummary } from '../../src/auth/native/native.js';
import { passkeysCard, passkeyCreatePage } from '../../src/web/templates/passkeys.js';
import { secondStepPage, type PageContext } from '../../src/web/templates/index.js';
import { publicOrigin } from '../../src/web/login.js';
import type { HubContext } from '../../src/http/context.js';
import { SharedPasswordGate } from '../../src/auth/shared-password.js';
import type { Authenticator, LoginForm, LoginFormOptions } from '../../src/auth/authenticator.js';

const EVIL = '<script>alert("x")</script>';

function context(): PageContext {
  return { baseUrl: '/jh/', user: { name: 'dana', admin: false }, xsrfToken: 'xsrf-1', staticUrl: (p) => `/jh/hub/static/${p}` };
}

test('the single-use store: a key works once, until it expires, and memory stays bounded', () => {
  let now = 1_000;
  const store = new SingleUseStore<string>(60_000, 3, () => now);
  const a = store.put('a');
  assert.match(a, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.equal(store.take(a), 'a');
  assert.equal(store.take(a), undefined, 'once');
  assert.equal(store.take('made-up'), undefined);

  const b = store.put('b');
  now += 60_000;
  assert.equal(store.take(b), undefined, 'expired at its ttl');
  assert.equal(store.size, 0, 'and gone');

  const keys = ['c', 'd', 'e', 'f'].map((v) => store.put(v));
  assert.equal(store.size, 3, 'at most maxEntries');
  assert.equal(store.take(keys[0]!), undefined, 'the oldest went first');
  assert.equal(store.take(keys[3]!), 'f');

  now += 30_000;
  const g = store.put('g');
  now += 40_000;
  store.put('h');
  assert.equal(store.size, 2, 'expired entries are dropped when a new one comes');
  assert.equal(store.take(g), 'g');
});

test('the relying party is the host of the hub origin; IP addresses and other schemes have none', () => {
  assert.deepEqual(relyingPartyOf('https://Hub.Example.org'), { id: 'hub.example.org', origin: 'https://hub.example.org' });
  assert.deepEqual(relyingPartyOf('http://localhost:8123'), { id: 'localhost', origin: 'http://localhost:8123' });
  assert.deepEqual(relyingPartyOf('https://hub.example.org:443/jh/hub/'), { id: 'hub.example.org', origin: 'https://hub.example.org' }, 'the base URL plays no part');
  for (const none of ['http://127.0.0.1:8000', 'http://[::1]:8000', 'ftp://hub.example.org', 'not a url', '']) assert.equal(relyingPartyOf(none), null, none);
});

test("the hub's public origin: public_url's when set, else the request's (proxies resolved by Fastify)", () => {
  const req = { protocol: 'https', host: 'proxy.example.org' } as FastifyRequest;
  assert.equal(publicOrigin({ urls: { publicOrigin: 'https://hub.example.org' } } as HubContext, req), 'https://hub.example.org');
  assert.equal(publicOrigin({ urls: { publicOrigin: '' } } as HubContext, req), 'https://proxy.example.org');
});

test('passkey names: trimmed, 1 to 64 characters, no control characters', () => {
  assert.deepEqual(passkeyName('  Blue   key '), { name: 'Blue key' });
  assert.deepEqual(passkeyName(EVIL), { name: EVIL }, 'any text: the pages escape it');
  for (const bad of ['', '   ', undefined, 42, 'x'.repeat(65), 'a\u0000b']) assert.ok('problem' in passkeyName(bad), JSON.stringify(bad));
  assert.deepEqual(passkeyName('x'.repeat(64)), { name: 'x'.repeat(64) });
});

test("the browser's answers are checked for their shape before the library sees them", () => {
  const registration = {
    id: 'abc_-1',
    rawId: 'abc_-1',
    type: 'public-key',
    response: { clientDataJSON: 'eyJ0', attestationObject: 'o2Nm', transports: ['usb', 'internal'] },
    clientExtensionResults: { credProps: { rk: false } },
  };
  assert.equal(parseRegistrationResponse(JSON.stringify(registration))?.id, 'abc_-1');
  assert.deepEqual(parseRegistrationResponse(JSON.stringify({ ...registration, clientExtensionResults: undefined }))?.clientExtensionResults, {}, 'absent results are none');
  const assertion = { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: 'eyJ0', authenticatorData: 'SZYN', signature: 'MEUC' }, clientExtensionResults: {} };
  assert.equal(parseAuthenticationResponse(JSON.stringify(assertion))?.response.signature, 'MEUC');
  assert.equal(parseAuthenticationResponse(JSON.stringify(registration)), null, 'a registration is no assertion');
  assert.equal(parseRegistrationResponse(JSON.stringify(assertion)), null, 'and the other way round');
  for (const bad of [
    undefined,
    '',
    'not json',
    'null',
    JSON.stringify({ ...assertion, type: 'password' }),
    JSON.stringify({ ...assertion, id: 'not base64url!' }),
    JSON.stringify({ ...assertion, response: { ...assertion.response, signature: '' } }),
    JSON.stringify({ ...assertion, response: { ...assertion.response, signature: 'A'.repeat(70_000) } }),
  ]) {
    assert.equal(parseAuthenticationResponse(bad), null, String(bad).slice(0, 80));
  }
  assert.deepEqual(knownTransports(['usb', 'usb', 'telepathy', 'hybrid']), ['usb', 'hybrid']);
});

test("the Accounts page's two-factor column", () => {
  assert.equal(twoFactorSummary(false, 0), 'off');
  assert.equal(twoFactorSummary(true, 0), 'app');
  assert.equal(twoFactorSummary(false, 1), '1 passkey');
  assert.equal(twoFactorSummary(true, 3), 'app, 3 passkeys');
});

test('the passkeys card: names as text, forms under the base URL with the XSRF token, the password field once a factor is on', () => {
  const card = passkeysCard(context(), { passkeys: [{ id: 7, name: EVIL, created: '2026-01-02T03:04:05.000Z', lastUsed: null }], proof: 'password' }).toString();
  assert.ok(!card.includes('<script>alert'), 'the name is escaped');
  assert.match(card, /action="\/jh\/hub\/passkeys\/7\/rename"/);
  assert.match(card, /action="\/jh\/hub\/passkeys\/7\/remove"/);
  assert.match(card, /action="\/jh\/hub\/passkeys\/new"/);
  assert.equal([...card.matchAll(/name="_xsrf" value="xsrf-1"/g)].length, 3);
  assert.match(card, /id="passkey_proof"/);
  assert.match(card, /last used <span class="muted">never<\/span>/);
  const first = passkeysCard(context(), { passkeys: [] }).toString();
  assert.match(first, /id="no-passkeys"/);
  assert.doesNotMatch(first, /passkey_proof/);
  const unavailable = passkeysCard(context(), { passkeys: [], unavailable: 'Needs a domain name' }).toString();
  assert.doesNotMatch(unavailable, /add-passkey-form/);
});

test('the options travel in an escaped attribute; the second step posts its ticket to the login route', () => {
  const options = { challenge: 'abc', rp: { name: EVIL, id: 'hub.example.org' } };
  const create = passkeyCreatePage(context(), { name: 'Laptop', registration: 'reg-1', options });
  const attr = /data-options="([^"]*)"/.exec(create)?.[1];
  assert.ok(attr && !attr.includes('<'), 'no markup in the attribute');
  assert.deepEqual(JSON.parse(attr.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')), options);
  assert.match(create, /src="\/jh\/hub\/static\/passkeys.js"/);

  const step = secondStepPage(context(), { username: 'dana', ticket: 't-1', codeLabel: 'Or a recovery code', passkeyOptions: options, next: '/jh/hub/home' });
  assert.match(step, /action="\/jh\/hub\/login\?next=%2Fjh%2Fhub%2Fhome"/);
  assert.match(step, /name="second_step" value="t-1"/);
  assert.match(step, /id="passkey_login"[^>]*data-passkey="get"/);
  assert.match(step, /<label for="otp_input">Or a recovery code<\/label>/);
  const codesOnly = secondStepPage(context(), { username: 'dana', ticket: 't-2', codeLabel: 'A recovery code', passkeyUnavailable: 'Needs a domain name', next: '' });
  assert.doesNotMatch(codesOnly, /passkey_login/);
  assert.match(codesOnly, /Needs a domain name/);
});

test('a site password in front: a second step goes through only to an authenticator that has second steps', async () => {
  const seen: LoginForm[] = [];
  const inner = (secondStep: boolean): Authenticator & { loginForm: LoginFormOptions } => ({
    kind: 'test',
    loginForm: { passwordRequired: true, secondStep },
    async authenticate(form) {
      seen.push(form);
      return { name: form.username };
    },
  });
  const request = { origin: 'https://hub.example.org' };
  const continued = { username: 'dana', password: '', second_step: 'ticket' };
  assert.deepEqual(await new SharedPasswordGate(inner(true), 'site').authenticate(continued, request), { name: 'dana' }, 'the ticket stands for the site password checked before');
  assert.deepEqual(await new SharedPasswordGate(inner(false), 'site').authenticate(continued, request), { refused: 'The site password is wrong.' }, 'a dummy behind the gate never sees it');
  assert.deepEqual(await new SharedPasswordGate(inner(true), 'site').authenticate({ username: 'dana', password: 'x' }, request), { refused: 'The site password is wrong.' });
  assert.equal(seen.length, 1);
});
