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

  // The add form's button says what the chosen account will do with the
  // note ("Send to the customer"): each option carries its label.
  document.addEventListener("change", function (ev) {
    var sel = ev.target;
    if (!sel || !sel.matches || !sel.matches("select[data-submit-label]")) { return; }
    var btn = document.getElementById(sel.getAttribute("data-submit-label"));
    var opt = sel.options[sel.selectedIndex];
    if (btn && opt && opt.getAttribute("data-label")) { btn.textContent = opt.getAttribute("data-label"); }
  });

  // The print view's button prints the page.
  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-print]") : null;
    if (el) { ev.preventDefault(); window.print(); }
  });

  document.addEventListener("DOMContentLoaded", function () { fillZone(document); });
})();
