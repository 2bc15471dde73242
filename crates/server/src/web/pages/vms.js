// VM generator page: follows the event stream and re-dispatches job progress and command
// changes on <body> as "vmgen"; fragments refresh with hx-trigger="vmgen from:body". The
// stream starts at the event the page was rendered at, so nothing in between is missed.
(function () {
  "use strict";
  var anchor = document.querySelector("[data-vmgen-events]");
  if (!anchor || !window.EventSource) return;
  var source = new EventSource(anchor.getAttribute("data-vmgen-events"));
  // At most one refresh per 300 ms, and always one after the last event of a burst.
  var pending = null;
  function relay() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      document.body.dispatchEvent(new CustomEvent("vmgen"));
    }, 300);
  }
  ["vmgen.step", "vmgen.job", "vm-command"].forEach(function (kind) {
    source.addEventListener(kind, relay);
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
