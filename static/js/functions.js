// Functions table: flipped breakers patched in place at once; the page re-fetched from the
// read API (same filters, sort and page) when its services reported, at most every 2 s.
(function () {
  "use strict";
  var table, body;

  function query() {
    var params = new URLSearchParams(table.dataset.query);
    params.set("limit", table.dataset.limit);
    return params;
  }

  // Pages re-fetching after a delta may share an answer up to 2 s old (see shared_answer).
  function url() {
    var params = query();
    params.set("max_age", "2");
    return "/api/v1/functions?" + params.toString();
  }

  function resync() {
    return Live.getJSON(url()).then(function (page) {
      body.innerHTML = page.items.length ? page.items.map(Rows.functionRow).join("") :
        '<tr class="none"><td colspan="9" class="muted">No function matches yet.</td></tr>';
      var offset = Number(query().get("offset") || 0);
      document.getElementById("pager-text").textContent =
        (page.items.length ? offset + 1 : 0) + "–" + (offset + page.items.length) + " of " + page.count;
      var steps = document.getElementById("first-steps");
      if (steps && page.count) steps.hidden = true;
    });
  }
  var soon = Live.throttle(resync, 2000);

  document.addEventListener("DOMContentLoaded", function () {
    table = document.getElementById("functions-table");
    body = document.getElementById("functions");
    Live.start({
      resync: resync,
      delta: function (d) {
        d.functions.forEach(function (f) { Rows.patchFunction(body, f); });
        if (d.services.length) soon();
      },
    });
  });
})();
