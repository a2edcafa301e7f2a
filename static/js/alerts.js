// Alerts list: re-fetched when an alert changed; "retry now" on dead-lettered deliveries.
(function () {
  "use strict";
  var esc = function (v) { return Live.escape(v); };

  function row(a) {
    return '<tr data-alert="' + a.id + '"><td><a href="/alerts/' + a.id + '/">' + esc(a.rule.name) + "</a></td><td>" +
      esc(a.service) + " / " + esc(a.subject) + "</td><td>" + Rows.badge(a.severity) + '</td><td data-field="state">' +
      Rows.badge(a.state) + (a.suppressed_until ? " " + Rows.badge("suppressed") : "") + '</td><td class="hide-narrow">' +
      esc(a.summary) + "</td><td>" + Time.tag(a.started_at) + '</td><td class="hide-narrow">' + esc(a.acknowledged_by || "") +
      "</td></tr>";
  }

  function resync() {
    var params = new URLSearchParams(document.getElementById("alerts-table").dataset.query);
    params.set("limit", "100");
    return Live.getJSON("/api/v1/alerts?" + params.toString()).then(function (page) {
      document.getElementById("alerts").innerHTML = page.items.length ? page.items.map(row).join("") :
        '<tr class="none"><td colspan="7" class="muted">No alerts match.</td></tr>';
    });
  }
  var soon = Live.throttle(resync, 1000);

  function retry(button) {
    var result = document.getElementById("action-result");
    button.disabled = true;
    Live.postJSON("/api/v1/deliveries/" + button.dataset.retry + "/retry").then(function () {
      result.textContent = "Delivery #" + button.dataset.retry + " queued again.";
      button.closest("tr").remove();
    }, function (error) {
      result.textContent = error.message;
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-retry]").forEach(function (button) {
      button.addEventListener("click", function () { retry(button); });
    });
    Live.start({ resync: resync, delta: function (d) { if (d.alerts.length) soon(); } });
  });
})();
