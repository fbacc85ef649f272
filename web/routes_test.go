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
		if r.Access == Public {
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
