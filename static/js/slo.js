// An SLO's page: its error budget left, hour by hour over the SLO's window (the budget API),
// as a line on a time axis.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var figure = document.getElementById("slo-chart");
    fetch(figure.dataset.budgetUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (points) {
        var shown = points.map(function (p) { return { at: p.at, budget_pct: Math.round(p.budget_left * 1000) / 10 }; });
        var range = { from: Date.parse(points[0].at) - 3600000, to: Date.parse(points[points.length - 1].at) };
        Charts.draw(document.getElementById("slo-chart-canvas"), "line", shown, "at", [
          { label: "budget left", key: "budget_pct", color: Charts.palette.accent },
        ], null, "budget left, %", range);
      });
  });
})();
