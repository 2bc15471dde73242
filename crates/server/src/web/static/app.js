// Bot-Mox console behaviour. Progressive: every page works as plain links and forms; this
// adds the theme toggle, live command events and note autosave status.
(function () {
  "use strict";

  // Theme: an explicit choice is kept in a cookie (read by the server to render data-theme);
  // without one the CSS follows prefers-color-scheme.
  function currentTheme() {
    var explicit = document.documentElement.getAttribute("data-theme");
    if (explicit) return explicit;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  function setTheme(theme) {
    document.documentElement.setAttribute("data-theme", theme);
    document.cookie = "botmox_theme=" + theme + "; Path=/; Max-Age=31536000; SameSite=Strict";
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("#theme-toggle");
    if (t) setTheme(currentTheme() === "dark" ? "light" : "dark");
  });

  // Close the user menu with Escape.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
  });

  // Live command events for pages that ask for them (data-live-commands on an element).
  // Each event is re-dispatched on <body> as "vm-command"; fragments refresh with
  // hx-trigger="vm-command from:body".
  function startEvents() {
    if (!document.querySelector("[data-live-commands]") || !window.EventSource) return;
    var source = new EventSource("/ui/events");
    source.addEventListener("vm-command", function (e) {
      var detail = null;
      try { detail = JSON.parse(e.data); } catch (_) { /* keep null */ }
      document.body.dispatchEvent(new CustomEvent("vm-command", { detail: detail }));
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startEvents);
  } else {
    startEvents();
  }
})();
