// Thin helpers over the vendored Chart.js: theme colours from the stylesheet, minute labels
// in the viewer's zone, charts updated in place on every re-fetch.
(function () {
  "use strict";
  var css = getComputedStyle(document.documentElement);
  var color = function (name) { return css.getPropertyValue(name).trim(); };
  var minute = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  Chart.defaults.color = color("--muted");
  Chart.defaults.borderColor = color("--line");
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  var palette = {
    ok: color("--ok"), bad: color("--bad"), warn: color("--warn"), accent: color("--accent"), muted: color("--muted"),
  };

  // Ranges of days name the day on every label; an hour's range only the time.
  function labels(points, key, long) {
    var format = long ? day : minute;
    return points.map(function (p) { return format.format(new Date(p[key])); });
  }

  // series: [{label, key, color, stack?}] read from each point; kind: "line" or "bar".
  function draw(canvas, kind, points, timeKey, series, existing, yTitle, long) {
    var data = {
      labels: labels(points, timeKey, long),
      datasets: series.map(function (s) {
        return {
          label: s.label,
          data: points.map(function (p) { return p[s.key]; }),
          borderColor: s.color, backgroundColor: s.color, stack: s.stack,
          pointRadius: 1.5, borderWidth: 2, spanGaps: true,
        };
      }),
    };
    if (existing) {
      existing.data = data;
      existing.update();
      return existing;
    }
    return new Chart(canvas, {
      type: kind,
      data: data,
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: kind === "bar", ticks: { maxTicksLimit: 8 } },
          y: { stacked: kind === "bar", beginAtZero: true, title: { display: !!yTitle, text: yTitle } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  window.Charts = { draw: draw, palette: palette };
})();
