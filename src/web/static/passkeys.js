// Passkeys (WebAuthn), the browser's half: a button with data-passkey="create" (adding a passkey) or
// "get" (the login's second step) carries the hub's options as JSON in data-options. A click asks the
// browser (navigator.credentials), puts its answer as JSON into the form's hidden field named by
// data-field, and posts the form; the hub checks everything. Binary values travel as base64url.
(function () {
  'use strict';
  var G = window.Ganymede;

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    while (base64.length % 4) base64 += '=';
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function credentialDescriptors(list) {
    return (list || []).map(function (c) {
      return { type: 'public-key', id: fromBase64url(c.id), transports: c.transports };
    });
  }

  /** PublicKeyCredentialCreationOptionsJSON → what navigator.credentials.create() takes. */
  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = credentialDescriptors(json.excludeCredentials);
    return options;
  }

  /** PublicKeyCredentialRequestOptionsJSON → what navigator.credentials.get() takes. */
  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = credentialDescriptors(json.allowCredentials);
    return options;
  }

  function common(credential) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    };
  }

  function registrationJson(credential) {
    var out = common(credential);
    var r = credential.response;
    out.response = {
      clientDataJSON: toBase64url(r.clientDataJSON),
      attestationObject: toBase64url(r.attestationObject),
      transports: typeof r.getTransports === 'function' ? r.getTransports() : undefined,
    };
    return out;
  }

  function authenticationJson(credential) {
    var out = common(credential);
    var r = credential.response;
    out.response = {
      clientDataJSON: toBase64url(r.clientDataJSON),
      authenticatorData: toBase64url(r.authenticatorData),
      signature: toBase64url(r.signature),
      userHandle: r.userHandle && r.userHandle.byteLength ? toBase64url(r.userHandle) : undefined,
    };
    return out;
  }

  function explain(err, kind) {
    var name = err && err.name;
    if (name === 'NotAllowedError') return 'No passkey was used: the request was cancelled or timed out' + (kind === 'get' ? ', or this device holds none of your passkeys.' : '.');
    if (name === 'InvalidStateError') return 'This device or security key holds one of your passkeys already.';
    if (name === 'SecurityError') return 'The browser refused: passkeys need the hub at its domain name, over HTTPS.';
    return 'The passkey did not work: ' + ((err && err.message) || String(err));
  }

  function wire(button) {
    var kind = button.dataset.passkey;
    var form = button.form;
    var field = form.elements[button.dataset.field];
    var alertBox = document.getElementById(button.dataset.error);
    // navigator.credentials exists only in secure contexts: https, or http://localhost.
    if (!window.PublicKeyCredential || !navigator.credentials) {
      G.showAlert(alertBox, 'This browser cannot use passkeys on this page (they need HTTPS).');
      button.disabled = true;
      return;
    }
    button.addEventListener('click', async function () {
      button.disabled = true;
      G.showAlert(alertBox, null);
      try {
        var options = JSON.parse(button.dataset.options);
        var credential =
          kind === 'create'
            ? await navigator.credentials.create({ publicKey: creationOptions(options) })
            : await navigator.credentials.get({ publicKey: requestOptions(options) });
        if (!credential) throw new Error('the browser gave no passkey');
        field.value = JSON.stringify(kind === 'create' ? registrationJson(credential) : authenticationJson(credential));
        form.submit();
      } catch (err) {
        G.showAlert(alertBox, explain(err, kind));
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll('button[data-passkey]').forEach(wire);
})();
