// Thin helpers over the vendored Chart.js: theme colours from the stylesheet, a time axis
// (points at their real time, labels in the viewer's zone on a 24-hour clock, as time.js
// writes every other time), drag-to-zoom along it, charts updated in place on every re-fetch.
(function () {
  "use strict";
  var css = getComputedStyle(document.documentElement);
  var color = function (name) { return css.getPropertyValue(name).trim(); };
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var dated = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var dayOnly = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  var DAY_MS = 86400000;
  Chart.defaults.color = color("--muted");
  Chart.defaults.borderColor = color("--line");
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  var palette = {
    ok: color("--ok"), bad: color("--bad"), warn: color("--warn"), accent: color("--accent"), muted: color("--muted"),
  };

  // A tick: the time within a day's range; the day (and the time, unless midnight) beyond.
  function tick(value, span) {
    var date = new Date(value);
    if (isNaN(date)) return "";
    if (span <= DAY_MS) return clock.format(date);
    return date.getHours() === 0 && date.getMinutes() === 0 ? dayOnly.format(date) : dated.format(date);
  }

  // Ticks on round times of the viewer's clock (every 5 min, 30 min, 3 h, a day...), at most
  // about seven: Chart.js would put one on every minute and skip some, at uneven times.
  var NICE_MIN = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080, 20160, 43200];
  function roundTicks(scale) {
    var span = scale.max - scale.min;
    var step = 60000 * (NICE_MIN.find(function (m) { return span / (m * 60000) <= 7; }) || NICE_MIN[NICE_MIN.length - 1]);
    var zone = new Date(scale.min).getTimezoneOffset() * 60000;  // local = UTC - zone
    var ticks = [];
    for (var t = Math.ceil((scale.min - zone) / step) * step + zone; t <= scale.max; t += step) ticks.push({ value: t });
    scale.ticks = ticks;
  }

  // The labels are the points' times (ms), which the time axis places; each dataset their values.
  function chartData(points, timeKey, series, gapMs) {
    return { labels: points.map(function (p) { return Date.parse(p[timeKey]); }), datasets: series.map(function (s) {
      return {
        label: s.label,
        data: points.map(function (p) { return p[s.key] === undefined ? null : p[s.key]; }),
        borderColor: s.color, backgroundColor: s.color, stack: s.stack,
        pointRadius: 1.5, borderWidth: 2,
        // A number: the line breaks where points are further apart than that (a queue that did not report).
        spanGaps: gapMs || true,
      };
    }) };
  }

  function zoomOptions(onZoom) {
    if (!onZoom) return { zoom: { drag: { enabled: false }, wheel: { enabled: false }, pinch: { enabled: false } } };
    return {
      // A box dragged along x only: the wheel and pinch would take over the page's scrolling.
      zoom: {
        mode: "x",
        wheel: { enabled: false },
        pinch: { enabled: false },
        drag: { enabled: true, threshold: 8, backgroundColor: "rgba(127, 127, 127, 0.25)", borderColor: palette.accent, borderWidth: 1 },
        onZoomComplete: function (context) {
          var x = context.chart.scales.x;
          onZoom(Math.round(x.min), Math.round(x.max));
        },
      },
      limits: { x: { minRange: 5 * 60000 } },
    };
  }

  // series: [{label, key, color, stack?}] read from each point; kind: "line" or "bar".
  // range: {from, to} (ms) the axis spans, gapMs: break lines over longer gaps, onZoom(from, to).
  // Needs the date adapter: pages load both through templates/monitoring/_chart_scripts.html.
  function draw(canvas, kind, points, timeKey, series, existing, yTitle, range) {
    var data = chartData(points, timeKey, series, range.gapMs);
    if (existing) {
      existing.data = data;
      existing.options.scales.x.min = range.from;
      existing.options.scales.x.max = range.to;
      existing.update();
      return existing;
    }
    return new Chart(canvas, {
      type: kind,
      data: data,
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: {
            type: "time", min: range.from, max: range.to, offset: kind === "bar", stacked: kind === "bar",
            afterBuildTicks: roundTicks,
            ticks: {
              maxTicksLimit: 8, maxRotation: 0, autoSkipPadding: 12,
              callback: function (value) { return tick(value, this.max - this.min); },
            },
          },
          y: { stacked: kind === "bar", beginAtZero: true, title: { display: !!yTitle, text: yTitle } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { title: function (items) { return items.length ? dated.format(new Date(items[0].parsed.x)) : ""; } } },
          zoom: zoomOptions(range.onZoom),
        },
      },
    });
  }

  // Calls by outcome, stacked: the series a calls chart draws (a function's, a service's).
  var outcomes = [
    { label: "success", key: "success", color: palette.ok, stack: "calls" },
    { label: "failure", key: "failure", color: palette.bad, stack: "calls" },
    { label: "timeout", key: "timeout", color: palette.warn, stack: "calls" },
    { label: "rejected", key: "rejected", color: palette.muted, stack: "calls" },
  ];

  window.Charts = { draw: draw, palette: palette, outcomes: outcomes };
})();
