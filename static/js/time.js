// Shows every <time datetime="..."> in the viewer's time zone (also in fragments swapped in
// later: see live.js), and names the zone.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  var full = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  var short = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

  function isToday(date) {
    var now = new Date();
    return date.toDateString() === now.toDateString();
  }

  function format(value) {
    if (!value) return "never";
    var date = value instanceof Date ? value : new Date(value);
    if (isNaN(date)) return String(value);
    return isToday(date) ? short.format(date) : full.format(date);
  }

  function localize(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date)) return;
      el.textContent = format(date);
      el.title = full.format(date) + " (" + zone + ")";
    });
  }

  window.Time = { zone: zone, format: format, localize: localize };
  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    var name = document.getElementById("zone-name");
    if (name) name.textContent = zone;
  });
})();
