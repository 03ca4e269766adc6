/** The login form of authenticators that take a user name (and a password), and its second step. */
import type { SecondStepView } from '../../auth/authenticator.js';
import { errorAlert, hubPath, xsrfField } from './components.js';
import { html } from './html.js';
import { page, type PageContext } from './layout.js';

export type LoginView = {
  /** Where to go after logging in; already checked to be a local path. */
  next: string;
  username?: string;
  error?: string;
  passwordRequired: boolean;
  /** Plain text shown above the form (escaped, not HTML). */
  announcement?: string;
  /** false: no user name/password form (redirect-based authenticators only). Default true. */
  form?: boolean;
  /** A "Sign in with …" button (OpenID Connect, GitHub, SAML). */
  redirect?: { label: string; href: string };
  /** An optional two-factor code field. */
  otpField?: boolean;
  /** The site-wide password field (authenticator.shared_password). */
  sharedPasswordField?: boolean;
  /** A link to create an account. */
  signupHref?: string;
};

export function loginPage(ctx: PageContext, view: LoginView): string {
  const action = `${hubPath(ctx, 'login')}?next=${encodeURIComponent(view.next)}`;
  const body = html`<section class="card card-narrow" aria-labelledby="login-title">
  <h1 id="login-title">Sign in</h1>
  ${view.announcement && html`<div class="alert alert-info">${view.announcement}</div>`}
  ${ctx.branding?.loginMessage && html`<p class="login-message">${ctx.branding.loginMessage}</p>`}
  ${view.error && errorAlert(view.error, 'login-error')}
  ${view.redirect && html`<a id="login_redirect" class="btn btn-primary btn-block" href="${view.redirect.href}">${view.redirect.label}</a>`}
  ${view.form !== false && html`<form method="post" action="${action}" class="stack">
    ${xsrfField(ctx)}
    <div class="field">
      <label for="username_input">Username</label>
      <input id="username_input" name="username" type="text" value="${view.username ?? ''}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required autofocus>
    </div>
    <div class="field">
      <label for="password_input">Password${!view.passwordRequired && html` <span class="muted">(optional)</span>`}</label>
      <input id="password_input" name="password" type="password" autocomplete="current-password"${view.passwordRequired && html` required`}>
    </div>
    ${view.sharedPasswordField &&
    html`<div class="field">
      <label for="shared_password_input">Site password</label>
      <input id="shared_password_input" name="shared_password" type="password" autocomplete="off" required>
    </div>`}
    ${view.otpField &&
    html`<div class="field">
      <label for="otp_input">Two-factor code <span class="muted">(if you turned it on)</span></label>
      <input id="otp_input" name="otp" inputmode="numeric" autocomplete="one-time-code">
    </div>`}
    <button id="login_submit" type="submit" class="btn btn-primary btn-block">Sign in</button>
  </form>`}
  ${view.signupHref && html`<p>No account yet? <a id="signup_link" href="${view.signupHref}">Create one</a></p>`}
</section>`;
  return page(ctx, 'Sign in', body);
}

/**
 * The login's second step: the password was right, and the account has a passkey (and perhaps an
 * authenticator app and recovery codes). "Use a passkey" runs the browser's WebAuthn dialog
 * (passkeys.js puts its answer in the hidden `passkey` field and posts the form); a code posts the
 * form as it is. Either way the ticket goes along and works once.
 */
export function secondStepPage(ctx: PageContext, view: SecondStepView & { next: string }): string {
  const action = `${hubPath(ctx, 'login')}?next=${encodeURIComponent(view.next)}`;
  const body = html`<section class="card card-narrow" aria-labelledby="second-step-title">
  <h1 id="second-step-title">Second factor</h1>
  <p>Signing in as <strong>${view.username}</strong>.</p>
  <form id="second_step_form" method="post" action="${action}" class="stack">
    ${xsrfField(ctx)}
    <input type="hidden" name="username" value="${view.username}">
    <input type="hidden" name="second_step" value="${view.ticket}">
    ${view.passkeyOptions &&
    html`<input type="hidden" name="passkey" id="passkey_response" value="">
    <button id="passkey_login" type="button" class="btn btn-primary btn-block" data-passkey="get" data-field="passkey" data-error="passkey-error" data-options="${JSON.stringify(view.passkeyOptions)}">Use a passkey</button>
    <noscript><p class="muted">Passkeys need JavaScript in this browser.</p></noscript>`}
    ${view.passkeyUnavailable && html`<p class="muted" id="passkey-unavailable">${view.passkeyUnavailable}</p>`}
    ${errorAlert(undefined, 'passkey-error')}
    ${view.codeLabel &&
    html`<div class="field">
      <label for="otp_input">${view.codeLabel}</label>
      <input id="otp_input" name="otp" autocomplete="one-time-code" autocapitalize="none" spellcheck="false"${view.passkeyOptions ? '' : html` autofocus`}>
    </div>
    <button id="second_step_submit" type="submit" class="btn${view.passkeyOptions ? '' : html` btn-primary`} btn-block">Sign in with the code</button>`}
  </form>
  <p><a href="${hubPath(ctx, 'login')}">Start again</a></p>
</section>`;
  return page(ctx, 'Second factor', body, ['passkeys.js']);
}

/** /hub/logout reached by a link from another site: logging out takes a click (POST with XSRF). */
export function logoutConfirmPage(ctx: PageContext, actionUrl: string): string {
  const body = html`<section class="card" aria-labelledby="logout-title">
  <h1 id="logout-title">Log out?</h1>
  <p class="muted">A link from another site asks to log you out of this hub.</p>
  <form id="logout_form" method="post" action="${actionUrl}" class="stack">
    ${xsrfField(ctx)}
    <button id="logout_submit" type="submit" class="btn btn-primary btn-block">Log out</button>
  </form>
</section>`;
  return page(ctx, 'Log out?', body);
}
