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
)

func init() { models.SetBcryptCostForTests() }

// testServer is the real app on a real SQLite file in a temp dir.
type testServer struct {
	t   testing.TB
	srv *Server
	db  *models.DB
	dir string
}

func newTestServer(t testing.TB, mod ...func(*Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := models.Open(context.Background(), models.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := Config{DataDir: dir, LoginPerMinute: 1000}
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := New(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, srv: srv, db: db, dir: dir}
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
