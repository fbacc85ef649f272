package sendbirdsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

var testNow = time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)

func start(t *testing.T, o sendbirdsim.Options) (*sendbirdsim.Server, *httptest.Server) {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	sim := sendbirdsim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; token "" sends none.
func do(t *testing.T, method, u, token, body string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		// The page's own spelling of the charset.
		req.Header.Set("Content-Type", "application/json; charset=utf8")
	}
	if token != "" {
		req.Header.Set("SENDBIRDDESKAPITOKEN", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

type errBody struct {
	Message string `json:"message"`
	Code    string `json:"code"`
	Error   bool   `json:"error"`
}

type list struct {
	Count    int               `json:"count"`
	Next     *string           `json:"next"`
	Previous *string           `json:"previous"`
	Results  []json.RawMessage `json:"results"`
}

func TestErrors(t *testing.T) {
	t.Parallel()
	sim, srv := start(t, sendbirdsim.Options{Seed: 1})
	token := sim.Account(srv.URL).Secrets["api_token"]
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code, message                   string
	}{
		{"no token", "GET", "/ticket_notes", "", "", 401, "deskp401100", ""},
		{"wrong token", "GET", "/tickets", "nope", "", 401, "deskp401100", ""},
		{"limit 0", "GET", "/ticket_notes?limit=0", token, "", 400, "deskp400113", "The value of limit should be between 1 and 100."},
		{"limit 101", "GET", "/ticket_notes?limit=101", token, "", 400, "deskp400113", ""},
		{"limit not integer", "GET", "/ticket_notes?limit=1e2", token, "", 400, "deskp400111", "The limit parameter should be integer."},
		{"offset not integer", "GET", "/ticket_notes?offset=a", token, "", 400, "deskp400111", "The offset parameter should be integer."},
		{"start_date format", "GET", "/ticket_notes?start_date=20250101", token, "", 400, "deskp400111", "The value of start_date should be YYYY-MM-DD."},
		{"end_date format", "GET", "/ticket_notes?start_date=2025-01-01&end_date=2025-1-2", token, "", 400, "deskp400111", "The value of end_date should be YYYY-MM-DD."},
		{"range over a year", "GET", "/ticket_notes?start_date=2024-06-15&end_date=2025-06-15", token, "", 400, "deskp400113", "The date range should be within 1 year."},
		{"ticket limit 501", "GET", "/tickets?limit=501", token, "", 400, "deskp400113", ""},
		{"missing ticketId", "POST", "/ticket_notes", token, `{"note":"x"}`, 400, "deskp400105", "ticketId is required."},
		{"missing note", "POST", "/ticket_notes", token, `{"ticketId":1001}`, 400, "deskp400105", "note is required."},
		{"note not string", "POST", "/ticket_notes", token, `{"ticketId":1001,"note":true}`, 400, "deskp400111", "The note parameter should be string."},
		{"unknown ticket", "POST", "/ticket_notes", token, `{"ticketId":5,"note":"x"}`, 400, "deskp400201", "The specified ticketId doesn’t exist."},
		{"update unknown", "PATCH", "/ticket_notes/5", token, `{"note":"x"}`, 400, "deskp400201", "The specified ticket_note_id doesn’t exist."},
		{"delete unknown", "DELETE", "/ticket_notes/5", token, "", 400, "deskp400201", ""},
		{"wrong method", "PUT", "/ticket_notes/50001", token, `{"note":"x"}`, 405, "deskp405100", ""},
		{"unknown path", "GET", "/agents", token, "", 404, "deskp404100", ""},
	}
	for _, tt := range tests {
		a := do(t, tt.method, srv.URL+tt.path, tt.token, tt.body)
		var e errBody
		if err := json.Unmarshal(a.body, &e); err != nil {
			t.Errorf("%s: body %s: %v", tt.name, a.body, err)
			continue
		}
		if a.status != tt.status || e.Code != tt.code || !e.Error || (tt.message != "" && e.Message != tt.message) {
			t.Errorf("%s: %d %+v, want %d %s %q", tt.name, a.status, e, tt.status, tt.code, tt.message)
		}
		if a.header.Get(sendbirdsim.RequestIDHeader) == "" {
			t.Errorf("%s: no request id", tt.name)
		}
	}
}

func TestPagingLinks(t *testing.T) {
	t.Parallel()
	sim, srv := start(t, sendbirdsim.Options{Seed: 2, Notes: 120, Days: 60})
	token := sim.Account(srv.URL).Secrets["api_token"]
	base := srv.URL + "/platform/v1/ticket_notes?start_date=2025-04-01&end_date=2025-06-15"

	// Walk the list by following next, checking previous on the way.
	var seen int
	u := base + "&limit=50"
	for pages := 0; u != ""; pages++ {
		a := do(t, "GET", u, token, "")
		var l list
		if err := json.Unmarshal(a.body, &l); err != nil || a.status != 200 {
			t.Fatalf("%s: %d %s", u, a.status, a.body)
		}
		if l.Count != 120 {
			t.Errorf("count = %d, want 120", l.Count)
		}
		if (pages == 0) != (l.Previous == nil) {
			t.Errorf("page %d previous = %v", pages, l.Previous)
		}
		seen += len(l.Results)
		u = ""
		if l.Next != nil {
			u = *l.Next
			nu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			q := nu.Query()
			if q.Get("start_date") != "2025-04-01" || q.Get("end_date") != "2025-06-15" || q.Get("limit") != "50" ||
				q.Get("offset") != strconv.Itoa((pages+1)*50) || nu.Path != "/platform/v1/ticket_notes" {
				t.Errorf("next %s", u)
			}
		}
	}
	if seen != 120 {
		t.Errorf("walked %d notes, want 120", seen)
	}

	// Default limit, and count limited to the range.
	a := do(t, "GET", srv.URL+"/ticket_notes?start_date=2025-06-10&end_date=2025-06-15", token, "")
	var l list
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, n := range sim.Notes() {
		if !n.CreatedAt.Before(time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)) {
			want++
		}
	}
	if l.Count != want || len(l.Results) != min(want, 50) {
		t.Errorf("count %d results %d, want %d and %d", l.Count, len(l.Results), want, min(want, 50))
	}
}

func TestDefaultRangeIsThirtyDays(t *testing.T) {
	t.Parallel()
	sim, srv := start(t, sendbirdsim.Options{Seed: 3, Notes: 200, Days: 90})
	token := sim.Account(srv.URL).Secrets["api_token"]
	var l list
	if err := json.Unmarshal(do(t, "GET", srv.URL+"/ticket_notes?limit=1", token, "").body, &l); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, n := range sim.Notes() {
		if !n.CreatedAt.Before(time.Date(2025, 5, 16, 0, 0, 0, 0, time.UTC)) {
			want++
		}
	}
	if l.Count != want {
		t.Errorf("count = %d, want %d", l.Count, want)
	}
}

func TestWritesChangeData(t *testing.T) {
	t.Parallel()
	sim, srv := start(t, sendbirdsim.Options{Seed: 4})
	token := sim.Account(srv.URL).Secrets["api_token"]
	before := sim.NoteCount()
	a := do(t, "POST", srv.URL+"/ticket_notes", token, `{"ticketId":1004,"note":"hello"}`)
	var n map[string]any
	if err := json.Unmarshal(a.body, &n); err != nil || a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if n["ticket_id"] != float64(1004) || n["note"] != "hello" || n["requestedFrom"] != "PLATFORM_API" ||
		n["createdBy"] != nil || n["createdAt"] != "2025-06-15T10:30:00.000000Z" {
		t.Errorf("created %v", n)
	}
	id := strconv.Itoa(int(n["id"].(float64)))
	if a := do(t, "PATCH", srv.URL+"/ticket_notes/"+id, token, `{"note":"bye"}`); a.status != 200 || !strings.Contains(string(a.body), `"note":"bye"`) {
		t.Errorf("update: %d %s", a.status, a.body)
	}
	if a := do(t, "DELETE", srv.URL+"/ticket_notes/"+id, token, ""); a.status != 200 || len(a.body) != 0 {
		t.Errorf("delete: %d %q", a.status, a.body)
	}
	if got := sim.NoteCount(); got != before {
		t.Errorf("NoteCount = %d, want %d", got, before)
	}
	if got := sim.Writes(); got != 3 {
		t.Errorf("Writes = %d, want 3", got)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault  simfault.Fault
		status int
		code   string
	}{
		{simfault.RateLimit, 429, "deskp429100"},
		{simfault.ServerError, 500, "deskp500100"},
		{simfault.ExpiredToken, 401, "deskp401100"},
		{simfault.Malformed, 200, ""},
	}
	for _, tt := range tests {
		sim, srv := start(t, sendbirdsim.Options{Seed: 5})
		token := sim.Account(srv.URL).Secrets["api_token"]
		sim.Faults.Arm(tt.fault, 1)
		a := do(t, "GET", srv.URL+"/tickets", token, "")
		if a.status != tt.status {
			t.Errorf("fault %d: status %d, want %d", tt.fault, a.status, tt.status)
		}
		var e errBody
		err := json.Unmarshal(a.body, &e)
		switch {
		case tt.code == "" && err == nil:
			t.Errorf("fault %d: body %s is valid JSON", tt.fault, a.body)
		case tt.code != "" && (err != nil || e.Code != tt.code):
			t.Errorf("fault %d: body %s", tt.fault, a.body)
		}
		if tt.fault == simfault.RateLimit && a.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q", a.header.Get("Retry-After"))
		}
		if a := do(t, "GET", srv.URL+"/tickets", token, ""); a.status != 200 {
			t.Errorf("fault %d fired twice: %d", tt.fault, a.status)
		}
	}
}

func TestSeededData(t *testing.T) {
	t.Parallel()
	get := func(seed int64) string {
		sim, srv := start(t, sendbirdsim.Options{Seed: seed})
		acct := sim.Account(srv.URL)
		var l list
		if err := json.Unmarshal(do(t, "GET", srv.URL+"/ticket_notes?limit=100&start_date=2025-03-01&end_date=2025-06-15",
			acct.Secrets["api_token"], "").body, &l); err != nil {
			t.Fatal(err)
		}
		// next and previous name each server's own address.
		b, _ := json.Marshal(l.Results)
		return acct.Settings["application_id"] + acct.Secrets["api_token"] + string(b)
	}
	a, b, c := get(9), get(9), get(10)
	if a != b {
		t.Error("same seed, different data")
	}
	if a == c {
		t.Error("different seeds, same data")
	}

	sim, srv := start(t, sendbirdsim.Options{Seed: 9})
	acct := sim.Account(srv.URL)
	if acct.Kind != providers.KindSendbird || acct.Name != "Sendbird sandbox" || acct.Endpoint != srv.URL ||
		acct.Settings["application_id"] == "" || acct.Secrets["api_token"] == "" {
		t.Errorf("Account = %+v", acct)
	}
	notes := sim.Notes()
	if len(notes) != 150 || len(sim.Tickets()) != 40 {
		t.Errorf("%d notes, %d tickets; want 150 and 40", len(notes), len(sim.Tickets()))
	}
	var han, kana, emoji, long, script, attr, bold, platform, edited bool
	for _, n := range notes {
		for _, r := range n.Text {
			han = han || unicode.Is(unicode.Han, r)
			kana = kana || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
			emoji = emoji || r >= 0x1F300
		}
		long = long || len([]rune(n.Text)) > 1000
		script = script || strings.Contains(n.Text, "<script>alert(1)</script>")
		attr = attr || strings.Contains(n.Text, `" onmouseover="alert(1)`)
		bold = bold || strings.Contains(n.Text, "<b>bold</b>")
		platform = platform || n.Agent == ""
		edited = edited || n.UpdatedAt.After(n.CreatedAt)
		if n.CreatedAt.Before(testNow.AddDate(0, 0, -90)) || n.CreatedAt.After(testNow) {
			t.Errorf("note %d at %s outside the last 90 days", n.ID, n.CreatedAt)
		}
	}
	if !(han && kana && emoji && long && script && attr && bold && platform && edited) {
		t.Errorf("variety: han %v kana %v emoji %v long %v script %v attr %v bold %v platform %v edited %v",
			han, kana, emoji, long, script, attr, bold, platform, edited)
	}
	body := string(do(t, "GET", srv.URL+"/ticket_notes?limit=100&start_date=2025-03-01&end_date=2025-06-15", acct.Secrets["api_token"], "").body)
	for _, s := range []string{`"role":"ADMIN"`, `"role":"AGENT"`, `"requestedFrom":"DASHBOARD"`, `"requestedFrom":"PLATFORM_API"`, `"createdBy":null`} {
		if !strings.Contains(body, s) {
			t.Errorf("first page lacks %s", s)
		}
	}
}

// Writes must say they carry JSON (charset utf8 as on the page, or utf-8);
// a GET's Content-Type is recorded, not refused.
func TestContentTypeChecked(t *testing.T) {
	t.Parallel()
	sim, srv := start(t, sendbirdsim.Options{Seed: 5})
	token := sim.Account(srv.URL).Secrets["api_token"]
	send := func(method, path, contentType, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("SENDBIRDDESKAPITOKEN", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const note = `{"ticketId":1004,"note":"hello"}`
	tests := []struct {
		method, contentType string
		want                int
	}{
		{"POST", "application/json; charset=utf-8", 200},
		{"POST", "application/json; charset=utf8", 200},
		{"POST", "application/json", 200},
		{"POST", "", 415},
		{"POST", "text/plain; charset=utf-8", 415},
		{"POST", "application/json; charset=latin1", 415},
	}
	for _, tt := range tests {
		if got := send(tt.method, "/ticket_notes", tt.contentType, note); got != tt.want {
			t.Errorf("%s with Content-Type %q: %d, want %d", tt.method, tt.contentType, got, tt.want)
		}
	}
	if got := send("GET", "/tickets?limit=1", "text/plain", ""); got != 200 {
		t.Errorf("GET with a Content-Type: %d, want 200", got)
	}
	log := sim.Log()
	if last := log[len(log)-1]; !last.HasContentType || last.ContentType != "text/plain" {
		t.Errorf("GET's Content-Type not recorded: %+v", last)
	}
	if send("GET", "/tickets?limit=1", "", ""); sim.Log()[len(sim.Log())-1].HasContentType {
		t.Error("a GET without Content-Type recorded as having one")
	}
}
