// One queue over the last hour: depth, in flight, dead letters, oldest age, growth.
(function () {
  "use strict";
  var id, serviceId, depthChart = null, ageChart = null;

  function show(series) {
    var points = series.points, p = Charts.palette;
    depthChart = Charts.draw(document.getElementById("depth-chart"), "line", points, "at", [
      { label: "depth", key: "depth", color: p.accent },
      { label: "in flight", key: "in_flight", color: p.ok },
      { label: "dead letters", key: "dead_letter", color: p.bad },
    ], depthChart, "messages");
    ageChart = Charts.draw(document.getElementById("age-chart"), "line", points, "at", [
      { label: "oldest age", key: "oldest_age_s", color: p.warn },
    ], ageChart, "seconds");
    if (!points.length) return;
    var last = points[points.length - 1];
    var since = Date.now() - 5 * 60 * 1000;
    var first = points.find(function (pt) { return new Date(pt.at).getTime() >= since; }) || last;
    var growth = last.depth - first.depth;
    document.getElementById("depth").textContent = last.depth;
    document.getElementById("growth").textContent = (growth > 0 ? "+" : "") + growth;
    document.getElementById("in-flight").textContent = last.in_flight;
    document.getElementById("dead-letter").textContent = last.dead_letter;
    document.getElementById("oldest").textContent = last.oldest_age_s === null ? "–" : last.oldest_age_s.toFixed(1) + " s";
  }

  function resync() { return Live.getJSON("/api/v1/queues/" + id + "/series?minutes=60").then(show); }
  var soon = Live.throttle(resync, 2000);

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("queue");
    id = Number(root.dataset.id);
    serviceId = Number(root.dataset.serviceId);
    Live.start({ resync: resync, delta: function (d) { if (d.queue_services.indexOf(serviceId) !== -1) soon(); } });
  });
})();
