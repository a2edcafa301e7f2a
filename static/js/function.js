// Function detail: the charts of the range the page's URL names, drawn from the series API on
// a time axis (the rest of the page is server-rendered fragments); a box dragged across a
// chart zooms the page to it (ranges.js). Read again, at most as often as the page's template
// says for that range, when its service reported.
(function () {
  "use strict";
  var callsChart = null, latencyChart = null, retriesChart = null;

  function show(series) {
    var p = Charts.palette, points = series.points;
    var range = { from: Date.parse(series.from), to: Date.parse(series.to), onZoom: Ranges.zoomTo };
    Ranges.show(range.from, range.to);
    callsChart = Charts.draw(document.getElementById("calls-chart"), "bar", points, "minute", Charts.outcomes, callsChart, "calls", range);
    latencyChart = Charts.draw(document.getElementById("latency-chart"), "line", points, "minute", [
      { label: "p50", key: "p50_ms", color: p.ok },
      { label: "p95", key: "p95_ms", color: p.warn },
      { label: "p99", key: "p99_ms", color: p.bad },
    ], latencyChart, "ms", range);
    retriesChart = Charts.draw(document.getElementById("retries-chart"), "line", points, "minute", [
      { label: "retries per call", key: "retries_per_call", color: p.accent },
    ], retriesChart, "retries / call", range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("function-charts");
    Live.part(charts, function () { return Live.getJSON(charts.dataset.seriesUrl).then(show); });
  });
})();
