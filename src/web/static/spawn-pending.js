// The spawn-pending page: follows the progress event stream, then opens the server or shows why it failed.
(function () {
  'use strict';
  var root = document.getElementById('spawn-pending');
  if (!root) return;
  var nextUrl = root.dataset.nextUrl;
  var bar = document.getElementById('progress-bar');
  var status = document.getElementById('progress-message');
  var log = document.getElementById('progress-log');
  var errorBox = document.getElementById('spawn-error');
  var errorMessage = document.getElementById('spawn-error-message');
  var finished = false;

  /** The text of a message: `message`, else the text (never the markup) of `html_message`. */
  function textOf(event) {
    if (typeof event.message === 'string' && event.message) return event.message;
    if (typeof event.html_message === 'string' && event.html_message) {
      return new DOMParser().parseFromString(event.html_message, 'text/html').body.textContent || '';
    }
    return '';
  }

  // The server's own origin under subdomain_host (empty otherwise): the only other place this page goes.
  var serverOrigin = root.dataset.serverOrigin || '';

  /** A path on this site, or a URL on the server's own origin, parsed and re-encoded (as src/http/local-redirect.ts), or null. */
  function localPath(url) {
    // Browsers drop tabs and newlines from URLs and read a backslash as a slash: such URLs are refused.
    if (typeof url !== 'string' || /[\u0000-\u001f\u007f\\]/.test(url)) return null;
    var absolute = serverOrigin !== '' && url.indexOf(serverOrigin + '/') === 0;
    if (!absolute && (url.charAt(0) !== '/' || url.charAt(1) === '/')) return null;
    var parsed;
    try {
      parsed = new URL(url, window.location.origin);
    } catch (e) {
      return null;
    }
    if (absolute) return parsed.origin === serverOrigin ? parsed.href : null;
    return parsed.origin === window.location.origin ? parsed.pathname + parsed.search + parsed.hash : null;
  }

  function showProgress(event) {
    if (typeof event.progress === 'number') {
      var value = Math.max(0, Math.min(100, event.progress));
      bar.value = value;
      bar.textContent = Math.round(value) + '%';
    }
    var text = textOf(event);
    if (text) {
      status.textContent = text;
      var item = document.createElement('li');
      item.textContent = text;
      log.appendChild(item);
      log.scrollTop = log.scrollHeight;
    }
  }

  // An EventSource cannot send headers: the XSRF token that cookie-authenticated API calls need goes in the query.
  var progressUrl = root.dataset.progressUrl;
  var source = new EventSource(progressUrl + (progressUrl.indexOf('?') < 0 ? '?' : '&') + '_xsrf=' + encodeURIComponent(window.Ganymede.xsrfToken));

  source.onmessage = function (message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    showProgress(event);
    if (event.ready) {
      finished = true;
      source.close();
      bar.value = 100;
      window.location.assign(localPath(nextUrl) || localPath(event.url) || window.location.href);
    } else if (event.failed) {
      finished = true;
      source.close();
      bar.classList.add('failed');
      errorMessage.textContent = textOf(event) || 'The server failed to start.';
      errorBox.hidden = false;
      status.textContent = 'Start-up failed.';
    }
  };

  // The stream ended (or broke) without a verdict: the page itself knows where things stand now.
  source.onerror = function () {
    if (finished) return;
    finished = true;
    source.close();
    setTimeout(function () {
      window.location.reload();
    }, 1500);
  };
})();
