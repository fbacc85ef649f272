package e2e

import (
	"context"
	_ "embed"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeJS is axe-core, vendored by static/vendor.sh (MPL-2.0, see
// testdata/axe/LICENSE).
//
//go:embed testdata/axe/axe.min.js
var axeJS string

// violation is one axe-core rule that failed.
type violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

// schemes are the colour schemes every page is checked in: the page
// follows prefers-color-scheme, so each must pass on its own.
var schemes = []string{"light", "dark"}

// setScheme makes the tab report prefers-color-scheme: scheme.
func setScheme(ctx context.Context, t *testing.T, scheme string) bool {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Errorf("emulating prefers-color-scheme: %s: %v", scheme, err)
		return false
	}
	return true
}

// checkAccessible loads path with the page's CSP bypassed (so the injected
// axe-core may run), runs prepare (JavaScript that opens what a person
// would open, or ""), runs axe in the light and in the dark colour scheme
// and fails on every violation, whatever its impact. It also fails on
// message ids shown untranslated.
func checkAccessible(ctx context.Context, t *testing.T, a *app, path, prepare string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("Page.setBypassCSP: %v", err)
	}
	// Later pages run under the app's real CSP again.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: false}); err != nil {
			t.Errorf("Page.setBypassCSP off: %v", err)
		}
	}()
	if !open(ctx, t, a, path) {
		return
	}
	if prepare != "" {
		if _, ok := eval[chromedp.Void](ctx, t, prepare); !ok {
			return
		}
	}
	checkTranslated(ctx, t, path)
	if _, ok := eval[chromedp.Void](ctx, t, axeJS); !ok {
		return
	}
	// The next page starts light again, as a browser without a preference.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		setScheme(ctx, t, "light")
	}()
	for _, scheme := range schemes {
		if !setScheme(ctx, t, scheme) {
			return
		}
		// The scheme is the one asked for: the stylesheet follows it.
		if got, ok := eval[bool](ctx, t, `matchMedia('(prefers-color-scheme: dark)').matches`); !ok || got != (scheme == "dark") {
			t.Errorf("%s: prefers-color-scheme: dark matches %v in the %s scheme", path, got, scheme)
			return
		}
		vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
			id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length,
			targets: v.nodes.slice(0, 3).map(n => JSON.stringify(n.target)),
		})))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe.run on %s (%s): %v", path, scheme, err)
		}
		for _, v := range vs {
			t.Errorf("%s (%s): axe %s (%s): %s — %d element(s), first: %s", path, scheme, v.ID, v.Impact, v.Help, v.Nodes, strings.Join(v.Targets, " "))
		}
	}
}

// checkTranslated fails when the page shows a message id such as
// "notes.title" instead of its text: a text node, the title or a label
// attribute that is nothing but a dotted lower-case id. Code, monospace and
// preformatted text (audit actions, hashes) are left out.
func checkTranslated(ctx context.Context, t *testing.T, path string) {
	t.Helper()
	raw, ok := eval[[]string](ctx, t, `(() => {
		const id = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
		const skip = 'code, pre, .mono, script, style, [data-testid="audit"]';
		const found = new Set();
		if (id.test(document.title.split(' · ')[0].trim())) { found.add('<title> ' + document.title); }
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const s = n.textContent.trim();
			const el = n.parentElement;
			// An option that shows its own value (an audit action) is data.
			if (el.tagName === 'OPTION' && el.value === s) { continue; }
			if (id.test(s) && !el.closest(skip)) { found.add(s); }
		}
		document.querySelectorAll('[aria-label], [placeholder], [title], [alt]').forEach(el => {
			if (el.closest(skip)) { return; }
			for (const at of ['aria-label', 'placeholder', 'title', 'alt']) {
				const v = (el.getAttribute(at) || '').trim();
				if (id.test(v)) { found.add(at + '=' + v); }
			}
		});
		return Array.from(found);
	})()`)
	if ok && len(raw) > 0 {
		t.Errorf("%s shows untranslated message ids: %s", path, strings.Join(raw, ", "))
	}
}

// screenshot saves a full-page PNG of path at width CSS pixels (scrollbars
// hidden, so the page gets the whole width) into dir, and logs the elements
// that stick out past the right edge.
func screenshot(ctx context.Context, t *testing.T, a *app, dir, path, name string, width int64) {
	t.Helper()
	screenshotAt(ctx, t, a, dir, path, name, width, 900, "")
}

// screenshotAt is screenshot with the viewport's height and JavaScript
// (prepare, or "") that opens what a person would open first.
func screenshotAt(ctx context.Context, t *testing.T, a *app, dir, path, name string, width, height int64, prepare string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true}); err != nil {
		t.Errorf("hiding scrollbars: %v", err)
		return
	}
	if !do(ctx, t, "setting the viewport", chromedp.EmulateViewport(width, height)) {
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		do(ctx, t, "resetting the viewport", chromedp.EmulateViewport(1280, 900))
		if _, err := chromedp.Call(ctx, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: false}); err != nil {
			t.Errorf("showing scrollbars: %v", err)
		}
	}()
	if !open(ctx, t, a, path) {
		return
	}
	if prepare != "" {
		if _, ok := eval[chromedp.Void](ctx, t, prepare); !ok {
			return
		}
	}
	wide, ok := eval[[]string](ctx, t, `(() => {
		const w = document.documentElement.clientWidth;
		const out = [];
		document.querySelectorAll('body *').forEach(el => {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > w + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 0.5)) {
				out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') + ' right=' + Math.round(r.right));
			}
		});
		return out.slice(0, 8);
	})()`)
	if ok && len(wide) > 0 {
		t.Logf("%s at %d px: elements stick out past the right edge: %s", path, width, strings.Join(wide, "; "))
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot of %s: %v", path, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Error(err)
	}
}
