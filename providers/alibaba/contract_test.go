package alibaba

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// simNow is the instant both the simulator and the client take as now.
var simNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return simNow }

// setup starts a simulator and a client against it. edit may change the
// account and the options before the client is built.
func setup(t *testing.T, simOpts alibabasim.Options, edit func(*providers.Account, *providers.Options)) (*alibabasim.Server, *Client) {
	t.Helper()
	if simOpts.Now == nil {
		simOpts.Now = fixedNow
	}
	sim := alibabasim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	acct.ID = 42
	opts := providers.Options{
		HTTPClient: srv.Client(),
		RateLimit:  1000,
		Burst:      100,
		MaxRetries: 2,
		Timeout:    10 * time.Second,
		Now:        simOpts.Now,
	}
	if edit != nil {
		edit(&acct, &opts)
	}
	c, err := New(acct, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// expectedIDs lists the DialogIds of notes matching keep, newest first, the
// way the client must order them.
func expectedIDs(notes []alibabasim.NoteInfo, keep func(alibabasim.NoteInfo) bool) []string {
	var sel []alibabasim.NoteInfo
	for _, n := range notes {
		if keep(n) {
			sel = append(sel, n)
		}
	}
	slices.SortStableFunc(sel, func(a, b alibabasim.NoteInfo) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		ai, _ := strconv.ParseInt(a.DialogID, 10, 64)
		bi, _ := strconv.ParseInt(b.DialogID, 10, 64)
		return int(bi - ai)
	})
	ids := make([]string, len(sel))
	for i, n := range sel {
		ids[i] = n.DialogID
	}
	return ids
}

func noteIDs(notes []providers.Note) []string {
	ids := make([]string, len(notes))
	for i, n := range notes {
		ids[i] = n.ID
	}
	return ids
}

// checkNote asserts what every returned note must carry.
func checkNote(t *testing.T, n providers.Note) {
	t.Helper()
	if n.Provider != providers.KindAlibaba || n.AccountID != 42 || n.TicketID == "" || n.ID == "" {
		t.Errorf("note %q: provider %q account %d ticket %q", n.ID, n.Provider, n.AccountID, n.TicketID)
	}
	if n.CreatedAt.Location() != time.UTC {
		t.Errorf("note %s: CreatedAt in %v, want UTC", n.ID, n.CreatedAt.Location())
	}
	if !json.Valid(n.Raw) {
		t.Errorf("note %s: Raw is not JSON: %s", n.ID, n.Raw)
	}
	if n.Body == "" {
		t.Errorf("note %s: empty body", n.ID)
	}
}

func TestListNotesOfTicket(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 1}, nil)
	ticketID := sim.TicketIDs()[3]
	got, err := c.ListNotes(context.Background(), providers.Query{TicketID: ticketID})
	if err != nil {
		t.Fatal(err)
	}
	want := expectedIDs(sim.Notes(), func(n alibabasim.NoteInfo) bool { return n.TicketID == ticketID })
	if !slices.Equal(noteIDs(got.Notes), want) {
		t.Errorf("notes = %v, want %v", noteIDs(got.Notes), want)
	}
	if got.Truncated {
		t.Error("Truncated set for a complete list")
	}
	for _, n := range got.Notes {
		checkNote(t, n)
		if n.TicketID != ticketID {
			t.Errorf("note %s of ticket %s, want %s", n.ID, n.TicketID, ticketID)
		}
	}

	// Every documented parameter, in the documented form.
	p := sim.LastParams("ListTicketNotes")
	acct := sim.Account("")
	wantParams := map[string]string{
		"Action":           "ListTicketNotes",
		"TicketId":         ticketID,
		"Uid":              acct.Settings[FieldUID],
		"Version":          "2021-06-10",
		"Format":           "JSON",
		"AccessKeyId":      acct.Settings[FieldAccessKeyID],
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"Timestamp":        "2025-06-01T12:00:00Z",
	}
	for k, v := range wantParams {
		if got := p.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if p.Get("SignatureNonce") == "" || p.Get("Signature") == "" {
		t.Errorf("missing nonce or signature: %v", p)
	}
	if _, ok := p["SecurityToken"]; ok {
		t.Error("SecurityToken sent without STS credentials")
	}
}

func TestListNotesDateRangeAcrossTickets(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 2}, nil)
	// The viewer is in UTC+8: the range is two local days, ending at local
	// midnight, which is 16:00 UTC the day before.
	cst := time.FixedZone("CST", 8*3600)
	from := time.Date(2025, 5, 10, 0, 0, 0, 0, cst)
	to := time.Date(2025, 5, 25, 0, 0, 0, 0, cst)
	got, err := c.ListNotes(context.Background(), providers.Query{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	listedFrom := from.Add(-30 * 24 * time.Hour)
	want := expectedIDs(sim.Notes(), func(n alibabasim.NoteInfo) bool {
		return !n.CreatedAt.Before(from) && n.CreatedAt.Before(to) &&
			!n.TicketCreatedAt.Before(listedFrom) && n.TicketCreatedAt.Before(to)
	})
	if len(want) == 0 {
		t.Fatal("seeded data has no note in range; pick another range")
	}
	if !slices.Equal(noteIDs(got.Notes), want) {
		t.Errorf("notes = %v\nwant %v", noteIDs(got.Notes), want)
	}
	for _, n := range got.Notes {
		checkNote(t, n)
	}

	p := sim.LastParams("ListTickets")
	if got, want := p.Get("StartDate"), strconv.FormatInt(listedFrom.UnixMilli(), 10); got != want {
		t.Errorf("StartDate = %s, want %s (From minus 30 days, epoch ms)", got, want)
	}
	if got, want := p.Get("EndDate"), "1748102399999"; got != want {
		t.Errorf("EndDate = %s, want %s (2025-05-24T15:59:59.999Z)", got, want)
	}
	if got := p.Get("PageSize"); got != "100" {
		t.Errorf("PageSize = %s, want 100", got)
	}
}

func TestListTicketsPagesToTheEnd(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 3, Tickets: 250, Notes: 260}, nil)
	got, err := c.ListTickets(context.Background(), providers.TicketQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i, tk := range got {
		ids[i] = tk.ID
		if tk.Title == "" || tk.Status == "" || !json.Valid(tk.Raw) {
			t.Errorf("ticket %+v lacks title, status or raw", tk)
		}
	}
	if want := sim.TicketIDs(); !slices.Equal(ids, want) {
		t.Errorf("got %d tickets, want all %d in the simulator's order", len(ids), len(want))
	}
	if got := sim.Calls("ListTickets"); got != 3 {
		t.Errorf("ListTickets called %d times, want 3 pages of 100", got)
	}
}

func TestListTicketsLimitAndDates(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 4}, nil)
	from := time.Date(2025, 4, 1, 9, 30, 0, 0, time.FixedZone("JST", 9*3600))
	got, err := c.ListTickets(context.Background(), providers.TicketQuery{From: from, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("got %d tickets, want 3", len(got))
	}
	p := sim.LastParams("ListTickets")
	if got, want := p.Get("StartDate"), "1743467400000"; got != want {
		t.Errorf("StartDate = %s, want %s (2025-04-01T00:30:00Z)", got, want)
	}
	if _, ok := p["EndDate"]; ok {
		t.Error("EndDate sent for an open range")
	}
	// The smallest page Alibaba accepts.
	if got := p.Get("PageSize"); got != "10" {
		t.Errorf("PageSize = %s, want 10", got)
	}
}

func TestListNotesCapsTicketsScanned(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 5, Tickets: 230, Notes: 230}, nil)
	got, err := c.ListNotes(context.Background(), providers.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Truncated {
		t.Error("Truncated not set although 30 tickets were left unread")
	}
	if n := sim.Calls("ListTicketNotes"); n != maxTicketsScanned {
		t.Errorf("read notes of %d tickets, want %d", n, maxTicketsScanned)
	}
	if len(got.Notes) != maxTicketsScanned {
		t.Errorf("got %d notes, want one per scanned ticket (%d)", len(got.Notes), maxTicketsScanned)
	}
}

func TestListNotesLimit(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 6}, nil)
	got, err := c.ListNotes(context.Background(), providers.Query{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := expectedIDs(sim.Notes(), func(alibabasim.NoteInfo) bool { return true })[:5]
	if !slices.Equal(noteIDs(got.Notes), want) || !got.Truncated {
		t.Errorf("notes = %v truncated %v, want %v truncated", noteIDs(got.Notes), got.Truncated, want)
	}
}

func TestFetchesRunConcurrently(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 7, Tickets: 30}, nil)
	sim.Faults.SetLatency(20 * time.Millisecond)
	if _, err := c.ListNotes(context.Background(), providers.Query{}); err != nil {
		t.Fatal(err)
	}
	if got := sim.MaxInFlight(); got < 2 {
		t.Errorf("at most %d request in flight, want the tickets read concurrently", got)
	}
}

func TestAddNote(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 8}, nil)
	ticketID := sim.TicketIDs()[0]
	before := sim.NoteCount()
	body := "已续费成功 <b>thanks</b> & 🎉 100%+"
	n, rcpt, err := c.AddNote(context.Background(), ticketID, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := sim.LastRequestID("ReplyTicket"); want == "" || rcpt.RequestID != want {
		t.Errorf("receipt request id %q, want ReplyTicket's %q", rcpt.RequestID, want)
	}
	if sim.NoteCount() != before+1 {
		t.Errorf("simulator holds %d notes, want %d", sim.NoteCount(), before+1)
	}
	checkNote(t, n)
	if n.Body != body || n.AuthorRole != providers.RoleCustomer || n.ContentType != "text" || !n.CreatedAt.Equal(simNow) {
		t.Errorf("added note = %+v", n)
	}
	p := sim.LastParams("ReplyTicket")
	for k, v := range map[string]string{"TicketId": ticketID, "Content": body, "Encrypt": "false"} {
		if got := p.Get(k); got != v {
			t.Errorf("ReplyTicket %s = %q, want %q", k, got, v)
		}
	}
	list, err := c.ListNotes(context.Background(), providers.Query{TicketID: ticketID, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Notes) != 1 || list.Notes[0].ID != n.ID {
		t.Errorf("newest note = %v, want the reply %s", noteIDs(list.Notes), n.ID)
	}
}

func TestEditAndDeleteUnsupported(t *testing.T) {
	t.Parallel()
	_, c := setup(t, alibabasim.Options{Seed: 9}, nil)
	caps := c.Capabilities()
	if caps.Add != providers.AddSupportReply || caps.Edit || caps.Delete || !caps.NeedsTicket || caps.ServerDateFilter {
		t.Errorf("capabilities = %+v", caps)
	}
	if _, _, err := c.UpdateNote(context.Background(), "T", "1", "x"); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("UpdateNote err = %v, want ErrUnsupported", err)
	}
	if _, err := c.DeleteNote(context.Background(), "T", "1"); !errors.Is(err, providers.ErrUnsupported) {
		t.Errorf("DeleteNote err = %v, want ErrUnsupported", err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 10, Tickets: 12}, nil)
	got, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Detail != "12 tickets visible" || got.RequestID == "" {
		t.Errorf("check = %+v", got)
	}
	p := sim.LastParams("ListTickets")
	if p.Get("PageSize") != "10" || p.Get("PageNumber") != "1" {
		t.Errorf("check sent PageNumber %s PageSize %s, want 1 and 10", p.Get("PageNumber"), p.Get("PageSize"))
	}
}

func TestSecurityToken(t *testing.T) {
	t.Parallel()
	sim := alibabasim.New(alibabasim.Options{Seed: 11, Now: fixedNow})
	sim.RequireSecurityToken("CAIS-sts-token")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	opts := providers.Options{HTTPClient: srv.Client(), RateLimit: 1000, Burst: 10, Now: fixedNow, MaxRetries: -1}

	c, err := New(sim.Account(srv.URL), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background()); err != nil {
		t.Fatalf("with token: %v", err)
	}
	if got := sim.LastParams("ListTickets").Get("SecurityToken"); got != "CAIS-sts-token" {
		t.Errorf("SecurityToken = %q", got)
	}

	noToken := sim.Account(srv.URL)
	delete(noToken.Secrets, FieldSecurityToken)
	c, err = New(noToken, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(context.Background())
	if pe := providers.AsError(err); pe == nil || !errors.Is(err, providers.ErrUnauthorized) || pe.Code != "MissingSecurityToken" {
		t.Errorf("without token err = %v, want ErrUnauthorized MissingSecurityToken", err)
	}
}

func TestVendorErrors(t *testing.T) {
	t.Parallel()
	listNotes := func(ticketID string) func(*Client) error {
		return func(c *Client) error {
			_, err := c.ListNotes(context.Background(), providers.Query{TicketID: ticketID})
			return err
		}
	}
	tests := []struct {
		name       string
		edit       func(*providers.Account, *providers.Options)
		fault      func(*alibabasim.Server)
		call       func(*Client) error
		wantKind   error
		wantCode   string
		wantStatus int
		wantDetail string
	}{
		{
			name:     "wrong secret",
			edit:     func(a *providers.Account, _ *providers.Options) { a.Secrets[FieldAccessKeySecret] = "wrong" },
			call:     listNotes(""),
			wantKind: providers.ErrUnauthorized, wantCode: "SignatureDoesNotMatch", wantStatus: 400,
		},
		{
			name:     "unknown access key",
			edit:     func(a *providers.Account, _ *providers.Options) { a.Settings[FieldAccessKeyID] = "LTAInobody" },
			call:     listNotes(""),
			wantKind: providers.ErrUnauthorized, wantCode: "InvalidAccessKeyId.NotFound", wantStatus: 404,
		},
		{
			name: "clock 20 minutes fast",
			edit: func(_ *providers.Account, o *providers.Options) {
				o.Now = func() time.Time { return simNow.Add(20 * time.Minute) }
			},
			call:     listNotes(""),
			wantKind: providers.ErrUnauthorized, wantCode: "InvalidTimeStamp.Expired", wantStatus: 400,
		},
		{
			name:     "expired STS token",
			fault:    func(s *alibabasim.Server) { s.Faults.Arm(simfault.ExpiredToken, 1) },
			call:     listNotes(""),
			wantKind: providers.ErrUnauthorized, wantCode: "InvalidSecurityToken.Expired", wantStatus: 400,
		},
		{
			name:     "other account's uid",
			edit:     func(a *providers.Account, _ *providers.Options) { a.Settings[FieldUID] = "1234" },
			call:     listNotes(""),
			wantKind: providers.ErrForbidden, wantCode: "No permissions", wantStatus: 403,
			wantDetail: "action ram:ListTickets, NoPermissionType ImplicitDeny",
		},
		{
			name:     "denied, detail as an object",
			fault:    func(s *alibabasim.Server) { s.Deny("ListTicketNotes", true) },
			call:     listNotes("0000NOPE0"),
			wantKind: providers.ErrForbidden, wantCode: "No permissions", wantStatus: 403,
			wantDetail: "action workorder:ListTicketNotes, NoPermissionType ImplicitDeny",
		},
		{
			name:  "denied, detail as a string",
			fault: func(s *alibabasim.Server) { s.Deny("ReplyTicket", false) },
			call: func(c *Client) error {
				_, _, err := c.AddNote(context.Background(), "0000NOPE0", "hi")
				return err
			},
			wantKind: providers.ErrForbidden, wantCode: "No permissions", wantStatus: 403,
			wantDetail: "action workorder:ReplyTicket, NoPermissionType ImplicitDeny",
		},
		{
			name:     "unknown ticket",
			call:     listNotes("0000NOPE0"),
			wantKind: providers.ErrNotFound, wantCode: "ticket.not.exist", wantStatus: 404,
		},
		{
			name: "empty reply",
			call: func(c *Client) error {
				_, _, err := c.AddNote(context.Background(), "0000NOPE0", " ")
				return err
			},
			wantKind: providers.ErrInvalid, wantCode: "param.illegal", wantStatus: 400,
		},
		{
			name:     "throttled",
			edit:     func(_ *providers.Account, o *providers.Options) { o.MaxRetries = -1 },
			fault:    func(s *alibabasim.Server) { s.Faults.Arm(simfault.RateLimit, -1) },
			call:     listNotes(""),
			wantKind: providers.ErrRateLimited, wantCode: "Throttling.User", wantStatus: 429,
		},
		{
			name:     "server error",
			edit:     func(_ *providers.Account, o *providers.Options) { o.MaxRetries = -1 },
			fault:    func(s *alibabasim.Server) { s.Faults.Arm(simfault.ServerError, -1) },
			call:     listNotes(""),
			wantKind: providers.ErrUnavailable, wantCode: "System.error", wantStatus: 500,
		},
		{
			name:     "malformed body",
			fault:    func(s *alibabasim.Server) { s.Faults.Arm(simfault.Malformed, 1) },
			call:     listNotes(""),
			wantKind: providers.ErrUnavailable, wantCode: "", wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, alibabasim.Options{Seed: 12}, tt.edit)
			if tt.fault != nil {
				tt.fault(sim)
			}
			err := tt.call(c)
			pe := providers.AsError(err)
			if pe == nil {
				t.Fatalf("err = %v, want a *providers.Error", err)
			}
			if !errors.Is(err, tt.wantKind) || pe.Code != tt.wantCode || pe.Status != tt.wantStatus {
				t.Errorf("got kind %v code %q status %d, want %v %q %d (%v)",
					pe.Kind, pe.Code, pe.Status, tt.wantKind, tt.wantCode, tt.wantStatus, err)
			}
			if pe.RequestID == "" {
				t.Errorf("request id lost: %v", err)
			}
			if pe.Detail != tt.wantDetail || (tt.wantDetail != "" && pe.Message != "No permissions to access.") {
				t.Errorf("detail %q message %q, want %q and the vendor's message", pe.Detail, pe.Message, tt.wantDetail)
			}
			if pe.Provider != providers.KindAlibaba || pe.Op == "" {
				t.Errorf("provider %q op %q", pe.Provider, pe.Op)
			}
		})
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 13}, func(_ *providers.Account, o *providers.Options) {
		o.Timeout = 100 * time.Millisecond
		o.MaxRetries = -1
	})
	sim.Faults.Arm(simfault.Timeout, 1)
	_, err := c.Check(context.Background())
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}

func TestReadsAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault simfault.Fault
	}{
		{"server error", simfault.ServerError},
		{"rate limit", simfault.RateLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, c := setup(t, alibabasim.Options{Seed: 14}, nil)
			sim.Faults.SetRetryAfter(1)
			sim.Faults.Arm(tt.fault, 2)
			ticketID := sim.TicketIDs()[0]
			got, err := c.ListNotes(context.Background(), providers.Query{TicketID: ticketID})
			if err != nil {
				t.Fatalf("read failed despite retries: %v", err)
			}
			if len(got.Notes) == 0 {
				t.Error("no notes after retries")
			}
			if hits := sim.Faults.Hits(tt.fault); hits != 2 {
				t.Errorf("fault fired %d times, want 2", hits)
			}
			// Three attempts, each freshly signed: the simulator refuses a
			// reused nonce, so the third could not have passed otherwise.
			if n := sim.Calls("ListTicketNotes"); n != 3 {
				t.Errorf("simulator saw %d requests, want 3", n)
			}
		})
	}
}

func TestWritesAreNotRetried(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 15}, nil)
	sim.Faults.Arm(simfault.ServerError, 1)
	before := sim.NoteCount()
	_, _, err := c.AddNote(context.Background(), sim.TicketIDs()[0], "hello")
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if n := sim.Calls("ReplyTicket"); n != 1 {
		t.Errorf("simulator saw %d writes, want exactly 1", n)
	}
	if sim.NoteCount() != before {
		t.Errorf("note count changed from %d to %d", before, sim.NoteCount())
	}
}

// TestDocumentedExampleThroughClient serves the documented ListTicketNotes
// example as is and reads it through the whole client.
func TestDocumentedExampleThroughClient(t *testing.T) {
	t.Parallel()
	body := readTestdata(t, "listticketnotes_2025.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(providers.Account{ID: 42, Endpoint: srv.URL,
		Settings: map[string]string{FieldAccessKeyID: "id"}, Secrets: map[string]string{FieldAccessKeySecret: "s"}},
		providers.Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ListNotes(context.Background(), providers.Query{TicketID: "0005PYGCW"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Notes) != 1 || got.Notes[0].ID != "9999" || got.Notes[0].Body != "ECS backup failed" {
		t.Errorf("notes = %+v", got.Notes)
	}
}

// rawCall signs params with the given credentials the client's way and sends
// them as method; it returns the status and the decoded body.
func rawCall(t *testing.T, srv *httptest.Server, acct providers.Account, method string, params url.Values, nonce string) (int, map[string]any) {
	t.Helper()
	s := &signer{keyID: acct.Settings[FieldAccessKeyID], secret: acct.Secrets[FieldAccessKeySecret],
		now: fixedNow, nonce: func() string { return nonce }}
	s.sign(method, params)
	return send(t, srv, method, params)
}

func TestSimulatorRefusesLikeAlibaba(t *testing.T) {
	t.Parallel()
	sim := alibabasim.New(alibabasim.Options{Seed: 16, Now: fixedNow})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	ticketID := sim.TicketIDs()[0]

	tests := []struct {
		name       string
		method     string
		params     url.Values
		mutate     func(url.Values) // after signing
		wantStatus int
		wantCode   string
	}{
		{name: "GET query accepted", method: http.MethodGet,
			params: url.Values{"Action": {"ListTicketNotes"}, "TicketId": {ticketID}}, wantStatus: 200, wantCode: "0"},
		{name: "POST form accepted", method: http.MethodPost,
			params: url.Values{"Action": {"ListTickets"}, "PageNumber": {"1"}, "PageSize": {"10"}}, wantStatus: 200, wantCode: "0"},
		{name: "PageSize 9", method: http.MethodPost,
			params: url.Values{"Action": {"ListTickets"}, "PageNumber": {"1"}, "PageSize": {"9"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "PageSize 101", method: http.MethodPost,
			params: url.Values{"Action": {"ListTickets"}, "PageNumber": {"1"}, "PageSize": {"101"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "PageNumber 0", method: http.MethodPost,
			params: url.Values{"Action": {"ListTickets"}, "PageNumber": {"0"}, "PageSize": {"10"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "StartDate not ms", method: http.MethodPost,
			params: url.Values{"Action": {"ListTickets"}, "PageNumber": {"1"}, "PageSize": {"10"}, "StartDate": {"2025-01-01"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "TicketId missing", method: http.MethodPost,
			params: url.Values{"Action": {"ListTicketNotes"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "Encrypt missing", method: http.MethodPost,
			params: url.Values{"Action": {"ReplyTicket"}, "TicketId": {ticketID}, "Content": {"x"}}, wantStatus: 400, wantCode: "param.illegal"},
		{name: "old API version", method: http.MethodPost,
			params: url.Values{"Action": {"ListTicketNotes"}, "TicketId": {ticketID}},
			mutate: func(p url.Values) { p.Set("Version", "2020-03-26") }, wantStatus: 400, wantCode: "InvalidVersion"},
		{name: "unknown action", method: http.MethodPost,
			params: url.Values{"Action": {"DeleteTicketNote"}}, wantStatus: 404, wantCode: "InvalidApi.NotFound"},
		{name: "signature missing", method: http.MethodPost,
			params: url.Values{"Action": {"ListTicketNotes"}, "TicketId": {ticketID}},
			mutate: func(p url.Values) { p.Del("Signature") }, wantStatus: 400, wantCode: "MissingSignature"},
		{name: "parameter changed after signing", method: http.MethodPost,
			params: url.Values{"Action": {"ListTicketNotes"}, "TicketId": {ticketID}},
			mutate: func(p url.Values) { p.Set("TicketId", "0000OTHER") }, wantStatus: 400, wantCode: "SignatureDoesNotMatch"},
		{name: "timestamp not UTC form", method: http.MethodPost,
			params: url.Values{"Action": {"ListTicketNotes"}, "TicketId": {ticketID}},
			mutate: func(p url.Values) { p.Set("Timestamp", "2025-06-01 12:00:00") }, wantStatus: 400, wantCode: "InvalidTimeStamp.Format"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &signer{keyID: acct.Settings[FieldAccessKeyID], secret: acct.Secrets[FieldAccessKeySecret],
				now: fixedNow, nonce: func() string { return "nonce-" + strconv.Itoa(i) }}
			p := tt.params
			p.Set("Uid", acct.Settings[FieldUID])
			s.sign(tt.method, p)
			if tt.mutate != nil {
				tt.mutate(p)
			}
			status, body := send(t, srv, tt.method, p)
			if code := codeOf(body); status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("got %d %q, want %d %q (%v)", status, code, tt.wantStatus, tt.wantCode, body)
			}
			if body["RequestId"] == "" || body["RequestId"] == nil {
				t.Errorf("no RequestId in %v", body)
			}
		})
	}
}

func TestSimulatorRefusesReusedNonce(t *testing.T) {
	t.Parallel()
	sim := alibabasim.New(alibabasim.Options{Seed: 17, Now: fixedNow})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	params := url.Values{"Action": {"ListTicketNotes"}, "TicketId": {sim.TicketIDs()[0]}}
	if status, body := rawCall(t, srv, acct, http.MethodPost, params, "same-nonce"); status != 200 {
		t.Fatalf("first request: %d %v", status, body)
	}
	status, body := rawCall(t, srv, acct, http.MethodPost, params, "same-nonce")
	if code := codeOf(body); status != 400 || code != "SignatureNonceUsed" {
		t.Errorf("replay got %d %q, want 400 SignatureNonceUsed", status, code)
	}
}

func TestSimulatorSignatureCoversMethod(t *testing.T) {
	t.Parallel()
	sim := alibabasim.New(alibabasim.Options{Seed: 18, Now: fixedNow})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	s := &signer{keyID: acct.Settings[FieldAccessKeyID], secret: acct.Secrets[FieldAccessKeySecret],
		now: fixedNow, nonce: func() string { return "n1" }}
	p := url.Values{"Action": {"ListTicketNotes"}, "TicketId": {sim.TicketIDs()[0]}}
	s.sign(http.MethodPost, p)
	status, body := send(t, srv, http.MethodGet, p)
	if code := codeOf(body); status != 400 || code != "SignatureDoesNotMatch" {
		t.Errorf("POST signature sent by GET: %d %q, want 400 SignatureDoesNotMatch", status, code)
	}
	if msg, _ := body["Message"].(string); !strings.Contains(msg, "GET&%2F&") {
		t.Errorf("message %q does not quote the server's string to sign", msg)
	}
}

func send(t *testing.T, srv *httptest.Server, method string, p url.Values) (int, map[string]any) {
	t.Helper()
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, srv.URL+"/?"+encodeForm(p), nil)
	} else {
		req, err = http.NewRequest(method, srv.URL+"/", strings.NewReader(encodeForm(p)))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func codeOf(body map[string]any) string {
	switch c := body["Code"].(type) {
	case string:
		return c
	case float64:
		return strconv.FormatFloat(c, 'f', -1, 64)
	}
	return ""
}
