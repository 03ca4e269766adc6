// The course pages: confirm before drastic buttons, select all participants, copy the join link,
// show the custom image field only for the "custom" environment, and run the control room's start
// and stop through the API with each participant's result as it comes. Everything works without it.
(function () {
  'use strict';

  document.querySelectorAll('[data-confirm]').forEach(function (button) {
    button.addEventListener('click', function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  document.querySelectorAll('input.select-all').forEach(function (all) {
    var boxes = all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.select + '"]');
    all.addEventListener('change', function () {
      boxes.forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });

  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    button.addEventListener('click', function () {
      input.select();
      var done = function () {
        button.textContent = 'Copied';
        setTimeout(function () {
          button.textContent = 'Copy';
        }, 2000);
      };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
      else if (document.execCommand('copy')) done();
    });
  });

  var environment = document.getElementById('course-environment');
  var customImage = document.getElementById('custom-image-field');
  if (environment && customImage) {
    var toggle = function () {
      customImage.hidden = environment.value !== 'custom';
    };
    environment.addEventListener('change', toggle);
    toggle();
  }

  // The control room: start or stop participants' servers through the API, each row showing its
  // participant's result as it comes; then the page reloads with the summary kept above the table.
  var course = document.getElementById('course');
  var progress = document.getElementById('servers-progress');
  var G = window.Ganymede;
  var RESULT_TEXT = {
    ready: 'Ready',
    starting: 'Starting…',
    'already running': 'Already running',
    stopped: 'Stopped',
    stopping: 'Stopping…',
    'not running': 'Not running',
    updated: 'Content updated',
    cloned: 'Content copied',
    'at next start': 'Gets it at the next start',
    failed: 'Failed',
    refused: 'Refused',
  };
  var summaryKey = course ? 'ganymede-servers-' + course.dataset.slug : '';
  if (progress && window.sessionStorage && sessionStorage.getItem(summaryKey)) {
    G.showAlert(progress, sessionStorage.getItem(summaryKey));
    sessionStorage.removeItem(summaryKey);
  }
  function rowOf(user) {
    var rows = document.querySelectorAll('tr[data-server-user]');
    for (var i = 0; i < rows.length; i++) if (rows[i].dataset.serverUser === user) return rows[i];
    return null;
  }
  function resultText(r) {
    return (RESULT_TEXT[r.result] || r.result) + (r.message ? ': ' + r.message : '');
  }
  if (course && progress && G && window.fetch && window.ReadableStream) {
    document.querySelectorAll('form[data-servers-form]').forEach(function (form) {
      form.addEventListener('submit', async function (event) {
        var submitter = event.submitter;
        var data = new FormData(form, submitter);
        var action = data.get('action');
        var users = data.getAll('users');
        var paths = { start: ['servers', 'start'], stop: ['servers', 'stop'], content: ['content', 'update'] };
        var verbs = { start: ['Start', 'Starting servers'], stop: ['Stop', 'Stopping servers'], content: ['Update content', 'Updating content'] };
        if (!paths[action]) return;
        event.preventDefault();
        var total = users.length || document.querySelectorAll('tr[data-server-user]').length;
        var done = 0;
        document.querySelectorAll('form[data-servers-form] button, button[form^="server-"]').forEach(function (b) {
          b.disabled = true;
        });
        G.showAlert(progress, verbs[action][1] + '… 0 of ' + total + ' done');
        try {
          var results = [];
          await G.apiEvents('POST', ['courses', course.dataset.slug].concat(paths[action]), users.length ? { users: users } : {}, function (e) {
            if (e.done) {
              if (e.failed) throw new Error(e.message);
              results = e.results;
              return;
            }
            done++;
            var row = rowOf(e.user);
            if (row) {
              var cell = row.querySelector('.server-state');
              cell.textContent = resultText(e);
              row.dataset.result = e.result;
            }
            G.showAlert(progress, verbs[action][1] + '… ' + done + ' of ' + total + ' done');
          });
          var lines = results.map(function (r) {
            return r.user + ': ' + resultText(r);
          });
          var summary = verbs[action][0] + ': ' + (lines.length ? lines.join('; ') : 'no participant');
          if (window.sessionStorage) sessionStorage.setItem(summaryKey, summary);
          window.location.reload();
        } catch (err) {
          G.showAlert(progress, err.message);
          document.querySelectorAll('form[data-servers-form] button, button[form^="server-"]').forEach(function (b) {
            b.disabled = false;
          });
        }
      });
    });
  }
})();
