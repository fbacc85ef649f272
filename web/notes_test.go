package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// demoServer is the app with the three sandbox accounts (1 Alibaba,
// 2 Sendbird, 3 Feishu) on simulators, an admin and a manager.
type demoServer struct {
	*testServer
	demo *Demo
}

func newDemoServer(t testing.TB, mod ...func(*Config)) *demoServer {
	t.Helper()
	// As --demo: no global private-endpoint allowance; the sandbox
	// accounts get loopback one by one.
	ts := newTestServer(t, append([]func(*Config){func(c *Config) { c.Demo = true }}, mod...)...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	demo, err := ts.srv.StartDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds := &demoServer{testServer: ts, demo: demo}
	ds.sync()
	return ds
}

// sync brings the archive up to date with the simulators, as a full sync
// pass of every account does.
func (ds *demoServer) sync() {
	ds.t.Helper()
	if err := ds.srv.SyncAll(context.Background()); err != nil {
		ds.t.Fatal(err)
	}
}

// syncFailing runs a pass of every account where one is expected to fail,
// and fails the test unless one did.
func (ds *demoServer) syncFailing() {
	ds.t.Helper()
	if err := ds.srv.SyncAll(context.Background()); err == nil {
		ds.t.Fatal("every sync pass succeeded; a failure was expected")
	}
}

// signIn signs in a demo user.
func (ds *demoServer) signIn(email string) *client {
	ds.t.Helper()
	c := ds.client()
	c.get("/login")
	if resp, _ := c.post("/login", url.Values{"email": {email}, "password": {ds.demo.Password}}); resp.StatusCode != http.StatusSeeOther {
		ds.t.Fatalf("sign in %s: %d", email, resp.StatusCode)
	}
	c.get("/preferences")
	return c
}

func doc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// notesOf returns the notes on a page as "account/ticket/note" → body text.
func notesOf(d *goquery.Document) (ids []string, bodies map[string]string, times []time.Time) {
	bodies = map[string]string{}
	d.Find(`[data-testid=note]`).Each(func(_ int, s *goquery.Selection) {
		id := s.AttrOr("data-account-id", "") + "/" + s.AttrOr("data-ticket-id", "") + "/" + s.AttrOr("data-note-id", "")
		ids = append(ids, id)
		bodies[id] = s.Find(`[data-testid=note-body]`).Text()
		t, _ := time.Parse(time.RFC3339, s.Find("time").First().AttrOr("datetime", ""))
		times = append(times, t)
	})
	return ids, bodies, times
}

func TestNotesMergeAcrossAccountsNewestFirst(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	resp, body := c.get("/notes")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /notes: %d", resp.StatusCode)
	}
	d := doc(t, body)
	if got := d.Find(`[data-testid=account-status][data-ok=true]`).Length(); got != 3 {
		t.Fatalf("accounts ok = %d, want 3", got)
	}
	ids, _, times := notesOf(d)
	if len(ids) != notesPageSizeForTest {
		t.Errorf("page holds %d notes, want %d", len(ids), notesPageSizeForTest)
	}
	accounts := map[string]bool{}
	for i, id := range ids {
		accounts[strings.SplitN(id, "/", 2)[0]] = true
		if i > 0 && times[i].After(times[i-1]) {
			t.Errorf("note %d (%v) is newer than note %d (%v)", i, times[i], i-1, times[i-1])
		}
	}
	// Page 2 continues where page 1 ended.
	_, body2 := c.get("/notes?page=2")
	_, _, times2 := notesOf(doc(t, body2))
	if len(times2) == 0 || times2[0].After(times[len(times)-1]) {
		t.Errorf("page 2 does not continue page 1")
	}
	// Across the full 30 days every account contributes.
	_, full := c.get("/notes/export.json")
	var all []struct {
		AccountID uint      `json:"account_id"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal([]byte(full), &all); err != nil {
		t.Fatal(err)
	}
	seen := map[uint]bool{}
	for i, n := range all {
		seen[n.AccountID] = true
		if i > 0 && n.CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("export not newest first at %d", i)
		}
	}
	if len(seen) != 3 {
		t.Errorf("merged notes come from %d accounts, want 3", len(seen))
	}
}

const notesPageSizeForTest = 50

func TestNotesDateRangeEdgesInViewersZone(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	admin, _ := ds.db.UserByEmail(context.Background(), demoAdmin)
	if err := ds.db.SetPreferences(context.Background(), admin.ID, "", "Asia/Shanghai"); err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	day := time.Now().In(sh).AddDate(0, 0, -10)
	d0 := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, sh)
	ticket := ds.demo.Sandbox.Sendbird.Tickets()[0].ID
	put := func(text string, at time.Time) {
		if _, err := ds.demo.Sandbox.Sendbird.PutNote(ticket, text, at); err != nil {
			t.Fatal(err)
		}
	}
	put("edge-marker before-first", d0.Add(-time.Second))
	put("edge-marker first-second", d0)
	put("edge-marker last-second", d0.AddDate(0, 0, 1).Add(-time.Second))
	put("edge-marker next-day", d0.AddDate(0, 0, 1))
	ds.sync()
	q := url.Values{"account": {"2"}, "from": {d0.Format(time.DateOnly)}, "to": {d0.Format(time.DateOnly)}, "q": {"edge-marker"}}
	_, body := c.get("/notes?" + q.Encode())
	_, bodies, _ := notesOf(doc(t, body))
	got := map[string]bool{}
	for _, b := range bodies {
		got[strings.TrimPrefix(b, "edge-marker ")] = true
	}
	want := map[string]bool{"first-second": true, "last-second": true}
	if len(got) != len(want) || !got["first-second"] || !got["last-second"] {
		t.Errorf("notes in %s (Asia/Shanghai) = %v, want exactly %v", d0.Format(time.DateOnly), got, want)
	}
}

func TestOneFailingAccountDoesNotHideTheOthers(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ds.demo.Sandbox.Sendbird.Faults.Arm(simfault.ExpiredToken, -1)
	ds.syncFailing()
	c := ds.signIn(demoManager)
	resp, body := c.get("/notes")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /notes: %d", resp.StatusCode)
	}
	d := doc(t, body)
	bad := d.Find(`[data-testid=account-status][data-account-id="2"]`)
	if bad.AttrOr("data-ok", "") != "false" {
		t.Fatalf("failing account shown as ok")
	}
	text := bad.Text()
	if !strings.Contains(text, "refused the credentials") || !strings.Contains(text, "code") || !strings.Contains(text, "request id") {
		t.Errorf("failure not explained with code and request id: %q", strings.Join(strings.Fields(text), " "))
	}
	if strings.Contains(body, `"error":true`) {
		t.Error("the vendor's raw error body reached the page")
	}
	if d.Find(`[data-testid=account-status][data-ok=true]`).Length() != 2 {
		t.Error("the other two accounts are not ok")
	}
	// The failing account's archive stays readable beside the others.
	ids, _, _ := notesOf(d)
	accounts := map[string]bool{}
	for _, id := range ids {
		accounts[strings.Split(id, "/")[0]] = true
	}
	if !accounts["1"] || !accounts["2"] || !accounts["3"] {
		t.Errorf("notes shown from accounts %v, want all three", accounts)
	}
}

func TestNoteContentIsEscaped(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	const evil = `<script>alert(1)</script> " onmouseover="alert(2)" <img src=x onerror=alert(3)>`
	ticket := ds.demo.Sandbox.Sendbird.Tickets()[0].ID
	if _, err := ds.demo.Sandbox.Sendbird.PutNote(ticket, evil, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	ds.sync()
	c := ds.signIn(demoAdmin)
	for _, path := range []string{"/notes?account=2", "/tickets/2/" + strconv.FormatInt(ticket, 10)} {
		_, body := c.get(path)
		d := doc(t, body)
		found := false
		d.Find(`[data-testid=note-body]`).Each(func(_ int, s *goquery.Selection) {
			if s.Text() == evil {
				found = true
			}
		})
		if !found {
			t.Errorf("%s: the note is not shown as its literal text", path)
		}
		if d.Find(`main script, [onmouseover], [onerror], main img`).Length() != 0 {
			t.Errorf("%s: note content became markup", path)
		}
		if strings.Contains(body, "<script>alert(1)") {
			t.Errorf("%s: raw script tag in the page", path)
		}
	}
}

// innerOf returns the normalised inner HTML of the element with id.
func innerOf(t *testing.T, body, id string) string {
	t.Helper()
	h, err := doc(t, body).Find("#" + id).Html()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(h), " ")
}

func TestNotesPartialMatchesFullPage(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	path := "/notes?role=agent&page=2"
	c.get(path) // both answers below then come from the same cached fetch
	_, full := c.get(path)
	resp, partial := c.get(path, "HX-Request", "true", "HX-Target", "notes-results")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("partial: %d", resp.StatusCode)
	}
	if strings.Contains(partial, "<html") || strings.Contains(partial, "notes-filter") {
		t.Error("the partial is a whole page")
	}
	// The presets and the sort select follow out of band, after the
	// results (NotesResultsSwap); the rest is the page's results as is.
	oob := strings.Index(partial, `<div id="range-presets"`)
	if oob < 0 || !strings.Contains(partial[oob:], `id="sort-field"`) {
		t.Fatal("the partial brings no presets and sort select out of band")
	}
	partial = partial[:oob]
	want := innerOf(t, full, "notes-results")
	got := strings.Join(strings.Fields(partial), " ")
	got = innerOf(t, "<div id=x>"+got+"</div>", "x")
	if got != want || len(want) < 1000 {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Logf("first difference at %d:\npartial: %s\nfull:    %s", i, got[max(0, i-80):min(len(got), i+120)], want[max(0, i-80):min(len(want), i+120)])
				break
			}
		}
		t.Errorf("partial and full page differ (len %d vs %d)", len(got), len(want))
	}
}

func TestManagerSeesNoEditControls(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	admin, manager := ds.signIn(demoAdmin), ds.signIn(demoManager)
	_, ab := admin.get("/notes")
	ad := doc(t, ab)
	if ad.Find(`[data-testid=note-add-form]`).Length() != 1 {
		t.Error("admin has no add form")
	}
	ad.Find(`[data-testid=note]`).Each(func(_ int, s *goquery.Selection) {
		editable := s.Find(`[data-testid=note-edit]`).Length() == 1
		if wantEdit := s.AttrOr("data-account-id", "") == "2"; editable != wantEdit {
			t.Errorf("note of account %s: edit offered = %v, want %v", s.AttrOr("data-account-id", ""), editable, wantEdit)
		}
	})
	if !strings.Contains(ab, "no API for that") {
		t.Error("the page does not say why some notes cannot be edited")
	}
	_, mb := manager.get("/notes")
	md := doc(t, mb)
	if n := md.Find(`[data-testid=note-edit], [data-testid=note-delete], [data-testid=note-add-form]`).Length(); n != 0 {
		t.Errorf("manager sees %d edit controls", n)
	}
	if md.Find(`[data-testid=note]`).Length() == 0 {
		t.Error("manager sees no notes")
	}
	// A forged edit is refused and audited.
	n := ds.demo.Sandbox.Sendbird.Notes()[0]
	path := "/notes/2/" + strconv.FormatInt(n.TicketID, 10) + "/" + strconv.FormatInt(n.ID, 10)
	if resp, _ := manager.post(path, url.Values{"body": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager edit: %d, want 403", resp.StatusCode)
	}
	rows := ds.auditRows("note.update")
	if len(rows) != 1 || rows[0].Outcome != models.OutcomeDenied || rows[0].ActorEmail != demoManager {
		t.Errorf("forged edit not audited as denied: %+v", rows)
	}
	for _, x := range ds.demo.Sandbox.Sendbird.Notes() {
		if x.Text == "forged" {
			t.Fatal("the manager's edit reached the provider")
		}
	}
}

func TestAddEditDeleteAreAuditedAndDoubleSubmitAddsOnce(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	ticket := strconv.FormatInt(sb.Tickets()[0].ID, 10)
	_, page := c.get("/notes")
	token := doc(t, page).Find(`[data-testid=note-add-form] input[name=form_token]`).AttrOr("value", "")
	if token == "" {
		t.Fatal("no form token on the add form")
	}
	before := sb.NoteCount()
	form := url.Values{"account": {"2"}, "ticket": {ticket}, "body": {"added by the test"}, "form_token": {token}}
	resp, _ := c.post("/notes", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/tickets/2/"+ticket) {
		t.Fatalf("add: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = c.post("/notes", form) // the same form again
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("double submit: %d, want 409", resp.StatusCode)
	}
	if got := sb.NoteCount(); got != before+1 {
		t.Errorf("notes at the provider %d → %d, want one more", before, got)
	}
	// The new note shows in the conversation right away (cache invalidated).
	_, conv := c.get("/tickets/2/" + ticket)
	ids, bodies, _ := notesOf(doc(t, conv))
	var added string
	for _, id := range ids {
		if bodies[id] == "added by the test" {
			added = id
		}
	}
	if added == "" {
		t.Fatal("added note not in the conversation")
	}
	parts := strings.Split(added, "/")
	notePath := "/notes/2/" + parts[1] + "/" + parts[2]

	// Inline edit through htmx returns the note with the new text.
	resp, frag := c.post(notePath, url.Values{"body": {"edited by the test"}, "mode": {"list"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "edited by the test") || !strings.Contains(frag, `data-testid="note"`) {
		t.Fatalf("inline edit: %d %s", resp.StatusCode, frag)
	}
	// An empty edit is refused beside the field and changes nothing.
	resp, frag = c.post(notePath, url.Values{"body": {"  "}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(frag, `aria-invalid="true"`) {
		t.Errorf("empty edit: %d", resp.StatusCode)
	}
	resp, _ = c.post(notePath+"/delete", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if sb.NoteCount() != before {
		t.Errorf("note not deleted at the provider")
	}
	check := func(action, wantBefore, wantAfter string) {
		t.Helper()
		var ok *models.AuditEvent
		for _, e := range ds.auditRows(action) {
			if e.Outcome == models.OutcomeOK {
				ok = &e
				break
			}
		}
		if ok == nil {
			t.Fatalf("no ok %s audit row", action)
		}
		if !strings.Contains(ok.Before, wantBefore) || !strings.Contains(ok.After, wantAfter) {
			t.Errorf("%s audit before %q after %q", action, ok.Before, ok.After)
		}
		if ok.VendorRequestID == "" {
			t.Errorf("%s audit row carries no vendor request id", action)
		}
		if ok.Target != "note:2:"+parts[1]+":"+parts[2] {
			t.Errorf("%s target %q", action, ok.Target)
		}
	}
	check("note.create", "", "added by the test")
	check("note.update", "added by the test", "edited by the test")
	check("note.delete", "edited by the test", "") // the deleted text survives
	// The note's history page shows all three.
	_, hist := c.get(notePath + "/history")
	if got := doc(t, hist).Find(`[data-testid=history-entry]`).Length(); got < 3 {
		t.Errorf("history shows %d entries, want at least 3", got)
	}
	if got := len(ds.auditRows("note.create")); got != 3 {
		t.Errorf("note.create rows = %d, want 3 (the attempt, its ok outcome and the refused double submit)", got)
	}
}

func TestUnsupportedEditIsRefused(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	n := ds.demo.Sandbox.Alibaba.Notes()[0]
	path := "/notes/1/" + n.TicketID + "/" + n.DialogID
	if resp, _ := c.post(path, url.Values{"body": {"x"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("edit of an Alibaba note: %d, want 400", resp.StatusCode)
	}
	if resp, _ := c.post(path+"/delete", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("delete of an Alibaba note: %d, want 400", resp.StatusCode)
	}
	if rows := ds.auditRows("note."); len(rows) != 2 || rows[0].Outcome != models.OutcomeDenied {
		t.Errorf("refusals audited: %d rows", len(rows))
	}
}

func TestInvalidFiltersAreExplained(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	for _, q := range []string{"from=2026-13-40", "from=2026-05-02&to=2026-05-01", "ticket=%3Cscript%3E", "role=boss", "account=x"} {
		resp, body := c.get("/notes?" + q)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("%s: status %d, want 422 with the field marked", q, resp.StatusCode)
		}
	}
}

var bomRE = regexp.MustCompile("^\uFEFFaccount,provider,ticket_id")

func TestConversationExports(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoManager)
	ticket := strconv.FormatInt(ds.demo.Sandbox.Sendbird.Tickets()[0].ID, 10)
	if _, err := ds.demo.Sandbox.Sendbird.PutNote(ds.demo.Sandbox.Sendbird.Tickets()[0].ID, "<b>中文</b> =SUM(A1)", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	ds.sync()
	base := "/tickets/2/" + ticket
	resp, body := c.get(base)
	if resp.StatusCode != http.StatusOK || doc(t, body).Find(`[data-testid=timeline] [data-testid=note]`).Length() == 0 {
		t.Fatalf("conversation: %d", resp.StatusCode)
	}
	_, csvBody := c.get(base + "/export.csv")
	if !bomRE.MatchString(csvBody) || !strings.Contains(csvBody, "<b>中文</b> =SUM(A1)") {
		t.Errorf("CSV lacks BOM, header or the Chinese text")
	}
	_, md := c.get(base + "/export.md")
	if !strings.Contains(md, "&lt;b&gt;中文&lt;/b&gt;") {
		t.Errorf("Markdown does not escape vendor HTML")
	}
	_, js := c.get(base + "/export.json")
	var notes []map[string]any
	if err := json.Unmarshal([]byte(js), &notes); err != nil || len(notes) == 0 {
		t.Errorf("JSON export: %v (%d notes)", err, len(notes))
	}
	if resp, _ := c.get(base + "/export.pdf"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown export format: %d", resp.StatusCode)
	}
	resp, pr := c.get(base + "/print")
	if resp.StatusCode != http.StatusOK || strings.Contains(pr, `data-testid="note-edit"`) {
		t.Errorf("print view: %d", resp.StatusCode)
	}
}

func TestTestConnectionShowsTheVendorsAnswerAndIsAudited(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	c.get("/accounts")
	for _, id := range []string{"1", "2", "3"} {
		resp, body := c.post("/accounts/"+id+"/test", nil, "HX-Request", "true")
		r := doc(t, body).Find(`[data-testid=test-result]`)
		if resp.StatusCode != http.StatusOK || r.AttrOr("data-ok", "") != "true" || !strings.Contains(r.Text(), "request id") {
			t.Errorf("account %s: %d %q", id, resp.StatusCode, strings.Join(strings.Fields(r.Text()), " "))
		}
	}
	ds.demo.Sandbox.Feishu.Faults.Arm(simfault.ExpiredToken, -1)
	_, body := c.post("/accounts/3/test", nil) // without htmx: the whole page
	r := doc(t, body).Find(`[data-testid=test-result]`)
	if r.AttrOr("data-ok", "") != "false" || !strings.Contains(r.Text(), "99991663") {
		t.Errorf("failing test: %q", strings.Join(strings.Fields(r.Text()), " "))
	}
	rows := ds.auditRows("account.test")
	if len(rows) != 4 || rows[0].Outcome != models.OutcomeError || rows[1].Outcome != models.OutcomeOK || rows[0].VendorRequestID == "" {
		t.Errorf("connection tests audited: %d rows", len(rows))
	}
}

// TestSuccessfulWritesCarryTheVendorsRequestID adds a note at each demo
// vendor (and edits and deletes one at Sendbird) and checks each ok audit
// row quotes the request id the simulator answered the write with.
func TestSuccessfulWritesCarryTheVendorsRequestID(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox
	lastWrite := func(method string) string {
		for _, r := range slices.Backward(sb.Sendbird.Log()) {
			if r.Method == method {
				return r.RequestID
			}
		}
		return ""
	}
	feishuSend := func() string {
		for _, r := range slices.Backward(sb.Feishu.Requests()) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/messages") {
				return r.LogID
			}
		}
		return ""
	}
	tests := []struct {
		account, ticket string
		sent            func() string
	}{
		{"1", sb.Alibaba.TicketIDs()[0], func() string { return sb.Alibaba.LastRequestID("ReplyTicket") }},
		{"2", strconv.FormatInt(sb.Sendbird.Tickets()[0].ID, 10), func() string { return lastWrite(http.MethodPost) }},
		{"3", sb.Feishu.TicketIDs()[0], feishuSend},
	}
	for _, tt := range tests {
		_, page := c.get("/notes")
		token := doc(t, page).Find(`[data-testid=note-add-form] input[name=form_token]`).AttrOr("value", "")
		form := url.Values{"account": {tt.account}, "ticket": {tt.ticket}, "body": {"request id test " + tt.account}, "form_token": {token}}
		if resp, _ := c.post("/notes", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("account %s: add: %d", tt.account, resp.StatusCode)
		}
		want := tt.sent()
		if want == "" {
			t.Fatalf("account %s: the simulator saw no write", tt.account)
		}
		rows := ds.auditRows("note.create")
		if len(rows) == 0 || rows[0].Outcome != models.OutcomeOK || rows[0].AccountID == nil ||
			strconv.FormatUint(uint64(*rows[0].AccountID), 10) != tt.account {
			t.Fatalf("account %s: newest note.create row is not this ok add", tt.account)
		}
		if got := rows[0].VendorRequestID; got != want {
			t.Errorf("account %s: audit vendor request id %q, want %q", tt.account, got, want)
		}
	}

	// Edit and delete at Sendbird quote their request ids too.
	n := sb.Sendbird.Notes()[0]
	notePath := "/notes/2/" + strconv.FormatInt(n.TicketID, 10) + "/" + strconv.FormatInt(n.ID, 10)
	if resp, _ := c.post(notePath, url.Values{"body": {"edited for the request id"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	if got, want := ds.auditRows("note.update")[0].VendorRequestID, lastWrite(http.MethodPatch); want == "" || got != want {
		t.Errorf("update audit vendor request id %q, want %q", got, want)
	}
	if resp, _ := c.post(notePath+"/delete", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if got, want := ds.auditRows("note.delete")[0].VendorRequestID, lastWrite(http.MethodDelete); want == "" || got != want {
		t.Errorf("delete audit vendor request id %q, want %q", got, want)
	}
}

// TestTicketFilterAcrossVendorsShowsZeroNotes filters every account by a
// ticket only one vendor has: the others show "0 notes", not an error.
func TestTicketFilterAcrossVendorsShowsZeroNotes(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoManager)
	sb := ds.demo.Sandbox
	tests := []struct {
		name, ticket, owner string
	}{
		// An Alibaba id is no integer (Sendbird) and unknown to Feishu.
		{"alibaba ticket", sb.Alibaba.TicketIDs()[0], "1"},
		// A Sendbird id is unknown to Alibaba and Feishu.
		{"sendbird ticket", strconv.FormatInt(sb.Sendbird.Tickets()[0].ID, 10), "2"},
		// A Feishu id is an integer Sendbird has no ticket for.
		{"feishu ticket", sb.Feishu.TicketIDs()[0], "3"},
	}
	for _, tt := range tests {
		resp, body := c.get("/notes?ticket=" + url.QueryEscape(tt.ticket))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET /notes?ticket=: %d", tt.name, resp.StatusCode)
		}
		d := doc(t, body)
		for _, id := range []string{"1", "2", "3"} {
			s := d.Find(`[data-testid=account-status][data-account-id="` + id + `"]`)
			text := strings.Join(strings.Fields(s.Text()), " ")
			if s.AttrOr("data-ok", "") != "true" {
				t.Errorf("%s: account %s shown as failing: %q", tt.name, id, text)
				continue
			}
			if id != tt.owner && !strings.Contains(text, "0 notes") {
				t.Errorf("%s: account %s: %q, want 0 notes", tt.name, id, text)
			}
		}
		ids, _, _ := notesOf(d)
		for _, id := range ids {
			if !strings.HasPrefix(id, tt.owner+"/"+tt.ticket+"/") {
				t.Errorf("%s: note %s is not of ticket %s", tt.name, id, tt.ticket)
			}
		}
	}
}
