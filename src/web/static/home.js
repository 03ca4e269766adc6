// The home page: stop and delete servers through the REST API, create named servers, follow pending stops.
(function () {
  'use strict';
  var G = window.Ganymede;
  var root = document.getElementById('home');
  if (!root) return;
  var userName = root.dataset.user;
  var errorBox = document.getElementById('home-error');

  function serverSegments(serverName) {
    return serverName ? ['users', userName, 'servers', serverName] : ['users', userName, 'server'];
  }

  /** True once the user model no longer shows the server as running or pending. */
  function isGone(user, serverName) {
    if (user && user.servers) {
      var server = user.servers[serverName];
      return !server || (!server.ready && !server.pending);
    }
    // Without read:servers only the default server's fields are visible.
    return serverName ? true : !(user && (user.server || user.pending));
  }

  async function waitUntilGone(serverName) {
    for (var delay = 500; ; delay = Math.min(delay * 1.5, 5000)) {
      await G.sleep(delay);
      var result = await G.api('GET', ['users', userName]);
      if (isGone(result.data, serverName)) return;
    }
  }

  /** DELETE the server (204: done, 202: stopping, so poll), then reload to show the new state. */
  async function stopServer(button, serverName, remove) {
    button.disabled = true;
    var label = button.textContent;
    button.textContent = remove ? 'Deleting…' : 'Stopping…';
    G.showAlert(errorBox, null);
    try {
      var result = await G.api('DELETE', serverSegments(serverName), remove ? { remove: true } : undefined);
      if (result.status === 202) await waitUntilGone(serverName);
      window.location.reload();
    } catch (err) {
      button.disabled = false;
      button.textContent = label;
      G.showAlert(errorBox, 'Could not ' + (remove ? 'delete' : 'stop') + ' the server: ' + err.message);
    }
  }

  var stop = document.getElementById('stop');
  if (stop) {
    stop.addEventListener('click', function () {
      stopServer(stop, '', false);
    });
  }

  root.querySelectorAll('tr[data-server-name]').forEach(function (row) {
    var serverName = row.dataset.serverName;
    var stopButton = row.querySelector('.stop-server');
    var deleteButton = row.querySelector('.delete-server');
    if (stopButton) {
      stopButton.addEventListener('click', function () {
        stopServer(stopButton, serverName, false);
      });
    }
    if (deleteButton) {
      deleteButton.addEventListener('click', function () {
        if (window.confirm('Delete the server "' + serverName + '"? Its settings are forgotten; your files stay.')) {
          stopServer(deleteButton, serverName, true);
        }
      });
    }
  });

  // A stop still under way when the page was rendered: reload once it has finished.
  var stopping = root.querySelectorAll('[data-pending="stop"]');
  if (stopping.length > 0) {
    var row = stopping[0].closest('tr[data-server-name]');
    waitUntilGone(row ? row.dataset.serverName : '').then(
      function () {
        window.location.reload();
      },
      function (err) {
        G.showAlert(errorBox, 'Could not follow the server stopping: ' + err.message);
      },
    );
  }

  var form = document.getElementById('new-server-form');
  if (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var input = document.getElementById('new-server-name');
      var name = input.value.trim();
      if (!name || name.indexOf('/') !== -1) {
        G.showAlert(errorBox, 'A server name must not be empty or contain "/".');
        input.focus();
        return;
      }
      window.location.assign(G.hubUrl(['spawn', userName, name]));
    });
  }
})();
