// The range a page's charts show lives in its URL (shareable): ?range=7d, or a custom
// ?from=...&to=... (ISO 8601 with the viewer's offset) that a zoom or the custom form writes.
// Zooming navigates, so the charts, the errors table and the breaker band all read the new
// range from the server; "range" stays in the URL for "Reset zoom" to go back to.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // "2026-11-30T14:05" in the viewer's zone, as a datetime-local input holds it.
  function local(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  // ISO 8601 with the viewer's offset: "2026-11-30T14:05:00+01:00".
  function iso(date) {
    var offset = -date.getTimezoneOffset(), sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return local(date) + ":" + pad(date.getSeconds()) + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  // A dragged box on a chart: the page again, over what it spans.
  function zoomTo(from, to) {
    var url = new URL(window.location.href);
    url.searchParams.set("from", iso(new Date(from)));
    url.searchParams.set("to", iso(new Date(to)));
    ["band_offset", "flip_offset"].forEach(function (name) { url.searchParams.delete(name); });
    window.location.assign(url.toString());
  }

  // The custom form shows the range the charts show, until the viewer types another.
  function show(from, to) {
    var start = document.getElementById("range-from"), end = document.getElementById("range-to");
    if (!start || start.dataset.touched) return;
    start.value = local(new Date(from));
    end.value = local(new Date(Math.min(to, Date.now())));
  }

  function custom(form) {
    var start = document.getElementById("range-from"), end = document.getElementById("range-to");
    [start, end].forEach(function (input) {
      input.addEventListener("input", function () { start.dataset.touched = "1"; input.setCustomValidity(""); });
    });
    var known = document.getElementById("range-from-iso").value;
    if (known) show(Date.parse(known), Date.parse(document.getElementById("range-to-iso").value));
    form.querySelectorAll(".range-zone").forEach(function (el) { el.textContent = Time.zone; });
    form.addEventListener("submit", function (event) {
      var from = new Date(start.value), to = new Date(end.value);
      if (!(to > from)) {
        event.preventDefault();
        end.setCustomValidity("Pick a time after the start.");
        end.reportValidity();
        return;
      }
      document.getElementById("range-from-iso").value = iso(from);
      document.getElementById("range-to-iso").value = iso(to);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("range-form");
    if (form) custom(form);
  });

  window.Ranges = { zoomTo: zoomTo, show: show, iso: iso };
})();
