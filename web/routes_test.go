package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
)

// publicRoutes are the only routes open without a session.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /login": true, "POST /login": true, "GET /setup": true, "POST /setup": true,
}

// bearerRoutes are the only routes for machines: a bearer token, never a
// session, opens them.
var bearerRoutes = map[string]bool{"GET /metrics": true}

// memberChanges are the only changes a manager may make: their own session
// and preferences.
var memberChanges = map[string]bool{"POST /logout": true, "POST /preferences": true}

func TestRouteTableAccessLevels(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	for _, r := range ts.srv.Routes {
		key := r.Method + " " + r.Path
		if got, want := r.Access == Public, publicRoutes[key]; got != want {
			t.Errorf("%s: public = %v, want %v", key, got, want)
		}
		if got, want := r.Access == Bearer, bearerRoutes[key]; got != want {
			t.Errorf("%s: bearer = %v, want %v", key, got, want)
		}
		if r.Access == Bearer && r.Changes() {
			t.Errorf("%s: a bearer route may not change anything", key)
		}
		if r.Changes() && r.Action == "" {
			t.Errorf("%s: a change needs an audit action", key)
		}
		if r.Changes() && r.Access != Public && r.Access != Admin && !memberChanges[key] {
			t.Errorf("%s: a change must be admin-only (or listed in memberChanges)", key)
		}
	}
}

func TestEveryRouteButPublicNeedsASession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	for _, r := range ts.srv.Routes {
		if r.Access == Public || r.Access == Bearer { // Bearer: TestBearerRoutes
			continue
		}
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			c := ts.client()
			c.get("/login") // a valid CSRF token, but no signed-in user
			var resp *http.Response
			if r.Changes() {
				resp, _ = c.post(fillPath(r.Path), url.Values{})
			} else {
				resp, _ = c.get(fillPath(r.Path))
			}
			switch {
			case r.Changes() && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("status %d, want 401", resp.StatusCode)
			case !r.Changes() && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=")):
				t.Errorf("status %d location %q, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestManagerIsRefusedEveryChangeAndItIsAudited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	ts.addUser("manager@example.com", models.RoleManager)
	c := ts.client()
	c.login("manager@example.com")
	for _, r := range ts.srv.Routes {
		if !r.Changes() || r.Access != Admin {
			continue
		}
		before := len(ts.auditRows(r.Action))
		resp, _ := c.post(fillPath(r.Path), url.Values{"name": {"x"}, "role": {"admin"}, "password": {"password-456"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s: status %d, want 403", r.Method, r.Path, resp.StatusCode)
			continue
		}
		rows := ts.auditRows(r.Action)
		if len(rows) != before+1 || rows[0].Outcome != models.OutcomeDenied || rows[0].ActorEmail != "manager@example.com" {
			t.Errorf("%s %s: no denied audit row for %s by the manager (rows %d → %d)", r.Method, r.Path, r.Action, before, len(rows))
		}
	}
	// Admin-only pages are refused too, without changing anything.
	for _, r := range ts.srv.Routes {
		if r.Changes() || r.Access != Admin {
			continue
		}
		if resp, _ := c.get(fillPath(r.Path)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: manager got %d, want 403", r.Path, resp.StatusCode)
		}
	}
	// The manager still reads the audit log.
	if resp, _ := c.get("/audit"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /audit as manager: %d", resp.StatusCode)
	}
	u, _ := ts.db.UserByEmail(context.Background(), "admin@example.com")
	if u.Name != "" || u.Role != models.RoleAdmin {
		t.Errorf("admin user changed by manager requests: %+v", u)
	}
}

func TestChangesWithoutCSRFTokenChangeNothing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	usersBefore, _ := ts.db.CountUsers(context.Background())
	for _, r := range ts.srv.Routes {
		if !r.Changes() {
			continue
		}
		form := url.Values{"_csrf": {"forged"}, "email": {"new@example.com"}, "role": {"admin"}, "password": {"password-456"},
			"name": {"Forged"}, "kind": {"sendbird"}, "setting.application_id": {"x"}, "secret.api_token": {"y"}}
		for _, tok := range []string{"forged", ""} {
			form.Set("_csrf", tok)
			resp, _ := c.do(http.MethodPost, fillPath(r.Path), form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with token %q: status %d, want 403", r.Method, r.Path, tok, resp.StatusCode)
			}
		}
	}
	usersAfter, _ := ts.db.CountUsers(context.Background())
	accounts, _ := ts.db.ListAccounts(context.Background())
	if usersAfter != usersBefore || len(accounts) != 0 {
		t.Errorf("forged requests changed data: users %d → %d, accounts %d", usersBefore, usersAfter, len(accounts))
	}
	if len(ts.auditRows("request.csrf")) == 0 {
		t.Error("CSRF refusals were not audited")
	}
	// The session still works: the same admin can sign out with the real token.
	if resp, _ := c.post("/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout with a valid token: %d", resp.StatusCode)
	}
}

// metricsToken is the bearer token the tests configure.
const metricsToken = "scrape-token-0123456789"

func TestBearerRoutes(t *testing.T) {
	t.Parallel()
	t.Run("absent without a token", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t)
		ts.addUser("admin@example.com", models.RoleAdmin)
		admin := ts.client()
		admin.login("admin@example.com")
		for _, r := range ts.srv.Routes {
			if r.Access != Bearer {
				continue
			}
			for name, c := range map[string]*client{"anonymous": ts.client(), "admin": admin} {
				for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + metricsToken}} {
					if resp, _ := c.get(r.Path, hdr...); resp.StatusCode != http.StatusNotFound {
						t.Errorf("%s %s as %s with %q: status %d, want 404", r.Method, r.Path, name, hdr, resp.StatusCode)
					}
				}
			}
		}
	})
	t.Run("token required", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(c *Config) { c.MetricsToken = metricsToken })
		ts.addUser("admin@example.com", models.RoleAdmin)
		admin := ts.client()
		admin.login("admin@example.com")
		for _, r := range ts.srv.Routes {
			if r.Access != Bearer {
				continue
			}
			before := len(ts.auditRows("metrics.scrape"))
			refused := []struct {
				name string
				c    *client
				hdr  []string
			}{
				{"no token", ts.client(), nil},
				{"a wrong token", ts.client(), []string{"Authorization", "Bearer " + metricsToken + "x"}},
				{"a prefix of the token", ts.client(), []string{"Authorization", "Bearer " + metricsToken[:8]}},
				{"another scheme", ts.client(), []string{"Authorization", "Basic " + metricsToken}},
				{"an admin session alone", admin, nil},
			}
			for _, tt := range refused {
				resp, _ := tt.c.get(r.Path, tt.hdr...)
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s with %s: status %d, want 401", r.Method, r.Path, tt.name, resp.StatusCode)
				}
				if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("%s %s with %s: WWW-Authenticate %q", r.Method, r.Path, tt.name, got)
				}
			}
			rows := ts.auditRows("metrics.scrape")
			if got, want := len(rows)-before, len(refused); got != want {
				t.Errorf("%s %s: %d refusals audited, want %d", r.Method, r.Path, got, want)
			}
			for _, e := range rows[:len(rows)-before] {
				if e.Outcome != models.OutcomeDenied {
					t.Errorf("refusal audited with outcome %q", e.Outcome)
				}
			}
			resp, _ := ts.client().get(r.Path, "Authorization", "Bearer "+metricsToken)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s with the token: status %d, want 200", r.Method, r.Path, resp.StatusCode)
			}
		}
	})
}
