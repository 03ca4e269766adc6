/**
 * Passkeys of native accounts (src/auth/native/passkeys.ts): their card on the two-factor page (list,
 * rename, remove, "Add a passkey"), the page that creates one in the browser, and the confirmation of
 * a removal. The WebAuthn calls are src/web/static/passkeys.js's: the options travel in a
 * `data-options` attribute (escaped like any attribute), the browser's answer in a hidden field.
 */
import { errorAlert, hubPath, timestamp, xsrfField } from './components.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type PasskeyItemView = { id: number; name: string; created: string; lastUsed: string | null };

export type PasskeysView = {
  passkeys: PasskeyItemView[];
  /** Why passkeys cannot be added here (the hub reached by an IP address), shown instead of the form. */
  unavailable?: string;
  /** Adding one needs a proof of ownership: 'password', or 'password-or-code' when the app is on; none for the first second factor. */
  proof?: 'password' | 'password-or-code';
  message?: string;
  error?: string;
  /** The add form's name, kept after an error. */
  name?: string;
};

function proofField(kind: 'password' | 'password-or-code', id: string): SafeHtml {
  const label = kind === 'password' ? 'Your password' : 'Your password, or the code your authenticator app shows now';
  return html`<div class="field"><label for="${id}">${label}</label>
    <input id="${id}" name="proof" type="password" autocomplete="current-password" required></div>`;
}

function item(ctx: PageContext, p: PasskeyItemView): SafeHtml {
  return html`<li class="passkey" data-passkey-id="${String(p.id)}">
    <div class="passkey-name">${p.name}</div>
    <div class="muted passkey-dates">Added ${timestamp(p.created)} · last used ${timestamp(p.lastUsed, 'never')}</div>
    <div class="passkey-actions">
      <form method="post" action="${hubPath(ctx, 'passkeys', String(p.id), 'rename')}" class="input-row passkey-rename">
        ${xsrfField(ctx)}
        <input name="name" value="${p.name}" maxlength="64" required aria-label="New name for ${p.name}">
        <button type="submit" class="btn btn-small">Rename</button>
      </form>
      <form method="post" action="${hubPath(ctx, 'passkeys', String(p.id), 'remove')}">
        ${xsrfField(ctx)}
        <button type="submit" class="btn btn-small btn-danger passkey-remove">Remove</button>
      </form>
    </div>
  </li>`;
}

/** The "Passkeys and security keys" card of the two-factor page. */
export function passkeysCard(ctx: PageContext, view: PasskeysView): SafeHtml {
  return html`<section class="card card-narrow" id="passkeys" aria-labelledby="passkeys-title">
  <h2 id="passkeys-title">Passkeys and security keys</h2>
  <p class="muted">After your password, a passkey on this device or a security key can stand in for a code. Add several, so that losing one does not lock you out.</p>
  ${view.message && html`<div class="alert alert-success" role="status" id="passkey-message">${view.message}</div>`}
  ${errorAlert(view.error, 'passkey-form-error')}
  ${view.passkeys.length
    ? html`<ul class="passkey-list" id="passkey-list">${view.passkeys.map((p) => item(ctx, p))}</ul>`
    : html`<p class="empty" id="no-passkeys">No passkeys yet.</p>`}
  ${view.unavailable
    ? html`<p class="muted" id="passkey-unavailable">${view.unavailable}</p>`
    : html`<form method="post" action="${hubPath(ctx, 'passkeys', 'new')}" class="stack" id="add-passkey-form">
    ${xsrfField(ctx)}
    <div class="field"><label for="passkey_name">Name of the new passkey</label>
      <input id="passkey_name" name="name" value="${view.name ?? ''}" maxlength="64" required placeholder="e.g. Laptop, Blue security key"></div>
    ${view.proof && proofField(view.proof, 'passkey_proof')}
    <button id="add_passkey" type="submit" class="btn btn-primary">Add a passkey</button>
  </form>`}
</section>`;
}

/** Step two of adding a passkey: the browser creates it (passkeys.js) and the form sends its public key. */
export function passkeyCreatePage(ctx: PageContext, view: { name: string; registration: string; options: object }): string {
  const body = html`<section class="card card-narrow" aria-labelledby="passkey-create-title">
  <h1 id="passkey-create-title">Add the passkey “${view.name}”</h1>
  <p>Press the button, then follow your browser: touch your security key, or confirm with this device's screen lock.</p>
  <form id="passkey_create_form" method="post" action="${hubPath(ctx, 'passkeys')}" class="stack">
    ${xsrfField(ctx)}
    <input type="hidden" name="registration" value="${view.registration}">
    <input type="hidden" name="credential" id="passkey_credential" value="">
    <button id="passkey_create" type="button" class="btn btn-primary" data-passkey="create" data-field="credential" data-error="passkey-error" data-options="${JSON.stringify(view.options)}">Create the passkey</button>
    <noscript><p class="muted">Passkeys need JavaScript in this browser.</p></noscript>
    ${errorAlert(undefined, 'passkey-error')}
  </form>
  <p><a href="${hubPath(ctx, 'totp')}">Cancel</a></p>
</section>`;
  return page(ctx, 'Add a passkey', body, ['passkeys.js']);
}

/** Removing a passkey asks first; removing the last second factor also asks for the password. */
export function removePasskeyPage(ctx: PageContext, view: { passkey: PasskeyItemView; lastFactor: boolean; error?: string }): string {
  const body = html`<section class="card card-narrow" aria-labelledby="passkey-remove-title">
  <h1 id="passkey-remove-title">Remove the passkey “${view.passkey.name}”?</h1>
  <p>It will no longer sign you in.</p>
  ${view.lastFactor && html`<div class="alert alert-info" role="status">It is your only second factor: without it, your password alone signs you in.</div>`}
  ${errorAlert(view.error, 'passkey-remove-error')}
  <form method="post" action="${hubPath(ctx, 'passkeys', String(view.passkey.id), 'remove')}" class="stack">
    ${xsrfField(ctx)}
    <input type="hidden" name="confirm" value="1">
    ${view.lastFactor && proofField('password', 'remove_proof')}
    <div class="actions">
      <button id="confirm_remove" type="submit" class="btn btn-danger">Remove</button>
      <a class="btn" href="${hubPath(ctx, 'totp')}">Cancel</a>
    </div>
  </form>
</section>`;
  return page(ctx, 'Remove a passkey', body);
}
