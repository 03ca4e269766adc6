// The admin page: users (search, filter, sort, pages, actions one by one and in bulk) and groups.
// Everything goes through the REST API with the viewer's own scopes: what they may not do, the API
// refuses, and the page shows its message. Names are shown as text, never as HTML.
(function () {
  'use strict';
  var G = window.Ganymede;
  var root = document.getElementById('admin-page');
  if (!root) return;

  var PAGINATED = 'application/jupyterhub-pagination+json';
  var pageSize = Number(root.dataset.pageSize) || 50;
  var isAdmin = root.dataset.admin === 'true';
  var canListGroups = root.dataset.canListGroups === 'true';

  var state = { offset: 0, total: 0, users: [], selected: new Set(), request: 0 };
  var $ = function (id) {
    return document.getElementById(id);
  };
  var tbody = $('users-table').tBodies[0];
  var filters = $('user-filters');
  var usersError = $('users-error');
  var usersResult = $('users-result');

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'className') node.className = attrs[key];
      else if (attrs[key] === null || attrs[key] === undefined) return;
      else if (key.slice(0, 5) === 'data-' || key.slice(0, 5) === 'aria-' || key === 'type' || key === 'href' || key === 'title') node.setAttribute(key, attrs[key]);
      else node[key] = attrs[key];
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function button(label, onClick, className) {
    var b = el('button', { type: 'button', className: 'btn btn-small' + (className ? ' ' + className : ''), text: label });
    b.addEventListener('click', onClick);
    return b;
  }

  /** The items of `list` that `other` lacks. */
  function without(list, other) {
    return list.filter(function (item) {
      return other.indexOf(item) < 0;
    });
  }

  /** A row's Edit and Delete buttons. */
  function rowActions(onEdit, onDelete) {
    return el('td', { className: 'row-actions' }, [button('Edit', onEdit), button('Delete', onDelete, 'btn-danger')]);
  }

  function splitNames(text) {
    return text
      .split(/[\s,]+/)
      .map(function (s) {
        return s.trim();
      })
      .filter(Boolean);
  }

  /** Shows what an action did (success) or why it failed (error); one replaces the other. */
  function report(box, errorBox, ok, failures) {
    G.showAlert(box, ok || null);
    G.showAlert(errorBox, failures && failures.length ? failures.join('\n') : null);
  }

  /** Runs `work` on each item, `limit` at a time; resolves with the failures as "item: message". */
  async function eachLimited(items, limit, work, progress) {
    var failures = [];
    var next = 0;
    var done = 0;
    async function worker() {
      while (next < items.length) {
        var item = items[next++];
        try {
          await work(item);
        } catch (err) {
          failures.push(item.label + ': ' + err.message);
        }
        done++;
        if (progress) progress(done, items.length);
      }
    }
    var workers = [];
    for (var i = 0; i < Math.min(limit, items.length); i++) workers.push(worker());
    await Promise.all(workers);
    return failures;
  }

  function serverPath(user, server) {
    return server ? ['users', user, 'servers', server] : ['users', user, 'server'];
  }

  function serverLabel(user, server) {
    return server ? user + "'s server " + server : user + "'s server";
  }

  function serverState(s) {
    if (!s) return 'stopped';
    if (s.pending === 'spawn') return 'starting';
    if (s.pending === 'stop') return 'stopping';
    if (s.ready) return 'running';
    return s.pending ? s.pending : 'stopped';
  }

  function timeNode(iso) {
    if (!iso) return el('span', { className: 'muted', text: 'Never' });
    var t = el('time', { text: iso });
    t.setAttribute('datetime', iso);
    return t;
  }

  // ---- Users ----------------------------------------------------------------------------------

  function query() {
    return {
      offset: state.offset,
      limit: pageSize,
      include_stopped_servers: 1,
      name_filter: $('user-search').value.trim(),
      state: $('user-state').value,
      group: $('user-group').value,
      sort: $('user-sort').value,
      admin: $('user-admins').checked ? 'true' : '',
    };
  }

  async function loadUsers() {
    var mine = ++state.request;
    try {
      var response = await G.api('GET', ['users'], undefined, { query: query(), accept: PAGINATED });
      if (mine !== state.request) return; // a newer search is under way
      var data = response.data;
      state.users = data.items;
      state.total = data._pagination ? data._pagination.total : data.items.length;
      renderUsers();
    } catch (err) {
      if (mine !== state.request) return;
      G.showAlert(usersError, 'Could not load users: ' + err.message);
      $('users-summary').textContent = '';
    }
  }

  function renderUsers() {
    state.selected.clear();
    $('select-all').checked = false;
    tbody.replaceChildren.apply(tbody, state.users.map(userRow));
    var first = state.users.length ? state.offset + 1 : 0;
    var last = state.offset + state.users.length;
    var count = state.total.toLocaleString();
    $('users-summary').textContent = state.total === 0 ? 'No users match.' : 'Showing ' + first.toLocaleString() + '–' + last.toLocaleString() + ' of ' + count + ' users';
    $('page-label').textContent = state.total ? 'Page ' + (Math.floor(state.offset / pageSize) + 1) + ' of ' + Math.max(1, Math.ceil(state.total / pageSize)) : '';
    $('prev-page').disabled = state.offset === 0;
    $('next-page').disabled = last >= state.total;
    updateBulk();
    G.humanizeTimes(tbody);
  }

  function userRow(user) {
    var row = el('tr', { 'data-user': user.name });
    var box = el('input', { type: 'checkbox', 'aria-label': 'Select ' + user.name });
    box.addEventListener('change', function () {
      if (box.checked) state.selected.add(user.name);
      else state.selected.delete(user.name);
      updateBulk();
    });
    var servers = user.servers || {};
    var names = Object.keys(servers);
    if (names.indexOf('') < 0) names.unshift('');
    var serverList = el(
      'ul',
      { className: 'admin-servers' },
      names.sort().map(function (name) {
        return serverItem(user, name, servers[name]);
      }),
    );
    var groupsText = (user.groups || []).join(', ');
    row.append(
      el('td', { 'data-label': 'Name', className: 'user-cell' }, [el('label', { className: 'select-user' }, [box, ' ', el('strong', { text: user.name })])]),
      el('td', { 'data-label': 'Admin', text: user.admin ? 'admin' : '', 'data-empty': user.admin ? null : '' }),
      el('td', { 'data-label': 'Groups', text: groupsText, 'data-empty': groupsText ? null : '' }),
      el('td', { 'data-label': 'Servers' }, [serverList]),
      el('td', { 'data-label': 'Last activity' }, [timeNode(user.last_activity)]),
      rowActions(
        function () {
          openEditUser(user);
        },
        function () {
          deleteUsers([user]);
        },
      ),
    );
    return row;
  }

  function serverItem(user, name, server) {
    var status = serverState(server);
    var badge = el('span', { className: 'badge' + (status === 'running' ? ' badge-ok' : status === 'stopped' ? '' : ' badge-pending'), text: status });
    var item = el('li', { 'data-server': name }, [el('span', { className: 'server-name', text: name || 'default' }), ' ', badge]);
    if (server && server.last_activity) item.append(' ', timeNode(server.last_activity));
    var actions = el('span', { className: 'server-actions' });
    if (status === 'stopped') {
      actions.append(
        button('Start', function () {
          runOnServers('start', [{ user: user.name, server: name }]);
        }),
      );
    } else if (status === 'running') {
      actions.append(
        button('Stop', function () {
          runOnServers('stop', [{ user: user.name, server: name }]);
        }),
      );
      // Reaching another user's server needs access:servers on it; the hub asks the server's OAuth.
      actions.append(el('a', { className: 'btn btn-small', href: server.url, text: 'Open', target: '_blank', rel: 'noopener' }));
    }
    item.append(' ', actions);
    return item;
  }

  /** Starts or stops servers ({user, server}), reporting each outcome. */
  async function runOnServers(action, targets) {
    var verb = action === 'start' ? 'Started' : 'Stopped';
    var waiting = [];
    var failures = await eachLimited(
      targets.map(function (t) {
        return { user: t.user, server: t.server, label: serverLabel(t.user, t.server) };
      }),
      4,
      async function (t) {
        var response = await G.api(action === 'start' ? 'POST' : 'DELETE', serverPath(t.user, t.server));
        if (response.status === 202) waiting.push(t.label);
      },
    );
    var ok = targets.length - failures.length;
    var message = ok ? verb + ' ' + ok + (ok === 1 ? ' server' : ' servers') + (waiting.length ? ' (' + waiting.length + ' still ' + (action === 'start' ? 'starting' : 'stopping') + ')' : '') + '.' : null;
    report(usersResult, usersError, message, failures.length ? ['Failed: '].concat(failures) : null);
    await loadUsers();
  }

  async function deleteUsers(users) {
    var names = users.map(function (u) {
      return u.name;
    });
    var running = users.filter(function (u) {
      return Object.keys(u.servers || {}).some(function (s) {
        return serverState(u.servers[s]) !== 'stopped';
      });
    });
    var text =
      'Delete ' + (names.length === 1 ? 'user ' + names[0] : names.length + ' users (' + names.slice(0, 10).join(', ') + (names.length > 10 ? ', …' : '') + ')') + '?\n\n' +
      'Their servers are stopped' + (running.length ? ' (' + running.length + ' running now)' : '') + ', and their API tokens, named servers and group memberships are removed. This cannot be undone.';
    if (!window.confirm(text)) return;
    var failures = await eachLimited(
      names.map(function (n) {
        return { name: n, label: n };
      }),
      4,
      function (u) {
        return G.api('DELETE', ['users', u.name]);
      },
    );
    var ok = names.length - failures.length;
    report(usersResult, usersError, ok ? 'Deleted ' + ok + (ok === 1 ? ' user.' : ' users.') : null, failures.length ? ['Failed: '].concat(failures) : null);
    await loadUsers();
    if (canListGroups) await loadGroups();
  }

  function selectedUsers() {
    return state.users.filter(function (u) {
      return state.selected.has(u.name);
    });
  }

  function updateBulk() {
    var n = state.selected.size;
    $('bulk-actions').hidden = n === 0;
    $('bulk-count').textContent = n + (n === 1 ? ' user selected' : ' users selected');
  }

  $('select-all').addEventListener('change', function (event) {
    var on = event.target.checked;
    tbody.querySelectorAll('input[type=checkbox]').forEach(function (box) {
      box.checked = on;
    });
    state.selected = new Set(
      on
        ? state.users.map(function (u) {
            return u.name;
          })
        : [],
    );
    updateBulk();
  });

  $('bulk-actions').addEventListener('click', async function (event) {
    var action = event.target.dataset && event.target.dataset.bulk;
    if (!action) return;
    var users = selectedUsers();
    if (action === 'delete') return deleteUsers(users);
    if (action === 'group') {
      var group = $('bulk-group').value;
      if (!group) return G.showAlert(usersError, 'Choose the group to add the selected users to.');
      try {
        await G.api('POST', ['groups', group, 'users'], { users: users.map((u) => u.name) });
        report(usersResult, usersError, 'Added ' + users.length + (users.length === 1 ? ' user' : ' users') + ' to ' + group + '.');
      } catch (err) {
        report(usersResult, usersError, null, ['Could not add them to ' + group + ': ' + err.message]);
      }
      await loadUsers();
      if (canListGroups) await loadGroups();
      return;
    }
    // Start every stopped default server, or stop every server that is not stopped.
    var targets = [];
    users.forEach(function (u) {
      var servers = u.servers || {};
      if (action === 'start') {
        if (serverState(servers['']) === 'stopped') targets.push({ user: u.name, server: '' });
      } else {
        Object.keys(servers).forEach(function (s) {
          if (serverState(servers[s]) !== 'stopped') targets.push({ user: u.name, server: s });
        });
      }
    });
    if (targets.length === 0) return report(usersResult, usersError, action === 'start' ? 'Every selected user has a server already.' : 'None of the selected users has a server running.');
    await runOnServers(action, targets);
  });

  // Search as the admin types (after a pause), and at once for the other filters.
  var searchTimer = null;
  $('user-search').addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      state.offset = 0;
      loadUsers();
    }, 200);
  });
  filters.addEventListener('change', function (event) {
    if (event.target.id === 'user-search') return;
    state.offset = 0;
    loadUsers();
  });
  filters.addEventListener('submit', function (event) {
    event.preventDefault();
    state.offset = 0;
    loadUsers();
  });
  $('prev-page').addEventListener('click', function () {
    state.offset = Math.max(0, state.offset - pageSize);
    loadUsers();
  });
  $('next-page').addEventListener('click', function () {
    state.offset += pageSize;
    loadUsers();
  });

  // ---- Add users, edit a user ----------------------------------------------------------------

  var addForm = $('add-users');
  if (addForm) {
    var showAdd = $('show-add-users');
    showAdd.addEventListener('click', function () {
      addForm.hidden = !addForm.hidden;
      showAdd.setAttribute('aria-expanded', String(!addForm.hidden));
      if (!addForm.hidden) $('add-users-names').focus();
    });
    $('cancel-add-users').addEventListener('click', function () {
      addForm.hidden = true;
      showAdd.setAttribute('aria-expanded', 'false');
    });
    addForm.addEventListener('submit', async function (event) {
      event.preventDefault();
      var names = splitNames($('add-users-names').value);
      if (!names.length) return G.showAlert(usersError, 'Give at least one user name.');
      var admin = $('add-users-admin') ? $('add-users-admin').checked : false;
      try {
        var response = await G.api('POST', ['users'], { usernames: names, admin: admin });
        var created = response.data.map(function (u) {
          return u.name;
        });
        var skipped = names.length - created.length;
        report(usersResult, usersError, 'Added ' + created.length + (created.length === 1 ? ' user: ' : ' users: ') + created.join(', ') + (skipped > 0 ? ' (' + skipped + ' existed already)' : '') + '.');
        addForm.reset();
        addForm.hidden = true;
        showAdd.setAttribute('aria-expanded', 'false');
      } catch (err) {
        report(usersResult, usersError, null, ['Could not add users: ' + err.message]);
      }
      await loadUsers();
    });
  }

  var editForm = $('edit-user');
  var editing = null;

  function openEditUser(user) {
    editing = user;
    $('edit-user-title').textContent = 'Edit user ' + user.name;
    $('edit-user-name').value = user.name;
    if ($('edit-user-admin')) $('edit-user-admin').checked = !!user.admin;
    $('edit-user-groups').value = (user.groups || []).join(', ');
    editForm.hidden = false;
    $('edit-user-name').focus();
  }

  $('cancel-edit-user').addEventListener('click', function () {
    editForm.hidden = true;
    editing = null;
  });

  editForm.addEventListener('submit', async function (event) {
    event.preventDefault();
    if (!editing) return;
    var user = editing;
    var done = [];
    var failures = [];
    var name = $('edit-user-name').value.trim();
    var patch = {};
    if (name && name !== user.name) patch.name = name;
    if ($('edit-user-admin') && $('edit-user-admin').checked !== !!user.admin) patch.admin = $('edit-user-admin').checked;
    if (Object.keys(patch).length) {
      try {
        await G.api('PATCH', ['users', user.name], patch);
        done.push(patch.name ? 'renamed ' + user.name + ' to ' + patch.name : 'saved ' + user.name);
      } catch (err) {
        // Nothing else is changed when the user itself could not be.
        report(usersResult, usersError, null, ['Could not change ' + user.name + ': ' + err.message]);
        return;
      }
    }
    var current = patch.name || user.name;
    var before = user.groups || [];
    var after = splitNames($('edit-user-groups').value);
    var adds = without(after, before);
    var removes = without(before, after);
    for (var i = 0; i < adds.length; i++) {
      try {
        await G.api('POST', ['groups', adds[i], 'users'], { users: [current] });
        done.push('added to ' + adds[i]);
      } catch (err) {
        failures.push('adding to ' + adds[i] + ': ' + err.message);
      }
    }
    for (var j = 0; j < removes.length; j++) {
      try {
        await G.api('DELETE', ['groups', removes[j], 'users'], { users: [current] });
        done.push('removed from ' + removes[j]);
      } catch (err) {
        failures.push('removing from ' + removes[j] + ': ' + err.message);
      }
    }
    report(usersResult, usersError, done.length ? current + ': ' + done.join(', ') + '.' : failures.length ? null : 'Nothing to change.', failures.length ? ['Failed for ' + current + ': '].concat(failures) : null);
    editForm.hidden = true;
    editing = null;
    await loadUsers();
    if (canListGroups && (adds.length || removes.length)) await loadGroups();
  });

  // ---- Stop all, shutdown ----------------------------------------------------------------------

  $('stop-all').addEventListener('click', async function () {
    // Every user with a server that the viewer may see, all pages of them.
    var active = [];
    try {
      for (var offset = 0; ; offset += 200) {
        var response = await G.api('GET', ['users'], undefined, { query: { state: 'active', offset: offset, limit: 200 }, accept: PAGINATED });
        active = active.concat(response.data.items);
        if (!response.data._pagination || offset + 200 >= response.data._pagination.total) break;
      }
    } catch (err) {
      return report(usersResult, usersError, null, ['Could not list running servers: ' + err.message]);
    }
    var targets = [];
    active.forEach(function (u) {
      Object.keys(u.servers || {}).forEach(function (s) {
        if (serverState(u.servers[s]) !== 'stopped') targets.push({ user: u.name, server: s });
      });
    });
    if (!targets.length) return report(usersResult, usersError, 'No server is running.');
    if (!window.confirm('Stop all ' + targets.length + ' running servers? Their users lose unsaved work in open notebooks.')) return;
    var summary = $('users-summary');
    var failures = await eachLimited(
      targets.map(function (t) {
        return { user: t.user, server: t.server, label: serverLabel(t.user, t.server) };
      }),
      8,
      function (t) {
        return G.api('DELETE', serverPath(t.user, t.server));
      },
      function (done, total) {
        summary.textContent = 'Stopping servers: ' + done + ' of ' + total + '…';
      },
    );
    var ok = targets.length - failures.length;
    report(usersResult, usersError, 'Stopped ' + ok + ' of ' + targets.length + ' servers.', failures.length ? ['Failed: '].concat(failures) : null);
    await loadUsers();
  });

  var shutdown = $('shutdown-hub');
  if (shutdown) {
    shutdown.addEventListener('click', async function () {
      if (!window.confirm('Shut the hub down? Nobody can log in or reach a server until it is started again.')) return;
      try {
        await G.api('POST', ['shutdown']);
        report(usersResult, usersError, 'The hub is shutting down.');
      } catch (err) {
        report(usersResult, usersError, null, ['Could not shut the hub down: ' + err.message]);
      }
    });
  }

  // ---- Groups ----------------------------------------------------------------------------------

  var groups = [];
  var groupsError = $('groups-error');
  var groupsResult = $('groups-result');
  var editingGroup = null;

  async function loadGroups() {
    if (!canListGroups) return;
    try {
      var all = [];
      for (var offset = 0; ; offset += 200) {
        var response = await G.api('GET', ['groups'], undefined, { query: { offset: offset, limit: 200 }, accept: PAGINATED });
        all = all.concat(response.data.items);
        if (!response.data._pagination || offset + 200 >= response.data._pagination.total) break;
      }
      groups = all;
      renderGroups();
    } catch (err) {
      G.showAlert(groupsError, 'Could not load groups: ' + err.message);
    }
  }

  function fillSelect(select, first) {
    var keep = select.value;
    select.replaceChildren(
      el('option', { value: '', text: first }),
      ...groups.map(function (g) {
        return el('option', { value: g.name, text: g.name });
      }),
    );
    select.value = keep;
  }

  function renderGroups() {
    fillSelect($('user-group'), 'Any group');
    fillSelect($('bulk-group'), 'Add to group…');
    var body = $('groups-table').tBodies[0];
    body.replaceChildren.apply(
      body,
      groups.map(function (g) {
        var members = g.users || [];
        return el('tr', { 'data-group': g.name }, [
          el('td', { 'data-label': 'Group' }, [el('strong', { text: g.name })]),
          el('td', { 'data-label': 'Members', text: members.length + (members.length ? ': ' + members.slice(0, 8).join(', ') + (members.length > 8 ? ', …' : '') : '') }),
          el('td', { 'data-label': 'Roles', text: (g.roles || []).join(', ') }),
          rowActions(
            function () {
              openEditGroup(g);
            },
            function () {
              deleteGroup(g);
            },
          ),
        ]);
      }),
    );
  }

  function openEditGroup(group) {
    editingGroup = group;
    $('edit-group-title').textContent = 'Group ' + group.name;
    $('group-members').value = (group.users || []).join('\n');
    $('group-properties').value = JSON.stringify(group.properties || {}, null, 2);
    $('group-roles').textContent = (group.roles || []).join(', ') || 'none';
    $('edit-group').hidden = false;
    $('group-members').focus();
  }

  async function deleteGroup(group) {
    var n = (group.users || []).length;
    if (!window.confirm('Delete group ' + group.name + '? Its ' + n + (n === 1 ? ' member keeps' : ' members keep') + ' their accounts but lose what the group gave them (roles, course or profile access).')) return;
    try {
      await G.api('DELETE', ['groups', group.name]);
      report(groupsResult, groupsError, 'Deleted group ' + group.name + '.');
    } catch (err) {
      report(groupsResult, groupsError, null, ['Could not delete ' + group.name + ': ' + err.message]);
    }
    await loadGroups();
    await loadUsers();
  }

  if (canListGroups) {
    var createForm = $('create-group');
    if (createForm) {
      createForm.addEventListener('submit', async function (event) {
        event.preventDefault();
        var name = $('new-group-name').value.trim();
        if (!name) return;
        try {
          await G.api('POST', ['groups', name]);
          report(groupsResult, groupsError, 'Created group ' + name + '.');
          createForm.reset();
        } catch (err) {
          report(groupsResult, groupsError, null, ['Could not create ' + name + ': ' + err.message]);
        }
        await loadGroups();
      });
    }

    $('cancel-edit-group').addEventListener('click', function () {
      $('edit-group').hidden = true;
      editingGroup = null;
    });

    $('edit-group').addEventListener('submit', async function (event) {
      event.preventDefault();
      if (!editingGroup) return;
      var group = editingGroup;
      var properties;
      try {
        properties = JSON.parse($('group-properties').value || '{}');
      } catch (err) {
        return report(groupsResult, groupsError, null, ['Properties are not valid JSON: ' + err.message]);
      }
      if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
        return report(groupsResult, groupsError, null, ['Properties must be a JSON object, like {"room": "A1"}.']);
      }
      var before = group.users || [];
      var after = splitNames($('group-members').value);
      var adds = without(after, before);
      var removes = without(before, after);
      var done = [];
      var failures = [];
      async function step(what, work) {
        try {
          await work();
          done.push(what);
        } catch (err) {
          failures.push(what + ': ' + err.message);
        }
      }
      if (adds.length) await step('added ' + adds.join(', '), () => G.api('POST', ['groups', group.name, 'users'], { users: adds }));
      if (removes.length) await step('removed ' + removes.join(', '), () => G.api('DELETE', ['groups', group.name, 'users'], { users: removes }));
      if (JSON.stringify(properties) !== JSON.stringify(group.properties || {})) await step('saved properties', () => G.api('PUT', ['groups', group.name, 'properties'], properties));
      report(groupsResult, groupsError, done.length ? group.name + ': ' + done.join('; ') + '.' : failures.length ? null : 'Nothing to change.', failures.length ? ['Failed for ' + group.name + ': '].concat(failures) : null);
      if (!failures.length) {
        $('edit-group').hidden = true;
        editingGroup = null;
      }
      await loadGroups();
      await loadUsers();
    });
  } else {
    // Without list:groups there is nothing to filter or add by.
    $('user-group').closest('.field').hidden = true;
    document.querySelector('.bulk-group').hidden = true;
  }

  $('user-sort').value = 'name';
  loadUsers();
  loadGroups();
})();
