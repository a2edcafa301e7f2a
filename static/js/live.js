// The dashboard's live link: a websocket with backoff, a status pill, polling of the read
// API while the socket is down, a resync on every (re)connect, and "updated Xs ago".
// The pill says live (socket open), reconnecting (socket down, the read API answers: the
// page still updates, every 10 s) or offline (neither answers: what is shown is stale).
(function () {
  "use strict";
  var POLL_MS = 10000;       // read-API polling while the socket is down
  var MAX_BACKOFF_MS = 30000;

  var pill = document.getElementById("live-status");
  var fresh = document.getElementById("freshness");
  // Pages without their own script poll the status endpoint, to know whether the site answers.
  var page = { resync: function () { return getJSON("/api/v1/status"); }, delta: function () {} };
  var socket = null, failures = 0, pollTimer = null, updatedAt = null, started = false, readsFail = false, connected = false;

  function setState(state) {
    if (!pill) return;
    pill.dataset.state = state;
    pill.textContent = state;
    document.body.dataset.live = state;
  }

  function touch() {
    updatedAt = Date.now();
    renderFreshness();
  }

  function renderFreshness() {
    if (!fresh || updatedAt === null) return;
    var seconds = Math.round((Date.now() - updatedAt) / 1000);
    fresh.textContent = seconds < 2 ? "updated just now" : "updated " + seconds + "s ago";
  }

  function showDownState() {
    if (!connected) setState(readsFail ? "offline" : "reconnecting");
  }

  function resync() {
    return Promise.resolve(page.resync()).then(function () {
      readsFail = false;
      touch();
      showDownState();
    }, function (error) {
      readsFail = true;
      showDownState();
      console.warn("resync failed", error);
    });
  }

  function startPolling() {
    if (pollTimer !== null) return;
    resync();  // at once: the page may not have drawn anything yet
    pollTimer = setInterval(resync, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer !== null) clearInterval(pollTimer);
    pollTimer = null;
  }

  function backoff() {
    var base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, Math.min(failures, 5)));
    return base / 2 + Math.random() * base / 2;
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/dashboard/");
    socket.onopen = function () {
      failures = 0;
      connected = true;
      setState("live");
      stopPolling();
      resync();  // whatever happened while we were away
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type !== "delta") return;
      touch();
      if (message.resync) resync();
      else page.delta(message);
    };
    socket.onclose = function () {
      socket = null;
      connected = false;
      failures += 1;
      showDownState();
      startPolling();
      setTimeout(connect, backoff());
    };
  }

  // Calls fn at most once every `ms`, always running the last call.
  function throttle(fn, ms) {
    var last = 0, timer = null;
    return function () {
      var wait = last + ms - Date.now();
      if (timer !== null) return;
      timer = setTimeout(function () {
        timer = null;
        last = Date.now();
        Promise.resolve(fn()).then(touch);
      }, Math.max(0, wait));
    };
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      return r.json();
    });
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.detail || url + " answered " + r.status);
        return data;
      });
    });
  }

  function escape(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function start(handlers) {
    if (started) return;
    started = true;
    page = Object.assign(page, handlers || {});
    touch();
    setInterval(renderFreshness, 1000);
    connect();
  }

  window.Live = {
    start: start, throttle: throttle, getJSON: getJSON, postJSON: postJSON, escape: escape, touch: touch,
  };
  // Pages without their own script still get the status pill.
  document.addEventListener("DOMContentLoaded", function () { setTimeout(function () { start(); }, 0); });
})();
