// Overview: re-fetch the figures when anything changed (at most every 2 s).
(function () {
  "use strict";
  function show(o) {
    var set = function (name, text) {
      document.querySelectorAll('[data-figure="' + name + '"]').forEach(function (el) { el.textContent = text; });
    };
    set("calls_5m", o.calls_5m);
    set("success_rate_5m", Rows.pct(o.success_rate_5m));
    set("calls_1h", o.calls_1h);
    set("success_rate_1h", Rows.pct(o.success_rate_1h));
    set("p95_ms_5m", Rows.ms(o.p95_ms_5m));
    set("open_breakers", o.open_breakers);
    set("queues_backing_up", o.queues_backing_up.length);
    set("firing_alerts", o.firing_alerts);
    ["open_breakers", "firing_alerts"].forEach(function (name) {
      document.querySelector('[data-card="' + name + '"]').classList.toggle("bad", !!o[name]);
    });
    document.querySelector('[data-card="queues_backing_up"]').classList.toggle("bad", o.queues_backing_up.length > 0);
    var trouble = document.getElementById("trouble");
    trouble.innerHTML = o.trouble.length ? o.trouble.map(Rows.functionRow).join("") :
      '<tr class="none"><td colspan="9" class="muted">No function is degraded or unhealthy.</td></tr>';
    var queues = document.getElementById("backing-up");
    queues.innerHTML = o.queues_backing_up.length ? o.queues_backing_up.map(function (q) {
      return '<li><a href="/queues/' + q.id + '/">' + Live.escape(q.service + "/" + q.name) + "</a> grew by " + q.growth + "</li>";
    }).join("") : '<li class="muted">None: no queue grew in the last 5 minutes.</li>';
    var steps = document.getElementById("first-steps");
    if (steps && o.functions) steps.hidden = true;
  }

  // After a delta, pages may share one answer (see shared_answer in monitoring/api.py). One
  // computed before the delta was sent may lack what it announced: ask again shortly.
  // On (re)connect and while polling: fresh.
  var newest = 0;
  function resync() { return Live.getJSON("/api/v1/overview").then(show); }
  var soon = Live.throttle(function () {
    return Live.getJSON("/api/v1/overview?max_age=2&newer_than=" + newest).then(function (o) {
      show(o);
      if (o.computed_at < newest) soon();
    });
  }, 2000);

  document.addEventListener("DOMContentLoaded", function () {
    Live.start({
      resync: resync,
      delta: function (d) {
        d.functions.forEach(function (f) { Rows.patchFunction(document, f); });
        newest = Math.max(newest, d.sent_at);
        soon();
      },
    });
  });
})();
