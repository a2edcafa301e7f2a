// Formatting and row markup shared by the pages; monitoring/templatetags/dashboard.py
// formats the same way on the server.
(function () {
  "use strict";
  var esc = function (v) { return Live.escape(v); };

  function pct(value) { return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + " %"; }
  function ms(value) {
    if (value === null || value === undefined) return "–";
    return value >= 1000 ? (value / 1000).toFixed(2) + " s" : Math.round(value) + " ms";
  }
  function label(value) { return value ? String(value).replace(/_/g, "-") : "none"; }
  function badge(value, text) {
    return '<span class="badge ' + esc(value || "none") + '">' + esc(text || label(value)) + "</span>";
  }
  function strip(outcomes) {
    var ticks = outcomes.map(function (o) { return '<i class="' + esc(o) + '" title="' + esc(o) + '"></i>'; });
    return '<span class="strip" aria-label="last ' + outcomes.length + " outcomes: " +
      esc(outcomes.join(", ") || "none") + '">' + ticks.join("") + "</span>";
  }

  // "open on 3 of 5 instances since <time>" (monitoring/templatetags/dashboard.py: fleet).
  function fleet(state, count, instances, since) {
    if (!state) return "no breaker reported";
    return esc(label(state)) + " on " + count + " of " + instances + " instances since " + Time.tag(since);
  }

  // One row of the functions table (and of the overview's trouble list).
  function functionRow(f) {
    return '<tr data-function="' + f.id + '">' +
      "<td>" + esc(f.service) + "</td>" +
      '<td><a href="/functions/' + f.id + '/">' + esc(f.name) + "</a></td>" +
      '<td data-field="health">' + badge(f.health) + "</td>" +
      '<td data-field="breaker" title="' + esc(f.breaker.text) + '">' + badge(f.breaker.state) + "</td>" +
      '<td class="num" data-field="calls">' + f.calls_5m + "</td>" +
      '<td class="num" data-field="error_rate">' + pct(f.error_rate_5m) + "</td>" +
      '<td class="num">' + ms(f.p95_ms_5m) + "</td>" +
      '<td class="hide-narrow">' + Time.tag(f.last_seen) + "</td>" +
      '<td class="hide-narrow">' + strip(f.recent_outcomes) + "</td>" +
      "</tr>";
  }

  // Patch a row in place from a delta row: {id, health, breaker, breaker_text, calls_5m, error_rate_5m}.
  function patchFunction(root, d) {
    root.querySelectorAll('[data-function="' + d.id + '"]').forEach(function (row) {
      var cell = function (name) { return row.querySelector('[data-field="' + name + '"]'); };
      if (cell("health")) cell("health").innerHTML = badge(d.health);
      if (cell("breaker")) { cell("breaker").innerHTML = badge(d.breaker); cell("breaker").title = d.breaker_text; }
      if (cell("calls")) cell("calls").textContent = d.calls_5m;
      if (cell("error_rate")) cell("error_rate").textContent = pct(d.error_rate_5m);
    });
  }

  window.Rows = { fleet: fleet, pct: pct, ms: ms, label: label, badge: badge, strip: strip, functionRow: functionRow, patchFunction: patchFunction };
})();
