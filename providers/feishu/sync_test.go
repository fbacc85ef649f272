package feishu

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
)

// SyncTickets carries update time and closed state; SyncTicketNotes then
// reads messages from since (sent as whole seconds) without reading the
// ticket again, and says from where its answer is complete.
func TestSyncTicketsAndMessagesSince(t *testing.T) {
	t.Parallel()
	f := setup(t, feishusim.Options{Seed: 5}, nil)
	ctx := context.Background()
	tickets, err := f.client.SyncTickets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, tk := range tickets {
		if tk.UpdatedAt.IsZero() || tk.UpdatedAt.Before(tk.CreatedAt) {
			t.Errorf("ticket %s: updated %v, created %v", tk.ID, tk.UpdatedAt, tk.CreatedAt)
		}
		if tk.Closed {
			closed++
		}
	}
	if want := len(tickets) - f.sim.OpenTickets(); closed != want || len(tickets) != 40 {
		t.Fatalf("%d tickets, %d closed; want 40 and %d", len(tickets), closed, want)
	}

	id := f.sim.TicketIDs()[0]
	at := epoch.Add(-time.Hour).Add(700 * time.Millisecond)
	mid, err := f.sim.PutMessage(id, "after since", at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	skip := len(f.sim.Requests())
	notes, from, err := f.client.SyncTicketNotes(ctx, id, at)
	if err != nil {
		t.Fatal(err)
	}
	if !from.Equal(at.Truncate(time.Second)) {
		t.Errorf("from = %v, want %v", from, at.Truncate(time.Second))
	}
	var all []string
	for _, m := range f.sim.Messages() {
		if m.TicketID == id && !m.CreatedAt.Before(from) {
			all = append(all, m.ID)
		}
	}
	if len(notes) != len(all) || len(notes) == 0 || notes[len(notes)-1].ID != mid {
		t.Fatalf("got %d notes, want the %d from %v ending with %s", len(notes), len(all), from, mid)
	}
	reqs := f.sim.Requests()[skip:]
	for _, r := range reqs {
		if r.Path != messagesPath(id) {
			t.Errorf("request %s %s; want only the ticket's messages", r.Method, r.Path)
		}
	}
	if got := reqs[0].Query.Get("time_start"); got != strconv.FormatInt(at.Unix(), 10) {
		t.Errorf("time_start = %s, want %d", got, at.Unix())
	}
	if _, _, err := f.client.SyncTicketNotes(ctx, "123", time.Time{}); err == nil || providers.AsError(err) == nil {
		t.Fatalf("unknown ticket: %v, want a vendor error", err)
	}
}

// A message recalled while a ticket's pages are read shifts the later
// pages; the chat is read again, so no other message goes missing.
func TestSyncTicketNotesReadsAgainWhenChatChanged(t *testing.T) {
	t.Parallel()
	var f *fixture
	var once sync.Once
	var victim string
	f = setup(t, feishusim.Options{Seed: 6, Tickets: 1, Notes: 450}, nil)
	id := f.sim.TicketIDs()[0]
	msgs := f.sim.Messages()
	victim = msgs[len(msgs)-1].ID // the oldest: on page 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.sim.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/messages") && r.URL.Query().Get("page") == "1" {
			once.Do(func() {
				if err := f.sim.RemoveMessage(victim); err != nil {
					t.Error(err)
				}
			})
		}
	}))
	t.Cleanup(srv.Close)
	acct := f.acct
	acct.Endpoint = srv.URL
	c, err := New(acct, providers.Options{Now: f.clock.Now, RateLimit: 1000, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	notes, _, err := c.SyncTicketNotes(context.Background(), id, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range notes {
		got[n.ID] = true
	}
	for _, m := range f.sim.Messages() {
		if !got[m.ID] {
			t.Errorf("message %s missing", m.ID)
		}
	}
	if len(notes) != f.sim.NoteCount() || got[victim] {
		t.Fatalf("%d messages (recalled one included: %v), vendor holds %d", len(notes), got[victim], f.sim.NoteCount())
	}
}
