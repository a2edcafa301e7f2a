// The silence form: a new form reads times in the viewer's own zone (the server cannot know it).
(function () {
  "use strict";
  var select = document.querySelector("select[data-local-zone]");
  if (!select || !window.Time) return;
  var known = Array.prototype.some.call(select.options, function (option) { return option.value === window.Time.zone; });
  if (known) select.value = window.Time.zone;
})();
