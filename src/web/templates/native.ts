/** Pages of the `native` authenticator: sign-up, account approval (admins), two-factor enrolment, password change. */
import { errorAlert, hubPath, timestamp, xsrfField } from './components.js';
import { html, raw } from './html.js';
import { page, type PageContext } from './layout.js';
import { passkeysCard, type PasskeysView } from './passkeys.js';

export function signupPage(ctx: PageContext, view: { username?: string; error?: string; done?: string }): string {
  const body = html`<section class="card card-narrow" aria-labelledby="signup-title">
  <h1 id="signup-title">Create an account</h1>
  ${view.done && html`<div class="alert alert-success" role="status" id="signup-done">${view.done}</div>`}
  ${errorAlert(view.error, 'signup-error')}
  ${!view.done &&
  html`<form method="post" action="${hubPath(ctx, 'signup')}" class="stack">
    ${xsrfField(ctx)}
    <div class="field"><label for="signup_username">Username</label>
      <input id="signup_username" name="username" value="${view.username ?? ''}" autocomplete="username" autocapitalize="none" required></div>
    <div class="field"><label for="signup_password">Password</label>
      <input id="signup_password" name="password" type="password" autocomplete="new-password" required></div>
    <div class="field"><label for="signup_password2">Password again</label>
      <input id="signup_password2" name="password2" type="password" autocomplete="new-password" required></div>
    <button id="signup_submit" type="submit" class="btn btn-primary btn-block">Create account</button>
  </form>`}
  <p><a href="${hubPath(ctx, 'login')}">Back to sign in</a></p>
</section>`;
  return page(ctx, 'Create an account', body);
}

/** `twoFactor`: what the account's logins need besides the password, e.g. "app, 2 passkeys", or "off". */
export type AccountView = { name: string; status: string; created: string; twoFactor: string; locked: boolean };

export function approvalPage(ctx: PageContext, view: { accounts: AccountView[]; message?: string; error?: string }): string {
  const row = (a: AccountView) => html`<tr>
    <td data-label="User">${a.name}</td>
    <td data-label="Status" class="account-status">${a.status}${a.locked ? ' (locked)' : ''}</td>
    <td data-label="Created">${timestamp(a.created)}</td>
    <td data-label="Two-factor">${a.twoFactor}</td>
    <td data-label="Actions">
      <form method="post" action="${hubPath(ctx, 'authorize', a.name)}" class="inline-form">
        ${xsrfField(ctx)}
        ${a.status !== 'approved' && html`<button name="action" value="approve" class="btn btn-small btn-primary">Approve</button>`}
        ${a.status !== 'rejected' && html`<button name="action" value="reject" class="btn btn-small">Reject</button>`}
      </form>
      <form method="post" action="${hubPath(ctx, 'authorize', a.name)}" class="inline-form">
        ${xsrfField(ctx)}
        <input name="password" type="password" autocomplete="new-password" aria-label="New password for ${a.name}" placeholder="new password">
        <button name="action" value="reset" class="btn btn-small">Reset password</button>
      </form>
    </td>
  </tr>`;
  const body = html`<section class="card" aria-labelledby="approve-title">
  <h1 id="approve-title">Accounts</h1>
  ${view.message && html`<div class="alert alert-success" role="status">${view.message}</div>`}
  ${errorAlert(view.error)}
  <table class="table responsive-table">
    <thead><tr><th>User</th><th>Status</th><th>Created</th><th>Two-factor</th><th>Actions</th></tr></thead>
    <tbody>${view.accounts.map(row)}</tbody>
  </table>
</section>`;
  return page(ctx, 'Accounts', body);
}

export type TotpView = {
  qrSvg?: string;
  secret?: string;
  enabled: boolean;
  /** require_mfa, and the account has no second factor yet. */
  required: boolean;
  recoveryCodes?: string[];
  error?: string;
  /** A success line above the recovery codes (e.g. the passkey that turned two-factor on). */
  message?: string;
  /** The passkeys card below the app's; absent on the recovery codes' page. */
  passkeys?: PasskeysView;
};

export function totpPage(ctx: PageContext, view: TotpView): string {
  let content;
  if (view.recoveryCodes) {
    content = html`<div class="alert alert-success" role="status">${view.message ?? 'Two-factor authentication is on.'}</div>
    <p>Keep these recovery codes somewhere safe. Each one logs you in once if you lose your phone or security key; they are not shown again.</p>
    <ul class="recovery-codes" id="recovery-codes">${view.recoveryCodes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
    <a class="btn btn-primary" href="${hubPath(ctx, 'home')}">Continue</a>`;
  } else if (view.enabled) {
    content = html`<h2>Authenticator app</h2>
    <p>Your authenticator app is on for your account.</p>
    ${errorAlert(view.error, 'totp-error')}
    <form method="post" action="${hubPath(ctx, 'totp')}" class="stack">
      ${xsrfField(ctx)}
      <div class="field">
        <label for="totp-proof">Your password, or the code your authenticator app shows now</label>
        <input id="totp-proof" name="proof" type="password" autocomplete="current-password" required>
      </div>
      <button name="action" value="restart" class="btn">Set up a new authenticator app</button>
    </form>`;
  } else {
    content = html`${view.required && html`<div class="alert alert-info" role="status">This hub requires two-factor authentication: set up an authenticator app or a passkey to continue.</div>`}
    <h2>Authenticator app</h2>
    <ol>
      <li>Scan this code with an authenticator app (FreeOTP, Aegis, Google Authenticator…):
        <div class="qr">${raw(view.qrSvg ?? '')}</div>
        or enter the key by hand: <code id="totp-secret">${view.secret}</code></li>
      <li>Enter the 6-digit code the app shows:</li>
    </ol>
    ${errorAlert(view.error, 'totp-error')}
    <form method="post" action="${hubPath(ctx, 'totp')}" class="stack">
      ${xsrfField(ctx)}
      <div class="field"><label for="totp_code">Code</label>
        <input id="totp_code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required></div>
      <button id="totp_submit" name="action" value="confirm" class="btn btn-primary">Turn on</button>
    </form>`;
  }
  const body = html`<section class="card card-narrow" aria-labelledby="totp-title"><h1 id="totp-title">Two-factor authentication</h1>${content}</section>
${view.passkeys && passkeysCard(ctx, view.passkeys)}`;
  return page(ctx, 'Two-factor authentication', body);
}

export function changePasswordPage(ctx: PageContext, view: { error?: string; done?: boolean }): string {
  const body = html`<section class="card card-narrow" aria-labelledby="pw-title">
  <h1 id="pw-title">Change password</h1>
  ${view.done && html`<div class="alert alert-success" role="status">Your password is changed.</div>`}
  ${errorAlert(view.error)}
  <form method="post" action="${hubPath(ctx, 'change-password')}" class="stack">
    ${xsrfField(ctx)}
    <div class="field"><label for="pw_current">Current password</label><input id="pw_current" name="current" type="password" autocomplete="current-password" required></div>
    <div class="field"><label for="pw_new">New password</label><input id="pw_new" name="password" type="password" autocomplete="new-password" required></div>
    <div class="field"><label for="pw_new2">New password again</label><input id="pw_new2" name="password2" type="password" autocomplete="new-password" required></div>
    <button type="submit" class="btn btn-primary">Change password</button>
  </form>
</section>`;
  return page(ctx, 'Change password', body);
}
