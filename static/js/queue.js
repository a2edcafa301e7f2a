// One queue's charts over the range the page's URL names (depth, in flight, dead letters,
// oldest age), drawn from the series API on a time axis: each point is the most a step
// showed, and a step without a snapshot is a gap in the line. A box dragged across a chart
// zooms the page to it (ranges.js). The cards are a server-rendered fragment; both are read
// again when its service sent snapshots, at most as often as the template says.
(function () {
  "use strict";
  var depthChart = null, ageChart = null;

  // A silence: points further apart than two steps and than three times their usual spacing
  // (a queue reporting every 5 minutes is not silent between two of its snapshots).
  function gap(points, step) {
    var spacings = [];
    for (var i = 1; i < points.length; i++) spacings.push(Date.parse(points[i].at) - Date.parse(points[i - 1].at));
    spacings.sort(function (a, b) { return a - b; });
    var usual = spacings.length ? spacings[Math.floor(spacings.length / 2)] : step;
    return Math.max(2 * step, 3 * usual) + 1000;
  }

  function show(series) {
    var points = series.points, p = Charts.palette;
    var range = { from: Date.parse(series.from), to: Date.parse(series.to), gapMs: gap(points, series.step_s * 1000), onZoom: Ranges.zoomTo };
    Ranges.show(range.from, range.to);
    depthChart = Charts.draw(document.getElementById("depth-chart"), "line", points, "at", [
      { label: "depth", key: "depth", color: p.accent },
      { label: "in flight", key: "in_flight", color: p.ok },
      { label: "dead letters", key: "dead_letter", color: p.bad },
    ], depthChart, "messages", range);
    ageChart = Charts.draw(document.getElementById("age-chart"), "line", points, "at", [
      { label: "oldest age", key: "oldest_age_s", color: p.warn },
    ], ageChart, "seconds", range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("queue-charts");
    Live.part(charts, function () { return Live.getJSON(charts.dataset.seriesUrl).then(show); });
  });
})();
