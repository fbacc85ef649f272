package sendbird_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// SyncWindow takes whole UTC days up to a year and reads every note of
// them; anything else is refused without a call.
func TestSyncWindow(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 2, Notes: 700}, providers.Options{})
	ctx := context.Background()
	midnight := time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC)
	for _, bad := range [][2]time.Time{
		{midnight.Add(-23 * time.Hour), midnight},
		{midnight.AddDate(0, 0, -366), midnight},
		{midnight, midnight},
	} {
		if _, err := c.SyncWindow(ctx, bad[0], bad[1]); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("SyncWindow(%v, %v) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	if n := len(sim.Log()); n != 0 {
		t.Fatalf("%d requests for refused windows", n)
	}
	from := midnight.AddDate(0, 0, -365)
	notes, err := c.SyncWindow(ctx, from, midnight)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 700 || sim.NoteCount() != 700 {
		t.Fatalf("SyncWindow returned %d of the %d notes", len(notes), sim.NoteCount())
	}
}

// SyncTicketNotes reads a ticket's notes whatever their age: windows from
// the ticket's creation day on.
func TestSyncTicketNotesAnyAge(t *testing.T) {
	t.Parallel()
	sim, c := setup(t, sendbirdsim.Options{Seed: 2}, providers.Options{})
	old := sim.PutTicket("two years old", testNow.AddDate(-2, 0, 0))
	a, _ := sim.PutNote(old, "old", testNow.AddDate(-2, 0, 1))
	b, _ := sim.PutNote(old, "newer", testNow.AddDate(0, -1, 0))
	notes, from, err := c.SyncTicketNotes(context.Background(), strconv.FormatInt(old, 10), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || !from.IsZero() {
		t.Fatalf("got %d notes from %v, want notes %d and %d from zero", len(notes), from, a, b)
	}
	notes, from, err = c.SyncTicketNotes(context.Background(), strconv.FormatInt(old, 10), testNow.AddDate(0, -2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].ID != strconv.FormatInt(b, 10) || !from.Equal(time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("since two months: %d notes from %v, want note %d from 2025-04-15", len(notes), from, b)
	}
	if _, _, err := c.SyncTicketNotes(context.Background(), "999999", time.Time{}); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("unknown ticket: %v, want ErrNotFound", err)
	}
}

// A note deleted at the vendor while a window's pages are read shifts the
// later pages; the window is read again, so no other note goes missing.
func TestSyncWindowReadsAgainWhenItChanged(t *testing.T) {
	t.Parallel()
	sim := sendbirdsim.New(sendbirdsim.Options{Seed: 3, Notes: 450, Now: clock})
	victim := sim.Notes()[0].ID // first by id: on page 1, so the rest shift
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/ticket_notes") && r.URL.Query().Get("offset") == "0" {
			once.Do(func() {
				if err := sim.RemoveNote(victim); err != nil {
					t.Error(err)
				}
			})
		}
	}))
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	c, err := sendbird.New(acct, providers.Options{RateLimit: 1000, Burst: 1, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC)
	notes, err := c.SyncWindow(context.Background(), midnight.AddDate(0, 0, -365), midnight)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range notes {
		got[n.ID] = true
	}
	for _, n := range sim.Notes() {
		if !got[strconv.FormatInt(n.ID, 10)] {
			t.Errorf("note %d missing", n.ID)
		}
	}
	if len(notes) != sim.NoteCount() || got[strconv.FormatInt(victim, 10)] {
		t.Fatalf("%d notes (deleted one included: %v), vendor holds %d", len(notes), got[strconv.FormatInt(victim, 10)], sim.NoteCount())
	}
}
