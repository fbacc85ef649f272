package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/handlers"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// refusalsAction is the audit action of a row counting refusals.
const refusalsAction = handlers.RefusalsAction

// liveServer serves ts on a real loopback listener: fasthttp reuses its
// request buffers only across real connections, which app.Test does not do.
func liveServer(t *testing.T, ts *testServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// liveClient is a browser on a live server: a cookie jar and the last CSRF
// token seen.
type liveClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newLiveClient(t *testing.T, base string) *liveClient {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Idle keep-alive connections would hold up the server's shutdown.
	t.Cleanup(hc.CloseIdleConnections)
	return &liveClient{t: t, base: base, http: hc}
}

// do sends a request; errors are returned, not fatal, so goroutines may call it.
func (c *liveClient) do(method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp.StatusCode, string(b), err
}

func (c *liveClient) signIn(email, password string) {
	c.t.Helper()
	if _, _, err := c.do(http.MethodGet, "/login", nil); err != nil {
		c.t.Fatal(err)
	}
	code, _, err := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf}, "email": {email}, "password": {password}})
	if err != nil || code != http.StatusSeeOther {
		c.t.Fatalf("sign in %s: %d %v", email, code, err)
	}
	if _, _, err := c.do(http.MethodGet, "/preferences", nil); err != nil {
		c.t.Fatal(err)
	}
}

var ticketIDRE = regexp.MustCompile(`data-ticket-id="([^"]*)"`)

// TestConcurrentPagesNeverShowAnotherTicketsNotes is defect 1 of issue 8:
// strings taken from one request (route parameters used as cache keys) must
// not change under later requests on other connections.
func TestConcurrentPagesNeverShowAnotherTicketsNotes(t *testing.T) {
	ds := newDemoServer(t)
	base := liveServer(t, ds.testServer)
	// Tickets with notes, per account, from the demo vendors.
	type ticket struct{ account, id string }
	var tickets []ticket
	for _, tk := range ds.demo.Sandbox.Sendbird.Tickets()[:4] {
		tickets = append(tickets, ticket{"2", fmt.Sprint(tk.ID)})
	}
	probe := newLiveClient(t, base)
	probe.signIn(demoAdmin, ds.demo.Password)
	_, list, err := probe.do(http.MethodGet, "/notes?account=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ticketIDRE.FindAllStringSubmatch(list, -1) {
		if !seen[m[1]] && len(seen) < 4 {
			seen[m[1]] = true
			tickets = append(tickets, ticket{"1", m[1]})
		}
	}
	if len(tickets) < 6 {
		t.Fatalf("demo data has too few tickets: %v", tickets)
	}
	const workers, rounds = 10, 60
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*4)
	for w := 0; w < workers; w++ {
		c := newLiveClient(t, base)
		c.signIn(demoAdmin, ds.demo.Password)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				tk := tickets[(w+r)%len(tickets)]
				path := "/tickets/" + tk.account + "/" + tk.id
				code, body, err := c.do(http.MethodGet, path, nil)
				if err != nil || code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %v", path, code, err)
					continue
				}
				ids := ticketIDRE.FindAllStringSubmatch(body, -1)
				if len(ids) == 0 {
					errs <- path + ": no notes"
				}
				for _, m := range ids {
					if m[1] != tk.id {
						errs <- fmt.Sprintf("%s lists a note of ticket %s", path, m[1])
						break
					}
				}
				// The same ticket as a filter of the notes list.
				list := "/notes?account=" + tk.account + "&ticket=" + url.QueryEscape(tk.id)
				if code, body, err := c.do(http.MethodGet, list, nil); err != nil || code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %v", list, code, err)
				} else {
					for _, m := range ticketIDRE.FindAllStringSubmatch(body, -1) {
						if m[1] != tk.id {
							errs <- fmt.Sprintf("%s lists a note of ticket %s", list, m[1])
							break
						}
					}
				}
				// The edit form of the page's first note is found by its
				// own parameters, not another request's.
				if edit := firstEditLink(body); edit != "" {
					if code, _, err := c.do(http.MethodGet, edit, nil); err != nil || code != http.StatusOK {
						errs <- fmt.Sprintf("%s: %d %v", edit, code, err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	// The conversation exports, the same way: every row's ticket_id column.
	for w := 0; w < workers; w++ {
		c := newLiveClient(t, base)
		c.signIn(demoAdmin, ds.demo.Password)
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				tk := tickets[(w+r)%len(tickets)]
				path := "/tickets/" + tk.account + "/" + tk.id + "/export.csv"
				// A filtered list first, as a browser does before exporting.
				if _, _, err := c.do(http.MethodGet, "/notes?account="+tk.account+"&ticket="+url.QueryEscape(tk.id), nil); err != nil {
					errs <- err.Error()
				}
				if code, body, err := c.do(http.MethodGet, path, nil); err != nil || code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %v", path, code, err)
				} else if bad := csvTicketsOtherThan(body, tk.id); bad != "" {
					errs <- fmt.Sprintf("%s lists a note of ticket %s", path, bad)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 10 {
		t.Errorf("… %d failures in all", n)
	}
}

// csvTicketsOtherThan returns a ticket_id of the CSV export that is not
// want, or "" when every row is want's (or the CSV cannot be read: "?").
func csvTicketsOtherThan(body, want string) string {
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) < 2 {
		return "?"
	}
	col := slices.Index(rows[0], "ticket_id")
	if col < 0 {
		return "?"
	}
	for _, r := range rows[1:] {
		if r[col] != want {
			return r[col]
		}
	}
	return ""
}

var editLinkRE = regexp.MustCompile(`data-testid="note-edit" href="([^"?]*)`)

// firstEditLink returns the path of the page's first edit link, or "".
func firstEditLink(body string) string {
	if m := editLinkRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// storeRows counts the rows of the sessions-and-counters table.
func (ts *testServer) storeRows() int64 {
	ts.t.Helper()
	n, err := ts.db.CountStoreEntries(context.Background())
	if err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// TestAnonymousRequestsWriteNoSession is defect 2 of issue 8: only the
// sign-in and setup forms start a session.
func TestAnonymousRequestsWriteNoSession(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	before := ts.storeRows()
	for i := 0; i < 20; i++ {
		for _, p := range []string{"/healthz", "/static/app.css", "/no-such-page", "/notes", "/setup?token=wrong"} {
			c := ts.client()
			if resp, _ := c.get(p); resp.StatusCode >= 500 {
				t.Fatalf("GET %s: %d", p, resp.StatusCode)
			}
			if len(c.cookies) != 0 {
				t.Errorf("GET %s set cookies %v", p, c.cookies)
			}
		}
	}
	if after := ts.storeRows(); after != before {
		t.Errorf("anonymous GETs wrote %d session rows", after-before)
	}
	// The sign-in form needs one, and its form works.
	c := ts.client()
	c.get("/login")
	if after := ts.storeRows(); after != before+1 || c.csrf == "" {
		t.Errorf("sign-in form: %d rows, token %q; want one session with a token", after-before, c.csrf)
	}
	c.login("admin@example.com")
}

// TestCSRFTokenOnlyFromFormOrHeader is defect 8 of issue 8: a token in the
// query string (which lands in logs and Referer headers) is refused.
func TestCSRFTokenOnlyFromFormOrHeader(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	form := url.Values{"lang": {"en"}, "timezone": {"UTC"}}
	if resp, _ := c.do(http.MethodPost, "/preferences?_csrf="+url.QueryEscape(c.csrf), form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("token in the query: %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.do(http.MethodPost, "/preferences", form, "X-CSRF-Token", c.csrf); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("token in the header: %d, want 303", resp.StatusCode)
	}
	if resp, _ := c.post("/preferences", form); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("token in the form: %d, want 303", resp.StatusCode)
	}
}

// TestSignInRotatesSessionAndToken: a session id or token an attacker
// planted before sign-in is worth nothing after it (session fixation).
func TestSignInRotatesSessionAndToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	attacker := ts.client()
	attacker.get("/login")
	planted, plantedTok := attacker.cookies["tn_session"], attacker.csrf
	victim := ts.client()
	for k, v := range attacker.cookies {
		victim.cookies[k] = v
	}
	victim.csrf = plantedTok
	if resp, _ := victim.post("/login", url.Values{"email": {"admin@example.com"}, "password": {"password-123"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the planted session: %d", resp.StatusCode)
	}
	if victim.cookies["tn_session"] == planted {
		t.Error("session id not renewed at sign-in")
	}
	victim.get("/preferences")
	if victim.csrf == "" || victim.csrf == plantedTok {
		t.Errorf("CSRF token not rotated at sign-in: %q", victim.csrf)
	}
	// The planted pair signs nobody in and changes nothing.
	if resp, _ := attacker.get("/users"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("planted session reached /users: %d", resp.StatusCode)
	}
	stale := ts.client()
	stale.cookies["tn_session"] = victim.cookies["tn_session"]
	stale.csrf = plantedTok
	if resp, _ := stale.post("/preferences", url.Values{"lang": {"zh-Hans"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("pre-sign-in token accepted after sign-in: %d", resp.StatusCode)
	}
}

// TestPasswordResetEndsOtherSessions: after a reset, sessions signed in
// with the old password are over; the admin making the change stays in.
func TestPasswordResetEndsOtherSessions(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.addUser("admin@example.com", models.RoleAdmin)
	m := ts.addUser("manager@example.com", models.RoleManager)
	mgr := ts.client()
	mgr.login("manager@example.com")
	a1, a2 := ts.client(), ts.client()
	a1.login("admin@example.com")
	a2.login("admin@example.com")
	if resp, _ := a1.post(fmt.Sprintf("/users/%d/password", m.ID), url.Values{"password": {"password-789"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset manager password: %d", resp.StatusCode)
	}
	if resp, _ := mgr.get("/audit"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("manager still signed in after a reset: %d", resp.StatusCode)
	}
	if resp, _ := a1.post(fmt.Sprintf("/users/%d/password", admin.ID), url.Values{"password": {"password-456"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset own password: %d", resp.StatusCode)
	}
	if resp, _ := a2.get("/users"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("admin's other session survived the reset: %d", resp.StatusCode)
	}
	if resp, _ := a1.get("/users"); resp.StatusCode != http.StatusOK {
		t.Errorf("the session that reset its own password was ended: %d", resp.StatusCode)
	}
	if resp, _ := a1.post("/preferences", url.Values{"lang": {"en"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the resetting session's token stopped working: %d", resp.StatusCode)
	}
}

// TestConcurrentCorrectSignInsAllSucceed is defect 5 of issue 8: the limits
// count failures only, so correct sign-ins never use each other up.
func TestConcurrentCorrectSignInsAllSucceed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.LoginPerMinute = 10; c.LoginWindow = time.Hour })
	ts.addUser("admin@example.com", models.RoleAdmin)
	base := liveServer(t, ts)
	const n = 20
	clients := make([]*liveClient, n)
	for i := range clients {
		clients[i] = newLiveClient(t, base)
		if _, _, err := clients[i].do(http.MethodGet, "/login", nil); err != nil {
			t.Fatal(err)
		}
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], _, _ = c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf}, "email": {"admin@example.com"}, "password": {"password-123"}})
		}()
	}
	close(start)
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusSeeOther {
			t.Errorf("sign-in %d: %d, want 303", i, code)
		}
	}
	// Failures still count: the per-email limit (half the per-IP one) holds.
	c := newLiveClient(t, base)
	c.do(http.MethodGet, "/login", nil)
	var got []int
	for i := 0; i < 7; i++ {
		code, _, _ := c.do(http.MethodPost, "/login", url.Values{"_csrf": {c.csrf}, "email": {"admin@example.com"}, "password": {"wrong-password"}})
		got = append(got, code)
	}
	if got[4] != http.StatusUnauthorized || got[5] != http.StatusTooManyRequests || got[6] != http.StatusTooManyRequests {
		t.Errorf("wrong passwords: %v, want five 401 then 429", got)
	}
}

// failSignIn posts a wrong password for email from the X-Forwarded-For
// chain xff and returns the status.
func failSignIn(c *client, email, xff string) int {
	resp, _ := c.post("/login", url.Values{"email": {email}, "password": {"wrong-password"}}, "X-Forwarded-For", xff)
	return resp.StatusCode
}

// TestForwardedForCountsOnlyFromTrustedProxies is defect 4 of issue 8: the
// client address comes from X-Forwarded-For only when the socket peer is a
// trusted proxy, and then from the nearest hop that is not one.
func TestForwardedForCountsOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	// app.Test connects from 0.0.0.0.
	testPeer := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")}
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(c *Config) { c.LoginPerMinute = 4; c.LoginWindow = time.Hour })
		c := ts.client()
		c.get("/login")
		var codes []int
		for i := 0; i < 5; i++ {
			codes = append(codes, failSignIn(c, fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("203.0.113.%d", i+1)))
		}
		if !slices.Equal(codes, []int{401, 401, 401, 401, 429}) {
			t.Errorf("per-IP limit with forged X-Forwarded-For: %v, want 4×401 then 429", codes)
		}
		for _, e := range ts.auditRows("user.login") {
			if e.IP != "0.0.0.0" {
				t.Errorf("audit IP %q taken from an untrusted X-Forwarded-For", e.IP)
			}
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(c *Config) { c.LoginPerMinute = 4; c.LoginWindow = time.Hour; c.TrustedProxies = testPeer })
		c := ts.client()
		c.get("/login")
		// Distinct clients behind the proxy have their own limits.
		for i := 0; i < 6; i++ {
			if code := failSignIn(c, fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("203.0.113.%d", i+1)); code != http.StatusUnauthorized {
				t.Errorf("client %d behind the proxy: %d, want 401", i, code)
			}
		}
		// One client forging the left of the chain is still one client:
		// the proxy appends the address it saw, and that one counts.
		var codes []int
		for i := 0; i < 5; i++ {
			codes = append(codes, failSignIn(c, fmt.Sprintf("v%d@example.com", i), fmt.Sprintf("198.51.100.%d, 192.0.2.9", i+1)))
		}
		if !slices.Equal(codes, []int{401, 401, 401, 401, 429}) {
			t.Errorf("one client with forged hops: %v, want 4×401 then 429", codes)
		}
		ips := map[string]int{}
		for _, e := range ts.auditRows("user.login") {
			ips[e.IP]++
		}
		if ips["203.0.113.1"] != 1 || ips["192.0.2.9"] != 5 || ips["0.0.0.0"] != 0 || ips["198.51.100.1"] != 0 {
			t.Errorf("audit IPs %v, want the client behind the proxy", ips)
		}
	})
	t.Run("per email across clients", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(c *Config) { c.LoginPerMinute = 4; c.LoginWindow = time.Hour; c.TrustedProxies = testPeer })
		c := ts.client()
		c.get("/login")
		var codes []int
		for i := 0; i < 3; i++ {
			codes = append(codes, failSignIn(c, "admin@example.com", fmt.Sprintf("203.0.113.%d", i+1)))
		}
		if !slices.Equal(codes, []int{401, 401, 429}) {
			t.Errorf("one email from many clients: %v, want 401 401 429", codes)
		}
	})
}

// TestAnonymousRefusalsAreAggregatedPerIP is defect 3 of issue 8: past a
// few full rows a minute, one client's refusals are counted into a single
// row, and every refusal is accounted for.
func TestAnonymousRefusalsAreAggregatedPerIP(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/32")} })
	const n = 300
	for i := 0; i < n; i++ {
		ts.client().post("/logout", url.Values{}, "X-Forwarded-For", "198.51.100.7")
	}
	ts.client().post("/logout", url.Values{}, "X-Forwarded-For", "198.51.100.8")
	full := len(ts.auditRows("request.csrf"))
	if full > 2*refusalRowsPerWindow {
		t.Errorf("%d refusals wrote %d rows", n+1, full)
	}
	if err := ts.srv.flushRefusals(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	agg := ts.auditRows(refusalsAction)
	if len(agg) != 1 {
		t.Fatalf("%d aggregate rows, want 1", len(agg))
	}
	want := fmt.Sprintf("%d refusals from IP 198.51.100.7 in the last minute", n-refusalRowsPerWindow)
	if agg[0].Message != want || agg[0].IP != "198.51.100.7" || agg[0].Outcome != models.OutcomeDenied {
		t.Errorf("aggregate %q from %q (%s), want %q", agg[0].Message, agg[0].IP, agg[0].Outcome, want)
	}
	if full+n-refusalRowsPerWindow != n+1 {
		t.Errorf("%d full rows + %d counted ≠ %d refusals", full, n-refusalRowsPerWindow, n+1)
	}
}

// refusedCSRF returns how many CSRF refusals the audit log accounts for:
// the rows written in full plus those counted into summary rows.
func (ts *testServer) refusedCSRF() int {
	ts.t.Helper()
	if err := ts.srv.flushRefusals(context.Background(), true); err != nil {
		ts.t.Fatal(err)
	}
	n := len(ts.auditRows("request.csrf"))
	for _, e := range ts.auditRows(refusalsAction) {
		var after struct {
			Actions map[string]int `json:"actions"`
		}
		if err := json.Unmarshal([]byte(e.After), &after); err != nil {
			ts.t.Fatalf("summary row %q: %v", e.After, err)
		}
		n += after.Actions["request.csrf"]
	}
	return n
}

// TestEveryChangeRefusesEveryBadToken walks the route table: every change,
// by an anonymous visitor, a manager and an admin, with no token, a wrong
// one, another session's and its own token in the query string, is
// refused with 403, changes nothing and is accounted for in the audit log.
func TestEveryChangeRefusesEveryBadToken(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	admin := ts.addUser("admin@example.com", models.RoleAdmin)
	ts.addUser("manager@example.com", models.RoleManager)
	anon := ts.client()
	anon.get("/login")
	mgr := ts.client()
	mgr.login("manager@example.com")
	adm := ts.client()
	adm.login("admin@example.com")
	other := ts.client()
	other.login("admin@example.com")
	roles := []struct {
		name string
		c    *client
	}{{"anonymous", anon}, {"manager", mgr}, {"admin", adm}}
	usersBefore, _ := ts.db.CountUsers(context.Background())
	refusedBefore := ts.refusedCSRF()
	refused := 0
	for _, r := range ts.srv.Routes {
		if !r.Changes() {
			continue
		}
		for _, role := range roles {
			own := role.c.csrf
			variants := []struct {
				name, query, token string
			}{
				{"no token", "", ""},
				{"wrong token", "", "forged-" + own},
				{"another session's token", "", other.csrf},
				{"token in the query", "?_csrf=" + url.QueryEscape(own), ""},
			}
			for _, v := range variants {
				form := url.Values{"email": {"new@example.com"}, "role": {"admin"}, "password": {"password-456"},
					"name": {"Forged"}, "kind": {"sendbird"}, "setting.application_id": {"x"}, "secret.api_token": {"y"},
					"lang": {"zh-Hans"}, "timezone": {"Asia/Tokyo"}}
				if v.token != "" {
					form.Set("_csrf", v.token)
				}
				resp, _ := role.c.do(r.Method, fillPath(r.Path)+v.query, form)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s as %s with %s: %d, want 403", r.Method, r.Path, role.name, v.name, resp.StatusCode)
				}
				refused++
			}
		}
	}
	if got := ts.refusedCSRF() - refusedBefore; got != refused {
		t.Errorf("audit accounts for %d CSRF refusals, want %d", got, refused)
	}
	usersAfter, _ := ts.db.CountUsers(context.Background())
	accounts, _ := ts.db.ListAccounts(context.Background())
	u, _ := ts.db.UserByID(context.Background(), admin.ID)
	if usersAfter != usersBefore || len(accounts) != 0 || u.Name != "" || u.Lang != "" || u.SessionEpoch != admin.SessionEpoch {
		t.Errorf("refused requests changed data: users %d → %d, %d accounts, admin %+v", usersBefore, usersAfter, len(accounts), u)
	}
	// No refused sign-out ended a session; the right token still works.
	for _, role := range roles[1:] {
		if resp, _ := role.c.get("/preferences"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s signed out by refused requests: %d", role.name, resp.StatusCode)
		}
		if resp, _ := role.c.post("/preferences", url.Values{"lang": {"en"}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s with its own token in the form: %d", role.name, resp.StatusCode)
		}
	}
}

// TestEveryPageAnswersEachRole walks the route table's reads: anonymous
// visitors are sent to sign in (public pages aside), managers are refused
// the admin pages, and no token in the query string changes any of it.
func TestEveryPageAnswersEachRole(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	ts.addUser("manager@example.com", models.RoleManager)
	anon, mgr, adm := ts.client(), ts.client(), ts.client()
	mgr.login("manager@example.com")
	adm.login("admin@example.com")
	for _, r := range ts.srv.Routes {
		if r.Changes() || r.Access == Bearer { // Bearer: TestBearerRoutes
			continue
		}
		for _, q := range []string{"", "?_csrf=" + url.QueryEscape(adm.csrf)} {
			path := fillPath(r.Path) + q
			if r.Path == "/setup" {
				continue // its answer depends on the link's token, checked on its own
			}
			resp, _ := anon.get(path)
			switch {
			case r.Access == Public && resp.StatusCode >= 400:
				t.Errorf("anonymous GET %s: %d", path, resp.StatusCode)
			case r.Access != Public && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=")):
				t.Errorf("anonymous GET %s: %d %q, want a redirect to sign in", path, resp.StatusCode, resp.Header.Get("Location"))
			}
			resp, _ = mgr.get(path)
			if got, want := resp.StatusCode == http.StatusForbidden, r.Access == Admin; got != want || resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("manager GET %s: %d", path, resp.StatusCode)
			}
			if resp, _ := adm.get(path); resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("admin GET %s: %d", path, resp.StatusCode)
			}
		}
	}
}

// dbBytes is the size of ts's database: the SQLite file and its WAL, or
// the PostgreSQL database's files as the server counts them.
func dbBytes(t *testing.T, ts *testServer) int64 {
	t.Helper()
	var n int64
	if ts.loc.URL != "" {
		if err := modelstest.Raw(t, ts.loc).Raw("SELECT pg_database_size(current_database())").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, f := range []string{models.SQLiteFile, models.SQLiteFile + "-wal"} {
		if st, err := os.Stat(filepath.Join(ts.dir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

// TestAnonymousTrafficBarelyGrowsTheDatabase is the attack suite's bound on
// write amplification: 5,000 anonymous requests (health checks, 404s and
// refused changes) grow the database files by less than 1 MB.
func TestAnonymousTrafficBarelyGrowsTheDatabase(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	base := liveServer(t, ts)
	c := newLiveClient(t, base)
	c.do(http.MethodGet, "/healthz", nil) // the first request settles the schema
	before := dbBytes(t, ts)
	const n = 5000
	for i := 0; i < n; i++ {
		var code int
		var err error
		switch i % 4 {
		case 0:
			code, _, err = c.do(http.MethodGet, "/healthz", nil)
		case 1:
			code, _, err = c.do(http.MethodGet, fmt.Sprintf("/no-such-page-%d", i), nil)
		case 2:
			code, _, err = c.do(http.MethodPost, "/logout", url.Values{})
		case 3:
			code, _, err = c.do(http.MethodPost, "/login", url.Values{"email": {"admin@example.com"}, "password": {"guess"}})
		}
		if err != nil || code >= 500 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
	}
	if err := ts.srv.flushRefusals(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if grown := dbBytes(t, ts) - before; grown >= 1<<20 {
		t.Errorf("%d anonymous requests grew the database files by %d bytes", n, grown)
	}
	if rows := ts.storeRows(); rows != 0 {
		t.Errorf("anonymous requests left %d sessions or counters", rows)
	}
}

// TestRefusalWindowsRollOver: a client back after its window gets a fresh
// share of full rows, and the count of the window before is written then.
func TestRefusalWindowsRollOver(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.srv.base.Refusals.Window = 200 * time.Millisecond
	for i := 0; i < refusalRowsPerWindow+5; i++ {
		ts.client().post("/logout", url.Values{})
	}
	if n := len(ts.auditRows(refusalsAction)); n != 0 {
		t.Fatalf("%d summary rows before the window is over", n)
	}
	time.Sleep(250 * time.Millisecond)
	ts.client().post("/logout", url.Values{})
	agg := ts.auditRows(refusalsAction)
	if len(agg) != 1 || agg[0].Message != "5 refusals from IP 0.0.0.0 in the last minute" {
		t.Fatalf("summary rows %+v, want one counting 5", agg)
	}
	if got := len(ts.auditRows("request.csrf")); got != refusalRowsPerWindow+1 {
		t.Errorf("%d full rows, want %d (a fresh share after the window)", got, refusalRowsPerWindow+1)
	}
}

func TestForwardedClient(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.5", []string{"198.51.100.1"}, "203.0.113.5"},                  // untrusted peer: header ignored
		{"10.0.0.2", nil, "10.0.0.2"},                                             // a proxy without a header
		{"10.0.0.2", []string{"198.51.100.1"}, "198.51.100.1"},                    // one proxy
		{"10.0.0.2", []string{"6.6.6.6, 198.51.100.1, 10.1.1.1"}, "198.51.100.1"}, // two proxies, a forged hop
		{"10.0.0.2", []string{"6.6.6.6", "198.51.100.1"}, "198.51.100.1"},         // header lines in order
		{"10.0.0.2", []string{"10.3.3.3, 10.1.1.1"}, "10.3.3.3"},                  // proxies all the way
		{"10.0.0.2", []string{"198.51.100.1, junk"}, "10.0.0.2"},                  // a bad hop stops the walk
		{"fd00::1", []string{"2001:db8::7"}, "2001:db8::7"},
		{"10.0.0.2", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},
	} {
		got := forwardedClient(netip.MustParseAddr(tc.peer), toLines(tc.xff), isTrusted)
		if got.String() != tc.want {
			t.Errorf("peer %s X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

func toLines(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}
