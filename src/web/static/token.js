// The token page: request a token (shown once), copy it, revoke tokens and applications' access.
(function () {
  'use strict';
  var G = window.Ganymede;
  var root = document.getElementById('token-page');
  if (!root) return;
  var userName = root.dataset.user;

  var form = document.getElementById('request-token-form');
  var formError = document.getElementById('token-error');
  var result = document.getElementById('token-result');
  var tokenValue = document.getElementById('token-value');
  var copyButton = document.getElementById('token-copy');

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    var submit = form.querySelector('button[type="submit"]');
    var expires = form.elements.expires_in.value;
    var body = {
      note: form.elements.note.value.trim(),
      expires_in: expires ? Number(expires) : null,
      scopes: form.elements.scopes.value.split(/\s+/).filter(Boolean),
    };
    submit.disabled = true;
    G.showAlert(formError, null);
    result.hidden = true;
    try {
      var response = await G.api('POST', ['users', userName, 'tokens'], body);
      tokenValue.value = response.data.token;
      result.hidden = false;
      form.reset();
      tokenValue.focus();
      tokenValue.select();
    } catch (err) {
      G.showAlert(formError, 'Could not create the token: ' + err.message);
    } finally {
      submit.disabled = false;
    }
  });

  copyButton.addEventListener('click', async function () {
    tokenValue.select();
    try {
      await navigator.clipboard.writeText(tokenValue.value);
    } catch (e) {
      // The Clipboard API needs a secure context; plain-http hubs fall back to the selection.
      document.execCommand('copy');
    }
    copyButton.textContent = 'Copied';
    setTimeout(function () {
      copyButton.textContent = 'Copy';
    }, 2000);
  });

  var revokeError = document.getElementById('revoke-error');

  /** Removes a revoked row; an emptied table gives way to its "nothing here" line. */
  function removeRow(row) {
    var table = row.closest('table');
    row.remove();
    if (table && table.tBodies[0].rows.length === 0) {
      table.hidden = true;
      var empty = root.querySelector('[data-empty-for="' + table.id + '"]');
      if (empty) empty.hidden = false;
    }
  }

  /** Revoking one OAuth token revokes the client's others, so a 404 for those means done. */
  async function revoke(id) {
    try {
      await G.api('DELETE', ['users', userName, 'tokens', id]);
    } catch (err) {
      if (err.status !== 404) throw err;
    }
  }

  root.querySelectorAll('.revoke-token').forEach(function (button) {
    button.addEventListener('click', async function () {
      var row = button.closest('tr');
      var ids = row.dataset.tokenId ? [row.dataset.tokenId] : (row.dataset.tokenIds || '').split(' ').filter(Boolean);
      button.disabled = true;
      G.showAlert(revokeError, null);
      try {
        for (var i = 0; i < ids.length; i++) await revoke(ids[i]);
        removeRow(row);
      } catch (err) {
        button.disabled = false;
        G.showAlert(revokeError, 'Could not revoke: ' + err.message);
      }
    });
  });
})();
