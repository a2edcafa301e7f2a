// Functions table: flipped breakers patched in place at once; the page re-fetched from the
// read API (same filters, sort and page) when its services reported, at most every 2 s.
(function () {
  "use strict";
  var table, body, newest = 0;

  function query() {
    var params = new URLSearchParams(table.dataset.query);
    params.set("limit", table.dataset.limit);
    return params;
  }

  // After a delta, pages may share one answer (see shared_answer in monitoring/api.py). One
  // computed before the delta was sent may lack what it announced: ask again shortly.
  // On (re)connect and while polling: fresh.
  function fetchPage(shared) {
    var params = query();
    if (shared) {
      params.set("max_age", "2");
      params.set("newer_than", String(newest));
    }
    return Live.getJSON("/api/v1/functions?" + params.toString()).then(function (page) {
      body.innerHTML = page.items.length ? page.items.map(Rows.functionRow).join("") :
        '<tr class="none"><td colspan="9" class="muted">No function matches yet.</td></tr>';
      var offset = Number(query().get("offset") || 0);
      document.getElementById("pager-text").textContent =
        (page.items.length ? offset + 1 : 0) + "–" + (offset + page.items.length) + " of " + page.count;
      var steps = document.getElementById("first-steps");
      if (steps && page.count) steps.hidden = true;
      if (shared && page.computed_at < newest) soon();
    });
  }
  var soon = Live.throttle(function () { return fetchPage(true); }, 2000);

  document.addEventListener("DOMContentLoaded", function () {
    table = document.getElementById("functions-table");
    body = document.getElementById("functions");
    Live.start({
      resync: function () { return fetchPage(false); },
      delta: function (d) {
        d.functions.forEach(function (f) { Rows.patchFunction(body, f); });
        newest = Math.max(newest, d.sent_at);
        if (d.services.length) soon();
      },
    });
  });
})();
