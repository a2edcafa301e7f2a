// One alert's chart: the rule's metric on the alert's subject from 30 minutes before it fired
// to now (or to 10 minutes after it ended) on a time axis, read from the subject's series API, with the
// threshold as a dashed line and the moment it fired marked. What to read and how comes from
// the page (alerts/read.py MEASURES); while the alert is open it is read again as its
// service reports (data-live on the figure).
(function () {
  "use strict";
  var QUEUE_MAX_MINUTES = 1440;
  var chart = null;

  function at(point) { return Date.parse(point.minute || point.at); }

  // A point's value as the rule reads it: "point" as it is, "ratio" over the point's calls,
  // "sum" added up over the rule's window, "growth" minus the first value in that window.
  function valueAt(points, i, field, how, windowMs) {
    var p = points[i], t = at(p), j;
    if (how === "ratio") return p.calls ? p[field] / p.calls : null;
    if (how === "sum") {
      var total = 0;
      for (j = i; j >= 0 && at(points[j]) > t - windowMs; j--) total += points[j][field];
      return total;
    }
    if (how === "growth") {
      j = i;
      while (j > 0 && at(points[j - 1]) >= t - windowMs) j--;
      return p[field] - points[j][field];
    }
    return p[field] === undefined ? null : p[field];
  }

  function stepWords(seconds) {
    if (seconds % 86400 === 0) return seconds / 86400 === 1 ? "one day" : seconds / 86400 + " days";
    if (seconds % 3600 === 0) return seconds / 3600 === 1 ? "one hour" : seconds / 3600 + " hours";
    return seconds / 60 === 1 ? "one minute" : seconds / 60 + " minutes";
  }

  // A value added up over the rule's window needs the window before the chart's first point too.
  function lead(figure) {
    var how = figure.dataset.how;
    return how === "sum" || how === "growth" ? Number(figure.dataset.windowMinutes) * 60000 : 0;
  }

  function seriesUrl(figure, from, to) {
    var url = figure.dataset.seriesUrl, start = from - lead(figure);
    if (figure.dataset.subject === "queue") {
      var minutes = Math.ceil(((to || Date.now()) - start) / 60000) + 1;
      return url + "?minutes=" + Math.min(QUEUE_MAX_MINUTES, Math.max(1, minutes));
    }
    var query = "?from=" + encodeURIComponent(new Date(start).toISOString());
    if (figure.dataset.to) query += "&to=" + encodeURIComponent(figure.dataset.to);
    return url + query;
  }

  // The rows the chart draws: each point's value, the threshold lines, and a dot on the threshold where it fired.
  function rows(points, figure, from, to, stepMs) {
    var d = figure.dataset, threshold = Number(d.threshold);
    var resolve = d.resolveThreshold === undefined ? null : Number(d.resolveThreshold);
    var started = Date.parse(d.started), windowMs = Number(d.windowMinutes) * 60000;
    var fired = points.findIndex(function (p, i) {
      return at(p) <= started && (i === points.length - 1 || at(points[i + 1]) > started);
    });
    var out = [];
    points.forEach(function (p, i) {
      if (at(p) < from - stepMs || at(p) > to) return;  // read only for the window's sake
      var value = valueAt(points, i, d.field, d.how, windowMs);
      out.push({ t: p.minute || p.at, value: value, threshold: threshold, resolve: resolve, fired: i === fired ? threshold : null });
    });
    return out;
  }

  // Chart.draw gives every line the same look: the thresholds dashed and bare, the firing moment a dot.
  function style(drawn, hasResolve) {
    var sets = drawn.data.datasets;
    sets[0].pointRadius = 2.5;  // a lone minute with calls between quiet ones still shows
    sets[1].borderDash = [6, 4];
    sets[1].pointRadius = 0;
    if (hasResolve) {
      sets[2].borderDash = [2, 3];
      sets[2].pointRadius = 0;
    }
    var fired = sets[sets.length - 1];
    fired.showLine = false;
    fired.pointRadius = 6;
    fired.pointHoverRadius = 7;
    fired.clip = 8;  // whole, even on the chart's edge (an alert that fired a moment ago)
    drawn.update();
  }

  function show(figure, series) {
    var d = figure.dataset, p = Charts.palette;
    var from = Date.parse(d.from), to = d.to ? Date.parse(d.to) : Date.now();
    var data = rows(series.points, figure, from, to, (series.step_s || 0) * 1000);
    var hasResolve = d.resolveThreshold !== undefined;
    var lines = [
      { label: d.label, key: "value", color: p.accent },
      { label: "threshold", key: "threshold", color: p.bad },
    ];
    if (hasResolve) lines.push({ label: "resolves at", key: "resolve", color: p.ok });
    lines.push({ label: "fired", key: "fired", color: p.warn });
    chart = Charts.draw(document.getElementById("alert-chart-canvas"), "line", data, "t", lines, chart, d.label, { from: from, to: to });
    style(chart, hasResolve);
    var step = document.getElementById("alert-chart-step");
    if (step && series.step_s) step.textContent = stepWords(series.step_s);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var figure = document.getElementById("alert-chart-figure");
    if (!figure) return;
    var from = Date.parse(figure.dataset.from), to = figure.dataset.to ? Date.parse(figure.dataset.to) : null;
    Live.part(figure, function () {
      return Live.getJSON(seriesUrl(figure, from, to)).then(function (series) { show(figure, series); });
    });
  });
})();
