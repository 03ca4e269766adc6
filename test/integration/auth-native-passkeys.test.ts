/**
 * Passkeys of native accounts through the hub's forms, with a security key in software
 * (test/helpers/soft-authenticator.ts) instead of a browser, so that the refusals can be tried too:
 * a registration or second step answered twice, another origin, another account's passkey, a
 * counter that went back, another account's passkey id in a form. The hub is reached as if behind a
 * reverse proxy (X-Forwarded-Host/Proto from 127.0.0.1, a trusted proxy): the relying party is the
 * forwarded host. Without it (an IP address) the pages say that passkeys need a domain name.
 * test/browser/native-passkeys.test.ts does the same with Chromium's virtual authenticator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { startHub } from '../helpers/hub-process.js';
import { CookieSession } from '../helpers/cookie-session.js';
import { SoftAuthenticator } from '../helpers/soft-authenticator.js';

const HOST = 'hub.example.org';
const ORIGIN = `https://${HOST}`;
const PIA_PW = 'Long-Secret-71';
const QUINN_PW = 'Other-Secret-72';

/** A browser reaching the hub through a TLS-terminating proxy at HOST (or directly, with `forwarded` off). */
class ProxiedBrowser extends CookieSession {
  forwarded = true;
  override fetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams | null } = {}): Promise<Response> {
    const proxy: Record<string, string> = this.forwarded ? { 'x-forwarded-host': HOST, 'x-forwarded-proto': 'https' } : {};
    return super.fetch(url, { ...init, headers: { ...proxy, ...init.headers } });
  }
}

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const hidden = (page: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1];
function optionsOf<T>(page: string): T {
  const raw = /data-options="([^"]*)"/.exec(page)?.[1];
  assert.ok(raw, 'the page carries WebAuthn options');
  return JSON.parse(unescapeHtml(raw)) as T;
}
const passkeyIds = (page: string) => [...page.matchAll(/data-passkey-id="(\d+)"/g)].map((m) => m[1]!);

test('passkeys through the forms: register, second step, refusals, rename, remove', { timeout: 90_000 }, async (t) => {
  const hub = await startHub({ config: { authenticator: { class: 'native', native: { require_approval: false, lockout_attempts: 10 } } } });
  t.after(() => hub.stop());
  const origin = `http://127.0.0.1:${hub.port}`;

  async function signUp(name: string, password: string) {
    const b = new ProxiedBrowser(origin);
    const form = await (await b.fetch('/hub/signup')).text();
    assert.equal((await b.postForm('/hub/signup', { username: name, password, password2: password }, form)).status, 200);
  }
  /** Posts the login form; returns the response (302 when logged in, 200 with the second step). */
  async function loginForm(b: ProxiedBrowser, name: string, password: string, otp = '') {
    const form = await (await b.fetch('/hub/login')).text();
    return b.postForm('/hub/login?next=%2Fhub%2Fhome', { username: name, password, otp }, form);
  }
  async function secondStep(b: ProxiedBrowser, name: string, password: string) {
    const res = await loginForm(b, name, password);
    assert.equal(res.status, 200, 'the second step, not a login yet');
    const page = await res.text();
    return { page, ticket: hidden(page, 'second_step')!, options: optionsOf<PublicKeyCredentialRequestOptionsJSON>(page) };
  }
  const answer = (b: ProxiedBrowser, page: string, fields: Record<string, string>) => b.postForm('/hub/login?next=%2Fhub%2Fhome', { username: 'pia', ...fields }, page);
  async function register(b: ProxiedBrowser, key: SoftAuthenticator, name: string, proof?: string) {
    const page = await (await b.fetch('/hub/totp')).text();
    const res = await b.postForm('/hub/passkeys/new', { name, ...(proof ? { proof } : {}) }, page);
    assert.equal(res.status, 200, `the page that creates ${name}`);
    const createPage = await res.text();
    const options = optionsOf<PublicKeyCredentialCreationOptionsJSON>(createPage);
    const made = key.create(options, ORIGIN);
    const done = await b.postForm('/hub/passkeys', { registration: hidden(createPage, 'registration')!, credential: JSON.stringify(made.json) }, createPage);
    return { res: done, text: await done.text(), options, createPage, credential: made };
  }

  await signUp('pia', PIA_PW);
  await signUp('quinn', QUINN_PW);
  const pia = new ProxiedBrowser(origin);
  const keyA = new SoftAuthenticator();
  const keyB = new SoftAuthenticator();
  let keyAId = '';
  const recoveryCodes: string[] = [];

  await t.test('reached by an IP address, the page says passkeys need a domain name', async () => {
    assert.equal((await loginForm(pia, 'pia', PIA_PW)).status, 302);
    pia.forwarded = false;
    const page = await (await pia.fetch('/hub/totp')).text();
    pia.forwarded = true;
    assert.match(page, /id="passkey-unavailable"[^>]*>Passkeys work only when the hub is reached by its domain name/);
    assert.doesNotMatch(page, /id="add-passkey-form"/);
  });

  await t.test('the first passkey turns two-factor on and shows recovery codes; its registration works once', async () => {
    const first = await register(pia, keyA, 'Key A');
    keyAId = first.credential.id;
    assert.equal(first.options.rp.id, HOST, 'the relying party is the forwarded host');
    assert.equal(first.res.status, 200);
    assert.match(first.text, /The passkey “Key A” is added\. Two-factor authentication is on\./);
    recoveryCodes.push(...[...first.text.matchAll(/<li><code>([^<]+)<\/code>/g)].map((m) => m[1]!));
    assert.equal(recoveryCodes.length, 8, '8 recovery codes');
    const again = await pia.postForm('/hub/passkeys', { registration: hidden(first.createPage, 'registration')!, credential: JSON.stringify(first.credential.json) }, first.createPage);
    assert.equal(again.status, 400);
    assert.match(await again.text(), /expired or was used already/);
  });

  await t.test('a second passkey needs the password, and excludes the first', async () => {
    const page = await (await pia.fetch('/hub/totp')).text();
    assert.match(page, /id="passkey_proof"/, 'the form asks for the password now');
    const refused = await pia.postForm('/hub/passkeys/new', { name: 'Key B', proof: 'wrong password' }, page);
    assert.equal(refused.status, 403);
    const second = await register(pia, keyB, 'Key B', PIA_PW);
    assert.equal(second.res.status, 200);
    assert.match(second.text, /The passkey “Key B” is added\./);
    assert.deepEqual(second.options.excludeCredentials?.map((c) => c.id), [keyAId]);
    assert.equal(passkeyIds(second.text).length, 2);
  });

  await t.test('after logout: the password leads to the second step, and a passkey logs in', async () => {
    await pia.fetch('/hub/logout');
    const step = await secondStep(pia, 'pia', PIA_PW);
    assert.equal(step.options.rpId, HOST);
    assert.equal(step.options.allowCredentials?.length, 2);
    assert.match(step.page, /<label for="otp_input">Or a recovery code<\/label>/);
    const res = await answer(pia, step.page, { second_step: step.ticket, passkey: JSON.stringify(keyB.get(step.options, ORIGIN)) });
    assert.equal(res.status, 302, 'logged in with key B');
    assert.equal(res.headers.get('location'), '/hub/home');
    const page = await (await pia.fetch('/hub/totp')).text();
    assert.doesNotMatch(page.split('Key B')[1]!.split('</li>')[0]!, /last used <span class="muted">never/, 'key B was used');
    // Posted again (with this session's XSRF token, which the login renewed).
    const replay = await answer(pia, page, { second_step: step.ticket, passkey: JSON.stringify(keyB.get(step.options, ORIGIN)) });
    assert.equal(replay.status, 403, 'the second step works once');
    assert.match(await replay.text(), /took too long or was used already/);
  });

  await t.test("refused: another origin, another account's passkey, a counter that went back, garbage; a recovery code works once", async () => {
    const quinn = new ProxiedBrowser(origin);
    assert.equal((await loginForm(quinn, 'quinn', QUINN_PW)).status, 302);
    const keyQ = new SoftAuthenticator();
    const q = await register(quinn, keyQ, 'Quinn key');
    assert.equal(q.res.status, 200);

    const other = new ProxiedBrowser(origin);
    let step = await secondStep(other, 'pia', PIA_PW);
    let res = await answer(other, step.page, { second_step: step.ticket, passkey: JSON.stringify(keyA.get(step.options, 'https://evil.example.org')) });
    assert.equal(res.status, 403, 'another origin');
    assert.match(await res.text(), /That passkey was not accepted/);

    step = await secondStep(other, 'pia', PIA_PW);
    res = await answer(other, step.page, { second_step: step.ticket, passkey: JSON.stringify(keyQ.get({ ...step.options, allowCredentials: [{ id: q.credential.id, type: 'public-key' }] }, ORIGIN)) });
    assert.equal(res.status, 403, "quinn's passkey does not open pia's account");

    step = await secondStep(other, 'pia', PIA_PW);
    res = await answer(other, step.page, { second_step: step.ticket, passkey: JSON.stringify(keyA.get(step.options, ORIGIN, { credentialId: keyAId, counter: 5 })) });
    assert.equal(res.status, 302, 'key A, counter 5');
    const cloned = new ProxiedBrowser(origin);
    step = await secondStep(cloned, 'pia', PIA_PW);
    res = await answer(cloned, step.page, { second_step: step.ticket, passkey: JSON.stringify(keyA.get(step.options, ORIGIN, { credentialId: keyAId, counter: 5 })) });
    assert.equal(res.status, 403, 'the same counter again: a cloned key');

    step = await secondStep(cloned, 'pia', PIA_PW);
    res = await answer(cloned, step.page, { second_step: step.ticket, passkey: 'not json' });
    assert.equal(res.status, 403, 'garbage is refused, not a crash');
    step = await secondStep(cloned, 'pia', PIA_PW);
    res = await answer(cloned, step.page, { second_step: step.ticket, otp: '123456' });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Wrong two-factor code/);
    step = await secondStep(cloned, 'pia', PIA_PW);
    res = await answer(cloned, step.page, { second_step: step.ticket, otp: recoveryCodes[0]! });
    assert.equal(res.status, 302, 'a recovery code works in the second step');
    const later = new ProxiedBrowser(origin);
    step = await secondStep(later, 'pia', PIA_PW);
    res = await answer(later, step.page, { second_step: step.ticket, otp: recoveryCodes[0]! });
    assert.equal(res.status, 403, 'once');

    // Quinn's forms cannot touch pia's passkeys.
    const quinnPage = await (await quinn.fetch('/hub/totp')).text();
    const piaPage = await (await pia.fetch('/hub/totp')).text();
    const piaKey = passkeyIds(piaPage)[0]!;
    assert.equal((await quinn.postForm(`/hub/passkeys/${piaKey}/remove`, { confirm: '1', proof: QUINN_PW }, quinnPage)).status, 404);
    assert.equal((await quinn.postForm(`/hub/passkeys/${piaKey}/rename`, { name: 'mine' }, quinnPage)).status, 404);
    assert.equal((await quinn.postForm('/hub/passkeys/abc/rename', { name: 'mine' }, quinnPage)).status, 404);
    assert.equal(passkeyIds(await (await pia.fetch('/hub/totp')).text()).length, 2, "pia's passkeys are all there");
  });

  await t.test('rename and remove; removing the last passkey needs the password and turns two-factor off', async () => {
    let page = await (await pia.fetch('/hub/totp')).text();
    const [a, b] = passkeyIds(page);
    const bad = await pia.postForm(`/hub/passkeys/${a}/rename`, { name: '   ' }, page);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Give the passkey a name/);
    const renamed = await pia.postForm(`/hub/passkeys/${a}/rename`, { name: 'Key A <old>' }, page);
    assert.equal(renamed.status, 200);
    page = await renamed.text();
    assert.match(page, /Key A &lt;old&gt;/, 'the new name, as text');

    const confirm = await pia.postForm(`/hub/passkeys/${b}/remove`, {}, page);
    assert.equal(confirm.status, 200);
    const confirmPage = await confirm.text();
    assert.match(confirmPage, /Remove the passkey “Key B”\?/);
    assert.doesNotMatch(confirmPage, /only second factor/);
    const removed = await pia.postForm(`/hub/passkeys/${b}/remove`, { confirm: '1' }, confirmPage);
    assert.equal(removed.status, 200);
    page = await removed.text();
    assert.deepEqual(passkeyIds(page), [a]);

    const lastConfirm = await (await pia.postForm(`/hub/passkeys/${a}/remove`, {}, page)).text();
    assert.match(lastConfirm, /your only second factor/);
    assert.equal((await pia.postForm(`/hub/passkeys/${a}/remove`, { confirm: '1' }, lastConfirm)).status, 403, 'no password');
    const gone = await pia.postForm(`/hub/passkeys/${a}/remove`, { confirm: '1', proof: PIA_PW }, lastConfirm);
    assert.equal(gone.status, 200);
    assert.match(await gone.text(), /id="no-passkeys"/);

    await pia.fetch('/hub/logout');
    assert.equal((await loginForm(pia, 'pia', PIA_PW)).status, 302, 'the password alone again');
  });
});

test('require_mfa is met by a passkey as by the app, behind a site password too', { timeout: 60_000 }, async (t) => {
  const hub = await startHub({ config: { authenticator: { class: 'native', shared_password: 'site-pass-2026', native: { require_approval: false, require_mfa: true } } } });
  t.after(() => hub.stop());
  const rey = new ProxiedBrowser(`http://127.0.0.1:${hub.port}`);
  const signup = await (await rey.fetch('/hub/signup')).text();
  assert.equal((await rey.postForm('/hub/signup', { username: 'rey', password: PIA_PW, password2: PIA_PW }, signup)).status, 200);
  const login = async (b: ProxiedBrowser) => b.postForm('/hub/login?next=%2Fhub%2Ftoken', { username: 'rey', password: PIA_PW, shared_password: 'site-pass-2026' }, await (await b.fetch('/hub/login')).text());
  const first = await login(rey);
  assert.equal(first.headers.get('location'), '/hub/totp?next=%2Fhub%2Ftoken', 'enrolment first');
  assert.equal((await rey.fetch('/hub/home')).headers.get('location'), '/hub/totp');

  const key = new SoftAuthenticator();
  const page = await (await rey.fetch('/hub/totp')).text();
  assert.match(page, /set up an authenticator app or a passkey to continue/);
  const createPage = await (await rey.postForm('/hub/passkeys/new', { name: 'Key' }, page)).text();
  const made = key.create(optionsOf<PublicKeyCredentialCreationOptionsJSON>(createPage), ORIGIN);
  const done = await rey.postForm('/hub/passkeys', { registration: hidden(createPage, 'registration')!, credential: JSON.stringify(made.json) }, createPage);
  assert.equal(done.status, 200);
  assert.equal((await rey.fetch('/hub/home')).status, 200, 'the passkey is the second factor require_mfa asks for');

  const later = new ProxiedBrowser(`http://127.0.0.1:${hub.port}`);
  const step = await login(later);
  assert.equal(step.status, 200, 'the second step');
  const stepPage = await step.text();
  const options = optionsOf<PublicKeyCredentialRequestOptionsJSON>(stepPage);
  // The second step carries no site password: its ticket stands for the first step's.
  const res = await later.postForm('/hub/login?next=%2Fhub%2Ftoken', { username: 'rey', second_step: hidden(stepPage, 'second_step')!, passkey: JSON.stringify(key.get(options, ORIGIN)) }, stepPage);
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/hub/token', 'straight to next: nothing left to enrol');
});
