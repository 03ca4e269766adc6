/** /hub/token: request an API token (token.js shows it once), list and revoke tokens and authorized applications. */
import { errorAlert, timestamp, xsrfField } from './components.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type TokenView = {
  id: string;
  note: string;
  scopes: string[];
  created: string;
  lastActivity: string | null;
  expiresAt: string | null;
};

export type OAuthGrantView = { clientName: string; tokenIds: string[]; lastActivity: string | null };

export type TokenPageView = {
  userName: string;
  tokens: TokenView[];
  oauthClients: OAuthGrantView[];
  /** Logins of this user that have not ended (this browser's included). */
  loginSessions: number;
  /** Where "Log out everywhere" posts (the hub's logout). */
  logoutUrl: string;
};

/** Choices of the "Expires in" select, in seconds ('' = never), as JupyterHub offers them. */
const EXPIRY_CHOICES: [seconds: string, label: string][] = [
  ['', 'Never'],
  ['3600', '1 hour'],
  ['86400', '1 day'],
  ['604800', '1 week'],
  ['2592000', '30 days'],
];

function requestForm(): SafeHtml {
  return html`<section class="card" aria-labelledby="request-token-title">
  <h1 id="request-token-title">Request new API token</h1>
  <p class="muted">A token lets scripts and other programs use the hub's REST API as you.</p>
  <form id="request-token-form" class="stack">
    <div class="field">
      <label for="token-note">Note</label>
      <input id="token-note" name="note" type="text" maxlength="200" placeholder="What is this token for?" autocomplete="off">
    </div>
    <div class="field">
      <label for="token-expires">Expires in</label>
      <select id="token-expires" name="expires_in">
        ${EXPIRY_CHOICES.map(([value, label]) => html`<option value="${value}">${label}</option>`)}
      </select>
    </div>
    <div class="field">
      <label for="token-scopes">Scopes <span class="muted">(optional)</span></label>
      <input id="token-scopes" name="scopes" type="text" placeholder="e.g. read:users access:servers" autocomplete="off" autocapitalize="none" spellcheck="false" aria-describedby="token-scopes-help">
      <p id="token-scopes-help" class="help">Separate scopes with spaces. Leave empty to give the token all of your permissions.</p>
    </div>
    <button type="submit" class="btn btn-primary btn-block">Request new API token</button>
  </form>
  ${errorAlert(undefined, 'token-error')}
  <div id="token-result" class="alert alert-success" hidden>
    <label for="token-value"><strong>Your new API token</strong></label>
    <div class="input-row">
      <input id="token-value" type="text" readonly class="mono" spellcheck="false">
      <button id="token-copy" type="button" class="btn">Copy</button>
    </div>
    <p class="warning">Copy this token now and keep it safe: it won't be shown again.</p>
  </div>
</section>`;
}

function tokenRow(t: TokenView): SafeHtml {
  return html`<tr data-token-id="${t.id}">
  <td data-label="Note">${t.note || html`<span class="muted">No note</span>`}</td>
  <td data-label="Scopes">${t.scopes.map((s) => html`<code class="scope">${s}</code> `)}</td>
  <td data-label="Last used">${timestamp(t.lastActivity)}</td>
  <td data-label="Created">${timestamp(t.created)}</td>
  <td data-label="Expires">${timestamp(t.expiresAt)}</td>
  <td data-label="" class="row-actions"><button type="button" class="btn btn-small btn-danger revoke-token" aria-label="Revoke token ${t.note || t.id}">Revoke</button></td>
</tr>`;
}

function grantRow(g: OAuthGrantView): SafeHtml {
  return html`<tr data-token-ids="${g.tokenIds.join(' ')}">
  <td data-label="Application">${g.clientName}</td>
  <td data-label="Last used">${timestamp(g.lastActivity)}</td>
  <td data-label="Tokens">${g.tokenIds.length}</td>
  <td data-label="" class="row-actions"><button type="button" class="btn btn-small btn-danger revoke-token" aria-label="Revoke access of ${g.clientName}">Revoke</button></td>
</tr>`;
}

/** A table that becomes its empty message once token.js has revoked its last row. */
function revocableTable(id: string, headers: string[], rows: SafeHtml[], empty: string): SafeHtml {
  return html`<table id="${id}" class="table responsive"${rows.length === 0 && html` hidden`}>
    <thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}<th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${rows}
    </tbody>
  </table>
  <p class="empty" data-empty-for="${id}"${rows.length > 0 && html` hidden`}>${empty}</p>`;
}

export function tokenPage(ctx: PageContext, view: TokenPageView): string {
  const body = html`<div id="token-page" data-user="${view.userName}">
${requestForm()}
${errorAlert(undefined, 'revoke-error')}
<section class="card" aria-labelledby="api-tokens-title">
  <h2 id="api-tokens-title">API tokens</h2>
  ${revocableTable('api-tokens', ['Note', 'Scopes', 'Last used', 'Created', 'Expires'], view.tokens.map(tokenRow), 'You have no API tokens.')}
</section>
<section class="card" aria-labelledby="oauth-clients-title">
  <h2 id="oauth-clients-title">Authorized applications</h2>
  <p class="muted">Applications and servers you have allowed to act as you.</p>
  ${revocableTable('oauth-clients', ['Application', 'Last used', 'Tokens'], view.oauthClients.map(grantRow), 'No application has access.')}
</section>
<section class="card" aria-labelledby="sessions-title">
  <h2 id="sessions-title">Logins</h2>
  <p class="muted">You are logged in ${view.loginSessions === 1 ? 'in this browser only' : `in ${view.loginSessions} browsers or devices`}. Logging out everywhere ends every login, this one included, and revokes what applications and servers were given during them.</p>
  <form id="logout-everywhere-form" method="post" action="${view.logoutUrl}">
    ${xsrfField(ctx)}
    <input type="hidden" name="everywhere" value="1">
    <button id="logout-everywhere" type="submit" class="btn btn-danger">Log out everywhere</button>
  </form>
</section>
</div>`;
  return page(ctx, 'API tokens', body, ['token.js']);
}
