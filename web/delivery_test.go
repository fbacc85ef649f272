package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/static"
)

// fixedRequestID is sent as X-Request-ID so that two renderings of a page
// (which show the request id in the footer) are byte for byte equal.
const fixedRequestID = "0f1e2d3c-4b5a-4968-8776-655443322110"

// decode undoes the response's Content-Encoding.
func decode(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "br":
		r = brotli.NewReader(strings.NewReader(body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return string(b)
}

// staticLinks returns every /static/ URL a page's markup names.
func staticLinks(t *testing.T, body string) []string {
	t.Helper()
	var urls []string
	doc(t, body).Find("link[href], script[src], img[src]").Each(func(_ int, s *goquery.Selection) {
		for _, attr := range []string{"href", "src"} {
			if v, ok := s.Attr(attr); ok && strings.HasPrefix(v, "/static/") {
				urls = append(urls, v)
			}
		}
	})
	return urls
}

// formTokenRE finds the one-time double-submit token each rendering of a
// form gets; it is masked before two renderings are compared.
var formTokenRE = regexp.MustCompile(`name="form_token" value="[0-9a-f]+"`)

func maskFormTokens(s string) string {
	return formTokenRE.ReplaceAllString(s, `name="form_token" value=""`)
}

var hashedRE = regexp.MustCompile(`^/static/(.+)\.([0-9a-f]{8})(\.[a-z]+)$`)

func TestResponsesAreCompressedAndDecodeToTheSameBytes(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, page := c.get("/notes")
	links := staticLinks(t, page)
	if len(links) == 0 {
		t.Fatal("the notes page links no static files")
	}
	ticket := strconv.FormatInt(ds.demo.Sandbox.Sendbird.Tickets()[0].ID, 10)
	cases := []struct {
		path string
		hdr  []string
	}{
		{path: "/notes"},
		{path: "/notes", hdr: []string{"HX-Request", "true", "HX-Target", "notes-results"}},
		{path: "/tickets/2/" + ticket},
		{path: "/notes/export.csv"},
		{path: "/tickets/2/" + ticket + "/export.md"},
	}
	for _, l := range links {
		if strings.HasSuffix(l, ".svg") {
			continue // the icon is under the size worth compressing
		}
		cases = append(cases, struct {
			path string
			hdr  []string
		}{path: l})
	}
	for _, tc := range cases {
		hdr := append([]string{"X-Request-ID", fixedRequestID}, tc.hdr...)
		raw, rawBody := c.get(tc.path, hdr...)
		if raw.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, raw.StatusCode)
		}
		if enc := raw.Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("GET %s without Accept-Encoding: Content-Encoding %q", tc.path, enc)
		}
		if len(rawBody) < 500 {
			t.Fatalf("GET %s: only %d bytes, too small to say anything about compression", tc.path, len(rawBody))
		}
		for _, enc := range []string{"gzip", "br"} {
			resp, body := c.get(tc.path, append(hdr, "Accept-Encoding", enc)...)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != enc {
				t.Errorf("GET %s, Accept-Encoding %s: status %d, Content-Encoding %q", tc.path, enc,
					resp.StatusCode, resp.Header.Get("Content-Encoding"))
				continue
			}
			if len(body) >= len(rawBody) {
				t.Errorf("GET %s, %s: %d bytes, not smaller than the raw %d", tc.path, enc, len(body), len(rawBody))
			}
			if got := decode(t, enc, body); maskFormTokens(got) != maskFormTokens(rawBody) {
				t.Errorf("GET %s, %s: decoded body (%d bytes) differs from the raw body (%d bytes)", tc.path, enc,
					len(got), len(rawBody))
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s, %s: Vary %q lacks Accept-Encoding", tc.path, enc, resp.Header.Get("Vary"))
			}
			// The headers the handler and the security middleware set survive.
			for _, h := range []string{"Content-Type", "Content-Disposition", "Content-Security-Policy",
				"Cache-Control", "X-Content-Type-Options", "HX-Trigger"} {
				if got, want := resp.Header.Get(h), raw.Header.Get(h); got != want {
					t.Errorf("GET %s, %s: %s = %q, uncompressed %q", tc.path, enc, h, got, want)
				}
			}
		}
		if strings.Contains(tc.path, "/export.") && !strings.HasPrefix(raw.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("GET %s: Content-Disposition %q", tc.path, raw.Header.Get("Content-Disposition"))
		}
	}
}

// TestNotesPagesJoinTheirKeptPartsAsGzip: to a browser, which takes gzip
// and brotli, the notes page and its results partial come gzipped (their
// kept rows are joined in compressed), decode to the page as rendered,
// and keep their headers; a search's page too.
func TestNotesPagesJoinTheirKeptPartsAsGzip(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	const browser = "gzip, deflate, br, zstd"
	for _, tc := range []struct {
		path string
		hdr  []string
	}{
		{path: "/notes"},
		{path: "/notes?q=refund"},
		{path: "/notes?sort=oldest&page=2"},
		{path: "/notes", hdr: []string{"HX-Request", "true", "HX-Target", "notes-results"}},
	} {
		hdr := append([]string{"X-Request-ID", fixedRequestID}, tc.hdr...)
		raw, rawBody := c.get(tc.path, hdr...) // also keeps the page's rendering
		if raw.StatusCode != http.StatusOK || !strings.Contains(rawBody, `data-testid="note"`) {
			t.Fatalf("GET %s: %d, or no notes", tc.path, raw.StatusCode)
		}
		for range 2 { // the rendering just kept, then kept from before
			resp, body := c.get(tc.path, append(hdr, "Accept-Encoding", browser)...)
			if enc := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || enc != "gzip" {
				t.Fatalf("GET %s, Accept-Encoding %s: status %d, Content-Encoding %q, want gzip", tc.path, browser, resp.StatusCode, enc)
			}
			if got := decode(t, "gzip", body); maskFormTokens(got) != maskFormTokens(rawBody) {
				t.Errorf("GET %s: decoded body (%d bytes) differs from the raw body (%d bytes)", tc.path, len(got), len(rawBody))
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("GET %s: Vary %q lacks Accept-Encoding", tc.path, resp.Header.Get("Vary"))
			}
			for _, h := range []string{"Content-Type", "Content-Security-Policy", "Cache-Control", "X-Content-Type-Options"} {
				if got, want := resp.Header.Get(h), raw.Header.Get(h); got != want {
					t.Errorf("GET %s: %s = %q, uncompressed %q", tc.path, h, got, want)
				}
			}
		}
	}
}

func TestEventStreamIsNotCompressed(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Use(compression())
	app.Get("/events", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/event-stream")
		return c.SendString(strings.Repeat("data: tick\n\n", 100))
	})
	req := httptest.NewRequest(http.MethodGet, "/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip, br")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if enc := resp.Header.Get("Content-Encoding"); enc != "" || !strings.HasPrefix(string(body), "data: tick") {
		t.Errorf("event stream: Content-Encoding %q, body starts %q", enc, body[:min(len(body), 20)])
	}
	// The same route asked for by a plain fetch is compressed: the skip is
	// about the stream, not the route.
	req = httptest.NewRequest(http.MethodGet, "/events", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
		t.Errorf("plain fetch: Content-Encoding %q, want gzip", enc)
	}
}

func TestStaticFilesAreHashedAndImmutable(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	anon := ds.client()
	_, login := anon.get("/login")
	c := ds.signIn(demoAdmin)
	_, notes := c.get("/notes")
	ticket := strconv.FormatInt(ds.demo.Sandbox.Sendbird.Tickets()[0].ID, 10)
	_, print := c.get("/tickets/2/" + ticket + "/print")
	seen := map[string]bool{}
	for name, body := range map[string]string{"login": login, "notes": notes, "print": print} {
		links := staticLinks(t, body)
		if len(links) < 2 {
			t.Errorf("%s page links %d static files, want the stylesheet and the script", name, len(links))
		}
		for _, l := range links {
			if !hashedRE.MatchString(l) {
				t.Errorf("%s page links %s, not a content-hashed name", name, l)
				continue
			}
			seen[l] = true
		}
	}
	wantType := map[string]string{
		".css": "text/css; charset=utf-8",
		".js":  "text/javascript; charset=utf-8",
		".svg": "image/svg+xml",
	}
	exts := map[string]bool{}
	for l := range seen {
		m := hashedRE.FindStringSubmatch(l)
		name, ext := m[1]+m[3], m[3]
		exts[ext] = true
		want, err := fs.ReadFile(static.FS, name)
		if err != nil {
			t.Errorf("%s names %s, which is not embedded: %v", l, name, err)
			continue
		}
		resp, body := anon.get(l)
		if resp.StatusCode != http.StatusOK || body != string(want) {
			t.Errorf("GET %s: %d, %d bytes; want 200 and the %d embedded bytes of %s", l, resp.StatusCode,
				len(body), len(want), name)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", l, cc)
		}
		if ct := resp.Header.Get("Content-Type"); ct != wantType[ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", l, ct, wantType[ext])
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp == "" {
			t.Errorf("GET %s: no CSP", l)
		}
		// A browser revalidating the plain name's copy gets a 304.
		etag := resp.Header.Get("ETag")
		if resp, body := anon.get("/static/"+name, "If-None-Match", `"x", `+strings.TrimPrefix(etag, "W/")); etag == "" ||
			resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET /static/%s, If-None-Match %s: %d, %d bytes; want 304 and no body", name, etag,
				resp.StatusCode, len(body))
		}
		// A hash that is not the current one (an old build's, or made up)
		// is not found, and nothing says to keep that answer.
		stale := "/static/" + m[1] + ".00000000" + ext
		resp, _ = anon.get(stale)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: %d, Cache-Control %q; want 404, not immutable", stale, resp.StatusCode,
				resp.Header.Get("Cache-Control"))
		}
		// The unhashed name still answers, with a short cache only.
		resp, body = anon.get("/static/" + name)
		if resp.StatusCode != http.StatusOK || body != string(want) ||
			resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("GET /static/%s: %d, Cache-Control %q", name, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	for _, ext := range []string{".css", ".js", ".svg"} {
		if !exts[ext] {
			t.Errorf("no page links a %s file", ext)
		}
	}
	// Pages and exports are never kept: they are the signed-in user's.
	for _, p := range []string{"/notes", "/notes/export.csv", "/audit", "/login"} {
		cl := c
		if p == "/login" {
			cl = ds.client()
		}
		if resp, _ := cl.get(p); resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, resp.Header.Get("Cache-Control"))
		}
	}
}

// TestTemplatesNameStaticFilesThroughTheHelper keeps unhashed names out of
// the templates: a literal /static/ path would be served without the
// immutable cache and would not change when the file does.
func TestTemplatesNameStaticFilesThroughTheHelper(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "views", "*.templ"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			if bytes.Contains(line, []byte(`"/static/`)) {
				t.Errorf("%s:%d names a static file directly; use static.URL: %s", f, i+1, bytes.TrimSpace(line))
			}
		}
	}
}

// BenchmarkNotesPageCompressed is BenchmarkNotesPageCached with the page
// compressed as a browser asks for it; the difference is the compression's
// cost. wire-B/op is the compressed page's size.
func BenchmarkNotesPageCompressed(b *testing.B) {
	bs := newBenchServer(b, demoAdmin)
	checkNotesPage(b, bs.get(b, "/notes", http.StatusOK), notesPageSizeForTest) // fills the cache
	for _, enc := range []string{"gzip", "br"} {
		b.Run(enc, func(b *testing.B) {
			size := 0
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/notes", nil)
				req.Header.Set("Cookie", bs.cookie)
				req.Header.Set("Accept-Encoding", enc)
				resp, body := bs.do(b, req)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != enc {
					b.Fatalf("GET /notes: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "wire-B/op")
		})
	}
}
