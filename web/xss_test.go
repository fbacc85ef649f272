package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ticketnotes/ticketnotes/models"
)

// errorer is the part of testing.T checkInert reports to.
type errorer interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// findings counts what checkInert reports, to test the checker itself.
type findings struct{ n int }

func (f *findings) Helper()                   {}
func (f *findings) Errorf(string, ...any)     { f.n++ }
func (f *findings) Fatalf(s string, a ...any) { f.n++ }

func TestCheckInertFindsLiveMarkup(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		html string
		live bool
	}{
		{`<p>&lt;script&gt;window.__xss=1&lt;/script&gt;</p>`, false},
		{`<a href="/notes?q=%3Cscript%3E" title="&lt;img onerror=x&gt;">x</a><script src="/static/app.js"></script>`, false},
		{`<input value="&#34; onmouseover=&#34;x">`, false},
		{`<p><script>window.__xss=1</script></p>`, true},
		{`<img src=x onerror=window.__xss=7>`, true},
		{`<a href=" JaVa&#x09;Script:x">x</a>`, true},
		{`<div hx-get="https://evil.example/x">x</div>`, true},
		{`<div hx-on:click="x">x</div>`, true},
		{`<iframe srcdoc="x"></iframe>`, true},
		{`<p data-xss>x</p>`, true},
		{`<meta http-equiv="refresh" content="0">`, true},
		{`<p style="color:red">x</p>`, true},
	} {
		var f findings
		checkInert(&f, "snippet", "<!doctype html><html><body>"+tt.html+"</body></html>")
		if got := f.n > 0; got != tt.live {
			t.Errorf("%s: found live markup = %v, want %v", tt.html, got, tt.live)
		}
	}
}

// xssPayloads reads testdata/xss-payloads.txt.
func xssPayloads(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("testdata/xss-payloads.txt")
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
	if len(out) < 40 {
		t.Fatalf("%d payloads, want at least 40", len(out))
	}
	return out
}

// urlAttrs are the attributes a browser (or htmx) follows or loads.
var urlAttrs = map[string]bool{"href": true, "src": true, "action": true, "formaction": true, "poster": true,
	"data": true, "xlink:href": true, "hx-get": true, "hx-post": true, "hx-put": true, "hx-patch": true, "hx-delete": true}

// inertElements may never appear on a page of ours.
var inertElements = map[string]bool{"iframe": true, "object": true, "embed": true, "base": true, "frame": true,
	"frameset": true, "style": true, "noscript": true, "marquee": true, "video": true, "source": true, "math": true}

// checkInert fails when body holds anything a payload could have made
// live: an element we never render, a script that is not one of our files,
// an event-handler, htmx-on or style attribute, an attribute named for a
// payload, or a URL attribute with a script-capable scheme.
func checkInert(t errorer, where, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var walk func(*html.Node)
	bad := func(format string, args ...any) {
		t.Errorf("%s: "+format, append([]any{where}, args...)...)
	}
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if inertElements[n.Data] {
				bad("a <%s> element on the page", n.Data)
			}
			if n.Data == "script" {
				src := ""
				for _, a := range n.Attr {
					if a.Key == "src" {
						src = a.Val
					}
				}
				if !strings.HasPrefix(src, "/static/") || (n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) != "") {
					bad("a script that is not ours: src=%q", src)
				}
			}
			if n.Data == "meta" {
				for _, a := range n.Attr {
					if a.Key == "http-equiv" {
						bad("<meta http-equiv=%q>", a.Val)
					}
				}
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				switch {
				case strings.HasPrefix(k, "on"), strings.HasPrefix(k, "hx-on"), k == "style", k == "srcdoc", strings.Contains(k, "xss"):
					bad("attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
				case urlAttrs[k]:
					v := strings.ToLower(strings.Map(func(r rune) rune {
						if r <= ' ' {
							return -1
						}
						return r
					}, a.Val))
					for _, scheme := range []string{"javascript:", "vbscript:", "data:"} {
						if strings.HasPrefix(v, scheme) {
							bad("%s=%q on <%s>", a.Key, a.Val, n.Data)
						}
					}
					if strings.HasPrefix(k, "hx-") && !strings.HasPrefix(a.Val, "/") {
						bad("%s=%q does not stay on this site", a.Key, a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

// TestXSSPayloadsStayText puts every payload in every user-controlled field
// (note text and author names from a provider, account and user names, the
// signed-in user's own name) and every reflected parameter and form field,
// and checks each page the value reaches renders it as text.
func TestXSSPayloadsStayText(t *testing.T) {
	t.Parallel()
	payloads := xssPayloads(t)
	ds := newDemoServer(t)
	ctx := context.Background()
	sb := ds.demo.Sandbox.Sendbird
	ticket := sb.Tickets()[0].ID
	at := time.Now().Add(-time.Hour)
	for i, p := range payloads {
		if _, err := sb.PutNoteAs(ticket, p, p, at.Add(-time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	ds.sync()
	admin := ds.signIn(demoAdmin)
	tick := strconv.FormatInt(ticket, 10)
	// Provider content on the list, the conversation and the print view.
	for _, path := range []string{"/notes?account=2&refresh=1", "/notes?q=xss", "/tickets/2/" + tick, "/tickets/2/" + tick + "/print"} {
		resp, body := admin.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if !strings.Contains(body, "window.__xss=") {
			t.Fatalf("%s does not show the seeded payloads", path)
		}
		checkInert(t, path, body)
	}
	if resp, body := admin.get("/tickets/2/" + tick + "/export.md"); !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/markdown") {
		t.Errorf("Markdown export is served as %q", resp.Header.Get("Content-Type"))
	} else if strings.Contains(body, "](javascript:") || strings.Contains(body, "](<javascript:") {
		t.Error("the Markdown export links a javascript: URL")
	}

	// Names people type: accounts and users, shown on their lists, the notes
	// page, the audit log and (the viewer's own) in the top bar.
	for i, p := range payloads {
		if _, err := ds.db.CreateAccount(ctx, models.AccountInput{Name: p, Kind: "sendbird", Disabled: true,
			Settings: map[string]string{"application_id": fmt.Sprintf("app-%d", i)}, Secrets: map[string]string{"api_token": "t"}}); err != nil {
			t.Fatal(err)
		}
		resp, _ := admin.post("/users", url.Values{"email": {fmt.Sprintf("x%d@example.com", i)}, "name": {p}, "role": {"manager"}, "password": {"password-123"}})
		if resp.StatusCode >= 400 {
			t.Fatalf("create user named %q: %d", p, resp.StatusCode)
		}
	}
	acct, err := ds.db.AccountByID(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads[:10] {
		if _, err := ds.db.UpdateAccount(ctx, acct.ID, models.AccountInput{Name: p, Kind: acct.Kind, Endpoint: acct.Endpoint,
			Settings: acct.Settings(), Secrets: map[string]string{}}); err != nil {
			t.Fatal(err)
		}
		u, err := ds.db.UserByEmail(ctx, demoAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ds.db.UpdateUser(ctx, u.ID, models.UserUpdate{Name: p, Role: u.Role}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/notes?account=2", "/tickets/2/" + tick, "/preferences", "/accounts/2/edit"} {
			_, body := admin.get(path)
			checkInert(t, path+" named "+p, body)
		}
	}
	for _, path := range []string{"/accounts", "/users", "/audit", "/audit?action=user.create"} {
		_, body := admin.get(path)
		checkInert(t, path, body)
	}

	// Every parameter a page reads, reflected back into forms and links.
	params := []string{"q", "ticket", "from", "to", "role", "account", "page", "actor", "action", "outcome", "back", "mode", "next", "kind", "refresh"}
	var gets []string
	for _, r := range ds.srv.Routes {
		if r.Method == http.MethodGet && !strings.Contains(r.Path, "export") {
			gets = append(gets, fillPath(r.Path))
		}
	}
	gets = append(gets, "/tickets/2/"+tick, "/notes/2/"+tick+"/1/history")
	anon := ds.client()
	for _, p := range payloads {
		v := url.Values{}
		for _, k := range params {
			v.Set(k, p)
		}
		for _, path := range gets {
			_, body := admin.get(path + "?" + v.Encode())
			checkInert(t, path+" with "+p, body)
		}
		for _, path := range []string{"/login", "/setup"} {
			_, body := anon.get(path + "?" + v.Encode())
			checkInert(t, "anonymous "+path+" with "+p, body)
		}
		// Forms that show what was typed when they are refused.
		_, body := anon.post("/login", url.Values{"email": {p}, "password": {"wrong-password"}, "next": {p}})
		checkInert(t, "refused sign-in with "+p, body)
		forms := []struct {
			path string
			form url.Values
		}{
			{"/notes", url.Values{"account": {p}, "ticket": {p}, "body": {p}, "back": {p}}},
			{"/users", url.Values{"email": {p}, "name": {p}, "role": {p}, "password": {"short"}}},
			{"/accounts", url.Values{"kind": {"sendbird"}, "name": {p}, "endpoint": {p}, "rate_limit": {p}, "timeout_seconds": {p}, "setting.application_id": {p}}},
			{"/preferences", url.Values{"lang": {p}, "timezone": {p}}},
			{"/notes/2/" + tick + "/1", url.Values{"body": {p}, "back": {p}, "mode": {p}}},
		}
		for _, f := range forms {
			_, body := admin.post(f.path, f.form)
			checkInert(t, "POST "+f.path+" with "+p, body)
			_, body = admin.post(f.path, f.form, "HX-Request", "true")
			checkInert(t, "htmx POST "+f.path+" with "+p, body)
		}
	}
}
