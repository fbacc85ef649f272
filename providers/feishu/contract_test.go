package feishu

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	good := func() providers.Account {
		return providers.Account{
			Kind:     providers.KindFeishu,
			Settings: map[string]string{"domain": "feishu", "app_id": "cli_a", "helpdesk_id": "123"},
			Secrets:  map[string]string{"app_secret": "s", "helpdesk_token": "ht"},
		}
	}
	tests := []struct {
		name     string
		edit     func(*providers.Account)
		wantErr  bool
		wantBase string
	}{
		{"feishu", func(a *providers.Account) {}, false, "https://open.feishu.cn"},
		{"lark", func(a *providers.Account) { a.Settings["domain"] = "lark" }, false, "https://open.larksuite.com"},
		{"endpoint overrides host", func(a *providers.Account) { a.Endpoint = "http://127.0.0.1:9/" }, false, "http://127.0.0.1:9"},
		{"unknown domain", func(a *providers.Account) { a.Settings["domain"] = "dingtalk" }, true, ""},
		{"missing domain", func(a *providers.Account) { delete(a.Settings, "domain") }, true, ""},
		{"missing app id", func(a *providers.Account) { delete(a.Settings, "app_id") }, true, ""},
		{"missing app secret", func(a *providers.Account) { a.Secrets["app_secret"] = " " }, true, ""},
		{"missing helpdesk id", func(a *providers.Account) { delete(a.Settings, "helpdesk_id") }, true, ""},
		{"missing helpdesk token", func(a *providers.Account) { delete(a.Secrets, "helpdesk_token") }, true, ""},
		{"secret given as setting", func(a *providers.Account) {
			a.Settings["helpdesk_token"] = a.Secrets["helpdesk_token"]
			delete(a.Secrets, "helpdesk_token")
		}, true, ""},
		{"relative endpoint", func(a *providers.Account) { a.Endpoint = "open.feishu.cn" }, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acct := good()
			tt.edit(&acct)
			c, err := New(acct, providers.Options{})
			if tt.wantErr {
				wantError(t, err, providers.ErrInvalid, "", 0)
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.base != tt.wantBase {
				t.Errorf("base = %q, want %q", c.base, tt.wantBase)
			}
		})
	}
}

func TestFields(t *testing.T) {
	t.Parallel()
	want := map[string]bool{"domain": false, "app_id": false, "app_secret": true, "helpdesk_id": false, "helpdesk_token": true}
	got := Fields()
	if len(got) != len(want) {
		t.Fatalf("%d fields, want %d", len(got), len(want))
	}
	for _, f := range got {
		secret, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected field %q", f.Name)
			continue
		}
		if f.Secret != secret || !f.Required || f.Label != "field."+f.Name {
			t.Errorf("field %+v: want Secret %v, Required, Label field.%s", f, secret, f.Name)
		}
	}
	if d := got[0]; d.Name != "domain" || !slices.Equal(d.Choices, []string{"feishu", "lark"}) {
		t.Errorf("domain field = %+v", d)
	}
}

// Both domains reach their own host with the same paths; the simulator
// stands in for the host.
func TestDomainsUseTheirHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ domain, host string }{
		{"feishu", "https://open.feishu.cn"},
		{"lark", "https://open.larksuite.com"},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			t.Parallel()
			sim := feishusim.New(feishusim.Options{Seed: 3, Now: func() time.Time { return epoch }})
			srv := httptest.NewServer(sim)
			defer srv.Close()
			acct := sim.Account("")
			acct.Settings["domain"] = tt.domain
			rt := &redirect{target: srv.URL}
			c, err := New(acct, providers.Options{HTTPClient: &http.Client{Transport: rt}, Now: func() time.Time { return epoch }})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			res, err := c.Check(context.Background())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res.Detail != "40 tickets visible" {
				t.Errorf("Detail = %q, want %q", res.Detail, "40 tickets visible")
			}
			if len(rt.hosts) != 2 {
				t.Fatalf("%d requests, want token + tickets", len(rt.hosts))
			}
			for _, h := range rt.hosts {
				if h != tt.host {
					t.Errorf("request went to %q, want %q", h, tt.host)
				}
			}
		})
	}
}

func TestHelpdeskHeaderAndBearer(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, token, want string }{
		{"123", "abc", "MTIzOmFiYw=="},
		// Standard alphabet ('/' and '+'), with padding.
		{"6939771743531696147", "ht-??>~", "NjkzOTc3MTc0MzUzMTY5NjE0NzpodC0/Pz5+"},
	}
	for _, tt := range tests {
		if got := helpdeskAuthorization(tt.id, tt.token); got != tt.want {
			t.Errorf("helpdeskAuthorization(%q, %q) = %q, want %q", tt.id, tt.token, got, tt.want)
		}
	}

	f := setup(t, feishusim.Options{Seed: 1}, nil)
	if _, err := f.client.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	reqs := requestsTo(f.sim, http.MethodGet, "/open-apis/helpdesk/v1/tickets", 0)
	if len(reqs) != 1 {
		t.Fatalf("%d ticket requests, want 1", len(reqs))
	}
	h := reqs[0].Header
	raw, err := base64.StdEncoding.DecodeString(h.Get("X-Lark-Helpdesk-Authorization"))
	if err != nil {
		t.Fatalf("helpdesk header not standard base64: %v", err)
	}
	if want := f.acct.Settings["helpdesk_id"] + ":" + f.acct.Secrets["helpdesk_token"]; string(raw) != want {
		t.Errorf("helpdesk header decodes to %q, want %q", raw, want)
	}
	if got := h.Get("Authorization"); len(got) < len("Bearer t-") || got[:9] != "Bearer t-" {
		t.Errorf("Authorization = %q, want a bearer tenant token", got)
	}
}

func TestListNotesOneTicketPagesToTheEnd(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 11, Tickets: 1, Notes: 450, Days: 30}, nil)
	ticketID := f.sim.TicketIDs()[0]

	got, err := f.client.ListNotes(context.Background(), providers.Query{TicketID: ticketID})
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	want := f.sim.Messages()
	if len(got.Notes) != len(want) || got.Truncated {
		t.Fatalf("got %d notes (truncated %v), want %d, not truncated", len(got.Notes), got.Truncated, len(want))
	}
	for i, n := range got.Notes {
		w := want[i]
		if n.ID != w.ID || !n.CreatedAt.Equal(w.CreatedAt) || n.AuthorRole != w.Role || n.ContentType != w.Type {
			t.Fatalf("note %d = {%s %v %s %s}, want {%s %v %s %s}", i, n.ID, n.CreatedAt, n.AuthorRole, n.ContentType,
				w.ID, w.CreatedAt, w.Role, w.Type)
		}
		if n.Provider != providers.KindFeishu || n.AccountID != 7 || n.TicketID != ticketID || n.CreatedAt.Location() != time.UTC || len(n.Raw) == 0 {
			t.Fatalf("note %d misses provider/account/ticket/UTC/raw: %+v", i, n)
		}
	}

	pages := map[string]bool{}
	for _, r := range requestsTo(f.sim, http.MethodGet, "/messages", 0) {
		if r.Query.Get("page_size") != "200" {
			t.Errorf("page_size = %q, want 200", r.Query.Get("page_size"))
		}
		if r.Query.Has("time_start") || r.Query.Has("time_end") {
			t.Errorf("open range sent time filters: %v", r.Query)
		}
		pages[r.Query.Get("page")] = true
	}
	if want := map[string]bool{"1": true, "2": true, "3": true}; len(pages) != 3 || !pages["1"] || !pages["2"] || !pages["3"] {
		t.Errorf("pages read = %v, want %v", pages, want)
	}
	if n := len(requestsTo(f.sim, http.MethodGet, "/tickets/"+ticketID, 0)); n != 1 {
		t.Errorf("ticket read %d times, want 1", n)
	}
}

func TestListNotesConvertsRangeToSeconds(t *testing.T) {
	t.Parallel()
	shanghai := time.FixedZone("CST", 8*3600)
	newYork := time.FixedZone("EDT", -4*3600)
	tests := []struct {
		name          string
		from, to      time.Time
		wantStart     string
		wantEnd       string
		wantStartUnix int64
	}{
		{
			name:      "Asia/Shanghai, sub-second bounds",
			from:      time.Date(2024, 5, 10, 9, 30, 0, 500e6, shanghai),
			to:        time.Date(2024, 5, 20, 18, 0, 0, 250e6, shanghai),
			wantStart: strconv.FormatInt(time.Date(2024, 5, 10, 1, 30, 0, 0, time.UTC).Unix(), 10),
			wantEnd:   strconv.FormatInt(time.Date(2024, 5, 20, 10, 0, 1, 0, time.UTC).Unix(), 10),
		},
		{
			name:      "America/New_York, whole seconds",
			from:      time.Date(2024, 5, 1, 0, 0, 0, 0, newYork),
			to:        time.Date(2024, 5, 25, 0, 0, 0, 0, newYork),
			wantStart: strconv.FormatInt(time.Date(2024, 5, 1, 4, 0, 0, 0, time.UTC).Unix(), 10),
			wantEnd:   strconv.FormatInt(time.Date(2024, 5, 25, 4, 0, 0, 0, time.UTC).Unix(), 10),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, feishusim.Options{Seed: 12, Tickets: 1, Notes: 300, Days: 40}, nil)
			ticketID := f.sim.TicketIDs()[0]
			q := providers.Query{TicketID: ticketID, From: tt.from, To: tt.to}
			got, err := f.client.ListNotes(context.Background(), q)
			if err != nil {
				t.Fatalf("ListNotes: %v", err)
			}
			var want []string
			for _, m := range f.sim.Messages() {
				if q.Contains(m.CreatedAt) {
					want = append(want, m.ID)
				}
			}
			var ids []string
			for _, n := range got.Notes {
				ids = append(ids, n.ID)
			}
			if len(want) == 0 || !slices.Equal(ids, want) {
				t.Errorf("got %d notes, want %d (%v vs %v)", len(ids), len(want), head(ids), head(want))
			}
			reqs := requestsTo(f.sim, http.MethodGet, "/messages", 0)
			if len(reqs) == 0 {
				t.Fatal("no message requests")
			}
			for _, r := range reqs {
				if s, e := r.Query.Get("time_start"), r.Query.Get("time_end"); s != tt.wantStart || e != tt.wantEnd {
					t.Errorf("time_start, time_end = %s, %s; want %s, %s", s, e, tt.wantStart, tt.wantEnd)
				}
			}
		})
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

func TestListNotesAcrossTickets(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 21}, nil)
	from, to := epoch.Add(-20*24*time.Hour), epoch.Add(-5*24*time.Hour)
	q := providers.Query{From: from, To: to}

	got, err := f.client.ListNotes(context.Background(), q)
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	var want []string
	for _, m := range f.sim.Messages() {
		created, _ := f.sim.TicketCreated(m.TicketID)
		inLookback := !created.Before(from.Add(-ticketLookback)) && !created.After(to)
		if q.Contains(m.CreatedAt) && inLookback {
			want = append(want, m.TicketID+"/"+m.ID)
		}
	}
	var ids []string
	for _, n := range got.Notes {
		ids = append(ids, n.TicketID+"/"+n.ID)
	}
	if len(want) == 0 || !slices.Equal(ids, want) || got.Truncated {
		t.Fatalf("got %d notes (truncated %v), want %d", len(ids), got.Truncated, len(want))
	}

	tr := requestsTo(f.sim, http.MethodGet, "/open-apis/helpdesk/v1/tickets", 0)
	if len(tr) != 1 {
		t.Fatalf("%d ticket list requests, want 1", len(tr))
	}
	if s, e := tr[0].Query.Get("create_time_start"), tr[0].Query.Get("create_time_end"); s != strconv.FormatInt(from.Add(-30*24*time.Hour).UnixMilli(), 10) ||
		e != strconv.FormatInt(to.UnixMilli(), 10) {
		t.Errorf("create_time_start, create_time_end = %s, %s; want ms of from-30d, to", s, e)
	}
	if p := tr[0].Query.Get("page_size"); p != "200" {
		t.Errorf("ticket page_size = %s, want 200", p)
	}

	limited, err := f.client.ListNotes(context.Background(), providers.Query{From: from, To: to, Limit: 5})
	if err != nil {
		t.Fatalf("ListNotes with limit: %v", err)
	}
	if len(limited.Notes) != 5 || !limited.Truncated {
		t.Fatalf("limit 5: got %d notes, truncated %v", len(limited.Notes), limited.Truncated)
	}
	for i, n := range limited.Notes {
		if n.TicketID+"/"+n.ID != want[i] {
			t.Errorf("limited note %d = %s, want %s", i, n.TicketID+"/"+n.ID, want[i])
		}
	}
}

func TestListNotesCapsTicketsScanned(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 22, Tickets: 250, Notes: 300}, nil)
	got, err := f.client.ListNotes(context.Background(), providers.Query{})
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	if !got.Truncated {
		t.Error("Truncated = false, want true when 250 tickets exceed the scan cap")
	}
	scanned := map[string]bool{}
	for _, r := range requestsTo(f.sim, http.MethodGet, "/messages", 0) {
		scanned[r.Path] = true
	}
	if len(scanned) != maxTicketsScanned {
		t.Errorf("scanned %d tickets, want %d", len(scanned), maxTicketsScanned)
	}
	// The newest tickets are the ones scanned.
	ids := f.sim.TicketIDs()
	for _, id := range ids[len(ids)-maxTicketsScanned:] {
		if !scanned[messagesPath(id)] {
			t.Fatalf("newest ticket %s not scanned", id)
		}
	}
}

func TestListTickets(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 31, Tickets: 450, Notes: 20}, nil)
	all := f.sim.TicketIDs() // oldest first
	tests := []struct {
		name string
		q    providers.TicketQuery
		want []string
	}{
		{"default limit keeps the newest 200", providers.TicketQuery{}, reversed(all)[:200]},
		{"all pages", providers.TicketQuery{Limit: 1000}, reversed(all)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.client.ListTickets(context.Background(), tt.q)
			if err != nil {
				t.Fatalf("ListTickets: %v", err)
			}
			var ids []string
			for _, tk := range got {
				ids = append(ids, tk.ID)
				if tk.Title == "" || tk.Status == "" || tk.CreatedAt.IsZero() || len(tk.Raw) == 0 {
					t.Fatalf("ticket %+v misses title/status/created/raw", tk)
				}
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("got %d tickets %v…, want %d %v…", len(ids), head(ids), len(tt.want), head(tt.want))
			}
		})
	}
	pages := map[string]bool{}
	for _, r := range requestsTo(f.sim, http.MethodGet, "/open-apis/helpdesk/v1/tickets", 0) {
		pages[r.Query.Get("page")] = true
	}
	if len(pages) != 3 {
		t.Errorf("pages read = %v, want 1..3", pages)
	}

	// A range in a non-UTC zone is sent as epoch milliseconds.
	created, _ := f.sim.TicketCreated(all[100])
	until, _ := f.sim.TicketCreated(all[200])
	zone := time.FixedZone("JST", 9*3600)
	skip := len(f.sim.Requests())
	got, err := f.client.ListTickets(context.Background(), providers.TicketQuery{From: created.In(zone), To: until.In(zone)})
	if err != nil {
		t.Fatalf("ListTickets with range: %v", err)
	}
	if want := reversed(all[100:200]); len(got) != len(want) || got[0].ID != want[0] || got[len(got)-1].ID != want[len(want)-1] {
		t.Errorf("range: got %d tickets, want %d", len(got), len(want))
	}
	r := requestsTo(f.sim, http.MethodGet, "/open-apis/helpdesk/v1/tickets", skip)[0]
	if s := r.Query.Get("create_time_start"); s != strconv.FormatInt(created.UnixMilli(), 10) {
		t.Errorf("create_time_start = %s, want %d", s, created.UnixMilli())
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func TestAddNoteSendsCustomerMessage(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 41}, nil)
	ticketID := f.sim.TicketIDs()[3]
	body := "您好 <b>Alice</b>, please retry 🙏\nsecond line"

	note, rcpt, err := f.client.AddNote(context.Background(), ticketID, body)
	if err != nil {
		t.Fatalf("AddNote: %v", err)
	}
	if note.ID == "" || note.TicketID != ticketID || note.Body != body || note.AuthorRole != providers.RoleSystem ||
		note.ContentType != "text" || !note.CreatedAt.Equal(epoch) || note.AccountID != 7 {
		t.Errorf("note = %+v", note)
	}
	// The send answers only message_id; the note's id is the ticket-message
	// id the re-read shows for it.
	stored := f.sim.Messages()[0]
	if stored.TicketID != ticketID || note.ID != stored.ID || note.ChatMessageID != stored.MessageID || note.ID == stored.MessageID {
		t.Errorf("note id %q / chat id %q, want the stored %q / %q", note.ID, note.ChatMessageID, stored.ID, stored.MessageID)
	}

	writes := requestsTo(f.sim, http.MethodPost, "/messages", 0)
	if len(writes) != 1 {
		t.Fatalf("%d writes, want 1", len(writes))
	}
	if rcpt.RequestID == "" || rcpt.RequestID != writes[0].LogID {
		t.Errorf("receipt request id %q, want the send's X-Tt-Logid %q", rcpt.RequestID, writes[0].LogID)
	}
	var sent struct {
		MsgType string `json:"msg_type"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal(writes[0].Body, &sent); err != nil {
		t.Fatalf("request body: %v", err)
	}
	var inner map[string]string
	if err := json.Unmarshal([]byte(sent.Content), &inner); err != nil {
		t.Fatalf("content is not a JSON string of an object: %q", sent.Content)
	}
	if sent.MsgType != "text" || inner[textKey] != body {
		t.Errorf("sent %q / %q, want text with %q", sent.MsgType, sent.Content, body)
	}

	list, err := f.client.ListNotes(context.Background(), providers.Query{TicketID: ticketID})
	if err != nil {
		t.Fatalf("ListNotes: %v", err)
	}
	found := false
	for _, n := range list.Notes {
		if n.ID == note.ID {
			found = true
			if n.Body != body || n.AuthorRole != providers.RoleSystem {
				t.Errorf("listed note = %q by %s, want %q by system", n.Body, n.AuthorRole, body)
			}
		}
	}
	if !found {
		t.Errorf("added note %s not listed", note.ID)
	}
}

func TestAddNoteRefusesEmptyInput(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 42}, nil)
	tests := []struct{ name, ticket, body string }{
		{"no ticket", "", "hello"},
		{"blank body", f.sim.TicketIDs()[0], " \n\t"},
	}
	for _, tt := range tests {
		_, _, err := f.client.AddNote(context.Background(), tt.ticket, tt.body)
		wantError(t, err, providers.ErrInvalid, "", 0)
	}
	if n := len(f.sim.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestEditAndDeleteUnsupported(t *testing.T) {
	t.Parallel()
	c := setup(t, feishusim.Options{Seed: 43}, nil).client
	_, _, err := c.UpdateNote(context.Background(), "1", "2", "x")
	wantError(t, err, providers.ErrUnsupported, "", 0)
	_, err = c.DeleteNote(context.Background(), "1", "2")
	wantError(t, err, providers.ErrUnsupported, "", 0)
	caps := c.Capabilities()
	want := providers.Capabilities{Add: providers.AddCustomerMessage, NeedsTicket: true, ServerDateFilter: true}
	if caps != want {
		t.Errorf("Capabilities = %+v, want %+v", caps, want)
	}
}

func TestVendorErrorsFromSimulator(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name       string
		edit       func(*providers.Account, *providers.Options)
		arm        func(*feishusim.Server)
		call       func(*Client) error
		kind       error
		code       string
		status     int
		tokenCalls int // token requests expected overall
	}
	check := func(c *Client) error { _, err := c.Check(context.Background()); return err }
	noRetry := func(_ *providers.Account, o *providers.Options) { o.MaxRetries = -1 }
	tests := []scenario{
		{name: "wrong app secret", edit: func(a *providers.Account, _ *providers.Options) { a.Secrets["app_secret"] = "wrong" },
			call: check, kind: providers.ErrUnauthorized, code: "10014", status: 400, tokenCalls: 1},
		{name: "unknown app id", edit: func(a *providers.Account, _ *providers.Options) { a.Settings["app_id"] = "cli_nobody" },
			call: check, kind: providers.ErrUnauthorized, code: "10003", status: 400, tokenCalls: 1},
		{name: "wrong helpdesk token", edit: func(a *providers.Account, _ *providers.Options) { a.Secrets["helpdesk_token"] = "ht-wrong" },
			call: check, kind: providers.ErrUnauthorized, code: "154001", status: 401, tokenCalls: 1},
		// The vendor has no not-found code: an unknown ticket is 400 / 154000,
		// which a read of one ticket reports as not found.
		{name: "unknown ticket", call: func(c *Client) error {
			_, err := c.ListNotes(context.Background(), providers.Query{TicketID: "404404"})
			return err
		}, kind: providers.ErrNotFound, code: "154000", status: 400, tokenCalls: 1},
		// A send is no read: the same answer stays a bad request.
		{name: "add to unknown ticket", call: func(c *Client) error {
			_, _, err := c.AddNote(context.Background(), "404404", "hi")
			return err
		}, kind: providers.ErrInvalid, code: "154000", status: 400, tokenCalls: 1},
		{name: "rate limited", edit: noRetry, arm: func(s *feishusim.Server) { s.Faults.Arm(simfault.RateLimit, -1) },
			call: check, kind: providers.ErrRateLimited, code: "99991400", status: 429, tokenCalls: 1},
		{name: "internal error", edit: noRetry, arm: func(s *feishusim.Server) { s.Faults.Arm(simfault.ServerError, -1) },
			call: check, kind: providers.ErrUnavailable, code: "155000", status: 500, tokenCalls: 1},
		{name: "malformed JSON", arm: func(s *feishusim.Server) { s.Faults.Arm(simfault.Malformed, 1) },
			call: check, kind: providers.ErrUnavailable, code: "", status: 200, tokenCalls: 1},
		{name: "token refused twice", arm: func(s *feishusim.Server) { s.Faults.Arm(simfault.ExpiredToken, 2) },
			call: check, kind: providers.ErrUnauthorized, code: "99991663", status: 400, tokenCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, feishusim.Options{Seed: 51}, tt.edit)
			if tt.arm != nil {
				// Fetch the token first so the fault hits the helpdesk call.
				if err := check(f.client); err != nil {
					t.Fatalf("warm-up Check: %v", err)
				}
				tt.arm(f.sim)
			}
			err := tt.call(f.client)
			pe := wantError(t, err, tt.kind, tt.code, tt.status)
			if pe.RequestID == "" || !logIDs(f.sim)[pe.RequestID] {
				t.Errorf("RequestID = %q, want one of the simulator's X-Tt-Logid values", pe.RequestID)
			}
			if n := f.sim.TokenFetches(); n != tt.tokenCalls {
				t.Errorf("token fetched %d times, want %d", n, tt.tokenCalls)
			}
		})
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 52}, func(_ *providers.Account, o *providers.Options) {
		o.MaxRetries, o.Timeout = -1, 100*time.Millisecond
	})
	if _, err := f.client.Check(context.Background()); err != nil {
		t.Fatalf("warm-up Check: %v", err)
	}
	f.sim.Faults.Arm(simfault.Timeout, 1)
	_, err := f.client.Check(context.Background())
	wantError(t, err, providers.ErrUnavailable, "", 0)
}

func TestReadsAreRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault simfault.Fault
		n     int
	}{
		{simfault.ServerError, 2},
		{simfault.RateLimit, 1}, // Retry-After: 1
		{simfault.Malformed, 0}, // not retried: a 200 answered
	}
	for _, tt := range tests {
		f := setup(t, feishusim.Options{Seed: 61}, nil)
		if _, err := f.client.Check(context.Background()); err != nil {
			t.Fatalf("warm-up Check: %v", err)
		}
		skip := len(f.sim.Requests())
		f.sim.Faults.Arm(tt.fault, tt.n)
		res, err := f.client.Check(context.Background())
		if err != nil {
			t.Fatalf("fault %d ×%d: Check: %v", tt.fault, tt.n, err)
		}
		if res.Detail != "40 tickets visible" || res.RequestID != f.sim.LastLogID() {
			t.Errorf("Check = %+v, want 40 tickets and the last log id %s", res, f.sim.LastLogID())
		}
		if got := len(requestsTo(f.sim, http.MethodGet, "/tickets", skip)); got != tt.n+1 {
			t.Errorf("fault %d ×%d: %d attempts, want %d", tt.fault, tt.n, got, tt.n+1)
		}
	}
}

func TestWritesAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fault  simfault.Fault
		kind   error
		code   string
		status int
	}{
		{simfault.ServerError, providers.ErrUnavailable, "155000", 500},
		{simfault.RateLimit, providers.ErrRateLimited, "99991400", 429},
	}
	for _, tt := range tests {
		f := setup(t, feishusim.Options{Seed: 62}, nil)
		if _, err := f.client.Check(context.Background()); err != nil {
			t.Fatalf("warm-up Check: %v", err)
		}
		before := f.sim.NoteCount()
		f.sim.Faults.Arm(tt.fault, 1)
		_, _, err := f.client.AddNote(context.Background(), f.sim.TicketIDs()[0], "hello")
		wantError(t, err, tt.kind, tt.code, tt.status)
		if n := f.sim.MessageWrites(); n != 1 {
			t.Errorf("fault %d: simulator saw %d writes, want exactly 1", tt.fault, n)
		}
		if n := f.sim.NoteCount(); n != before {
			t.Errorf("fault %d: %d messages stored, want %d", tt.fault, n, before)
		}
	}
}

func TestRefusedTokenIsRenewedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 71}, nil)
	ctx := context.Background()
	if _, err := f.client.Check(ctx); err != nil {
		t.Fatalf("warm-up Check: %v", err)
	}

	f.sim.Faults.Arm(simfault.ExpiredToken, 1)
	if _, err := f.client.ListNotes(ctx, providers.Query{TicketID: f.sim.TicketIDs()[0]}); err != nil {
		t.Fatalf("read after token refusal: %v", err)
	}
	if n := f.sim.TokenFetches(); n != 2 {
		t.Errorf("read: token fetched %d times, want 2", n)
	}

	// A refused write was not applied, so it is sent again with a new token.
	before := f.sim.NoteCount()
	f.sim.Faults.Arm(simfault.ExpiredToken, 1)
	if _, _, err := f.client.AddNote(ctx, f.sim.TicketIDs()[0], "after refresh"); err != nil {
		t.Fatalf("write after token refusal: %v", err)
	}
	if n := f.sim.MessageWrites(); n != 2 {
		t.Errorf("write: %d sends, want 2 (refused, then sent)", n)
	}
	if n := f.sim.NoteCount(); n != before+1 {
		t.Errorf("write: %d messages stored, want %d", n, before+1)
	}
	if n := f.sim.TokenFetches(); n != 3 {
		t.Errorf("write: token fetched %d times in all, want 3", n)
	}
}

func TestTokenCachedUntilShortlyBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 81}, nil)
	f.sim.SetTokenExpire(600 * time.Second) // renewed 60 s early
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		fetches int
	}{
		{0, 1},
		{500 * time.Second, 1},
		{39 * time.Second, 1},  // 539 s: still inside the lifetime
		{1 * time.Second, 2},   // 540 s: renewed before the vendor's expiry
		{300 * time.Second, 2}, // the new token is cached again
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		if _, err := f.client.Check(ctx); err != nil {
			t.Fatalf("step %d: Check: %v", i, err)
		}
		if n := f.sim.TokenFetches(); n != s.fetches {
			t.Errorf("step %d: %d token fetches, want %d", i, n, s.fetches)
		}
	}
}

func TestConcurrentCallersShareOneTokenFetch(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 82}, nil)
	f.sim.Faults.SetLatency(5 * time.Millisecond) // keep the fetch in flight while others arrive
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := f.client.Check(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Check: %v", err)
	}
	if n := f.sim.TokenFetches(); n != 1 {
		t.Errorf("%d token fetches, want 1", n)
	}
}

func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct{ expire, want time.Duration }{
		{7200 * time.Second, 7200*time.Second - 5*time.Minute},
		{600 * time.Second, 540 * time.Second},
		{60 * time.Second, 54 * time.Second},
		{0, 0},
		{-5 * time.Second, 0},
	}
	for _, tt := range tests {
		if got := tokenLifetime(tt.expire); got != tt.want {
			t.Errorf("tokenLifetime(%v) = %v, want %v", tt.expire, got, tt.want)
		}
	}
}

func TestVendorErrorTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, code int
		want         error
	}{
		{400, 154000, providers.ErrInvalid},
		{401, 154001, providers.ErrUnauthorized},
		{403, 154003, providers.ErrForbidden},
		{500, 155000, providers.ErrUnavailable},
		{400, 99991663, providers.ErrUnauthorized},
		{401, 99991663, providers.ErrUnauthorized},
		{400, 99991661, providers.ErrUnauthorized},
		{400, 99991400, providers.ErrRateLimited},
		{429, 99991400, providers.ErrRateLimited},
		{400, 10014, providers.ErrUnauthorized},
		// Unknown codes fall back to the HTTP status.
		{403, 123, providers.ErrForbidden},
		{404, 0, providers.ErrNotFound},
		{429, 0, providers.ErrRateLimited},
		{502, 0, providers.ErrUnavailable},
		{200, 999, providers.ErrUnavailable},
	}
	for _, tt := range tests {
		e := vendorError("op", tt.status, "log-1", tt.code, "msg", nil)
		if !errors.Is(e, tt.want) {
			t.Errorf("status %d code %d: kind %v, want %v", tt.status, tt.code, e.Kind, tt.want)
		}
		wantCode := ""
		if tt.code != 0 {
			wantCode = strconv.Itoa(tt.code)
		}
		if e.Code != wantCode || e.RequestID != "log-1" || e.Status != tt.status {
			t.Errorf("status %d code %d: error %+v keeps wrong code/request id/status", tt.status, tt.code, e)
		}
	}
}

func TestMessageTimeParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to   time.Time
		start, end string
	}{
		{time.Time{}, time.Time{}, "", ""},
		{time.Unix(1617960686, 0), time.Unix(1617960687, 0), "1617960686", "1617960687"},
		{time.Unix(1617960686, 999e6), time.Unix(1617960687, 1), "1617960686", "1617960688"},
		{time.Unix(-1, -5e8), time.Time{}, "-2", ""},
	}
	for _, tt := range tests {
		s, e := messageTimeParams(tt.from, tt.to)
		if s != tt.start || e != tt.end {
			t.Errorf("messageTimeParams(%v, %v) = %q, %q; want %q, %q", tt.from, tt.to, s, e, tt.start, tt.end)
		}
	}
}

func TestRoleOf(t *testing.T) {
	t.Parallel()
	p := people{guest: "ou_guest", agents: map[string]bool{"ou_agent": true}}
	tests := []struct {
		user string
		p    people
		want providers.Role
	}{
		{"ou_guest", p, providers.RoleCustomer},
		{"ou_agent", p, providers.RoleAgent},
		// Neither the guest nor an agent of the ticket: the helpdesk bot or
		// the app's own sender.
		{"ou_bot", p, providers.RoleSystem},
		{"", p, providers.RoleSystem},
		{"ou_agent", people{agents: map[string]bool{"ou_agent": true}}, providers.RoleAgent},
		{"ou_someone", people{}, providers.RoleCustomer},
	}
	for _, tt := range tests {
		if got := roleOf(tt.user, tt.p); got != tt.want {
			t.Errorf("roleOf(%q, %+v) = %s, want %s", tt.user, tt.p, got, tt.want)
		}
	}
}

func TestCheckCountsTickets(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 12} {
		f := setup(t, feishusim.Options{Seed: 91, Tickets: n, Notes: 5}, nil)
		res, err := f.client.Check(context.Background())
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		want := fmt.Sprintf("%d tickets visible", n)
		if n == 1 {
			want = "1 ticket visible"
		}
		if res.Detail != want || res.RequestID != f.sim.LastLogID() {
			t.Errorf("Check = %+v, want %q with request id %s", res, want, f.sim.LastLogID())
		}
	}
}
