package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// These benchmarks drive the real app (middleware, session, CSRF, handlers,
// templ rendering) through app.Test against the demo sandbox: three vendor
// simulators on loopback, as `ticketnotes --demo` runs them. The figures
// and how to read them are in BENCHMARKS.md.

// benchServer is a demo server and the cookies of a signed-in demo user.
type benchServer struct {
	srv    *Server
	demo   *Demo
	cookie string // Cookie header of the signed-in user
}

func newBenchServer(b *testing.B, email string) *benchServer {
	b.Helper()
	ds := newDemoServer(b)
	bs := &benchServer{srv: ds.srv, demo: ds.demo}
	if email != "" {
		var parts []string
		for k, v := range ds.signIn(email).cookies {
			parts = append(parts, k+"="+v)
		}
		bs.cookie = strings.Join(parts, "; ")
	}
	return bs
}

// do sends req through the app and returns the response with its body read.
func (bs *benchServer) do(b *testing.B, req *http.Request) (*http.Response, string) {
	resp, err := bs.srv.App().Test(req, -1)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return resp, string(body)
}

// get sends a GET with the signed-in user's cookies (if any) and hdr
// (name, value pairs), failing the benchmark on any status but want.
func (bs *benchServer) get(b *testing.B, path string, want int, hdr ...string) string {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if bs.cookie != "" {
		req.Header.Set("Cookie", bs.cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, body := bs.do(b, req)
	if resp.StatusCode != want {
		b.Fatalf("GET %s: status %d, want %d", path, resp.StatusCode, want)
	}
	return body
}

// checkNotesPage fails unless body lists notes from all three accounts with
// every account fetched successfully, so a benchmark cannot quietly measure
// an error page.
func checkNotesPage(b *testing.B, body string, wantNotes int) {
	b.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	if ok := d.Find(`[data-testid=account-status][data-ok=true]`).Length(); ok != 3 {
		b.Fatalf("accounts ok = %d, want 3", ok)
	}
	if n := d.Find(`[data-testid=note]`).Length(); n != wantNotes {
		b.Fatalf("notes on the page = %d, want %d", n, wantNotes)
	}
}

// vendorRequests is how many requests the three simulators have answered.
func (bs *benchServer) vendorRequests() int {
	sb := bs.demo.Sandbox
	return sb.Alibaba.Calls("ListTickets") + sb.Alibaba.Calls("ListTicketNotes") +
		len(sb.Sendbird.Log()) + len(sb.Feishu.Requests())
}

// BenchmarkNotesPageCached is the notes workspace as an admin with a warm
// cache: session and user lookup, CSRF, merging the three accounts' cached
// notes (copies), the page cut and rendering a full 50-note page.
func BenchmarkNotesPageCached(b *testing.B) {
	bs := newBenchServer(b, demoAdmin)
	checkNotesPage(b, bs.get(b, "/notes", http.StatusOK), notesPageSizeForTest) // fills the cache
	before := bs.vendorRequests()
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, "/notes", http.StatusOK)
	}
	if n := bs.vendorRequests() - before; n != 0 {
		b.Fatalf("warm cache still asked the vendors %d times", n)
	}
}

// BenchmarkNotesPartialCached is the same query as an htmx request aimed at
// #notes-results: only the results partial is rendered, no layout.
func BenchmarkNotesPartialCached(b *testing.B) {
	bs := newBenchServer(b, demoAdmin)
	hx := []string{"HX-Request", "true", "HX-Target", "notes-results"}
	checkNotesPage(b, bs.get(b, "/notes", http.StatusOK, hx...), notesPageSizeForTest)
	if body := bs.get(b, "/notes", http.StatusOK, hx...); strings.Contains(body, "<html") {
		b.Fatal("the htmx request got the whole page")
	}
	before := bs.vendorRequests()
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, "/notes", http.StatusOK, hx...)
	}
	if n := bs.vendorRequests() - before; n != 0 {
		b.Fatalf("warm cache still asked the vendors %d times", n)
	}
}

// BenchmarkConversation is one Sendbird ticket's timeline, cached.
func BenchmarkConversation(b *testing.B) {
	bs := newBenchServer(b, demoAdmin)
	path := "/tickets/2/" + strconv.FormatInt(bs.demo.Sandbox.Sendbird.Tickets()[0].ID, 10)
	if body := bs.get(b, path, http.StatusOK); !strings.Contains(body, `data-testid="note"`) {
		b.Fatal("the conversation shows no notes")
	}
	before := bs.vendorRequests()
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, path, http.StatusOK)
	}
	if n := bs.vendorRequests() - before; n != 0 {
		b.Fatalf("warm cache still asked the vendors %d times", n)
	}
}

// BenchmarkLoginPage is the sign-in page for a new visitor: the cheapest
// full page, with a new session and CSRF token every time.
func BenchmarkLoginPage(b *testing.B) {
	bs := newBenchServer(b, "")
	if body := bs.get(b, "/login", http.StatusOK); !csrfRE.MatchString(body) {
		b.Fatal("no CSRF token on the sign-in page")
	}
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, "/login", http.StatusOK)
	}
}

// BenchmarkAuditPage is the first page of the audit log as an admin.
func BenchmarkAuditPage(b *testing.B) {
	bs := newBenchServer(b, demoAdmin)
	if body := bs.get(b, "/audit", http.StatusOK); !strings.Contains(body, "user.login") {
		b.Fatal("the audit page does not show the sign-in")
	}
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, "/audit", http.StatusOK)
	}
}

// BenchmarkHealthz is the floor: app.Test's in-memory connection, the
// middleware chain without a session, and one database ping.
func BenchmarkHealthz(b *testing.B) {
	bs := newBenchServer(b, "")
	b.ReportAllocs()
	for b.Loop() {
		bs.get(b, "/healthz", http.StatusOK)
	}
}
