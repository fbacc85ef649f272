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

// Notes page (issue 10). Every control here is a plain link first; this
// block only makes them smoother. "Add a note" unfolds the form where it
// is instead of loading the page again; "Copy link" copies the note's
// address instead of opening it; an account chip opened to read its
// detail stays open while the line of chips re-polls during a sync.
(function () {
  "use strict";

  document.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target : null;
    if (!t || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) { return; }
    var add = t.closest("a[data-open-add]");
    if (add) {
      var form = document.getElementById(add.getAttribute("data-open-add"));
      if (!form) { return; }
      ev.preventDefault();
      form.open = true;
      form.scrollIntoView({ block: "start" });
      var first = form.querySelector("select, textarea, input:not([type=hidden])");
      if (first) { first.focus({ preventScroll: true }); }
      return;
    }
    var copy = t.closest("a[data-copy-link]");
    if (copy && navigator.clipboard && window.isSecureContext) {
      ev.preventDefault();
      var url = new URL(copy.getAttribute("href"), location.href).href;
      navigator.clipboard.writeText(url).then(function () {
        var label = copy.textContent;
        copy.textContent = copy.getAttribute("data-copied") || label;
        setTimeout(function () { copy.textContent = label; }, 1500);
      }, function () { location.href = url; });
    }
  });

  var openChips = {};
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d || !d.matches || !d.matches(".status-details")) { return; }
    var id = d.parentElement && d.parentElement.getAttribute("data-account-id");
    if (id) { openChips[id] = d.open; }
  }, true);
  function reopenChips() {
    var line = document.getElementById("notes-statuses");
    if (!line) { return; }
    line.querySelectorAll("[data-account-id] > .status-details").forEach(function (d) {
      if (openChips[d.parentElement.getAttribute("data-account-id")] && !d.open) { d.open = true; }
    });
  }
  document.addEventListener("htmx:afterSwap", reopenChips);
  document.addEventListener("htmx:oobAfterSwap", reopenChips);
})();
