// Practice Desk: small behaviours that need no framework. No inline scripts (CSP).
(function () {
  "use strict";

  // The menu button on narrow screens.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var sidebar = document.getElementById("sidebar");
    var open = sidebar.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // After the idle limit the server has already signed the user out; take the page away too,
  // so protected data does not stay on an unattended screen.
  var body = document.body;
  var idleSeconds = parseInt(body.dataset.idleLogoff || "0", 10);
  if (idleSeconds > 0) {
    var timer;
    var reset = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        window.location.assign(body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
      }, idleSeconds * 1000 + 2000);
    };
    ["keydown", "mousedown", "touchstart"].forEach(function (name) {
      document.addEventListener(name, reset, { passive: true });
    });
    reset();
  }

  // Progress bars polled by htmx carry their value in data attributes (no inline styles).
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-autofocus]").forEach(function (el) { el.focus(); });
  });
})();
