// Queues: re-fetched from the read API when a service sent snapshots (at most once a second).
(function () {
  "use strict";
  var esc = function (v) { return Live.escape(v); };
  var num = function (v) { return v === null || v === undefined ? "–" : v; };

  function row(q) {
    var s = q.latest || {};
    var growth = q.growth_5m === null ? "–" : q.growth_5m > 0 ? '<span class="error">+' + q.growth_5m + "</span>" : q.growth_5m;
    return '<tr data-queue="' + q.id + '"><td>' + esc(q.service) + '</td><td><a href="/queues/' + q.id + '/">' + esc(q.name) +
      '</a></td><td class="num">' + num(s.depth) + '</td><td class="num">' + num(s.in_flight) + '</td><td class="num">' +
      num(s.dead_letter) + '</td><td class="num">' + (s.oldest_age_s === null || s.oldest_age_s === undefined ? "–" :
      s.oldest_age_s.toFixed(1) + " s") + '</td><td class="num">' + growth + '</td><td class="hide-narrow">' +
      Time.tag(q.last_seen) + "</td></tr>";
  }

  function resync() {
    return Live.getJSON("/api/v1/queues?limit=500").then(function (page) {
      document.getElementById("queues").innerHTML = page.items.length ? page.items.map(row).join("") :
        '<tr class="none"><td colspan="8" class="muted">No queues yet.</td></tr>';
      var steps = document.getElementById("first-steps");
      if (steps && page.count) steps.hidden = true;
    });
  }
  var soon = Live.throttle(resync, 1000);

  document.addEventListener("DOMContentLoaded", function () {
    Live.start({ resync: resync, delta: function (d) { if (d.queue_services.length) soon(); } });
  });
})();
