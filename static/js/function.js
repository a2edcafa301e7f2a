// Function detail: the charts of its last hour, drawn from the series API (the rest of the
// page is server-rendered fragments); again at most every 2 s when its service reported.
(function () {
  "use strict";
  var callsChart = null, latencyChart = null;

  function show(series) {
    var p = Charts.palette, points = series.points.map(function (pt) {
      return Object.assign({ errors: pt.failure + pt.timeout + pt.rejected }, pt);
    });
    callsChart = Charts.draw(document.getElementById("calls-chart"), "bar", points, "minute", [
      { label: "success", key: "success", color: p.ok, stack: "calls" },
      { label: "errors", key: "errors", color: p.bad, stack: "calls" },
    ], callsChart, "calls");
    latencyChart = Charts.draw(document.getElementById("latency-chart"), "line", points, "minute", [
      { label: "p50", key: "p50_ms", color: p.ok },
      { label: "p95", key: "p95_ms", color: p.warn },
      { label: "p99", key: "p99_ms", color: p.bad },
    ], latencyChart, "ms");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("function-charts");
    Live.part(charts, function () { return Live.getJSON(charts.dataset.seriesUrl).then(show); });
  });
})();
