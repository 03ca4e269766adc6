/**
 * /hub/admin: the frame of the admin page. admin.js fills it through the REST API with the viewer's
 * own scopes, so the page can show and do only what the API allows them.
 */
import { errorAlert } from './components.js';
import { html, type SafeHtml } from './html.js';
import { page, type PageContext } from './layout.js';

export type AdminPageView = {
  /** The viewer is a hub admin: may make admins and change them. */
  admin: boolean;
  /** admin:users on every user: may add users. */
  canAddUsers: boolean;
  /** The shutdown scope. */
  canShutdown: boolean;
  /** list:groups on any group: the groups section is shown. */
  canListGroups: boolean;
  /** admin:groups on every group: may create groups. */
  canCreateGroups: boolean;
  /** Users per page. */
  pageSize: number;
};

function flag(on: boolean): string {
  return on ? 'true' : 'false';
}

function usersSection(view: AdminPageView): SafeHtml {
  return html`<section class="card" aria-labelledby="users-title">
  <div class="card-head">
    <h1 id="users-title">Users</h1>
    <div class="actions">
      ${view.canAddUsers ? html`<button type="button" class="btn btn-small" id="show-add-users" aria-controls="add-users" aria-expanded="false">Add users</button>` : ''}
      <button type="button" class="btn btn-small btn-danger" id="stop-all">Stop all servers</button>
      ${view.canShutdown ? html`<button type="button" class="btn btn-small btn-danger" id="shutdown-hub">Shutdown hub</button>` : ''}
    </div>
  </div>
  ${view.canAddUsers
    ? html`<form id="add-users" class="stack admin-panel" hidden>
    <div class="field">
      <label for="add-users-names">User names</label>
      <textarea id="add-users-names" name="usernames" rows="3" autocapitalize="none" spellcheck="false" aria-describedby="add-users-help" required></textarea>
      <p id="add-users-help" class="help">One name per line, or separated by spaces or commas.</p>
    </div>
    ${view.admin ? html`<label class="checkbox"><input type="checkbox" name="admin" id="add-users-admin"> Admin</label>` : ''}
    <div class="actions">
      <button type="submit" class="btn btn-primary">Add users</button>
      <button type="button" class="btn" id="cancel-add-users">Cancel</button>
    </div>
  </form>`
    : ''}
  <form id="user-filters" class="admin-filters" role="search">
    <div class="field">
      <label for="user-search">Search</label>
      <input id="user-search" name="name_filter" type="search" placeholder="Part of a name" autocomplete="off" autocapitalize="none" spellcheck="false">
    </div>
    <div class="field">
      <label for="user-state">Servers</label>
      <select id="user-state" name="state">
        <option value="">All users</option>
        <option value="active">With a server (starting, running, stopping)</option>
        <option value="ready">With a running server</option>
        <option value="inactive">Without a server</option>
      </select>
    </div>
    <div class="field">
      <label for="user-group">Group</label>
      <select id="user-group" name="group"><option value="">Any group</option></select>
    </div>
    <div class="field">
      <label for="user-sort">Sort by</label>
      <select id="user-sort" name="sort">
        <option value="name">Name</option>
        <option value="-last_activity">Last activity, newest first</option>
        <option value="last_activity">Last activity, oldest first</option>
        <option value="running">Running first</option>
        <option value="id">Creation</option>
      </select>
    </div>
    <label class="checkbox"><input type="checkbox" id="user-admins" name="admin"> Admins only</label>
  </form>
  ${errorAlert(undefined, 'users-error')}
  <div class="alert alert-success" role="status" id="users-result" hidden></div>
  <div class="bulk-actions" id="bulk-actions" hidden>
    <span id="bulk-count"></span>
    <button type="button" class="btn btn-small" data-bulk="start">Start</button>
    <button type="button" class="btn btn-small" data-bulk="stop">Stop</button>
    <button type="button" class="btn btn-small btn-danger" data-bulk="delete">Delete</button>
    <span class="input-row bulk-group">
      <label class="visually-hidden" for="bulk-group">Group to add the selected users to</label>
      <select id="bulk-group"><option value="">Add to group…</option></select>
      <button type="button" class="btn btn-small" data-bulk="group">Add</button>
    </span>
  </div>
  <div class="users-bar">
    <label class="checkbox"><input type="checkbox" id="select-all"> Select all on this page</label>
    <p class="muted" id="users-summary" aria-live="polite">Loading users…</p>
  </div>
  <table class="table responsive admin-users" id="users-table">
    <thead>
      <tr>
        <th scope="col">Name</th>
        <th scope="col">Admin</th>
        <th scope="col">Groups</th>
        <th scope="col">Servers</th>
        <th scope="col">Last activity</th>
        <th scope="col"><span class="visually-hidden">Actions</span></th>
      </tr>
    </thead>
    <tbody></tbody>
  </table>
  <nav class="pager" aria-label="Pages of users">
    <button type="button" class="btn btn-small" id="prev-page">Previous</button>
    <span id="page-label"></span>
    <button type="button" class="btn btn-small" id="next-page">Next</button>
  </nav>
  <form id="edit-user" class="stack admin-panel" hidden aria-labelledby="edit-user-title">
    <h2 id="edit-user-title">Edit user</h2>
    <div class="field">
      <label for="edit-user-name">Name</label>
      <input id="edit-user-name" name="name" type="text" required autocomplete="off" autocapitalize="none" spellcheck="false">
    </div>
    ${view.admin ? html`<label class="checkbox"><input type="checkbox" name="admin" id="edit-user-admin"> Admin</label>` : ''}
    <div class="field">
      <label for="edit-user-groups">Groups</label>
      <input id="edit-user-groups" name="groups" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" aria-describedby="edit-user-groups-help">
      <p id="edit-user-groups-help" class="help">Group names separated by spaces or commas.</p>
    </div>
    <div class="actions">
      <button type="submit" class="btn btn-primary">Save</button>
      <button type="button" class="btn" id="cancel-edit-user">Cancel</button>
    </div>
  </form>
</section>`;
}

function groupsSection(view: AdminPageView): SafeHtml {
  if (!view.canListGroups) return html``;
  return html`<section class="card" aria-labelledby="groups-title" id="groups">
  <div class="card-head"><h1 id="groups-title">Groups</h1></div>
  ${view.canCreateGroups
    ? html`<form id="create-group" class="input-row">
    <label class="visually-hidden" for="new-group-name">New group name</label>
    <input id="new-group-name" name="name" type="text" placeholder="New group name" required maxlength="255" autocomplete="off" autocapitalize="none" spellcheck="false">
    <button type="submit" class="btn btn-small btn-primary">Create group</button>
  </form>`
    : ''}
  ${errorAlert(undefined, 'groups-error')}
  <div class="alert alert-success" role="status" id="groups-result" hidden></div>
  <table class="table responsive" id="groups-table">
    <thead><tr><th scope="col">Group</th><th scope="col">Members</th><th scope="col">Roles</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody></tbody>
  </table>
  <form id="edit-group" class="stack admin-panel" hidden aria-labelledby="edit-group-title">
    <h2 id="edit-group-title">Group</h2>
    <div class="field">
      <label for="group-members">Members</label>
      <textarea id="group-members" name="members" rows="3" autocapitalize="none" spellcheck="false" aria-describedby="group-members-help"></textarea>
      <p id="group-members-help" class="help">User names separated by spaces, commas or lines; saving adds the new ones and removes the missing ones.</p>
    </div>
    <div class="field">
      <label for="group-properties">Properties (JSON object)</label>
      <textarea id="group-properties" name="properties" rows="4" class="mono" spellcheck="false"></textarea>
    </div>
    <p class="muted">Roles: <span id="group-roles"></span> (given in the hub's configuration, <code>load_roles</code>)</p>
    <div class="actions">
      <button type="submit" class="btn btn-primary">Save group</button>
      <button type="button" class="btn" id="cancel-edit-group">Cancel</button>
    </div>
  </form>
</section>`;
}

export function adminPage(ctx: PageContext, view: AdminPageView): string {
  const body = html`<div id="admin-page" data-admin="${flag(view.admin)}" data-page-size="${String(view.pageSize)}" data-can-list-groups="${flag(view.canListGroups)}" data-can-create-groups="${flag(view.canCreateGroups)}">
${usersSection(view)}
${groupsSection(view)}
</div>`;
  return page(ctx, 'Admin', body, ['admin.js']);
}
