/** /hub/home: the user's default server, their named servers and the hub's services. */
import { cullWarnings, courseEndings, type CourseEndingView, type CullWarningView } from './warnings.js';
import { errorAlert, hubPath, timestamp } from './components.js';
import { courseDates, coursePath, serverButton, stateBadge } from './course-parts.js';
import type { CourseListItem } from './courses.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type ServerView = {
  name: string;
  ready: boolean;
  pending: 'spawn' | 'stop' | null;
  /** /user/alice/ or /user/alice/name/ */
  url: string;
  lastActivity: string | null;
  /** What the spawner tells about it (Slurm: job, partition, resources, node, time left). */
  details: Array<{ label: string; value: string }>;
  /** Why the last start failed or the server stopped unexpectedly (only while it is stopped). */
  failure: string | null;
};

function serverDetails(server: ServerView): SafeHtml | false {
  return (
    server.details.length > 0 &&
    html`<dl class="server-details">
    ${server.details.map((d) => html`<div><dt>${d.label}</dt><dd data-detail="${d.label.toLowerCase().replaceAll(' ', '-')}">${d.value}</dd></div>`)}
  </dl>`
  );
}

function serverFailure(server: ServerView): SafeHtml | false {
  return Boolean(server.failure) && html`<p class="alert alert-error server-failure" role="status">${server.failure}</p>`;
}

export type HomeView = {
  defaultServer: ServerView;
  namedServers: ServerView[];
  allowNamedServers: boolean;
  services: { name: string; url: string }[];
  /** The courses the user teaches or takes part in; absent when the hub offers no courses. */
  courses?: CourseListItem[] | null;
  /** Servers the culler is about to stop, courses about to end. */
  warnings?: { cull: CullWarningView[]; endings: CourseEndingView[] };
};

function status(server: ServerView): SafeHtml {
  if (server.pending === 'spawn') return html`<span class="badge badge-pending">Starting…</span>`;
  if (server.pending === 'stop') return html`<span class="badge badge-pending" data-pending="stop">Stopping…</span>`;
  if (server.ready) return html`<span class="badge badge-ok">Running</span>`;
  return html`<span class="badge">Not running</span>`;
}

function defaultServerCard(ctx: PageContext, server: ServerView): SafeHtml {
  const running = server.ready || server.pending === 'spawn';
  return html`<section class="card" aria-labelledby="server-title">
  <div class="card-head">
    <h1 id="server-title">My server</h1>
    ${status(server)}
  </div>
  <p class="muted">Last activity: ${timestamp(server.lastActivity)}</p>
  ${serverDetails(server)}
  ${serverFailure(server)}
  <div class="actions">
    ${running
      ? html`<a id="start" class="btn btn-primary" href="${server.url}">My Server</a>`
      : html`<a id="start" class="btn btn-primary" href="${hubPath(ctx, 'spawn')}">Start My Server</a>`}
    ${(server.ready || server.pending === 'stop') &&
    html`<button id="stop" type="button" class="btn btn-danger" data-server-name=""${server.pending === 'stop' && html` disabled`}>Stop My Server</button>`}
  </div>
</section>`;
}

function namedServerRow(ctx: PageContext, userName: string, server: ServerView): SafeHtml {
  const active = server.ready || server.pending !== null;
  return html`<tr data-server-name="${server.name}">
  <td data-label="Name">${server.name} ${status(server)}${serverDetails(server)}${serverFailure(server)}</td>
  <td data-label="URL">${active ? html`<a href="${server.url}">${server.url}</a>` : html`<span class="muted">—</span>`}</td>
  <td data-label="Last activity">${timestamp(server.lastActivity)}</td>
  <td data-label="Actions" class="row-actions">
    ${!server.ready && server.pending === null && html`<a class="btn btn-small btn-primary" href="${hubPath(ctx, 'spawn', userName, server.name)}">Start</a>`}
    ${server.pending === 'spawn' && html`<a class="btn btn-small" href="${server.url}">Open</a>`}
    ${server.ready &&
    html`<a class="btn btn-small btn-primary" href="${server.url}">Open</a>
    <button type="button" class="btn btn-small stop-server" aria-label="Stop server ${server.name}">Stop</button>`}
    <button type="button" class="btn btn-small btn-danger delete-server" aria-label="Delete server ${server.name}"${server.pending !== null && html` disabled`}>Delete</button>
  </td>
</tr>`;
}

function namedServersSection(ctx: PageContext, userName: string, servers: ServerView[]): SafeHtml {
  return html`<section class="card" aria-labelledby="named-servers-title">
  <h2 id="named-servers-title">Named servers</h2>
  <p class="muted">Run more than one server, each with its own name and URL.</p>
  <form id="new-server-form" class="inline-form">
    <label for="new-server-name">New server name</label>
    <div class="input-row">
      <input id="new-server-name" name="server-name" type="text" placeholder="e.g. gpu" autocomplete="off" autocapitalize="none" spellcheck="false" required pattern="[^/]+" title="Any name without a slash">
      <button type="submit" class="btn btn-primary">Add New Server</button>
    </div>
  </form>
  ${servers.length
    ? html`<table id="named-servers" class="table responsive">
    <thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">Last activity</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${servers.map((s) => namedServerRow(ctx, userName, s))}
    </tbody>
  </table>`
    : html`<p class="empty">You have no named servers yet.</p>`}
</section>`;
}

function courseServerStatus(c: CourseListItem): SafeHtml {
  if (c.status === 'applied') return html`<span class="badge badge-pending">Waiting for the teacher</span>`;
  if (!c.server) return stateBadge(c.state);
  if (c.server.pending === 'spawn') return html`<span class="badge badge-pending">Starting…</span>`;
  if (c.server.pending === 'stop') return html`<span class="badge badge-pending">Stopping…</span>`;
  return c.server.ready ? html`<span class="badge badge-ok">Running</span>` : html`<span class="badge">Not running</span>`;
}

function coursesSection(ctx: PageContext, courses: CourseListItem[]): SafeHtml {
  return html`<section class="card" id="my-courses" aria-labelledby="my-courses-title">
  <div class="card-head">
    <h2 id="my-courses-title">My courses</h2>
    <a class="btn btn-small" href="${hubPath(ctx, 'courses')}">All courses</a>
  </div>
  ${courses.length
    ? html`<table class="table responsive">
    <thead><tr><th scope="col">Course</th><th scope="col">Server</th><th scope="col">Dates</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${courses.map(
      (c) => html`<tr data-course="${c.slug}">
      <td data-label="Course"><a href="${coursePath(ctx, c.slug)}">${c.title}</a>${c.role === 'teacher' && html` <span class="muted">(teacher)</span>`}</td>
      <td data-label="Server">${courseServerStatus(c)}</td>
      <td data-label="Dates">${courseDates(c.startsAt, c.endsAt)}</td>
      <td data-label="" class="row-actions">${c.server && serverButton(c.server, true)}</td>
    </tr>`,
    )}
    </tbody>
  </table>`
    : html`<p class="empty">You are in no course yet.</p>`}
</section>`;
}

function servicesSection(services: HomeView['services']): SafeHtml {
  return html`<section class="card" aria-labelledby="services-title">
  <h2 id="services-title">Services</h2>
  <ul class="link-list">
    ${services.map((s) => html`<li><a href="${s.url}">${s.name}</a></li>`)}
  </ul>
</section>`;
}

export function homePage(ctx: PageContext, view: HomeView): string {
  const userName = ctx.user?.name ?? '';
  const body = html`<div id="home" data-user="${userName}">
${errorAlert(undefined, 'home-error')}
${view.warnings && cullWarnings(ctx, view.warnings.cull, hubPath(ctx, 'home'))}
${view.warnings && courseEndings(view.warnings.endings)}
${defaultServerCard(ctx, view.defaultServer)}
${view.courses && coursesSection(ctx, view.courses)}
${view.allowNamedServers && namedServersSection(ctx, userName, view.namedServers)}
${view.services.length > 0 && servicesSection(view.services)}
</div>`;
  return page(ctx, 'Home', body, ['home.js']);
}
