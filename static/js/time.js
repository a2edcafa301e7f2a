// Every <time datetime="..."> in one format on every page, also in fragments swapped in later
// (see live.js): within a day of now, how long ago or how soon ("5 min ago", "in 20 min");
// further off, the date and a 24-hour time; always in the viewer's zone, with the exact time
// and the zone's name on hover. Relative times are brought up to date every 30 seconds.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  var full = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  var dated = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  var clockFormat = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  var DAY_S = 24 * 3600;

  function span(seconds) {
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    var hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60);
    return hours + " h" + (minutes ? " " + minutes + " min" : "");
  }

  // How a moment reads next to now: relative within a day, else the date and time.
  function format(value) {
    if (!value) return "never";
    var date = value instanceof Date ? value : new Date(value);
    if (isNaN(date)) return String(value);
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (Math.abs(seconds) >= DAY_S) return dated.format(date);
    // Minutes at the finest: a time does not change its words every second.
    if (seconds >= 0 && seconds < 60) return "just now";
    if (seconds < 0 && seconds > -60) return "in under a minute";
    return seconds > 0 ? span(seconds) + " ago" : "in " + span(-seconds);
  }

  function clock(date) { return clockFormat.format(date); }

  function exact(date) { return full.format(date) + " (" + zone + ")"; }

  function localize(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = format(date);
      el.title = exact(date);
    });
  }

  window.Time = { zone: zone, format: format, exact: exact, clock: clock, localize: localize };
  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    var name = document.getElementById("zone-name");
    if (name) name.textContent = zone;
    setInterval(function () { localize(document); }, 30000);
  });
})();
