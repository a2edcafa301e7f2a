// One alert: its actions post to the API (CSRF header), then the page shows the new state
// and timeline; other people's changes arrive as deltas and re-fetch it.
(function () {
  "use strict";
  var id, esc = function (v) { return Live.escape(v); };

  function show(a) {
    document.getElementById("state").innerHTML = Rows.badge(a.state);
    document.getElementById("suppressed").innerHTML = a.suppressed_until ? "suppressed until " + Time.tag(a.suppressed_until) : "";
    document.getElementById("acked").textContent = a.acknowledged_by ? "acknowledged by " + a.acknowledged_by : "";
    document.getElementById("timeline").innerHTML = a.timeline.length ? a.timeline.map(function (e) {
      return "<li>" + Time.tag(e.at) + " · <strong>" + esc(e.actor) + "</strong> " + esc(e.action) +
        (e.detail ? ": " + esc(e.detail) : "") + "</li>";
    }).join("") : '<li class="muted">Nothing yet.</li>';
    document.getElementById("deliveries").innerHTML = a.deliveries.length ? a.deliveries.map(function (d) {
      return "<tr><td>" + esc(d.channel) + ' <span class="muted">(' + esc(d.kind) + ")</span></td><td>" + esc(d.event) +
        "</td><td>" + Rows.badge(d.state) + '</td><td class="num">' + d.attempts + '</td><td class="hide-narrow">' +
        esc(d.last_error) + "</td><td>" + Time.tag(d.sent_at) + "</td></tr>";
    }).join("") : '<tr><td colspan="6" class="muted">No notifications.</td></tr>';
  }

  function resync() { return Live.getJSON("/api/v1/alerts/" + id).then(show); }
  var soon = Live.throttle(resync, 500);

  function act(action, body) {
    var result = document.getElementById("action-result");
    result.textContent = "…";
    return Live.postJSON("/api/v1/alerts/" + id + "/" + action, body).then(function () {
      result.textContent = "Done: " + action + ".";
      return resync();
    }, function (error) {
      result.textContent = error.message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    id = Number(document.getElementById("alert").dataset.id);
    document.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () { act(button.dataset.action); });
    });
    var suppress = document.getElementById("suppress-form");
    if (suppress) suppress.addEventListener("submit", function (event) {
      event.preventDefault();
      act("suppress", { minutes: Number(suppress.minutes.value), comment: suppress.comment.value });
    });
    var comment = document.getElementById("comment-form");
    if (comment) comment.addEventListener("submit", function (event) {
      event.preventDefault();
      act("comment", { text: comment.text.value }).then(function () { comment.text.value = ""; });
    });
    Live.start({
      resync: resync,
      delta: function (d) {
        if (d.alerts.some(function (a) { return a.id === id; })) soon();
      },
    });
  });
})();
