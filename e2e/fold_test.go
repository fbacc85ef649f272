package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFirstNoteAboveTheFold opens the notes page as it first loads, and
// searching, at a laptop's and a phone's viewport, in English and Chinese:
// the first note's whole box is inside the first screen, with no scrolling.
// With TICKETNOTES_SCREENSHOTS set it also saves each screen there.
func TestFirstNoteAboveTheFold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wholeRun)
	defer cancel()
	a := startApp(t)
	b := startBrowser(t, ctx)
	shots := os.Getenv("TICKETNOTES_SCREENSHOTS")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a.sync(t)
	if !t.Run("sign in", func(t *testing.T) { signIn(b.step(t), t, a) }) {
		t.FailNow()
	}
	for _, lang := range []string{"en", "zh-Hans"} {
		if !t.Run("language "+lang, func(t *testing.T) { setLanguage(b.step(t), t, a, lang) }) {
			t.FailNow()
		}
		for _, vp := range []struct{ w, h int64 }{{1280, 900}, {390, 844}} {
			for _, page := range []struct{ name, path string }{{"default", "/notes"}, {"searching", "/notes?q=the"}} {
				name := fmt.Sprintf("%s-%s-%d", page.name, lang, vp.w)
				t.Run(name, func(t *testing.T) {
					ctx := b.step(t)
					shot := ""
					if shots != "" {
						shot = filepath.Join(shots, "fold-"+name+".png")
					}
					firstNoteInView(ctx, t, a, page.path, vp.w, vp.h, shot)
				})
			}
		}
	}
}

// firstNoteInView loads path at width×height and checks the first note's
// box lies inside the viewport as loaded; shot, unless "", is where the
// screen as loaded is saved.
func firstNoteInView(ctx context.Context, t *testing.T, a *app, path string, width, height int64, shot string) {
	t.Helper()
	if !do(ctx, t, "setting the viewport", chromedp.EmulateViewport(width, height)) {
		return
	}
	defer do(context.WithoutCancel(ctx), t, "resetting the viewport", chromedp.EmulateViewport(1280, 900))
	if !open(ctx, t, a, path) {
		return
	}
	if shot != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Errorf("screenshot of %s: %v", path, err)
			return
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Error(err)
		}
	}
	type box struct {
		Found                    bool
		Top, Bottom, Left, Right float64
		ViewWidth, ViewHeight    float64
		ScrollX, ScrollY         float64
	}
	b, ok := eval[box](ctx, t, `(() => {
		const n = document.querySelector('#notes-results [data-testid="note"]');
		if (!n) { return {found: false}; }
		const r = n.getBoundingClientRect();
		return {found: true, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
			viewWidth: document.documentElement.clientWidth, viewHeight: window.innerHeight, scrollX: window.scrollX, scrollY: window.scrollY};
	})()`)
	switch {
	case !ok:
	case !b.Found:
		t.Errorf("%s at %dx%d: no note in #notes-results", path, width, height)
	case b.ScrollX != 0 || b.ScrollY != 0:
		t.Errorf("%s at %dx%d: the page opened scrolled (%v, %v)", path, width, height, b.ScrollX, b.ScrollY)
	case b.Top < 0 || b.Left < 0 || b.Bottom > b.ViewHeight || b.Right > b.ViewWidth:
		t.Errorf("%s at %dx%d: the first note's box %.0f,%.0f–%.0f,%.0f is not inside the first screen (%.0f×%.0f)",
			path, width, height, b.Left, b.Top, b.Right, b.Bottom, b.ViewWidth, b.ViewHeight)
	}
}
