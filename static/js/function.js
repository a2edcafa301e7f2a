// Function detail: charts and fleet view from the read API; a flipped breaker is patched at
// once from the delta, the rest re-fetched (at most every 2 s) when its service reported.
(function () {
  "use strict";
  var root, id, serviceId, callsChart = null, latencyChart = null;
  var esc = function (v) { return Live.escape(v); };
  var inst = function (name) { return esc(name || "(no instance)"); };

  function showBreaker(state, count, instances, since) {
    document.getElementById("breaker-badge").innerHTML = Rows.badge(state);
    document.getElementById("breaker-text").innerHTML = Rows.fleet(state, count, instances, since);
  }

  function showDetail(f) {
    document.getElementById("health").innerHTML = Rows.badge(f.health);
    var b = f.breaker;
    showBreaker(b.state, b.state ? b[b.state] : 0, b.instances, b.since);
    document.getElementById("calls").textContent = f.calls_5m;
    document.getElementById("error-rate").textContent = Rows.pct(f.error_rate_5m);
    document.getElementById("p95").textContent = Rows.ms(f.p95_ms_5m);
    document.getElementById("strip").innerHTML = Rows.strip(f.recent_outcomes);
    document.getElementById("instances").innerHTML = f.breaker_instances.length ? f.breaker_instances.map(function (b) {
      return "<tr><td>" + inst(b.instance) + "</td><td>" + Rows.badge(b.state) + "</td><td>" + Time.tag(b.since) +
        "</td><td>" + Time.tag(b.updated) + "</td></tr>";
    }).join("") : '<tr><td colspan="4" class="muted">No breaker reported.</td></tr>';
    document.getElementById("flips").innerHTML = f.breaker_flips.length ? f.breaker_flips.map(function (x) {
      return "<li>" + Time.tag(x.at) + " · <strong>" + inst(x.instance) + "</strong> " + esc(Rows.label(x.old_state)) +
        " → " + Rows.badge(x.new_state) + "</li>";
    }).join("") : '<li class="muted">No transitions yet.</li>';
    document.getElementById("concurrency").innerHTML = f.concurrency.length ? f.concurrency.map(function (c) {
      return "<tr><td>" + inst(c.instance) + '</td><td class="num">' + c.active + '</td><td class="num">' + c.limit +
        '</td><td class="num"><meter min="0" max="' + c.limit + '" value="' + c.active + '">' + c.active + "/" + c.limit +
        '</meter></td><td class="num">' + c.queued + "</td><td>" + Time.tag(c.at) + "</td></tr>";
    }).join("") : '<tr><td colspan="6" class="muted">No concurrency gauge reported.</td></tr>';
  }

  function showSeries(series) {
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

  function resync() {
    return Promise.all([
      Live.getJSON("/api/v1/functions/" + id).then(showDetail),
      Live.getJSON("/api/v1/functions/" + id + "/series?minutes=60").then(showSeries),
    ]);
  }
  var soon = Live.throttle(resync, 2000);

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("function");
    id = Number(root.dataset.id);
    serviceId = Number(root.dataset.serviceId);
    Live.start({
      resync: resync,
      delta: function (d) {
        d.functions.forEach(function (f) {
          if (f.id === id) showBreaker(f.breaker, f.breaker_count, f.breaker_instances, f.breaker_since);
        });
        if (d.services.indexOf(serviceId) !== -1) soon();
      },
    });
  });
})();
