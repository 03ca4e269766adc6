// Shared by the hub's pages (loaded first, with defer): the page's meta tags, REST API calls, relative times.
(function () {
  'use strict';

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute('content') || '' : '';
  }

  var baseUrl = meta('base-url') || '/';
  var xsrfToken = meta('xsrf-token');

  /** {baseUrl}hub/ + segments, each percent-encoded: user and server names may hold anything. */
  function hubUrl(segments) {
    return baseUrl + 'hub/' + segments.map(encodeURIComponent).join('/');
  }

  /**
   * Calls {baseUrl}hub/api/…; resolves with {status, data}, rejects with the API's `message`.
   * options.query: query parameters (empty values left out); options.accept: another Accept header.
   */
  async function api(method, segments, body, options) {
    options = options || {};
    var headers = { Accept: options.accept || 'application/json' };
    var url = hubUrl(['api'].concat(segments));
    if (options.query) {
      var params = new URLSearchParams();
      Object.keys(options.query).forEach(function (key) {
        var value = options.query[key];
        if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
      });
      var qs = params.toString();
      if (qs) url += '?' + qs;
    }
    // Every cookie-authenticated API call needs it, GETs included (as JupyterHub >= 4.1).
    headers['X-XSRFToken'] = xsrfToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    var response = await fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    var text = await response.text();
    var data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      var message = data && typeof data.message === 'string' ? data.message : response.status + ' ' + response.statusText;
      var error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return { status: response.status, data: data };
  }

  /**
   * Calls an API endpoint that answers with server-sent events (Accept: text/event-stream) and calls
   * onEvent with each event's JSON as it arrives; resolves when the stream ends, rejects with the
   * API's `message` when it refuses.
   */
  async function apiEvents(method, segments, body, onEvent) {
    var response = await fetch(hubUrl(['api'].concat(segments)), {
      method: method,
      credentials: 'same-origin',
      headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json', 'X-XSRFToken': xsrfToken },
      body: JSON.stringify(body || {}),
    });
    if (!response.ok || !response.body) {
      var data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      var error = new Error(data && typeof data.message === 'string' ? data.message : response.status + ' ' + response.statusText);
      error.status = response.status;
      throw error;
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        var block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        block.split('\n').forEach(function (line) {
          if (line.slice(0, 6) === 'data: ') onEvent(JSON.parse(line.slice(6)));
        });
      }
    }
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /** Shows a message in an alert box (as text, never HTML) and brings it into view; null hides it. */
  function showAlert(box, message) {
    if (!box) return;
    box.textContent = message || '';
    box.hidden = !message;
    if (message) box.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  var UNITS = [
    ['year', 365 * 24 * 3600],
    ['month', 30 * 24 * 3600],
    ['week', 7 * 24 * 3600],
    ['day', 24 * 3600],
    ['hour', 3600],
    ['minute', 60],
    ['second', 1],
  ];

  /** "3 hours ago", "in 2 days"; the exact local time goes in the tooltip. */
  function humanizeTimes(root) {
    if (typeof Intl === 'undefined' || !Intl.RelativeTimeFormat) return;
    var format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    root.querySelectorAll('time[datetime]').forEach(function (el) {
      var when = new Date(el.getAttribute('datetime'));
      if (isNaN(when.getTime())) return;
      var seconds = (when.getTime() - Date.now()) / 1000;
      for (var i = 0; i < UNITS.length; i++) {
        var unit = UNITS[i];
        if (Math.abs(seconds) >= unit[1] || unit[0] === 'second') {
          el.textContent = Math.abs(seconds) < 45 ? format.format(0, 'second') : format.format(Math.round(seconds / unit[1]), unit[0]);
          break;
        }
      }
      el.title = when.toLocaleString();
    });
  }

  humanizeTimes(document);

  window.Ganymede = { baseUrl: baseUrl, xsrfToken: xsrfToken, hubUrl: hubUrl, api: api, apiEvents: apiEvents, sleep: sleep, showAlert: showAlert, humanizeTimes: humanizeTimes };
})();
