package feishu

import (
	"context"
	"strconv"
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
