package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/web"
)

func init() { models.SetBcryptCostForTests() }

// Safety nets only: no assertion depends on how long anything takes.
const (
	wholeRun = 3 * time.Minute  // everything a test does in the browser
	stepTime = 30 * time.Second // one sub-test
)

// Demo account ids, in the order StartDemo creates them.
const (
	alibabaID  = "1"
	sendbirdID = "2"
	feishuID   = "3"
)

// app is the real dashboard in demo mode, served on loopback.
type app struct {
	base string
	demo *web.Demo
	srv  *web.Server
}

// sync brings the archive up to date with the simulators, as a full pass
// of every account does; pages read only the archive. A pass the server
// runs by itself (opening a conversation queues one for its ticket) holds
// that account's lease until it ends: then the sync waits for it and goes
// again, as a later press of "Sync now" would.
func (a *app) sync(t *testing.T) {
	t.Helper()
	for try := 0; ; try++ {
		err := a.srv.SyncAll(context.Background())
		if err == nil {
			return
		}
		if !errors.Is(err, syncer.ErrLeaseHeld) || try == 300 {
			t.Fatalf("sync: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startApp builds the server as main does, on a fresh database (see
// modelstest.New), starts the demo sandbox and serves until the test ends.
func startApp(t *testing.T) *app {
	t.Helper()
	loc := modelstest.New(t)
	dir := loc.Dir
	ctx, cancel := context.WithCancel(context.Background())
	db, err := models.Open(ctx, models.Options{DataDir: dir, URL: loc.URL})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := web.New(web.Config{DataDir: dir, DatabaseURL: loc.URL, Demo: true, LoginPerMinute: 1000}, db, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	demo, err := srv.StartDemo(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	a := &app{base: "http://" + ln.Addr().String(), demo: demo, srv: srv}
	a.waitHealthy(t, served)
	a.sync(t)
	return a
}

// waitHealthy polls /healthz until it answers 200.
func (a *app) waitHealthy(t *testing.T, served <-chan error) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(a.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case serr := <-served:
			t.Fatalf("server stopped before it was healthy: %v", serr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz never answered 200: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// chromiumPath finds Debian's Chromium. Without it the test fails on CI and
// is skipped elsewhere.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if full, err := exec.LookPath(p); err == nil {
			return full
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (/usr/bin/chromium); CI must install it")
	}
	t.Skip("chromium is not installed (/usr/bin/chromium): apt-get install chromium")
	return ""
}

// lockedBuffer collects the browser's output from chromedp's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes of the output, less the lines about D-Bus
// that a container without one always gets.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keep []string
	for line := range strings.Lines(b.buf.String()) {
		if !strings.Contains(line, "dbus") && !strings.Contains(line, "D-Bus") {
			keep = append(keep, line)
		}
	}
	s := strings.Join(keep, "")
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// dialog is a JavaScript dialog the page opened.
type dialog struct {
	Type    page.DialogType
	Message string
}

// browser is one headless Chromium with one tab, and what the tab reported.
type browser struct {
	ctx context.Context // the tab; ends with the whole run

	mu       sync.Mutex
	dialogs  []dialog
	problems []string // uncaught exceptions and CSP refusals
}

// startBrowser starts Chromium with exactly the flags the project allows (no
// component updates, no sync, no background networking) and a fresh profile,
// and opens a tab. Every JavaScript dialog is accepted and remembered.
func startBrowser(t *testing.T, parent context.Context) *browser {
	t.Helper()
	path := chromiumPath(t)
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	out := &lockedBuffer{}
	actx, acancel := chromedp.NewExecAllocator(parent,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(out),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		ccancel()
		cancel()
		acancel()
		if t.Failed() {
			t.Logf("chromium output (tail):\n%s", out.tail(4000))
		}
	})
	// The first Run starts the browser and binds it to ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v\n%s", err, out.tail(4000))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("setting the viewport: %v", err)
	}
	b := &browser{ctx: ctx}

	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, dialog{Type: ev.Type, Message: ev.Message})
			b.mu.Unlock()
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil && ctx.Err() == nil {
				b.problem("could not accept the %s dialog %q: %v", ev.Type, ev.Message, err)
			}
		}
	}()

	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			switch {
			case m.IsException():
				b.problem("uncaught exception at %s: %s", m.URL, m.Text)
			case m.Source == "security" || strings.Contains(m.Text, "Content Security Policy"):
				b.problem("CSP refusal at %s: %s", m.URL, m.Text)
			}
		}
	}()
	return b
}

func (b *browser) problem(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// dialogCount returns how many dialogs the page has opened so far.
func (b *browser) dialogCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.dialogs)
}

func (b *browser) dialogsSince(n int) []dialog {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]dialog(nil), b.dialogs[n:]...)
}

// takeProblems returns and forgets what the page reported.
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// step returns the tab's context limited to one sub-test.
func (b *browser) step(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, stepTime)
	t.Cleanup(cancel)
	return ctx
}

// open navigates to base+path and fails the test unless the page answers
// 200.
func open(ctx context.Context, t *testing.T, a *app, path string) bool {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(a.base+path))
	if err != nil {
		t.Errorf("GET %s in the browser: %v", path, err)
		return false
	}
	if resp.Status != http.StatusOK {
		t.Errorf("GET %s: HTTP %d %s — the page is not there (yet)", path, resp.Status, resp.StatusText)
		return false
	}
	want, _ := url.Parse(a.base + path)
	if got, err := url.Parse(resp.URL); err != nil || got.Path != want.Path {
		t.Errorf("GET %s ended on %s", path, resp.URL)
		return false
	}
	return true
}

// waitJS evaluates the JavaScript predicate until it is true. Errors while
// a page loads are retried; the step's context ends the wait.
func waitJS(ctx context.Context, t *testing.T, what, js string) bool {
	t.Helper()
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return true
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				t.Errorf("waiting for %s: %v (last error: %v)", what, ctx.Err(), last)
			} else {
				t.Errorf("waiting for %s: %v", what, ctx.Err())
			}
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// eval evaluates the expression and decodes its value, failing the test on
// an error.
func eval[T any](ctx context.Context, t *testing.T, js string) (T, bool) {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Errorf("evaluating %.80q: %v", js, err)
		return v, false
	}
	return v, true
}

// do runs the actions, failing the test with what on an error.
func do(ctx context.Context, t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) bool {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return string(b)
}
