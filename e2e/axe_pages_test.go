package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeRun is how long TestAxe may take as a whole: every page twice, on a
// shared machine.
const axeRun = 8 * time.Minute

// TestAxe checks every page of the dashboard with axe-core in the light and
// the dark colour scheme (see checkAccessible): signed out, then as the
// demo admin after an edit (so the audit log has a diff to expand and the
// note a history) and a deletion at the vendor (so the conversation shows
// a deleted note). With TICKETNOTES_SCREENSHOTS set it also saves the
// notes page and the conversation at 1280×900 and 390×844 in both schemes.
func TestAxe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), axeRun)
	defer cancel()
	a := startApp(t)
	b := startBrowser(t, ctx)
	t.Run("sign-in", func(t *testing.T) { checkAccessible(b.step(t), t, a, "/login", "") })
	if !t.Run("sign in as the demo admin", func(t *testing.T) { signIn(b.step(t), t, a) }) {
		t.FailNow()
	}
	var f flow
	if !t.Run("edit a note", func(t *testing.T) { editNote(b.step(t), t, a, &f) }) || f.editedID == "" {
		t.FailNow()
	}
	// Another note of the edited one's ticket goes at the vendor.
	for _, n := range a.demo.Sandbox.Sendbird.Notes() {
		if strconv.FormatInt(n.TicketID, 10) == f.ticket && strconv.FormatInt(n.ID, 10) != f.editedID {
			if err := a.demo.Sandbox.Sendbird.RemoveNote(n.ID); err != nil {
				t.Fatal(err)
			}
			f.deletedID = strconv.FormatInt(n.ID, 10)
			break
		}
	}
	a.sync(t)

	from := time.Now().AddDate(0, 0, -2).Format(time.DateOnly)
	to := time.Now().Format(time.DateOnly)
	conv := conversationPath(a, &f) + "?" + url.Values{"note": {f.editedID}, "q": {"edit"}}.Encode()
	const openAll = `document.querySelectorAll('details').forEach(d => { d.open = true; })`
	const openEdit = `document.querySelector('[data-testid="audit-row"][data-action="note.update"] details').open = true`
	const openKeys = `document.querySelector('[data-keys-open]').click()`
	pages := []struct{ name, path, prepare string }{
		{"notes", "/notes", ""},
		{"notes with every detail open", "/notes", openAll},
		{"notes searching", "/notes?q=edit", ""},
		{"notes in a narrow range", "/notes?" + url.Values{"from": {from}, "to": {to}}.Encode(), ""},
		{"keyboard shortcuts", "/notes", openKeys},
		{"conversation from a search result", conv, ""},
		{"conversation print view", conversationPath(a, &f) + "/print", ""},
		{"audit with a diff expanded", "/audit", openEdit},
		{"audit with every detail expanded", "/audit", openAll},
		{"audit verification", "/audit/verify", ""},
		{"note history", historyPath(&f), ""},
		{"accounts", "/accounts", ""},
		{"account settings", "/accounts/" + sendbirdID + "/edit", ""},
		{"new account", "/accounts/new", ""},
		{"users", "/users", ""},
		{"new user", "/users/new", ""},
		{"user settings", "/users/1/edit", ""},
		{"preferences", "/preferences", ""},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) { checkAccessible(b.step(t), t, a, p.path, p.prepare) })
	}
	// The pages whose text this work changed, in Chinese.
	zh := t.Run("switch to Chinese", func(t *testing.T) { setLanguage(b.step(t), t, a, "zh-Hans") })
	if zh {
		for _, p := range []struct{ name, path, prepare string }{
			{"notes", "/notes", ""},
			{"keyboard shortcuts", "/notes", openKeys},
			{"conversation from a search result", conv, ""},
			{"audit with a diff expanded", "/audit", openEdit},
		} {
			t.Run("zh "+p.name, func(t *testing.T) { checkAccessible(b.step(t), t, a, p.path, p.prepare) })
		}
	}
	if problems := b.takeProblems(); len(problems) > 0 {
		t.Errorf("the pages reported: %q", problems)
	}

	shots := os.Getenv("TICKETNOTES_SCREENSHOTS")
	if shots == "" {
		return
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("screenshots", func(t *testing.T) {
		langs := []string{"en"}
		if zh {
			langs = append(langs, "zh-Hans")
		}
		for _, lang := range langs {
			if !t.Run("language "+lang, func(t *testing.T) { setLanguage(b.step(t), t, a, lang) }) {
				return
			}
			shootAll(t, b, a, shots, lang, conv, openEdit, openKeys)
		}
	})
}

// shootAll saves the notes page, a search, the conversation opened from
// it, the audit log with a diff open and the keys overlay, in both schemes
// at both sizes, their names ending in lang.
func shootAll(t *testing.T, b *browser, a *app, shots, lang, conv, openEdit, openKeys string) {
	for _, scheme := range schemes {
		for _, s := range []struct {
			name, path, prepare string
		}{
			{"notes", "/notes", ""},
			{"search", "/notes?q=edit", ""},
			{"conversation", conv, ""},
			{"audit", "/audit", openEdit},
		} {
			for _, size := range [][2]int64{{1280, 900}, {390, 844}} {
				ctx := b.step(t)
				if !setScheme(ctx, t, scheme) {
					return
				}
				name := s.name + "-" + strconv.FormatInt(size[0], 10) + "-" + scheme + "-" + lang + ".png"
				screenshotAt(ctx, t, a, shots, s.path, name, size[0], size[1], s.prepare)
			}
		}
	}
	// The overlay as the screen shows it (a full page would shrink it
	// to nothing).
	for _, scheme := range schemes {
		for _, size := range [][2]int64{{1280, 900}, {390, 844}} {
			ctx := b.step(t)
			if !setScheme(ctx, t, scheme) || !do(ctx, t, "setting the viewport", chromedp.EmulateViewport(size[0], size[1])) || !open(ctx, t, a, "/notes") {
				return
			}
			if _, ok := eval[chromedp.Void](ctx, t, openKeys); !ok {
				return
			}
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shots, "keys-"+strconv.FormatInt(size[0], 10)+"-"+scheme+"-"+lang+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := b.step(t)
	setScheme(ctx, t, "light")
	do(ctx, t, "resetting the viewport", chromedp.EmulateViewport(1280, 900))
}

// setLanguage saves lang on the preferences form, as a person would.
func setLanguage(ctx context.Context, t *testing.T, a *app, lang string) {
	if !open(ctx, t, a, "/preferences") {
		return
	}
	if !choose(ctx, t, "#lang", lang) {
		return
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/preferences"] button[type="submit"]`), chromedp.NodeVisible)); err != nil {
		t.Fatalf("saving the preferences: %v", err)
	}
	if got, ok := eval[string](ctx, t, `document.documentElement.lang`); !ok || got != lang {
		t.Fatalf("after saving %s the page is in %q", lang, got)
	}
}
