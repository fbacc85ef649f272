package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

func init() { models.SetBcryptCostForTests() }

// testServer is the real app on a real database of its own (see
// modelstest.New): a SQLite file in a temp dir, or a PostgreSQL database.
type testServer struct {
	t   testing.TB
	srv *Server
	db  *models.DB
	dir string
	loc modelstest.Database
}

func newTestServer(t testing.TB, mod ...func(*Config)) *testServer {
	t.Helper()
	loc := modelstest.New(t)
	dir := loc.Dir
	db, err := models.Open(context.Background(), models.Options{DataDir: dir, URL: loc.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{DataDir: dir, DatabaseURL: loc.URL, LoginPerMinute: 1000}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := New(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, srv: srv, db: db, dir: dir, loc: loc}
}

// rowsHolding returns, by table, how many rows of ts's PostgreSQL database
// hold text in any column (a row's text form holds them all); nil on
// SQLite, whose file a test reads instead.
func (ts *testServer) rowsHolding(text string) map[string]int64 {
	ts.t.Helper()
	if ts.loc.URL == "" {
		return nil
	}
	raw := modelstest.Raw(ts.t, ts.loc)
	var tables []string
	if err := raw.Raw("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").Scan(&tables).Error; err != nil {
		ts.t.Fatal(err)
	}
	found := map[string]int64{}
	for _, tb := range tables {
		var n int64
		q := "SELECT count(*) FROM " + tb + " AS r WHERE strpos(r::text, ?) > 0"
		if err := raw.Raw(q, text).Scan(&n).Error; err != nil {
			ts.t.Fatal(err)
		}
		if n > 0 {
			found[tb] = n
		}
	}
	return found
}

// addUser creates a user directly in the database.
func (ts *testServer) addUser(email, role string) *models.User {
	ts.t.Helper()
	u, err := ts.db.CreateUser(context.Background(), models.NewUser{Email: email, Role: role, Password: "password-123"})
	if err != nil {
		ts.t.Fatal(err)
	}
	return u
}

// client is a browser: it keeps cookies and the last CSRF token seen.
type client struct {
	ts      *testServer
	cookies map[string]string
	csrf    string
}

func (ts *testServer) client() *client { return &client{ts: ts, cookies: map[string]string{}} }

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// do sends a request and returns the response with its body read.
func (c *client) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	c.ts.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.ts.srv.App().Test(req, -1)
	if err != nil {
		c.ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp, string(b)
}

func (c *client) get(path string, hdr ...string) (*http.Response, string) {
	return c.do(http.MethodGet, path, nil, hdr...)
}

// post sends a form with the current CSRF token.
func (c *client) post(path string, form url.Values, hdr ...string) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, form, hdr...)
}

// login signs in through the form and fails the test when it does not work.
func (c *client) login(email string) {
	c.ts.t.Helper()
	c.get("/login")
	resp, _ := c.post("/login", url.Values{"email": {email}, "password": {"password-123"}})
	if resp.StatusCode != http.StatusSeeOther {
		c.ts.t.Fatalf("login %s: status %d", email, resp.StatusCode)
	}
	c.get("/preferences") // pick up a CSRF token for the new session
}

// auditRows returns the audit events with action, newest first.
func (ts *testServer) auditRows(action string) []models.AuditEvent {
	ts.t.Helper()
	evs, _, err := ts.db.ListAudit(context.Background(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		ts.t.Fatal(err)
	}
	return evs
}

// fillPath replaces route parameters with values that exist.
func fillPath(p string) string {
	p = strings.ReplaceAll(p, ":id", "1")
	p = strings.ReplaceAll(p, ":account", "1")
	p = strings.ReplaceAll(p, ":ticket", "1")
	p = strings.ReplaceAll(p, ":note", "1")
	p = strings.ReplaceAll(p, ":format", "csv")
	return p
}
