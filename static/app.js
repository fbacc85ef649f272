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

// The range chart (views/range.templ): drag across bars to narrow the list
// to those days. Each bar is already a link to its own days, so a click (and
// the page without JavaScript) narrows to one bar; a drag over several
// opens the first bar's link with its "to" day taken from the last bar.
(function () {
  "use strict";
  var start = null;
  function barAt(ev) {
    var el = document.elementFromPoint(ev.clientX, ev.clientY);
    return el && el.closest ? el.closest("[data-testid=range-bar]") : null;
  }
  function mark(a, b) {
    var chart = a.closest("svg");
    var bars = chart ? chart.querySelectorAll("[data-testid=range-bar]") : [];
    var lo = a.getAttribute("data-from") < b.getAttribute("data-from") ? a : b;
    var hi = lo === a ? b : a;
    for (var i = 0; i < bars.length; i++) {
      var f = bars[i].getAttribute("data-from");
      bars[i].classList.toggle("range-picked", f >= lo.getAttribute("data-from") && f <= hi.getAttribute("data-from"));
    }
    return [lo, hi];
  }
  document.addEventListener("pointerdown", function (ev) {
    var bar = ev.button === 0 ? barAt(ev) : null;
    start = bar ? { bar: bar, last: bar } : null;
  });
  document.addEventListener("pointermove", function (ev) {
    if (!start) { return; }
    var bar = barAt(ev);
    if (bar && bar !== start.last && bar.closest("svg") === start.bar.closest("svg")) {
      start.last = bar;
      mark(start.bar, bar);
    }
  });
  // pointerup, not click: a press and release on different bars clicks
  // their common parent, the SVG, not a link.
  document.addEventListener("pointerup", function () {
    var s = start;
    start = null;
    if (!s || s.last === s.bar) { return; }
    var ends = mark(s.bar, s.last);
    var u = new URL(ends[0].getAttribute("href"), window.location.href);
    u.searchParams.set("to", ends[1].getAttribute("data-to"));
    window.location.assign(u.toString());
  });
  document.addEventListener("pointercancel", function () { start = null; });
  // A link's native drag would cancel the pointer events.
  document.addEventListener("dragstart", function (ev) {
    if (ev.target && ev.target.closest && ev.target.closest("[data-testid=range-bar]")) { ev.preventDefault(); }
  });
})();
