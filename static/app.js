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

  // Keyboard shortcuts (the overlay in the layout lists them): j / k move
  // between the notes, Enter opens the focused note's conversation at that
  // note, e edits it, / focuses the search, Esc leaves the search, ? shows
  // the overlay. Nothing happens while typing or with Ctrl, Alt or Meta.
  var lastNote = null;

  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function noteRows() {
    return Array.prototype.filter.call(document.querySelectorAll('article.note[data-testid="note"]'), function (el) {
      return el.offsetParent !== null || el.getClientRects().length > 0;
    });
  }

  function currentNote() {
    var a = document.activeElement;
    var el = a && a.closest ? a.closest('article.note[data-testid="note"]') : null;
    if (el) { return el; }
    return lastNote && document.contains(lastNote) ? lastNote : null;
  }

  function focusNote(el) {
    if (!el.hasAttribute("tabindex")) { el.setAttribute("tabindex", "-1"); }
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "nearest" });
    lastNote = el;
  }

  function moveNote(step) {
    var rows = noteRows();
    if (!rows.length) { return false; }
    var i = rows.indexOf(currentNote());
    if (i < 0) {
      i = step > 0 ? 0 : rows.length - 1;
    } else {
      i = Math.min(rows.length - 1, Math.max(0, i + step));
    }
    focusNote(rows[i]);
    return true;
  }

  // openNote follows the note's conversation link. A link that does not
  // name the note yet gets ?note= and the note's fragment, and the list's
  // search, so the conversation opens at the note with its matches marked.
  function openNote(el) {
    var link = el.querySelector("a[data-open]");
    if (!link) { return false; }
    var u = new URL(link.href, location.href);
    var id = el.getAttribute("data-note-id");
    if (id && !u.searchParams.has("note")) { u.searchParams.set("note", id); }
    var q = new URLSearchParams(location.search).get("q");
    if (q && !u.searchParams.has("q")) { u.searchParams.set("q", q); }
    if (!u.hash && el.id) { u.hash = el.id; }
    location.assign(u.toString());
    return true;
  }

  function keysDialog() { return document.getElementById("keys-help"); }

  var keysOpener = null;
  function toggleKeys(opener) {
    var d = keysDialog();
    if (!d || typeof d.showModal !== "function") { return false; }
    if (d.open) { d.close(); return true; }
    keysOpener = opener || document.activeElement;
    d.showModal();
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.defaultPrevented || ev.ctrlKey || ev.altKey || ev.metaKey || ev.isComposing) { return; }
    var t = ev.target;
    if (ev.key === "Escape" && t && t.id === "q") { t.blur(); ev.preventDefault(); return; }
    if (typing(t)) { return; }
    var d = keysDialog();
    if (d && d.open) {
      if (ev.key === "?") { ev.preventDefault(); d.close(); }
      return; // the dialog's own Esc and Tab handling
    }
    var done = false;
    switch (ev.key) {
      case "j": done = moveNote(1); break;
      case "k": done = moveNote(-1); break;
      case "Enter":
        // Only on the row itself: on a link or button inside it Enter does
        // what that control does.
        if (t && t.matches && t.matches('article.note[data-testid="note"]')) { done = openNote(t); }
        break;
      case "e": {
        var n = currentNote();
        var edit = n ? n.querySelector('[data-testid="note-edit"]') : null;
        if (edit) { edit.click(); done = true; }
        break;
      }
      case "/": {
        var q = document.getElementById("q");
        if (q) { q.focus(); q.select(); done = true; }
        break;
      }
      case "?": done = toggleKeys(null); break;
    }
    if (done) { ev.preventDefault(); }
  });

  document.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest("[data-keys-open]") : null;
    if (el) { ev.preventDefault(); toggleKeys(el); }
  });

  // Focus goes back where it was when the overlay closes (Esc, the button).
  function watchKeys() {
    var d = keysDialog();
    if (!d) { return; }
    d.addEventListener("close", function () {
      if (keysOpener && document.contains(keysOpener) && keysOpener.focus) { keysOpener.focus(); }
      keysOpener = null;
    });
    // The footer's button only shows where the script runs: the keys need it.
    document.querySelectorAll("[data-keys-only]").forEach(function (el) { el.hidden = false; });
  }

  // A conversation opened at a note (?note=) without its fragment scrolls
  // to it; with the fragment the browser already has.
  function scrollToTarget() {
    if (location.hash) { return; }
    var row = document.querySelector("[data-target-note]");
    if (row) { row.scrollIntoView({ block: "center" }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    fillZone(document);
    watchKeys();
    scrollToTarget();
  });
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
