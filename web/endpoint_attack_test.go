package web

import (
	"bufio"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// endpointAttacks reads the attack corpus the providers package checks
// too: a class name and a Go quoted endpoint per line.
func endpointAttacks(t *testing.T) [][2]string {
	t.Helper()
	f, err := os.Open("../providers/testdata/endpoint_attacks.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		class, quoted, _ := strings.Cut(line, " ")
		raw, err := strconv.Unquote(strings.TrimSpace(quoted))
		if err != nil {
			t.Fatalf("endpoint_attacks.txt: %q: %v", line, err)
		}
		out = append(out, [2]string{class, raw})
	}
	if len(out) < 77 {
		t.Fatalf("%d endpoint classes, want at least 77", len(out))
	}
	return out
}

// sendbirdForm is a complete Sendbird account form with endpoint.
func sendbirdForm(name, endpoint string) url.Values {
	return url.Values{"kind": {"sendbird"}, "name": {name}, "setting.application_id": {"a1b2"},
		"secret.api_token": {"tok"}, "endpoint": {endpoint}}
}

// endpointMarked reports whether a page marks the endpoint input invalid.
func endpointMarked(body string) bool {
	i := strings.Index(body, `id="endpoint"`)
	if i < 0 {
		return false
	}
	// The input's attributes, not the rest of the page.
	end := strings.Index(body[i:], ">")
	return end > 0 && strings.Contains(body[max(0, i-300):i+end], `aria-invalid="true"`)
}

// TestEndpointAttacksRefusedAtSave posts every endpoint form of the corpus
// through the real account form, in a normal server and in --demo: each is
// answered 422 with the endpoint field marked, and nothing is stored.
func TestEndpointAttacksRefusedAtSave(t *testing.T) {
	t.Parallel()
	attacks := endpointAttacks(t)
	for _, mode := range []string{"plain", "demo"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var ts *testServer
			if mode == "demo" {
				ts = newDemoServer(t).testServer
			} else {
				ts = newTestServer(t)
			}
			ts.addUser("admin@example.com", models.RoleAdmin)
			before, _ := ts.db.ListAccounts(context.Background())
			c := ts.client()
			c.login("admin@example.com")
			c.get("/accounts/new?kind=sendbird")
			for _, a := range attacks {
				resp, body := c.post("/accounts", sendbirdForm("attack "+a[0], a[1]))
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("%s %q: status %d, want 422", a[0], a[1], resp.StatusCode)
					continue
				}
				if !endpointMarked(body) {
					t.Errorf("%s %q: the endpoint field is not marked invalid", a[0], a[1])
				}
			}
			after, _ := ts.db.ListAccounts(context.Background())
			if len(after) != len(before) {
				t.Errorf("the attack forms stored %d accounts", len(after)-len(before))
			}
			// Legitimate public hosts still save.
			for i, ep := range []string{"https://example.com:8443/x", "https://open.feishu.cn", "https://api.example.com/v1"} {
				if resp, _ := c.post("/accounts", sendbirdForm("ok "+strconv.Itoa(i), ep)); resp.StatusCode != http.StatusSeeOther {
					t.Errorf("%s: status %d, want 303", ep, resp.StatusCode)
				}
				c.get("/accounts/new?kind=sendbird")
			}
		})
	}
}

// TestDemoLoopbackOnlyForSandboxAccounts: --demo no longer allows private
// endpoints globally. Its sandbox accounts work and keep their endpoints
// when edited; an account the admin adds on a simulator's own address, or
// a sandbox account moved to another loopback port, is refused at save,
// and an account stored on loopback behind the form's back is refused at
// dial.
func TestDemoLoopbackOnlyForSandboxAccounts(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	if ds.srv.cfg.AllowPrivateEndpoints {
		t.Fatal("the demo server allows private endpoints globally")
	}
	c := ds.signIn(ds.demo.AdminEmail)
	ctx := context.Background()
	accts, err := ds.db.ListAccounts(ctx)
	if err != nil || len(accts) != 3 {
		t.Fatalf("demo accounts = %d, %v", len(accts), err)
	}
	for _, a := range accts {
		resp, body := c.post("/accounts/"+strconv.Itoa(int(a.ID))+"/test", nil, "HX-Request", "true")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="test-result" data-ok="true"`) {
			t.Errorf("test sandbox account %s: status %d, want a successful test; body %s", a.Name, resp.StatusCode, body)
		}
		if ev := ds.auditRows("account.test"); len(ev) == 0 || ev[0].Outcome != models.OutcomeOK {
			t.Errorf("test sandbox account %s: audit %+v", a.Name, ev)
		}
	}

	var sb models.Account
	for _, a := range accts {
		if a.Kind == "sendbird" {
			sb = a
		}
	}
	c.get("/accounts/new?kind=sendbird")
	if resp, body := c.post("/accounts", sendbirdForm("mine", sb.Endpoint)); resp.StatusCode != http.StatusUnprocessableEntity || !endpointMarked(body) {
		t.Errorf("an added account on the simulator's address: status %d, want 422 naming the endpoint", resp.StatusCode)
	}

	edit := func(endpoint string) *http.Response {
		c.get("/accounts/" + strconv.Itoa(int(sb.ID)) + "/edit")
		form := url.Values{"name": {sb.Name}, "setting.application_id": {sb.Settings()["application_id"]}, "endpoint": {endpoint}}
		resp, _ := c.post("/accounts/"+strconv.Itoa(int(sb.ID)), form)
		return resp
	}
	if resp := edit(sb.Endpoint); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("editing a sandbox account keeping its endpoint: status %d, want 303", resp.StatusCode)
	}
	other := httptest.NewServer(sendbirdsim.New(sendbirdsim.Options{}))
	t.Cleanup(other.Close)
	if resp := edit(other.URL); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("moving a sandbox account to another loopback port: status %d, want 422", resp.StatusCode)
	}

	// A deleted sandbox account's id may be handed out again: the new
	// account does not inherit its allowance.
	last := accts[0] // the highest id is the one a table without AUTOINCREMENT hands out again
	for _, a := range accts {
		if a.ID > last.ID {
			last = a
		}
	}
	c.get("/accounts")
	if resp, _ := c.post("/accounts/"+strconv.Itoa(int(last.ID))+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete sandbox account: %d", resp.StatusCode)
	}
	c.get("/accounts/new?kind=sendbird")
	resp, body := c.post("/accounts", sendbirdForm("reused", last.Endpoint))
	if resp.StatusCode != http.StatusUnprocessableEntity || !endpointMarked(body) {
		t.Errorf("a new account on a deleted sandbox account's simulator: status %d, want 422", resp.StatusCode)
	}
	if resp, _ := c.post("/accounts", sendbirdForm("reused", "https://api.example.com")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	reused, err := ds.db.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range reused {
		if a.Name == "reused" {
			if a.ID == last.ID {
				t.Logf("the database reused id %d", a.ID)
			}
			c.get("/accounts/" + strconv.Itoa(int(a.ID)) + "/edit")
			form := url.Values{"name": {"reused"}, "setting.application_id": {"a1b2"}, "endpoint": {last.Endpoint}}
			if resp, _ := c.post("/accounts/"+strconv.Itoa(int(a.ID)), form); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("moving the new account %d onto the deleted sandbox's simulator: status %d, want 422", a.ID, resp.StatusCode)
			}
		}
	}

	// Stored directly, past the form: the dial guard still refuses it.
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	sneaky, err := ds.db.CreateAccount(ctx, models.AccountInput{Name: "sneaky", Kind: "sendbird", Endpoint: target.URL,
		Settings: map[string]string{"application_id": "a1b2"}, Secrets: map[string]string{"api_token": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = c.post("/accounts/"+strconv.Itoa(int(sneaky.ID))+"/test", nil, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(ds.srv.base.Catalog.Localizer("en").T("perr.forbidden"))) {
		t.Errorf("test of a loopback account in --demo: status %d, want the permission failure; body %s", resp.StatusCode, body)
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback target got %d requests", hits.Load())
	}
}

// TestAccountRedirectExplained: an endpoint that redirects to another host
// fails the account test with the redirect explanation, and the other host
// receives nothing.
func TestAccountRedirectExplained(t *testing.T) {
	t.Parallel()
	// Loopback test servers: the dial guard is not under test here.
	ts := newTestServer(t, func(c *Config) { c.AllowPrivateEndpoints = true })
	ts.addUser("admin@example.com", models.RoleAdmin)
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		leaked.Add(1)
	}))
	t.Cleanup(other.Close)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(endpoint.Close)
	a, err := ts.db.CreateAccount(context.Background(), models.AccountInput{Name: "moved", Kind: "sendbird", Endpoint: endpoint.URL,
		Settings: map[string]string{"application_id": "a1b2"}, Secrets: map[string]string{"api_token": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	c.login("admin@example.com")
	c.get("/accounts")
	for _, hx := range []bool{true, false} {
		var hdr []string
		if hx {
			hdr = []string{"HX-Request", "true"}
		}
		resp, body := c.post("/accounts/"+strconv.Itoa(int(a.ID))+"/test", nil, hdr...)
		want := html.EscapeString(ts.srv.base.Catalog.Localizer("en").T("perr.redirect"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "307") {
			t.Errorf("htmx=%v: status %d, want the redirect explanation with its status; body %s", hx, resp.StatusCode, body)
		}
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
	if ev := ts.auditRows("account.test"); len(ev) == 0 || ev[0].Outcome != models.OutcomeError || !strings.Contains(ev[0].Message, "redirect") {
		t.Errorf("audit = %+v, want a failed account.test naming the redirect", ev)
	}
}
