// The dashboard's live link: a websocket with backoff, a status pill, polling while the socket
// is down, a resync on every (re)connect, and "updated Xs ago".
// The pill says live (socket open), reconnecting (socket down, the site answers: the page
// still updates, every 10 s) or offline (neither answers: what is shown is stale).
//
// What a page shows comes from the server: its live parts are elements with an hx-get (a
// fragment's URL, written by the template) and data attributes saying when to ask again:
//   data-live="topic ..."       a delta about one of these: ask again, at most every data-live-every ms
//   data-live-now="topic ..."   a delta about one of these: ask again at once
//   data-live-ids="function"    send the ids the deltas named (only those shown on the page) as ?ids=
// Topics: any, services, service:<id>, queues, queue-service:<id>, functions, function:<id>,
// alerts, alert:<id>. Each part asks with hx-trigger="live" and hx-sync="this:queue last", so
// it has one request in flight and at most one waiting. Charts register as parts with Live.part.
(function () {
  "use strict";
  var POLL_MS = 10000;       // refreshes while the socket is down
  var MAX_BACKOFF_MS = 30000;
  // After a delta a part may get an answer shared with other pages, up to this old
  // (monitoring/shared.py); its Computed-At says whether to ask again.
  var SHARED_MAX_AGE_S = 2;

  var pill = document.getElementById("live-status");
  var fresh = document.getElementById("freshness");
  var parts = [];
  var newest = 0;            // sent_at of the latest delta
  var socket = null, failures = 0, pollTimer = null, updatedAt = null, started = false, readsFail = false, connected = false;

  function setState(state) {
    if (!pill) return;
    pill.dataset.state = state;
    pill.textContent = state;
    document.body.dataset.live = state;
    showOffline(state === "offline");
  }

  // Offline: a banner over the page says its figures are stale, and since when.
  function showOffline(offline) {
    var banner = document.getElementById("offline-banner");
    if (!banner) return;
    banner.hidden = !offline;
    var since = document.getElementById("offline-since");
    if (since) since.textContent = offline && updatedAt !== null ? " (last updated at " + Time.clock(new Date(updatedAt)) + ")" : "";
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

  function words(value) { return value ? value.split(/\s+/).filter(Boolean) : []; }

  // A live part: refresh(fresh) asks the server again and settles when the answer is in.
  function part(el, refresh) {
    var p = {
      el: el, refresh: refresh, on: words(el.dataset.live), now: words(el.dataset.liveNow),
      every: Number(el.dataset.liveEvery || 0), ids: el.dataset.liveIds || null, pending: {}, last: 0, timer: null,
    };
    el.livePart = p;
    parts.push(p);
    return p;
  }

  // An element with hx-get: htmx asks, swaps the fragment in, and says how it went.
  function fragmentPart(el) {
    return part(el, function (isFresh) {
      return new Promise(function (resolve, reject) {
        el.addEventListener("htmx:afterRequest", function (event) {
          if (event.detail.successful) resolve();
          else reject(new Error(event.detail.pathInfo.requestPath + " did not answer"));
        }, { once: true });
        htmx.trigger(el, "live", { fresh: isFresh });
      });
    });
  }

  // Runs a part's refresh now, or once its pace allows; later calls meanwhile join that one.
  function schedule(p, urgent) {
    if (p.timer !== null && !urgent) return;
    clearTimeout(p.timer);
    var wait = urgent ? 0 : Math.max(0, p.last + p.every - Date.now());
    p.timer = setTimeout(function () {
      p.timer = null;
      p.last = Date.now();
      p.refresh(false).then(touch, function (error) { console.warn(error); });
    }, wait);
  }

  function topics(delta) {
    var out = ["any"];
    function add(all, one, ids) {
      if (ids.length) out.push(all);
      ids.forEach(function (id) { out.push(one + ":" + id); });
    }
    function ids(rows) { return rows.map(function (row) { return row.id; }); }
    add("services", "service", delta.services);
    add("queues", "queue-service", delta.queue_services);
    add("functions", "function", ids(delta.functions));
    add("alerts", "alert", ids(delta.alerts));
    return out;
  }

  // The ids of this kind a delta named that the page shows (as rows with data-function="7" and the like).
  function shownIds(kind, delta) {
    var named = delta[kind + "s"] || [];
    return named.map(function (row) { return row.id; }).filter(function (id) {
      return document.querySelector("[data-" + kind + '="' + id + '"]') !== null;
    });
  }

  function onDelta(delta) {
    newest = Math.max(newest, delta.sent_at);
    var named = topics(delta);
    var about = function (list) { return list.some(function (t) { return named.indexOf(t) !== -1; }); };
    parts.forEach(function (p) {
      if (p.ids) {
        var ids = shownIds(p.ids, delta);
        ids.forEach(function (id) { p.pending[id] = true; });
        if (ids.length) schedule(p, true);
      } else if (about(p.now)) {
        schedule(p, true);
      } else if (about(p.on)) {
        schedule(p, false);
      }
    });
  }

  // Fresh answers for every part (ids parts have nothing to catch up on: the rest covers their rows).
  function refreshAll() {
    var all = parts.filter(function (p) { return !p.ids; }).map(function (p) { return p.refresh(true); });
    if (!all.length && pill) all.push(getJSON(pill.dataset.statusUrl));
    return Promise.all(all);
  }

  function showDownState() {
    if (!connected) setState(readsFail ? "offline" : "reconnecting");
  }

  function resync() {
    return refreshAll().then(function () {
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
    resync();  // at once: the page may have missed changes
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
    socket = new WebSocket(scheme + location.host + pill.dataset.socket);
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
      else onDelta(message);
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

  // What a part's request carries: after a delta, leave to share an answer that is recent
  // enough (and newer than the delta); the ids it waits for. On (re)connect and while polling: fresh.
  document.addEventListener("htmx:configRequest", function (event) {
    var p = event.detail.elt.livePart;
    if (!p) return;
    var trigger = event.detail.triggeringEvent;
    if (!(trigger && trigger.detail && trigger.detail.fresh) && newest) {
      event.detail.parameters.max_age = SHARED_MAX_AGE_S;
      event.detail.parameters.newer_than = newest;
    }
    if (p.ids) {
      event.detail.parameters.ids = Object.keys(p.pending).join(",");
      p.pending = {};
    }
    p.askedFor = newest;
  });

  // A shared answer computed before the delta the part was told of may lack what it
  // announced: ask again, at the part's pace.
  document.addEventListener("htmx:afterRequest", function (event) {
    var p = event.detail.elt.livePart;
    if (!p || !event.detail.successful) return;
    var computedAt = Number(event.detail.xhr.getResponseHeader("Computed-At"));
    if (computedAt && computedAt < p.askedFor) schedule(p, false);
  });

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

  function start() {
    if (started || !pill) return;
    started = true;
    document.querySelectorAll("[data-live][hx-get], [data-live-now][hx-get]").forEach(fragmentPart);
    htmx.onLoad(function (el) { Time.localize(el); });  // swapped-in times, in the viewer's zone
    touch();
    setInterval(renderFreshness, 1000);
    connect();
  }

  window.Live = {
    // A part the page's own script refreshes (a chart): el carries its data-live attributes.
    part: function (el, refresh) { part(el, function () { return refresh(); }); },
    resync: resync, getJSON: getJSON, postJSON: postJSON,
  };
  // After the pages' scripts registered their parts, and htmx processed the page.
  document.addEventListener("DOMContentLoaded", function () { setTimeout(start, 0); });
})();
