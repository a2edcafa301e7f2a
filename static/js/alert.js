// One alert's actions: each posts to the API address its button or form names (CSRF
// header), then the page asks the server for the alert's state and history again. Other
// people's changes arrive as deltas (see live.js).
(function () {
  "use strict";

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

  document.addEventListener("DOMContentLoaded", function () {
    // Listened for on the document: the buttons come and go with the alert's state fragment.
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-action]");
      if (button) act(button.dataset.action, button.dataset.url);
    });
    var suppress = document.getElementById("suppress-form");
    if (suppress) onSubmit(suppress, "suppress", function () {
      return { minutes: Number(suppress.minutes.value), comment: suppress.comment.value };
    }, function () {});
    var comment = document.getElementById("comment-form");
    if (comment) onSubmit(comment, "comment", function () { return { text: comment.text.value }; }, function () {
      comment.text.value = "";
    });
  });
})();
