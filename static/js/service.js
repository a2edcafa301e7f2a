// A service's page: its calls by outcome and its error rate per step over the range the
// page's URL names, summed over its functions (the series API); read again, at most as often
// as the page's template says for that range, when the service reported; a box dragged
// across a chart zooms the page to it (ranges.js).
(function () {
  "use strict";
  var callsChart = null, errorsChart = null;

  function show(series) {
    var p = Charts.palette, points = series.points;
    var range = { from: Date.parse(series.from), to: Date.parse(series.to), onZoom: Ranges.zoomTo };
    Ranges.show(range.from, range.to);
    callsChart = Charts.draw(document.getElementById("service-calls-chart"), "bar", points, "minute", Charts.outcomes, callsChart, "calls", range);
    var rates = points.map(function (point) {
      return { minute: point.minute, error_pct: point.error_rate === null ? null : point.error_rate * 100 };
    });
    errorsChart = Charts.draw(document.getElementById("service-errors-chart"), "line", rates, "minute", [
      { label: "error rate", key: "error_pct", color: p.bad },
    ], errorsChart, "error rate, %", range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("service-charts");
    Live.part(charts, function () { return Live.getJSON(charts.dataset.seriesUrl).then(show); });
  });
})();
