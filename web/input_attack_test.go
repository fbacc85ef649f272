package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
)

// Bad values, by the kind of parameter they are thrown at.
var (
	// badInts are never a valid page, id, count or limit.
	badInts = []string{"9223372036854775807", "-9223372036854775808", "18446744073709551616",
		"99999999999999999999999", "-1", "0", "NaN", "Inf", "-Inf", "1e3", "0x10", "1.5", "１", "1 ", " 1", "1a", "true"}
	// badTexts are refused in any text: NUL, other control bytes, invalid
	// UTF-8, and far more than any field holds.
	badTexts = []string{"\x00", "a\x00b", "\x1b[31m", "\xff\xfe", "a\xc3", strings.Repeat("é", 20001)}
	// badQueryTexts are badTexts that fit in a request line: the server
	// answers a longer one with 431 before the app sees it.
	badQueryTexts = append(badTexts[:len(badTexts)-1:len(badTexts)-1], strings.Repeat("a", 600))
	// badPathIDs are path ids no stored row and no vendor could have.
	badPathIDs = []string{"9223372036854775807", "18446744073709551616", "-1", "0", "NaN", "1.0", "0x1",
		"%00", "a%00b", "%FF%FE", "%3Cscript%3E", "..", "a%2Fb", strings.Repeat("9", 300)}
	// badVendorIDs are ticket and note ids no vendor could have.
	badVendorIDs = []string{"%00", "a%00b", "%FF%FE", "%3Cscript%3E", ".", "..", "a%2Fb", "a%20b", "%E2%80%8B1",
		"-1", strings.Repeat("9", 129)}
)

// attack is one request with a bad value in one place.
type attack struct {
	method, path string
	form         url.Values
}

func (a attack) String() string {
	s := a.method + " " + a.path
	if a.form != nil {
		s += " " + a.form.Encode()
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return strconv.Quote(s)
}

// withQuery is path with key set to each bad value on top of base.
func withQuery(path string, base url.Values, key string, bad []string) []attack {
	var out []attack
	for _, v := range bad {
		q := url.Values{}
		for k, vs := range base {
			q[k] = vs
		}
		q.Set(key, v)
		out = append(out, attack{method: http.MethodGet, path: path + "?" + q.Encode()})
	}
	return out
}

// withForm is a POST of base with key set to each bad value.
func withForm(path string, base url.Values, key string, bad []string) []attack {
	var out []attack
	for _, v := range bad {
		f := url.Values{}
		for k, vs := range base {
			f[k] = append([]string(nil), vs...)
		}
		f.Set(key, v)
		out = append(out, attack{method: http.MethodPost, path: path, form: f})
	}
	return out
}

// state is everything a refused request must leave as it was: successful
// audit rows, the notes at each vendor, accounts and users.
func (ds *demoServer) state(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	_, okRows, err := ds.db.ListAudit(ctx, models.AuditFilter{Outcome: models.OutcomeOK, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ok audit rows %d; notes %d/%d/%d\n", okRows,
		ds.demo.Sandbox.Alibaba.NoteCount(), ds.demo.Sandbox.Sendbird.NoteCount(), ds.demo.Sandbox.Feishu.NoteCount())
	as, err := ds.db.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		fmt.Fprintf(&b, "account %d %q %q %v %v %d %s %s %s %v\n", a.ID, a.Name, a.Endpoint, a.Disabled, a.RateLimit,
			a.TimeoutSeconds, a.SettingsJSON, a.SecretsSealed, a.SecretNames, a.UpdatedAt.UnixNano())
	}
	us, err := ds.db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		fmt.Fprintf(&b, "user %d %q %q %s %v %s %q %q %v\n", u.ID, u.Email, u.Name, u.Role, u.Disabled, u.PasswordHash,
			u.Lang, u.TimeZone, u.UpdatedAt.UnixNano())
	}
	return b.String()
}

func (ds *demoServer) auditTotal(t *testing.T) int64 {
	t.Helper()
	_, n, err := ds.db.ListAudit(context.Background(), models.AuditFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBadInputsAnswer4xxAndChangeNothing throws bad values at every
// parameter of every route that takes one (query, form and path) through
// the real app: each must be refused with a 4xx, never a 5xx or a panic,
// and a refused change leaves accounts, users, notes and the successful
// audit rows as they were (at most one refusal row is added per request).
func TestBadInputsAnswer4xxAndChangeNothing(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	ctx := context.Background()
	sb := ds.demo.Sandbox.Sendbird.Notes()[0]
	ticket, note := strconv.FormatInt(sb.TicketID, 10), strconv.FormatInt(sb.ID, 10)
	acct, err := ds.db.AccountByID(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	manager, err := ds.db.UserByEmail(ctx, demoManager)
	if err != nil {
		t.Fatal(err)
	}
	mid := strconv.FormatUint(uint64(manager.ID), 10)

	var attacks []attack
	// Query parameters of the lists and their exports.
	for _, list := range []string{"/notes", "/notes/export.csv"} {
		base := url.Values{"account": {"2"}}
		for _, key := range []string{"page", "account"} {
			attacks = append(attacks, withQuery(list, base, key, append(badInts, badQueryTexts...))...)
		}
		attacks = append(attacks, withQuery(list, base, "account", []string{"999", "4294967295", "4294967296"})...)
		for _, key := range []string{"from", "to"} {
			attacks = append(attacks, withQuery(list, base, key, append([]string{"9999-99-99", "2026-02-30", "-2026-01-01", "20260101", "0000-00-00"}, badQueryTexts...))...)
		}
		attacks = append(attacks, withQuery(list, base, "ticket", append([]string{"<script>", "a b", strings.Repeat("1", 129)}, badQueryTexts...))...)
		attacks = append(attacks, withQuery(list, base, "role", append([]string{"boss", "Agent"}, badQueryTexts...))...)
		attacks = append(attacks, withQuery(list, base, "q", badQueryTexts)...)
	}
	for _, list := range []string{"/audit", "/audit/export.csv", "/audit/export.jsonl"} {
		for _, key := range []string{"page", "account"} {
			attacks = append(attacks, withQuery(list, nil, key, append(badInts, badQueryTexts...))...)
		}
		for _, key := range []string{"from", "to"} {
			attacks = append(attacks, withQuery(list, nil, key, append([]string{"9999-99-99", "2026-02-30", "+002026-01-01"}, badQueryTexts...))...)
		}
		attacks = append(attacks, withQuery(list, nil, "outcome", append([]string{"maybe"}, badQueryTexts...))...)
		for _, key := range []string{"actor", "action"} {
			attacks = append(attacks, withQuery(list, nil, key, badQueryTexts)...)
		}
	}
	attacks = append(attacks, withQuery("/accounts/new", nil, "kind", append([]string{"zendesk", "Sendbird", "sendbird "}, badQueryTexts...))...)
	// Path parameters: every route with an id, the bad value in each place.
	notePaths := []string{"", "/edit", "/delete", "/history"}
	// notePath is every route naming account, ticket and note; tickets too
	// adds the routes naming only account and ticket.
	notePath := func(account, ticket, note string, tickets bool) []attack {
		var out []attack
		for _, suffix := range notePaths {
			p := "/notes/" + account + "/" + ticket + "/" + note + suffix
			out = append(out, attack{method: http.MethodGet, path: p})
			if suffix == "" || suffix == "/delete" {
				out = append(out, attack{method: http.MethodPost, path: p, form: url.Values{"body": {"changed by an attack"}}})
			}
		}
		for _, suffix := range []string{"", "/print", "/export.csv"} {
			if tickets {
				out = append(out, attack{method: http.MethodGet, path: "/tickets/" + account + "/" + ticket + suffix})
			}
		}
		return out
	}
	for _, bad := range badVendorIDs {
		attacks = append(attacks, notePath("2", bad, note, true)...)
		attacks = append(attacks, notePath("2", ticket, bad, false)...)
	}
	for _, bad := range badPathIDs {
		attacks = append(attacks, notePath(bad, ticket, note, true)...)
		attacks = append(attacks, attack{method: http.MethodGet, path: "/accounts/" + bad + "/edit"},
			attack{method: http.MethodGet, path: "/users/" + bad + "/edit"})
		for _, p := range []string{"/accounts/" + bad, "/accounts/" + bad + "/disable", "/accounts/" + bad + "/delete",
			"/accounts/" + bad + "/test", "/users/" + bad, "/users/" + bad + "/password"} {
			attacks = append(attacks, attack{method: http.MethodPost, path: p,
				form: url.Values{"name": {"changed"}, "role": {"admin"}, "password": {"changed-password-1"}}})
		}
	}
	for _, unknown := range []string{"999", "4294967295"} {
		attacks = append(attacks, attack{method: http.MethodGet, path: "/tickets/" + unknown + "/" + ticket},
			attack{method: http.MethodPost, path: "/accounts/" + unknown + "/delete", form: url.Values{}},
			attack{method: http.MethodPost, path: "/users/" + unknown, form: url.Values{"name": {"x"}, "role": {"admin"}}})
	}
	// Form fields of every change.
	addBase := url.Values{"account": {"2"}, "ticket": {ticket}, "body": {"an attack note"}}
	for key, bad := range map[string][]string{
		"account": append(append([]string{"999", "4294967296"}, badInts...), badTexts...),
		"ticket":  append([]string{"<x>", "a/b", "", strings.Repeat("1", 129)}, badTexts...),
		"body":    append([]string{"", "   ", strings.Repeat("x", 10001)}, badTexts...),
	} {
		for i, a := range withForm("/notes", addBase, key, bad) {
			a.form.Set("form_token", key+"-attack-"+strconv.Itoa(i)) // a fresh token: only validation can refuse it
			attacks = append(attacks, a)
		}
	}
	attacks = append(attacks, withForm("/notes/2/"+ticket+"/"+note, url.Values{}, "body",
		append([]string{"", strings.Repeat("x", 10001)}, badTexts...))...)
	acctBase := url.Values{"name": {acct.Name}, "endpoint": {acct.Endpoint}, "rate_limit": {"5"}, "timeout_seconds": {"10"}}
	for k, v := range acct.Settings() {
		acctBase.Set("setting."+k, v)
	}
	acctBad := map[string][]string{
		"rate_limit":             append([]string{"NaN", "nan", "Inf", "+Inf", "-Inf", "-1", "-0.5", "1e400", "1001", "0x10", "1_0", "1e2e3"}, badTexts...),
		"timeout_seconds":        append(append([]string{"301", "1e2"}, badInts[:4]...), badTexts...),
		"name":                   append([]string{"", strings.Repeat("n", 201)}, badTexts...),
		"endpoint":               append([]string{"https://" + strings.Repeat("a", 600) + ".example.com"}, badTexts...),
		"setting.application_id": badTexts,
		"secret.api_token":       badTexts,
	}
	for key, bad := range acctBad {
		attacks = append(attacks, withForm("/accounts/2", acctBase, key, bad)...)
		create := url.Values{"kind": {"sendbird"}, "secret.api_token": {"token"}}
		for k, vs := range acctBase {
			create[k] = vs
		}
		create.Set("name", "attack account")
		attacks = append(attacks, withForm("/accounts", create, key, bad)...)
	}
	userBase := url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"manager"}, "password": {"password-123456"}}
	for key, bad := range map[string][]string{
		"email":    append([]string{"not-an-email", strings.Repeat("a", 320) + "@example.com"}, badTexts...),
		"name":     append([]string{strings.Repeat("n", 201)}, badTexts...),
		"role":     append([]string{"root", "Admin"}, badTexts...),
		"password": append([]string{"short", strings.Repeat("p", 73)}, badTexts...),
	} {
		attacks = append(attacks, withForm("/users", userBase, key, bad)...)
		if key == "name" || key == "role" {
			attacks = append(attacks, withForm("/users/"+mid, url.Values{"name": {"Manager"}, "role": {"manager"}}, key, bad)...)
		}
		if key == "password" {
			attacks = append(attacks, withForm("/users/"+mid+"/password", url.Values{}, key, bad)...)
		}
	}
	attacks = append(attacks, withForm("/preferences", url.Values{"lang": {"en"}}, "timezone",
		append([]string{"Mars/Olympus", "../../etc/passwd"}, badTexts...))...)

	before, audits := ds.state(t), ds.auditTotal(t)
	for _, a := range attacks {
		resp, _ := c.do(a.method, a.path, withCSRF(c, a))
		switch {
		case resp.StatusCode < 400 || resp.StatusCode >= 500:
			t.Errorf("%s: status %d, want 4xx", a, resp.StatusCode)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			// The admin may do everything: such a refusal would hide
			// whether the value itself was checked.
			t.Errorf("%s: status %d: refused for the session or token, not for the value", a, resp.StatusCode)
		}
		if a.method == http.MethodPost {
			if after := ds.state(t); after != before {
				t.Fatalf("%s changed state:\nbefore %s\nafter  %s", a, before, after)
			}
			if n := ds.auditTotal(t); n > audits+1 {
				t.Errorf("%s added %d audit rows, want at most one refusal", a, n-audits)
			}
		}
		audits = ds.auditTotal(t)
	}
	t.Logf("%d bad requests sent", len(attacks))
}

// withCSRF is a's form with the client's token, so only the bad value can
// be the reason for a refusal.
func withCSRF(c *client, a attack) url.Values {
	if a.form == nil {
		return nil
	}
	a.form.Set("_csrf", c.csrf)
	return a.form
}

func TestHugePageNumberIsRefusedBesideTheField(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	for _, path := range []string{"/notes?page=9223372036854775807", "/notes?page=-5", "/notes?page=x",
		"/audit?page=9223372036854775807", "/audit?page=0"} {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", path, resp.StatusCode)
			continue
		}
		d := doc(t, body)
		if d.Find(`[aria-invalid=true]#page`).Length() != 1 || d.Find(`#page-error`).Text() == "" {
			t.Errorf("%s: the page field is not marked invalid with a message", path)
		}
	}
	// Past the end is not an error: the pager offers the last page.
	if resp, _ := c.get("/notes?page=1000"); resp.StatusCode != http.StatusOK {
		t.Errorf("page 1000: %d, want 200", resp.StatusCode)
	}
}

func TestUnknownAccountFilterIsNotFound(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	for _, path := range []string{"/notes?account=999", "/notes?account=2&account=999", "/notes/export.csv?account=999"} {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			continue
		}
		if strings.Contains(path, "export") {
			continue
		}
		d := doc(t, body)
		if d.Find(`input[name=account][aria-invalid=true]`).Length() == 0 || d.Find(`#account-error`).Text() == "" {
			t.Errorf("%s: the account field is not marked", path)
		}
		if ids, _, _ := notesOf(d); len(ids) != 0 {
			t.Errorf("%s: shows %d notes", path, len(ids))
		}
	}
	// A disabled account is unknown to the filter as well.
	if _, err := ds.db.SetAccountDisabled(context.Background(), 3, true); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.get("/notes?account=3"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disabled account: %d, want 404", resp.StatusCode)
	}
}

func TestRateLimitNaNIsRefusedBesideTheField(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	a, _ := ds.db.AccountByID(context.Background(), 2)
	for _, v := range []string{"NaN", "Inf", "-Inf", "-1", "1e400"} {
		form := url.Values{"name": {a.Name}, "endpoint": {a.Endpoint}, "rate_limit": {v}}
		for k, s := range a.Settings() {
			form.Set("setting."+k, s)
		}
		resp, body := c.post("/accounts/2", form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("rate_limit=%s: status %d, want 422", v, resp.StatusCode)
			continue
		}
		if doc(t, body).Find(`#rate_limit[aria-invalid=true]`).Length() != 1 {
			t.Errorf("rate_limit=%s: field not marked", v)
		}
	}
	got, _ := ds.db.AccountByID(context.Background(), 2)
	if got.RateLimit != a.RateLimit || !got.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("rate limit %v → %v after refused edits", a.RateLimit, got.RateLimit)
	}
}

func TestNoteTextWithNULIsRefused(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	n := sb.Notes()[0]
	ticket := strconv.FormatInt(n.TicketID, 10)
	before := sb.NoteCount()
	resp, body := c.post("/notes", url.Values{"account": {"2"}, "ticket": {ticket}, "body": {"hidden\x00text"}, "form_token": {"nul-1"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || doc(t, body).Find(`#add-body[aria-invalid=true]`).Length() != 1 {
		t.Errorf("add with NUL: %d, want 422 with the text marked", resp.StatusCode)
	}
	path := "/notes/2/" + ticket + "/" + strconv.FormatInt(n.ID, 10)
	resp, body = c.post(path, url.Values{"body": {"edited\x00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("edit with NUL: %d, want 422 with the text marked", resp.StatusCode)
	}
	if sb.NoteCount() != before {
		t.Errorf("notes %d → %d", before, sb.NoteCount())
	}
	for _, s := range sb.Notes() {
		if strings.ContainsRune(s.Text, 0) {
			t.Errorf("note %d stored with a NUL", s.ID)
		}
	}
}

// TestImpossibleTicketIDsAreNotFound: a ticket id no vendor could have
// names nothing, so conversation and note routes answer 404 without asking
// the vendor, rather than passing the vendor's refusal on as a 502.
func TestImpossibleTicketIDsAreNotFound(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	writes := ds.demo.Sandbox.Sendbird.Writes()
	for _, p := range []string{"/tickets/2/%3Cscript%3E", "/tickets/2/a%00b", "/tickets/2/a%20b/print", "/tickets/1/x%FF/export.csv",
		"/tickets/3/..", "/notes/2/%3Cx%3E/1", "/notes/2/%3Cx%3E/1/edit", "/notes/3/a%2Fb/1/history", "/notes/2/1/../history"} {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/notes/2/%3Cx%3E/1", "/notes/2/%3Cx%3E/1/delete"} {
		if resp, _ := c.post(p, url.Values{"body": {"x"}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if ds.demo.Sandbox.Sendbird.Writes() != writes {
		t.Error("an impossible ticket id reached the vendor")
	}
	// A well-formed id the archive has never seen: the page says so under
	// a 404, and the export is a 404 too.
	for _, p := range []string{"/tickets/1/999999999", "/tickets/2/abc", "/tickets/1/999999999/print", "/tickets/3/999999999/export.csv"} {
		resp, body := c.get(p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
		if !strings.Contains(body, "not in the archive yet") {
			t.Errorf("GET %s does not say the archive does not have the ticket", p)
		}
	}
}

func TestAuditFilterToTheLastDayShowsRows(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	for _, q := range []string{"to=9999-12-31", "from=2000-01-01&to=9999-12-31", "from=0001-01-01"} {
		resp, body := c.get("/audit?" + q)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", q, resp.StatusCode)
			continue
		}
		if n := doc(t, body).Find(`[data-testid=audit-row]`).Length(); n == 0 {
			t.Errorf("%s: no audit rows", q)
		}
	}
}

// TestHEADIsServedForEveryGETRoute: HEAD answers as GET does, without a
// body, for every GET route of the table, signed in and not.
func TestHEADIsServedForEveryGETRoute(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	admin := ds.signIn(demoAdmin)
	anon := ds.client()
	for _, r := range ds.srv.Routes {
		if r.Method != http.MethodGet {
			continue
		}
		p := fillPath(r.Path)
		if strings.HasPrefix(r.Path, "/notes/:account") {
			n := ds.demo.Sandbox.Sendbird.Notes()[0]
			p = strings.Replace(p, "/notes/1/1/1", fmt.Sprintf("/notes/2/%d/%d", n.TicketID, n.ID), 1)
		}
		for _, who := range []*client{admin, anon} {
			get, _ := who.get(p)
			head, body := who.do(http.MethodHead, p, nil)
			if head.StatusCode != get.StatusCode || head.StatusCode == http.StatusNotFound && get.StatusCode != http.StatusNotFound {
				t.Errorf("HEAD %s: %d, GET %d", p, head.StatusCode, get.StatusCode)
			}
			if body != "" {
				t.Errorf("HEAD %s has a body", p)
			}
		}
	}
	resp, _ := anon.do(http.MethodHead, "/healthz", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /healthz: %d", resp.StatusCode)
	}
}

// TestSignedInPagesAndExportsAreNotStored: every GET route's answer to a
// signed-in admin (pages, partials, exports) is Cache-Control: no-store.
func TestSignedInPagesAndExportsAreNotStored(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	paths := []string{"/notes?page=2", "/notes/export.json", "/notes/export.md", "/audit/export.jsonl"}
	for _, r := range ds.srv.Routes {
		if r.Method == http.MethodGet {
			paths = append(paths, fillPath(r.Path))
		}
	}
	for _, p := range paths {
		for _, hdr := range [][]string{nil, {"HX-Request", "true"}} {
			resp, _ := c.get(p, hdr...)
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("GET %s %v: Cache-Control %q (status %d)", p, hdr, cc, resp.StatusCode)
			}
		}
	}
}

// TestOversizeAnswersCarryTheSecurityHeaders: 413 and 431 are answered by
// the server before any middleware runs; they still carry the CSP, nosniff
// and the other headers every response has.
func TestOversizeAnswersCarryTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	// A real listener: app.Test reports these as errors instead of answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ts.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = ts.srv.App().Shutdown() })
	// Raw requests, written whole before the answer is read: the server
	// answers and closes without reading the rest, and an HTTP client
	// still writing would see the reset instead of the answer.
	send := func(raw string) *http.Response {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// The declared length alone is refused, before any of the body is read.
	tooBig := send("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(2<<20) + "\r\n\r\n")
	tooLong := send("GET /login HTTP/1.1\r\nHost: x\r\nX-Padding: " + strings.Repeat("h", 16<<10) + "\r\n\r\n")
	for _, tc := range []struct {
		resp *http.Response
		want int
	}{{tooBig, http.StatusRequestEntityTooLarge}, {tooLong, http.StatusRequestHeaderFieldsTooLarge}} {
		if tc.resp.StatusCode != tc.want {
			t.Errorf("status %d, want %d", tc.resp.StatusCode, tc.want)
		}
		for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := tc.resp.Header.Get(h); !strings.Contains(got, want) {
				t.Errorf("%d: %s = %q, want %q", tc.want, h, got, want)
			}
		}
	}
}
