// ticketnotes front-end behaviour that htmx does not cover. Loaded as a
// file (no inline script) so the Content-Security-Policy can forbid inline
// code entirely.
(function () {
  "use strict";

  // Offer the browser's time zone on the preferences form when none is set.
  function fillZone(root) {
    root.querySelectorAll("[data-browser-zone]").forEach(function (el) {
      if (!el.value) {
        try { el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep empty */ }
      }
    });
  }

  // Escape closes an inline edit form by pressing its cancel link.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") { return; }
    var form = ev.target && ev.target.closest ? ev.target.closest("form[data-inline-edit]") : null;
    if (!form) { return; }
    var cancel = form.querySelector("[data-cancel]");
    if (cancel) { ev.preventDefault(); cancel.click(); }
  });

  // Move focus into freshly swapped content marked with data-autofocus, so
  // keyboard users land where the change happened.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var el = ev.detail && ev.detail.elt ? ev.detail.elt.querySelector("[data-autofocus]") : null;
    if (el) { el.focus(); }
    fillZone(document);
  });

  // The print view's button prints the page.
  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (el) { ev.preventDefault(); window.print(); }
  });

  document.addEventListener("DOMContentLoaded", function () { fillZone(document); });
})();
