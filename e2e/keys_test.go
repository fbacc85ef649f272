package e2e

import (
	"context"
	"net/url"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// keyInfo is what a keyboard sends for one key: the key and code names,
// the Windows key code, the text it types ("" for none) and whether Shift
// is down.
type keyInfo struct {
	code  string
	vk    int64
	text  string
	shift bool
}

var keyboard = map[string]keyInfo{
	"j": {"KeyJ", 74, "j", false}, "e": {"KeyE", 69, "e", false}, "k": {"KeyK", 75, "k", false}, "/": {"Slash", 191, "/", false},
	"?": {"Slash", 191, "?", true}, "Enter": {"Enter", 13, "\r", false}, "Escape": {"Escape", 27, "", false},
}

// keyPress presses and releases key as a keyboard does: one keyDown
// carrying its text, so a page that cancels the keydown keeps the text
// out of a field, as in a real browser (chromedp.KeyEvent sends the text
// as an event of its own, which nothing can cancel).
func keyPress(key string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		k := keyboard[key]
		var mods int64
		if k.shift {
			mods = 8 // Shift
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: k.code, WindowsVirtualKeyCode: k.vk,
			NativeVirtualKeyCode: k.vk, Text: k.text, UnmodifiedText: k.text, Modifiers: mods}
		if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, up)
		return err
	})
}

// pressKey is dispatchKey failing the test on an error.
func pressKey(ctx context.Context, t *testing.T, key string) bool {
	t.Helper()
	if err := chromedp.Do(ctx, keyPress(key)); err != nil {
		t.Errorf("pressing %s: %v", key, err)
		return false
	}
	return true
}

// TestKeyboard drives the shortcuts of static/app.js in Chromium: "/"
// focuses the search and Esc leaves it, j j focuses the second note,
// Enter opens its conversation at that note (targeted, marked), Back
// returns, "?" opens the overlay with focus inside it and Esc closes it,
// the footer's button opens it too and gets focus back, e opens an
// admin's inline edit and Esc cancels it; keys typed into a field stay in
// the field.
func TestKeyboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wholeRun)
	defer cancel()
	a := startApp(t)
	b := startBrowser(t, ctx)
	if !t.Run("sign in", func(t *testing.T) { signIn(b.step(t), t, a) }) {
		t.FailNow()
	}
	t.Run("keys", func(t *testing.T) { keys(b.step(t), t, a) })
	if problems := b.takeProblems(); len(problems) > 0 {
		t.Errorf("the pages reported: %q", problems)
	}
}

func keys(ctx context.Context, t *testing.T, a *app) {
	if !open(ctx, t, a, "/notes") {
		return
	}
	active := func() string {
		s, _ := eval[string](ctx, t, `(() => { const e = document.activeElement; return e ? (e.id || e.tagName.toLowerCase()) : ''; })()`)
		return s
	}
	press := func(what, key string) bool { return pressKey(ctx, t, key) }

	// "/" focuses the search; a "j" typed there is text, not a move.
	if !press("/", "/") || active() != "q" {
		t.Fatalf("after / the focus is on %q, want the search box #q", active())
	}
	if !press("j in the search", "j") {
		return
	}
	if v, _ := eval[string](ctx, t, `document.getElementById('q').value`); v != "j" {
		t.Errorf("typing j into the search left %q", v)
	}
	if _, ok := eval[chromedp.Void](ctx, t, `document.getElementById('q').value = ''`); !ok || !press("Esc", "Escape") {
		return
	}
	if got := active(); got == "q" {
		t.Error("Esc did not leave the search box")
	}

	// j j: the second note is focused, visibly, in view.
	if !press("j", "j") || !press("j", "j") {
		return
	}
	type focused struct {
		Index   int    `json:"index"`
		ID      string `json:"id"`
		NoteID  string `json:"noteId"`
		Outline string `json:"outline"`
		InView  bool   `json:"inView"`
	}
	f, ok := eval[focused](ctx, t, `(() => {
		const rows = Array.from(document.querySelectorAll('article.note[data-testid="note"]'));
		const e = document.activeElement;
		const r = e.getBoundingClientRect();
		return {index: rows.indexOf(e), id: e.id, noteId: e.getAttribute('data-note-id') || '',
			outline: getComputedStyle(e).outlineStyle, inView: r.top >= 0 && r.top < innerHeight};
	})()`)
	if !ok {
		return
	}
	if f.Index != 1 || f.Outline == "none" || !f.InView {
		t.Fatalf("after j j the focus is %+v, want the second note, outlined, in view", f)
	}
	// k goes back up, j down again.
	if !press("k", "k") {
		return
	}
	if i, _ := eval[int](ctx, t, `Array.from(document.querySelectorAll('article.note[data-testid="note"]')).indexOf(document.activeElement)`); i != 0 {
		t.Errorf("after k the focused note is #%d, want the first", i)
	}
	if !press("j", "j") {
		return
	}

	// Enter opens the conversation at that note.
	if !press("Enter", "Enter") || !waitJS(ctx, t, "the conversation after Enter", `location.pathname.startsWith('/tickets/') && document.readyState === 'complete'`) {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("Enter on note %s left the browser on %s", f.NoteID, loc)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if u == nil || u.Query().Get("note") != f.NoteID || u.Fragment != f.ID {
		t.Fatalf("Enter opened %s, want the conversation at note %s (#%s)", loc, f.NoteID, f.ID)
	}
	if !waitJS(ctx, t, "the opened note targeted and marked", `(() => {
		const n = document.getElementById(`+jsString(f.ID)+`);
		return !!n && n.matches(':target') && !!n.closest('li.note-target') && !!n.closest('[data-testid="timeline"]');
	})()`) {
		return
	}

	// Back to the list (the page may come from the back-forward cache,
	// which fires no load event for chromedp.NavigateBack to wait on).
	if _, ok := eval[chromedp.Void](ctx, t, `history.back()`); !ok {
		return
	}
	if !waitJS(ctx, t, "the notes list again", `location.pathname === '/notes' && !!document.getElementById('q')`) {
		return
	}

	// "?" opens the overlay, focus inside; Esc closes it and gives focus back.
	if !press("?", "?") {
		return
	}
	if !waitJS(ctx, t, "the keyboard overlay open with focus inside", `(() => {
		const d = document.getElementById('keys-help');
		return !!d && d.open && d.contains(document.activeElement);
	})()`) {
		return
	}
	if !press("Esc", "Escape") {
		return
	}
	if !waitJS(ctx, t, "the overlay closed", `!document.getElementById('keys-help').open`) {
		return
	}
	// The footer's button opens it too, and focus returns to the button.
	// (A fresh load: chromedp's view of a page restored by Back is stale.)
	if !open(ctx, t, a, "/notes") {
		return
	}
	if !do(ctx, t, "pressing the footer's button", chromedp.Click(chromedp.CSS(`footer [data-keys-open]`), chromedp.NodeVisible)) {
		return
	}
	if !waitJS(ctx, t, "the overlay open from the footer", `document.getElementById('keys-help').open`) {
		return
	}
	if !do(ctx, t, "closing the overlay", chromedp.Click(chromedp.CSS(`#keys-help [data-testid="keys-close"]`), chromedp.NodeVisible)) {
		return
	}
	if !waitJS(ctx, t, "focus back on the footer's button", `!document.getElementById('keys-help').open && document.activeElement.matches('[data-keys-open]')`) {
		return
	}

	// e edits the focused note (an admin's notes have the button), and Esc
	// in the form cancels the edit.
	if !open(ctx, t, a, "/notes") {
		return
	}
	first, ok := eval[int](ctx, t, `Array.from(document.querySelectorAll('article.note[data-testid="note"]')).findIndex(n => !!n.querySelector('[data-testid="note-edit"]'))`)
	if !ok || first < 0 {
		t.Fatalf("no editable note on /notes (first at %d)", first)
	}
	for i := 0; i <= first; i++ {
		if !press("j", "j") {
			return
		}
	}
	if !press("e", "e") {
		return
	}
	if !waitJS(ctx, t, "the inline edit form with its text focused", `!!document.activeElement && document.activeElement.matches('form[data-testid="note-edit-form"] textarea')`) {
		return
	}
	if !press("Esc", "Escape") {
		return
	}
	waitJS(ctx, t, "the edit cancelled", `!document.querySelector('form[data-testid="note-edit-form"]')`)
}
