// One queue's charts over the last hour (depth, in flight, dead letters, oldest age), drawn
// from the series API (the cards are a server-rendered fragment); again at most every 2 s
// when its service sent snapshots.
(function () {
  "use strict";
  var depthChart = null, ageChart = null;

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
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("queue-charts");
    Live.part(charts, function () { return Live.getJSON(charts.dataset.seriesUrl).then(show); });
  });
})();
