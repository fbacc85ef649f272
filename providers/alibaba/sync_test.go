package alibaba

import (
	"context"
	"errors"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
)

// SyncTickets reads every ticket, past the read path's cap of 200, and
// marks Completed ones closed; SyncTicketNotes reads a ticket whole.
func TestSyncTicketsWithoutCap(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, alibabasim.Options{Seed: 4, Tickets: 250, Notes: 600}, nil)
	ctx := context.Background()
	capped, err := c.ListTickets(ctx, providers.TicketQuery{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.SyncTickets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(capped) != providers.DefaultTicketLimit || len(all) != 250 {
		t.Fatalf("ListTickets %d, SyncTickets %d tickets; want %d and 250", len(capped), len(all), providers.DefaultTicketLimit)
	}
	closed := 0
	for _, tk := range all {
		if tk.Closed {
			closed++
		}
	}
	if open := sim.OpenTickets(); closed != 250-open {
		t.Errorf("%d tickets closed, want %d (every Completed one)", closed, 250-open)
	}

	id := sim.TicketIDs()[0]
	notes, from, err := c.SyncTicketNotes(ctx, id, simNow)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, n := range sim.Notes() {
		if n.TicketID == id {
			want++
		}
	}
	if len(notes) != want || !from.IsZero() {
		t.Fatalf("SyncTicketNotes: %d notes from %v, want all %d and a zero from (no date filter)", len(notes), from, want)
	}
	if _, _, err := c.SyncTicketNotes(ctx, "NOPE", simNow); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown ticket: %v, want ErrNotFound", err)
	}
}
