// Alerts list: "retry now" on dead-lettered deliveries posts to the address the button
// names. The table itself is a server-rendered fragment that live.js keeps current.
(function () {
  "use strict";

  function retry(button) {
    var result = document.getElementById("action-result");
    button.disabled = true;
    Live.postJSON(button.dataset.url).then(function () {
      result.textContent = "Delivery #" + button.dataset.retry + " queued again.";
      button.closest("tr").remove();
    }, function (error) {
      result.textContent = error.message;
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-retry]").forEach(function (button) {
      button.addEventListener("click", function () { retry(button); });
    });
  });
})();
