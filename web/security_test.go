package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
)

func TestSecretNeverStoredOrRenderedInPlaintext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	const secret = "sb-token-PLAINTEXT-9f8e7d6c5b4a"
	c.get("/accounts/new?kind=sendbird")
	resp, body := c.post("/accounts", url.Values{"kind": {"sendbird"}, "name": {"Support desk"},
		"setting.application_id": {"app-1"}, "secret.api_token": {secret}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create account: status %d\n%s", resp.StatusCode, body)
	}
	pages := []string{"/accounts", "/accounts/1/edit", "/audit", "/audit/export.csv", "/audit/export.jsonl"}
	for _, p := range pages {
		resp, body := c.get(p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s renders the secret", p)
		}
	}
	// Edit with the secret left blank keeps it; the stored value still opens.
	c.get("/accounts/1/edit")
	resp, _ = c.post("/accounts/1", url.Values{"name": {"Support desk 2"}, "setting.application_id": {"app-1"}, "secret.api_token": {""}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	a, err := ts.db.AccountByID(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.db.AccountSecrets(a)
	if err != nil || got["api_token"] != secret {
		t.Errorf("secret after blank edit = %q, %v; want it kept", got["api_token"], err)
	}
	// Nothing in the data dir (database, WAL, key) holds the plaintext.
	if err := ts.db.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(ts.dir, "*"))
	if len(files) == 0 {
		t.Fatal("no files in data dir")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret in plaintext", filepath.Base(f))
		}
	}
	// On PostgreSQL the database is not in the data dir: no row of any
	// table holds the plaintext either.
	for table, n := range ts.rowsHolding(secret) {
		t.Errorf("%d rows of %s contain the secret in plaintext", n, table)
	}
}

func TestAccountFormValidation(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	c.get("/accounts/new?kind=sendbird")
	for _, tc := range []struct {
		name string
		form url.Values
		want string // the field id that must be marked invalid
	}{
		{"missing name", url.Values{"setting.application_id": {"a"}, "secret.api_token": {"b"}}, `id="name"`},
		{"missing secret", url.Values{"name": {"x"}, "setting.application_id": {"a"}}, `id="secret.api_token"`},
		{"loopback endpoint", url.Values{"name": {"x"}, "setting.application_id": {"a"}, "secret.api_token": {"b"}, "endpoint": {"https://127.0.0.1:8443"}}, `id="endpoint"`},
		{"private endpoint", url.Values{"name": {"x"}, "setting.application_id": {"a"}, "secret.api_token": {"b"}, "endpoint": {"https://10.1.2.3"}}, `id="endpoint"`},
		{"plain http", url.Values{"name": {"x"}, "setting.application_id": {"a"}, "secret.api_token": {"b"}, "endpoint": {"http://desk.example.com"}}, `id="endpoint"`},
		{"bad rate", url.Values{"name": {"x"}, "setting.application_id": {"a"}, "secret.api_token": {"b"}, "rate_limit": {"lots"}}, `id="rate_limit"`},
	} {
		tc.form.Set("kind", "sendbird")
		resp, body := c.post("/accounts", tc.form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", tc.name, resp.StatusCode)
		}
		i := strings.Index(body, tc.want)
		if i < 0 || !strings.Contains(body[i:min(len(body), i+400)], `aria-invalid="true"`) {
			t.Errorf("%s: %s not marked invalid", tc.name, tc.want)
		}
	}
	if as, _ := ts.db.ListAccounts(context.Background()); len(as) != 0 {
		t.Errorf("invalid forms created %d accounts", len(as))
	}
	if rows := ts.auditRows("account.create"); len(rows) != 6 || rows[0].Outcome != models.OutcomeError {
		t.Errorf("want 6 failed account.create audit rows, got %d", len(rows))
	}
}

func TestAllowPrivateEndpoints(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.AllowPrivateEndpoints = true })
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	c.get("/accounts/new?kind=sendbird")
	resp, _ := c.post("/accounts", url.Values{"kind": {"sendbird"}, "name": {"Local"}, "setting.application_id": {"a"},
		"secret.api_token": {"b"}, "endpoint": {"http://127.0.0.1:9999"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("loopback endpoint with --allow-private-endpoints: status %d", resp.StatusCode)
	}
}

func TestSetupLinkWorksOnceAndExpires(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ctx := context.Background()
	link, err := ts.srv.SetupLink(ctx, "http://127.0.0.1:8080")
	if err != nil || link == "" {
		t.Fatalf("setup link = %q, %v", link, err)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	c := ts.client()
	if resp, _ := c.get(u.RequestURI()); resp.StatusCode != http.StatusOK {
		t.Fatalf("setup page: %d", resp.StatusCode)
	}
	// Bad input keeps the token usable.
	resp, body := c.post("/setup", url.Values{"token": {tok}, "email": {"not-an-email"}, "password": {"short"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad setup input: %d", resp.StatusCode)
	}
	resp, _ = c.post("/setup", url.Values{"token": {tok}, "email": {"first@example.com"}, "password": {"password-123"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/users"); resp.StatusCode != http.StatusOK {
		t.Errorf("after setup the new admin is signed in: got %d on /users", resp.StatusCode)
	}
	// Second use: refused, nothing created.
	c2 := ts.client()
	c2.get("/login")
	resp, _ = c2.post("/setup", url.Values{"token": {tok}, "email": {"second@example.com"}, "password": {"password-123"}})
	if resp.StatusCode != http.StatusGone {
		t.Errorf("second use: %d, want 410", resp.StatusCode)
	}
	if n, _ := ts.db.CountUsers(ctx); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
	if link2, _ := ts.srv.SetupLink(ctx, "http://x"); link2 != "" {
		t.Errorf("a setup link is offered while users exist")
	}
	if rows := ts.auditRows("user.setup"); len(rows) != 3 || rows[0].Outcome != models.OutcomeDenied {
		t.Errorf("setup attempts audited: %d rows", len(rows))
	}
}

func TestSetupTokenExpires(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	tok, err := ts.db.CreateSetupToken(context.Background(), -time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	if resp, _ := c.get("/setup?token=" + tok); resp.StatusCode != http.StatusGone {
		t.Errorf("expired link page: %d, want 410", resp.StatusCode)
	}
	c.get("/login")
	resp, _ := c.post("/setup", url.Values{"token": {tok}, "email": {"first@example.com"}, "password": {"password-123"}})
	if resp.StatusCode != http.StatusGone {
		t.Errorf("expired link post: %d, want 410", resp.StatusCode)
	}
	if n, _ := ts.db.CountUsers(context.Background()); n != 0 {
		t.Errorf("an expired token created a user")
	}
}

func TestSessionRenewedAtSignInAndEndedAtSignOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.get("/login")
	anon := c.cookies["tn_session"]
	c.login("admin@example.com")
	signedIn := c.cookies["tn_session"]
	if anon == "" || signedIn == "" || anon == signedIn {
		t.Fatalf("session id not renewed at sign-in: %q → %q", anon, signedIn)
	}
	// The old session from before sign-in is not signed in.
	old := ts.client()
	old.cookies["tn_session"] = anon
	if resp, _ := old.get("/accounts"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("pre-sign-in session id reached /accounts: %d", resp.StatusCode)
	}
	// Sessions live in the database: a second app on the same database
	// (a restart, or another instance) accepts the cookie.
	srv2, err := New(Config{DataDir: ts.dir}, ts.db, ts.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	other := &testServer{t: t, srv: srv2, db: ts.db, dir: ts.dir}
	c2 := other.client()
	for k, v := range c.cookies {
		c2.cookies[k] = v
	}
	if resp, _ := c2.get("/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("session not shared with another instance: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	replay := ts.client()
	replay.cookies["tn_session"] = signedIn
	if resp, _ := replay.get("/accounts"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session still valid after sign-out: %d", resp.StatusCode)
	}
	if len(ts.auditRows("user.logout")) != 1 || len(ts.auditRows("user.login")) != 1 {
		t.Error("sign-in and sign-out not audited")
	}
}

func TestDisabledUserIsSignedOut(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	m := ts.addUser("manager@example.com", models.RoleManager)
	c := ts.client()
	c.login("manager@example.com")
	if _, err := ts.db.UpdateUser(context.Background(), m.ID, models.UserUpdate{Role: models.RoleManager, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get("/audit"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("disabled user still signed in: %d", resp.StatusCode)
	}
	c.get("/login")
	if resp, _ := c.post("/login", url.Values{"email": {"manager@example.com"}, "password": {"password-123"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("disabled user signed in: %d", resp.StatusCode)
	}
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.LoginPerMinute = 4; c.LoginWindow = time.Hour })
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.get("/login")
	var codes []int
	for i := 0; i < 4; i++ {
		resp, _ := c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"wrong-password"}})
		codes = append(codes, resp.StatusCode)
	}
	// Per email the limit is half the per-IP one: the third failure is refused.
	if codes[0] != http.StatusUnauthorized || codes[1] != http.StatusUnauthorized || codes[2] != http.StatusTooManyRequests {
		t.Errorf("statuses %v, want 401 401 429 …", codes)
	}
	// Even the right password is refused while limited, and it is audited.
	if resp, _ := c.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"password-123"}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("correct password while limited: %d", resp.StatusCode)
	}
	denied := 0
	for _, e := range ts.auditRows("user.login") {
		if e.Outcome == models.OutcomeDenied && e.Message == "rate limited" {
			denied++
		}
	}
	if denied == 0 {
		t.Error("rate-limited sign-ins not audited")
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resp, body := ts.client().get("/login")
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, " onclick=") {
		t.Error("page has inline script or style")
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("missing nosniff / frame headers")
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	resp, body := ts.client().get("/healthz")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	ts.db.Close()
	resp, _ = ts.client().get("/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with the database closed: %d, want 503", resp.StatusCode)
	}
}

func TestLanguageFollowsBrowserThenPreference(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	u := ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	if _, body := c.get("/login", "Accept-Language", "zh-CN,zh;q=0.9"); !strings.Contains(body, `lang="zh-Hans"`) || !strings.Contains(body, "登录") {
		t.Error("zh-CN browser did not get Simplified Chinese")
	}
	if _, body := c.get("/login", "Accept-Language", "en-GB"); !strings.Contains(body, `lang="en"`) {
		t.Error("en-GB browser did not get English")
	}
	c.login("admin@example.com")
	resp, _ := c.post("/preferences", url.Values{"lang": {"zh-Hans"}, "timezone": {"Asia/Shanghai"}}, "Accept-Language", "en")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save preferences: %d", resp.StatusCode)
	}
	if _, body := c.get("/users", "Accept-Language", "en"); !strings.Contains(body, "用户") {
		t.Error("saved preference did not win over the browser")
	}
	got, _ := ts.db.UserByID(context.Background(), u.ID)
	if got.TimeZone != "Asia/Shanghai" {
		t.Errorf("zone = %q", got.TimeZone)
	}
	resp, _ = c.post("/preferences", url.Values{"timezone": {"Mars/Olympus"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown zone: %d, want 422", resp.StatusCode)
	}
}
