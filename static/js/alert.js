// One alert's actions: each posts to the API address its button or form names (CSRF
// header), then the page asks the server for the alert's state and history again. Other
// people's changes arrive as deltas (see live.js). "Firing for 12 min" keeps counting.
(function () {
  "use strict";
  var TICK_MS = 10000;

  function act(action, url, body) {
    var result = document.getElementById("action-result");
    result.textContent = "…";
    return Live.postJSON(url, body).then(function () {
      result.textContent = "Done: " + action + ".";
      Live.resync();
      return true;
    }, function (error) {
      result.textContent = error.message;
      return false;
    });
  }

  // A form's submit posts body() as the action; done() runs once it went through.
  function onSubmit(form, action, body, done) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      act(action, form.dataset.url, body()).then(function (ok) { if (ok) done(); });
    });
  }

  // The acknowledge form comes and goes with the alert's state: listened for on the document.
  function acknowledge(form) {
    var minutes = form.elements.remind_after_minutes.value;
    return act("acknowledge", form.dataset.url, {
      reason: form.elements.reason.value,
      remind_after_minutes: minutes ? Number(minutes) : null,
    });
  }

  // A span in words, to the minute, as alerts/read.py `duration` words it.
  function duration(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) return "less than a minute";
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes %= 60;
    if (hours < 24) return hours + " h" + (minutes ? " " + minutes + " min" : "");
    var days = Math.floor(hours / 24);
    hours %= 24;
    return days + " d" + (hours ? " " + hours + " h" : "");
  }

  // The server says how long the alert had been open when it rendered the state; counted on
  // from when the browser got it, so a clock set wrong on either side changes nothing.
  function stamp(root) {
    root.querySelectorAll("[data-open-s]").forEach(function (el) { el.openSince = Date.now(); });
  }

  function tick() {
    document.querySelectorAll("[data-open-s]").forEach(function (el) {
      if (el.openSince === undefined) el.openSince = Date.now();
      el.textContent = duration(Number(el.dataset.openS) + (Date.now() - el.openSince) / 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (button && button.type !== "submit") act(button.dataset.action, button.dataset.url);
    });
    document.addEventListener("submit", function (event) {
      if (event.target.id !== "ack-form") return;
      event.preventDefault();
      acknowledge(event.target);
    });
    var suppress = document.getElementById("suppress-form");
    if (suppress) onSubmit(suppress, "suppress", function () {
      return { minutes: Number(suppress.minutes.value), comment: suppress.comment.value };
    }, function () {});
    var comment = document.getElementById("comment-form");
    if (comment) onSubmit(comment, "comment", function () { return { text: comment.text.value }; }, function () {
      comment.text.value = "";
    });
    htmx.onLoad(stamp);
    setInterval(tick, TICK_MS);
  });
})();
