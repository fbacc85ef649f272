package sendbird_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

var testNow = time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)

func clock() time.Time { return testNow }

// setup starts a simulator and a client pointed at it.
func setup(t *testing.T, o sendbirdsim.Options, opts providers.Options) (*sendbirdsim.Server, *sendbird.Client) {
	t.Helper()
	if o.Now == nil {
		o.Now = clock
	}
	sim := sendbirdsim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	acct.ID = 7
	if opts.Now == nil {
		opts.Now = o.Now
	}
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.Burst = 1000, 100
	}
	c, err := sendbird.New(acct, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sim, c
}

// wantNotes lists the ids of the simulator's notes a query should return,
// newest first, before the limit.
func wantNotes(sim *sendbirdsim.Server, q providers.Query) []string {
	notes := sim.Notes()
	slices.SortFunc(notes, func(a, b sendbirdsim.NoteInfo) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	var ids []string
	for _, n := range notes {
		if q.TicketID != "" && strconv.FormatInt(n.TicketID, 10) != q.TicketID {
			continue
		}
		if q.Contains(n.CreatedAt) {
			ids = append(ids, strconv.FormatInt(n.ID, 10))
		}
	}
	return ids
}

func ids(notes []providers.Note) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.ID
	}
	return out
}

// listRequests returns the query of every note-list request the simulator
// received.
func listRequests(t *testing.T, sim *sendbirdsim.Server) []url.Values {
	t.Helper()
	var out []url.Values
	for _, r := range sim.Log() {
		if r.Method == http.MethodGet && r.Path == "/ticket_notes" {
			q, err := url.ParseQuery(r.Query)
			if err != nil {
				t.Fatalf("query %q: %v", r.Query, err)
			}
			out = append(out, q)
		}
	}
	return out
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestListNotes(t *testing.T) {
	t.Parallel()
	utc8 := time.FixedZone("UTC+8", 8*3600)
	tests := []struct {
		name string
		q    providers.Query
		// put places extra notes before listing, relative to testNow.
		put []time.Time
		// expect is the query the result must match; defaults to q.
		expect *providers.Query
	}{
		{name: "no bounds is the last 365 days",
			put:    []time.Time{testNow.AddDate(0, 0, -364), testNow.AddDate(0, 0, -366), testNow.AddDate(-2, 0, 0)},
			expect: &providers.Query{From: day("2024-06-16")}},
		{name: "from only", q: providers.Query{From: testNow.AddDate(0, 0, -20)}},
		{name: "to only", q: providers.Query{To: testNow.AddDate(0, 0, -30)},
			expect: &providers.Query{From: day("2024-05-17"), To: testNow.AddDate(0, 0, -30)}},
		{name: "exact instants inside UTC days", q: providers.Query{
			From: time.Date(2025, 5, 1, 13, 15, 0, 0, time.UTC), To: time.Date(2025, 5, 20, 7, 45, 0, 0, time.UTC)}},
		{name: "time zone east of UTC", q: providers.Query{
			From: time.Date(2025, 5, 10, 0, 0, 0, 0, utc8), To: time.Date(2025, 5, 12, 0, 0, 0, 0, utc8)},
			put: []time.Time{
				time.Date(2025, 5, 9, 15, 59, 59, 999999000, time.UTC),
				time.Date(2025, 5, 9, 16, 0, 0, 0, time.UTC),
				time.Date(2025, 5, 11, 15, 59, 59, 999999000, time.UTC),
				time.Date(2025, 5, 11, 16, 0, 0, 0, time.UTC),
			}},
		{name: "time zone west of UTC", q: providers.Query{
			From: time.Date(2025, 4, 1, 0, 0, 0, 0, time.FixedZone("UTC-7", -7*3600)),
			To:   time.Date(2025, 4, 3, 0, 0, 0, 0, time.FixedZone("UTC-7", -7*3600))},
			put: []time.Time{time.Date(2025, 4, 1, 6, 59, 0, 0, time.UTC), time.Date(2025, 4, 3, 6, 59, 0, 0, time.UTC),
				time.Date(2025, 4, 3, 7, 0, 0, 0, time.UTC)}},
		{name: "over three years is split", q: providers.Query{From: testNow.AddDate(-3, 0, 0), To: testNow},
			put: []time.Time{testNow.AddDate(-3, 0, 1), testNow.AddDate(-2, -6, 0), testNow.AddDate(-1, -1, 0), testNow.AddDate(-1, 0, 0)}},
		{name: "limit cuts and sets truncated", q: providers.Query{From: testNow.AddDate(0, 0, -100), Limit: 10}},
		{name: "limit equal to all is not truncated", q: providers.Query{From: testNow.AddDate(0, 0, -100), Limit: 150}},
		{name: "one ticket", q: providers.Query{TicketID: "1003"}, expect: &providers.Query{TicketID: "1003", From: day("2024-06-16")}},
		{name: "empty range", q: providers.Query{From: testNow, To: testNow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, sendbirdsim.Options{Seed: 3}, providers.Options{})
			for i, at := range tt.put {
				if _, err := sim.PutNote(1001+int64(i%3), fmt.Sprintf("boundary note %d", i), at); err != nil {
					t.Fatal(err)
				}
			}
			expect := tt.q
			if tt.expect != nil {
				expect = *tt.expect
			}
			want := wantNotes(sim, expect)
			got, err := c.ListNotes(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("ListNotes: %v", err)
			}
			max := tt.q.Max()
			wantTrunc := len(want) > max
			if wantTrunc {
				want = want[:max]
			}
			if !slices.Equal(ids(got.Notes), want) {
				t.Errorf("ids\n got %v\nwant %v", ids(got.Notes), want)
			}
			if got.Truncated != wantTrunc {
				t.Errorf("Truncated = %v, want %v", got.Truncated, wantTrunc)
			}
			for _, n := range got.Notes {
				if n.Provider != providers.KindSendbird || n.AccountID != 7 || n.TicketID == "" || n.ID == "" {
					t.Errorf("note %+v lacks identity", n)
				}
				if n.CreatedAt.Location() != time.UTC || n.UpdatedAt.Location() != time.UTC {
					t.Errorf("note %s times not UTC", n.ID)
				}
				if len(n.Raw) == 0 || !json.Valid(n.Raw) {
					t.Errorf("note %s raw %q", n.ID, n.Raw)
				}
			}
			checkListRequests(t, listRequests(t, sim))
		})
	}
}

// checkListRequests asserts every note-list request is in the documented
// form, and that the windows asked for first do not overlap.
func checkListRequests(t *testing.T, reqs []url.Values) {
	t.Helper()
	type span struct{ start, end time.Time }
	var firsts []span
	for _, q := range reqs {
		if q.Get("limit") != "100" {
			t.Errorf("limit = %q, want 100", q.Get("limit"))
		}
		if off, err := strconv.Atoi(q.Get("offset")); err != nil || off < 0 {
			t.Errorf("offset = %q", q.Get("offset"))
		}
		start, err1 := time.Parse(time.DateOnly, q.Get("start_date"))
		end, err2 := time.Parse(time.DateOnly, q.Get("end_date"))
		if err1 != nil || err2 != nil {
			t.Fatalf("dates %q..%q not YYYY-MM-DD", q.Get("start_date"), q.Get("end_date"))
		}
		if days := int(end.Sub(start).Hours()/24) + 1; days < 1 || days > 365 {
			t.Errorf("window %s..%s spans %d days", q.Get("start_date"), q.Get("end_date"), days)
		}
		if q.Get("offset") == "0" {
			firsts = append(firsts, span{start, end})
		}
		for k := range q {
			if k != "limit" && k != "offset" && k != "start_date" && k != "end_date" {
				t.Errorf("undocumented parameter %q sent", k)
			}
		}
	}
	for i := 1; i < len(firsts); i++ {
		prev, cur := firsts[i-1], firsts[i]
		if !cur.end.Before(prev.start) && !(cur.start.Compare(prev.start) >= 0 && cur.end.Compare(prev.end) <= 0) {
			t.Errorf("window %v overlaps %v", cur, prev)
		}
	}
}

func TestListNotesSplitsYearsIntoAdjacentWindows(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 5, Notes: 20}, providers.Options{})
	from := time.Date(2021, 2, 10, 5, 0, 0, 0, time.UTC)
	if _, err := c.ListNotes(context.Background(), providers.Query{From: from, To: testNow}); err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, q := range listRequests(t, sim) {
		if q.Get("offset") == "0" {
			got = append(got, [2]string{q.Get("start_date"), q.Get("end_date")})
		}
	}
	want := [][2]string{
		{"2024-06-16", "2025-06-15"},
		{"2023-06-17", "2024-06-15"},
		{"2022-06-17", "2023-06-16"},
		{"2021-06-17", "2022-06-16"},
		{"2021-02-10", "2021-06-16"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("windows\n got %v\nwant %v", got, want)
	}
}

func TestListNotesFetchesPagesConcurrently(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 11, Notes: 1200, Days: 200}, providers.Options{})
	sim.Faults.SetLatency(20 * time.Millisecond)
	q := providers.Query{From: testNow.AddDate(0, 0, -200), Limit: 5000}
	got, err := c.ListNotes(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantNotes(sim, q); !slices.Equal(ids(got.Notes), want) {
		t.Errorf("got %d notes, want %d", len(got.Notes), len(want))
	}
	if n := sim.MaxInFlight(); n < 2 {
		t.Errorf("at most %d request in flight; pages were fetched one after another", n)
	}
	if n := len(listRequests(t, sim)); n != 12 {
		t.Errorf("%d list requests, want 12 (one per page)", n)
	}
}

func TestListNotesStopsOnceLimitIsReached(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 12, Notes: 3000, Days: 300}, providers.Options{})
	q := providers.Query{From: testNow.AddDate(0, 0, -300), Limit: 25}
	got, err := c.ListNotes(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := wantNotes(sim, q)[:25]
	if !slices.Equal(ids(got.Notes), want) || !got.Truncated {
		t.Errorf("got %v truncated %v, want %v truncated", ids(got.Notes), got.Truncated, want)
	}
	// Reading the whole year would take 30 pages.
	if n := len(listRequests(t, sim)); n >= 30 {
		t.Errorf("%d list requests for the newest 25 notes", n)
	}
}

// TestListNotesFollowsNext serves a hand-made list whose count and next
// disagree: next decides where the list ends.
func TestListNotesFollowsNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		count int
		// pages maps an offset to (notes on it, next not null).
		pages map[int][2]int
		want  int
	}{
		{name: "next null before count", count: 300, pages: map[int][2]int{0: {100, 1}, 100: {100, 0}, 200: {100, 1}}, want: 200},
		{name: "list grew past count", count: 100, pages: map[int][2]int{0: {100, 1}, 100: {100, 1}, 200: {30, 0}}, want: 230},
		{name: "no count at all", count: -1, pages: map[int][2]int{0: {100, 1}, 100: {5, 0}}, want: 105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
				p := tt.pages[off]
				var results []string
				for i := range p[0] {
					id := off + i + 1
					results = append(results, fmt.Sprintf(
						`{"id":%d,"ticket_id":5,"note":"n","requestedFrom":"PLATFORM_API","createdBy":null,"createdAt":"2025-06-01T00:00:%02dZ","updatedAt":"2025-06-01T00:00:00Z"}`,
						id, id%60))
				}
				next := "null"
				if p[1] == 1 {
					next = `"https://elsewhere.invalid/next"`
				}
				count := ""
				if tt.count >= 0 {
					count = fmt.Sprintf(`"count":%d,`, tt.count)
				}
				fmt.Fprintf(w, `{%s"next":%s,"previous":null,"results":[%s]}`, count, next, strings.Join(results, ","))
			})
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			c, err := sendbird.New(providers.Account{Endpoint: srv.URL,
				Settings: map[string]string{"application_id": "APP"}, Secrets: map[string]string{"api_token": "t"}},
				providers.Options{Now: clock, RateLimit: 1000, Burst: 100})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.ListNotes(context.Background(), providers.Query{From: day("2025-06-01"), Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Notes) != tt.want {
				t.Errorf("got %d notes, want %d", len(got.Notes), tt.want)
			}
		})
	}
}

func TestAddUpdateDeleteNote(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 21}, providers.Options{})
	ctx := context.Background()
	before := sim.NoteCount()

	text := "Follow-up 跟进 フォロー 🙂 <b>x</b>"
	added, rcpt, err := c.AddNote(ctx, "1002", text)
	if err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	if added.TicketID != "1002" || added.Body != text || added.AuthorRole != providers.RoleSystem ||
		added.AuthorName != "Platform API" || !added.CreatedAt.Equal(testNow) || added.ContentType != "text" ||
		added.Provider != providers.KindSendbird || added.AccountID != 7 || added.ID == "" {
		t.Errorf("added note %+v", added)
	}
	if got := sim.NoteCount(); got != before+1 {
		t.Errorf("NoteCount = %d, want %d", got, before+1)
	}
	log := sim.Log()
	post := log[len(log)-1]
	if post.Method != http.MethodPost || post.Path != "/ticket_notes" || post.ContentType != "application/json; charset=utf-8" {
		t.Errorf("create sent as %+v", post)
	}
	if rcpt.RequestID == "" || rcpt.RequestID != post.RequestID {
		t.Errorf("add receipt %q, want the answer's request id %q", rcpt.RequestID, post.RequestID)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(post.Body), &body); err != nil || body["ticketId"] != float64(1002) || body["note"] != text || len(body) != 2 {
		t.Errorf("create body %s", post.Body)
	}

	list, err := c.ListNotes(ctx, providers.Query{TicketID: "1002"})
	if err != nil || !slices.Contains(ids(list.Notes), added.ID) {
		t.Errorf("new note %s not listed on its ticket: %v %v", added.ID, ids(list.Notes), err)
	}

	updated, rcpt, err := c.UpdateNote(ctx, "1002", added.ID, "edited")
	if err != nil {
		t.Fatalf("UpdateNote: %v", err)
	}
	if updated.ID != added.ID || updated.Body != "edited" || updated.TicketID != "1002" {
		t.Errorf("updated note %+v", updated)
	}
	log = sim.Log()
	if patch := log[len(log)-1]; patch.Method != http.MethodPatch || patch.Path != "/ticket_notes/"+added.ID || patch.Body != `{"note":"edited"}` {
		t.Errorf("update sent as %+v", patch)
	} else if rcpt.RequestID == "" || rcpt.RequestID != patch.RequestID {
		t.Errorf("update receipt %q, want the answer's request id %q", rcpt.RequestID, patch.RequestID)
	}

	rcpt, err = c.DeleteNote(ctx, "1002", added.ID)
	if err != nil {
		t.Fatalf("DeleteNote: %v", err)
	}
	if log = sim.Log(); rcpt.RequestID == "" || rcpt.RequestID != log[len(log)-1].RequestID {
		t.Errorf("delete receipt %q, want the answer's request id %q", rcpt.RequestID, log[len(log)-1].RequestID)
	}
	if got := sim.NoteCount(); got != before {
		t.Errorf("NoteCount after delete = %d, want %d", got, before)
	}
	_, err = c.DeleteNote(ctx, "1002", added.ID)
	checkErr(t, err, providers.ErrNotFound, "deskp400201", 400)
}

func TestWritesRefuseBadInputWithoutCallingVendor(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 22}, providers.Options{})
	ctx := context.Background()
	calls := []struct {
		name string
		do   func() error
	}{
		{"add to non-numeric ticket", func() error { _, _, err := c.AddNote(ctx, "T-1002", "x"); return err }},
		{"add empty note", func() error { _, _, err := c.AddNote(ctx, "1002", "  "); return err }},
		{"update non-numeric note", func() error { _, _, err := c.UpdateNote(ctx, "1002", "abc", "x"); return err }},
		{"update non-numeric ticket", func() error { _, _, err := c.UpdateNote(ctx, "x", "50001", "x"); return err }},
		{"delete non-numeric note", func() error { _, err := c.DeleteNote(ctx, "1002", "1; DROP"); return err }},
	}
	for _, call := range calls {
		if err := call.do(); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", call.name, err)
		}
	}
	if n := len(sim.Log()); n != 0 {
		t.Errorf("simulator saw %d requests, want 0", n)
	}
}

// Desk ticket ids are integers: a ticket id of another form cannot be one
// of its tickets, so listing it is not found, without a vendor call.
func TestListNotesOfANonIntegerTicketIsNotFound(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 23}, providers.Options{})
	for _, id := range []string{"0005PYGCW", "T-1002", "1.5", "-3"} {
		_, err := c.ListNotes(context.Background(), providers.Query{TicketID: id})
		if !errors.Is(err, providers.ErrNotFound) || providers.AsError(err) == nil {
			t.Errorf("ticket %q: err = %v, want a *providers.Error matching ErrNotFound", id, err)
		}
	}
	if n := len(sim.Log()); n != 0 {
		t.Errorf("simulator saw %d requests, want 0", n)
	}
}

// The page's header line is read as JSON with charset=utf-8 on requests
// that carry a body; GET and DELETE carry none and so no Content-Type.
func TestContentTypeOnlyOnWrites(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 24}, providers.Options{})
	ctx := context.Background()
	if _, err := c.ListNotes(ctx, providers.Query{TicketID: "1002"}); err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if _, err := c.ListTickets(ctx, providers.TicketQuery{Limit: 5}); err != nil {
		t.Fatalf("ListTickets: %v", err)
	}
	added, _, err := c.AddNote(ctx, "1002", "header check")
	if err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	if _, _, err := c.UpdateNote(ctx, "1002", added.ID, "header check 2"); err != nil {
		t.Fatalf("UpdateNote: %v", err)
	}
	if _, err := c.DeleteNote(ctx, "1002", added.ID); err != nil {
		t.Fatalf("DeleteNote: %v", err)
	}
	seen := map[string]bool{}
	for _, r := range sim.Log() {
		seen[r.Method] = true
		switch r.Method {
		case http.MethodGet, http.MethodDelete:
			if r.HasContentType {
				t.Errorf("%s %s sent Content-Type %q, want none", r.Method, r.Path, r.ContentType)
			}
		default:
			if r.ContentType != "application/json; charset=utf-8" {
				t.Errorf("%s %s sent Content-Type %q, want application/json; charset=utf-8", r.Method, r.Path, r.ContentType)
			}
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		if !seen[m] {
			t.Errorf("no %s request made", m)
		}
	}
}

func TestVendorErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		arm    func(*sendbirdsim.Server)
		acct   func(providers.Account) providers.Account
		opts   providers.Options
		call   func(*sendbird.Client) error
		kind   error
		code   string
		status int
	}{
		{name: "wrong token", acct: func(a providers.Account) providers.Account {
			a.Secrets = map[string]string{"api_token": "not-the-token"}
			return a
		}, call: listTickets, kind: providers.ErrUnauthorized, code: "deskp401100", status: 401},
		{name: "expired token", arm: func(s *sendbirdsim.Server) { s.Faults.Arm(simfault.ExpiredToken, -1) },
			call: listNotes, kind: providers.ErrUnauthorized, code: "deskp401100", status: 401},
		{name: "rate limited", arm: func(s *sendbirdsim.Server) { s.Faults.Arm(simfault.RateLimit, -1) },
			opts: providers.Options{MaxRetries: -1}, call: listNotes, kind: providers.ErrRateLimited, code: "deskp429100", status: 429},
		{name: "server error", arm: func(s *sendbirdsim.Server) { s.Faults.Arm(simfault.ServerError, -1) },
			opts: providers.Options{MaxRetries: -1}, call: listTickets, kind: providers.ErrUnavailable, code: "deskp500100", status: 500},
		{name: "malformed", arm: func(s *sendbirdsim.Server) { s.Faults.Arm(simfault.Malformed, 1) },
			call: listNotes, kind: providers.ErrUnavailable, status: 200},
		{name: "unknown ticket", call: func(c *sendbird.Client) error { _, _, err := c.AddNote(ctx, "777777", "x"); return err },
			kind: providers.ErrNotFound, code: "deskp400201", status: 400},
		{name: "unknown note", call: func(c *sendbird.Client) error { _, _, err := c.UpdateNote(ctx, "", "1", "x"); return err },
			kind: providers.ErrNotFound, code: "deskp400201", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := sendbirdsim.New(sendbirdsim.Options{Seed: 31, Now: clock})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			if tt.arm != nil {
				tt.arm(sim)
			}
			acct := sim.Account(srv.URL)
			if tt.acct != nil {
				acct = tt.acct(acct)
			}
			opts := tt.opts
			opts.Now, opts.RateLimit, opts.Burst = clock, 1000, 100
			c, err := sendbird.New(acct, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkErr(t, tt.call(c), tt.kind, tt.code, tt.status)
		})
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 32}, providers.Options{Timeout: 200 * time.Millisecond, MaxRetries: -1})
	sim.Faults.Arm(simfault.Timeout, 1)
	_, err := c.ListTickets(context.Background(), providers.TicketQuery{})
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func listNotes(c *sendbird.Client) error {
	_, err := c.ListNotes(context.Background(), providers.Query{})
	return err
}

func listTickets(c *sendbird.Client) error {
	_, err := c.ListTickets(context.Background(), providers.TicketQuery{})
	return err
}

func checkErr(t *testing.T, err error, kind error, code string, status int) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	pe := providers.AsError(err)
	if pe == nil {
		t.Fatalf("err %T is not a *providers.Error", err)
	}
	if pe.Provider != providers.KindSendbird || pe.Code != code || pe.Status != status {
		t.Errorf("provider %q code %q status %d, want %q %d", pe.Provider, pe.Code, pe.Status, code, status)
	}
	if !strings.HasPrefix(pe.RequestID, "sbd-") {
		t.Errorf("request id %q not kept", pe.RequestID)
	}
}

func TestReadsAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault simfault.Fault
		n     int
	}{
		{"two server errors", simfault.ServerError, 2},
		{"one rate limit", simfault.RateLimit, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, sendbirdsim.Options{Seed: 41}, providers.Options{MaxRetries: 3})
			sim.Faults.Arm(tt.fault, tt.n)
			got, err := c.ListNotes(context.Background(), providers.Query{From: testNow.AddDate(0, 0, -10)})
			if err != nil {
				t.Fatalf("ListNotes: %v", err)
			}
			if want := wantNotes(sim, providers.Query{From: testNow.AddDate(0, 0, -10)}); !slices.Equal(ids(got.Notes), want) {
				t.Errorf("got %v, want %v", ids(got.Notes), want)
			}
			if h := sim.Faults.Hits(tt.fault); h != tt.n {
				t.Errorf("fault fired %d times, want %d", h, tt.n)
			}
		})
	}
}

func TestWritesAreNeverRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name  string
		fault simfault.Fault
		write func(*sendbird.Client) error
		kind  error
	}{
		{"add after server error", simfault.ServerError, func(c *sendbird.Client) error { _, _, err := c.AddNote(ctx, "1001", "x"); return err }, providers.ErrUnavailable},
		{"add after rate limit", simfault.RateLimit, func(c *sendbird.Client) error { _, _, err := c.AddNote(ctx, "1001", "x"); return err }, providers.ErrRateLimited},
		{"update after server error", simfault.ServerError, func(c *sendbird.Client) error { _, _, err := c.UpdateNote(ctx, "", "50001", "x"); return err }, providers.ErrUnavailable},
		{"delete after server error", simfault.ServerError, func(c *sendbird.Client) error { _, err := c.DeleteNote(ctx, "", "50001"); return err }, providers.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, sendbirdsim.Options{Seed: 42}, providers.Options{MaxRetries: 3})
			before := sim.NoteCount()
			sim.Faults.Arm(tt.fault, 1)
			if err := tt.write(c); !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if n := sim.Writes(); n != 1 {
				t.Errorf("simulator saw %d writes, want 1", n)
			}
			if n := sim.NoteCount(); n != before {
				t.Errorf("NoteCount = %d, want %d", n, before)
			}
		})
	}
}

func TestListTickets(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 51, Tickets: 1100, Notes: 10, Days: 120}, providers.Options{})
	utc9 := time.FixedZone("UTC+9", 9*3600)
	tests := []struct {
		name string
		q    providers.TicketQuery
	}{
		{"default limit", providers.TicketQuery{}},
		{"all", providers.TicketQuery{Limit: 5000}},
		{"range in a zone", providers.TicketQuery{From: time.Date(2025, 3, 1, 0, 0, 0, 0, utc9), To: time.Date(2025, 4, 1, 0, 0, 0, 0, utc9), Limit: 5000}},
		{"small limit", providers.TicketQuery{From: testNow.AddDate(0, 0, -30), Limit: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ListTickets(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			in := providers.Query{From: tt.q.From, To: tt.q.To}
			all := sim.Tickets()
			slices.Reverse(all) // ids grow with creation time
			var want []string
			for _, tk := range all {
				if in.Contains(tk.CreatedAt) && len(want) < tt.q.Max() {
					want = append(want, strconv.FormatInt(tk.ID, 10))
				}
			}
			var gotIDs []string
			for _, tk := range got {
				gotIDs = append(gotIDs, tk.ID)
				if tk.Title == "" || tk.Status == "" || tk.CreatedAt.Location() != time.UTC || len(tk.Raw) == 0 {
					t.Errorf("ticket %+v incomplete", tk)
				}
			}
			if !slices.Equal(gotIDs, want) {
				t.Errorf("got %d tickets %v…, want %d", len(gotIDs), gotIDs[:min(3, len(gotIDs))], len(want))
			}
		})
	}
	for _, r := range sim.Log() {
		q, _ := url.ParseQuery(r.Query)
		if r.Path == "/tickets" && (q.Get("limit") != "500" || q.Get("offset") == "") {
			t.Errorf("ticket list sent %q", r.Query)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	_, c := setup(t, sendbirdsim.Options{Seed: 61, Tickets: 12}, providers.Options{})
	got, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Detail != "12 tickets visible" || !strings.HasPrefix(got.RequestID, "sbd-") {
		t.Errorf("Check = %+v", got)
	}
}

func TestEndpointWithPlatformPrefix(t *testing.T) {
	t.Parallel()
	sim := sendbirdsim.New(sendbirdsim.Options{Seed: 62, Now: clock})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := sendbird.New(sim.Account(srv.URL+"/platform/v1/"), providers.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Log()[0].Path; got != "/tickets" {
		t.Errorf("path %q", got)
	}
}

// recorder answers every request with one canned page and keeps the
// request, so the default vendor URL is checked without leaving the process.
type recorder struct{ got *http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: req,
		Body: io.NopCloser(strings.NewReader(`{"count":3,"next":null,"previous":null,"results":[]}`))}, nil
}

func TestNew(t *testing.T) {
	t.Parallel()
	good := providers.Account{Settings: map[string]string{"application_id": "0A1B2C3D-4E5F-6789-ABCD-EF0123456789"},
		Secrets: map[string]string{"api_token": "tok"}}
	bad := []struct {
		name string
		edit func(*providers.Account)
	}{
		{"no application id", func(a *providers.Account) { a.Settings = nil }},
		{"no token", func(a *providers.Account) { a.Secrets = map[string]string{"api_token": " "} }},
		{"application id with a host", func(a *providers.Account) {
			a.Settings = map[string]string{"application_id": "x.evil.example/"}
		}},
		{"endpoint not http", func(a *providers.Account) { a.Endpoint = "ftp://desk.example" }},
	}
	for _, tt := range bad {
		a := good
		tt.edit(&a)
		if _, err := sendbird.New(a, providers.Options{}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}

	rec := &recorder{}
	c, err := sendbird.New(good, providers.Options{HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(context.Background())
	if err != nil || got.Detail != "3 tickets visible" {
		t.Fatalf("Check = %+v, %v", got, err)
	}
	wantURL := "https://desk-api-0A1B2C3D-4E5F-6789-ABCD-EF0123456789.sendbird.com/platform/v1/tickets?limit=1&offset=0"
	if rec.got.URL.String() != wantURL {
		t.Errorf("URL\n got %s\nwant %s", rec.got.URL, wantURL)
	}
	if h := rec.got.Header; h.Get("SENDBIRDDESKAPITOKEN") != "tok" || h.Get("Content-Type") != "" {
		t.Errorf("headers %v", h)
	}
	if caps := c.Capabilities(); caps != (providers.Capabilities{Add: providers.AddInternalNote, Edit: true, Delete: true, ServerDateFilter: true}) {
		t.Errorf("Capabilities = %+v", caps)
	}
	fields := sendbird.Fields()
	if len(fields) != 2 || fields[0].Name != "application_id" || fields[0].Secret || !fields[1].Secret || fields[1].Label != "field.api_token" {
		t.Errorf("Fields = %+v", fields)
	}
}
