package e2e

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestXSSPayloadsDoNotRunInChromium shows the attack suite's payloads (a
// sample: notes and author names from the provider, the search box and the
// ticket filter) in Chromium with the page's CSP switched off, so only the
// escaping stands between them and execution, and checks none ran: no
// dialog, no window.__xss, no request to a URL a payload names.
func TestXSSPayloadsDoNotRunInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wholeRun)
	defer cancel()
	a := startApp(t)
	payloads := readPayloads(t)
	sb := a.demo.Sandbox.Sendbird
	ticket := sb.Tickets()[0].ID
	for i, p := range payloads {
		if _, err := sb.PutNoteAs(ticket, p, p, time.Now().Add(-time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	a.sync(t)
	b := startBrowser(t, ctx)
	if !t.Run("sign in", func(t *testing.T) { signIn(b.step(t), t, a) }) {
		t.FailNow()
	}
	sctx := b.step(t)
	if _, err := chromedp.Call(sctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("Page.setBypassCSP: %v", err)
	}
	tick := strconv.FormatInt(ticket, 10)
	paths := []string{"/notes?account=" + sendbirdID, "/tickets/" + sendbirdID + "/" + tick, "/tickets/" + sendbirdID + "/" + tick + "/print"}
	for _, p := range payloads[:12] {
		paths = append(paths, "/notes?"+url.Values{"q": {p}, "ticket": {p}}.Encode(), "/audit?"+url.Values{"actor": {p}, "action": {p}}.Encode())
	}
	seen := b.dialogCount()
	for _, path := range paths {
		ctx := b.step(t)
		// A refused filter answers 422; the page is still rendered, which is
		// what matters here.
		if _, err := chromedp.Run(ctx, chromedp.Navigate(a.base+path)); err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		// Hover and focus everything, as a person moving through the page
		// would, so mouseover and focus handlers would fire.
		ran, ok := eval[string](ctx, t, `(() => {
			document.querySelectorAll('body *').forEach(el => {
				el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
				if (el.focus) { el.focus(); }
			});
			return String(window.__xss === undefined ? '' : window.__xss);
		})()`)
		if ok && ran != "" {
			t.Errorf("%s: payload %s ran", path, ran)
		}
	}
	// Give timers and loads a moment, then look again on the last page.
	time.Sleep(300 * time.Millisecond)
	if ran, _ := eval[string](b.step(t), t, `String(window.__xss === undefined ? '' : window.__xss)`); ran != "" {
		t.Errorf("payload %s ran after the page settled", ran)
	}
	for _, d := range b.dialogsSince(seen) {
		t.Errorf("a %s dialog opened: %q", d.Type, d.Message)
	}
	for _, p := range b.takeProblems() {
		if !strings.Contains(p, "CSP") {
			t.Errorf("the page reported: %s", p)
		}
	}
}

// readPayloads reads the attack suite's payload list.
func readPayloads(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../web/testdata/xss-payloads.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
