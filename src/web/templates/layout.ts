/** The document around every page: head (meta tags read by the scripts), nav bar, main column. */
import { hubPath } from './components.js';
import { html, type SafeHtml } from './html.js';

export type PageContext = {
  /** e.g. '/' or '/jh/' */
  baseUrl: string;
  user: { name: string; admin: boolean } | null;
  xsrfToken: string;
  /** URL of a file of src/web/static, e.g. staticUrl('ganymede.css') */
  staticUrl(path: string): string;
  /** More navigation links (e.g. from the authenticator: account approval, two-factor settings); paths under hub/. */
  navLinks?: Array<{ label: string; path: string }>;
  /** The site's announcement for this page (config `announcement`, or the page's own), shown as text above it. */
  announcement?: string;
  /** The site's own look (config `logo_file`, `branding`); Ganymede's when absent. */
  branding?: PageBranding;
};

export type PageBranding = {
  siteName: string;
  logoUrl: string;
  /** The site's stylesheet, linked after the hub's. */
  stylesheetUrl?: string;
  /** Plain text at the bottom of every page. */
  footer: string;
  footerLinks: Array<{ label: string; url: string }>;
  /** Plain text above the login form. */
  loginMessage: string;
};

function siteName(ctx: PageContext): string {
  return ctx.branding?.siteName ?? 'Ganymede';
}

function footer(ctx: PageContext): SafeHtml | '' {
  const b = ctx.branding;
  if (!b || (!b.footer && b.footerLinks.length === 0)) return '';
  return html`<footer class="site-footer container">
  ${b.footer ? html`<p>${b.footer}</p>` : ''}
  ${b.footerLinks.length ? html`<ul class="footer-links">${b.footerLinks.map((l) => html`<li><a href="${l.url}" rel="noopener">${l.label}</a></li>`)}</ul>` : ''}
</footer>
`;
}

function navBar(ctx: PageContext): SafeHtml {
  const user = ctx.user;
  return html`<header class="topbar">
  <nav class="topbar-inner" aria-label="Main">
    <a class="brand" href="${hubPath(ctx, 'home')}"><img src="${ctx.branding?.logoUrl ?? ctx.staticUrl('logo.svg')}" alt="" height="24">${siteName(ctx)}</a>
    ${user &&
    html`<ul class="nav-links">
      <li><a href="${hubPath(ctx, 'home')}">Home</a></li>
      <li><a href="${hubPath(ctx, 'token')}">Token</a></li>
      ${(ctx.navLinks ?? []).map((l) => html`<li><a href="${ctx.baseUrl}hub/${l.path}">${l.label}</a></li>`)}
    </ul>
    <div class="nav-user">
      <span class="user-name" title="Signed in as ${user.name}">${user.name}</span>
      <a class="btn btn-small" href="${hubPath(ctx, 'logout')}">Logout</a>
    </div>`}
  </nav>
</header>`;
}

/**
 * A complete HTML document. `scripts` are file names under the static path, loaded with `defer`
 * after ganymede.js (the shared helpers they use).
 */
export function page(ctx: PageContext, title: string, body: SafeHtml, scripts: readonly string[] = []): string {
  const allScripts = ['ganymede.js', ...scripts];
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="base-url" content="${ctx.baseUrl}">
<meta name="xsrf-token" content="${ctx.xsrfToken}">
<title>${title} · ${siteName(ctx)}</title>
<link rel="icon" href="${ctx.staticUrl('logo.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.staticUrl('ganymede.css')}">
${ctx.branding?.stylesheetUrl ? html`<link rel="stylesheet" href="${ctx.branding.stylesheetUrl}">\n` : ''}${allScripts.map((s) => html`<script src="${ctx.staticUrl(s)}" defer></script>\n`)}</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
${navBar(ctx)}
<main id="main" class="container">
${ctx.announcement ? html`<div class="alert alert-info announcement" role="status">${ctx.announcement}</div>\n` : ''}${body}
</main>
${footer(ctx)}</body>
</html>
`;
  return doc.toString();
}
