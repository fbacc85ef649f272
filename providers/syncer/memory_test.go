package syncer

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/sandbox"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// A Sendbird window's notes are held in memory until stored, so the
// default window must keep the densest one small: the simulators seed a
// growing helpdesk (most notes in recent months), and at a million notes
// over three accounts a 30-day window held about 42,000 notes and pushed
// the server past its 200 MB budget. Here, at the same shape scaled down
// (sandbox.Scale), the largest window of a default backfill must hold at
// most 6 % of the account's notes: a third of the 17.5 % the newest
// 30-day window held.
func TestDefaultWindowKeepsBatchesSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and syncs 40,000 notes")
	}
	t.Parallel()
	o := sandbox.Scale(120000)
	sim := sendbirdsim.New(sendbirdsim.Options{Seed: 3, Notes: o.NotesPerVendor, Tickets: o.TicketsPerVendor, Days: o.Days})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	acct.ID = sbID
	c, err := sendbird.New(acct, providers.Options{RateLimit: 1e6, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	store := newFakeStore()
	e := New(store, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := e.Add(sbID, c); err != nil {
		t.Fatal(err)
	}
	st, err := e.Pass(ctxT(t, 2*time.Minute), sbID, false)
	if err != nil {
		t.Fatal(err)
	}
	total := sim.NoteCount()
	if got := len(store.live(sbID)); got != total {
		t.Fatalf("archived %d of %d notes", got, total)
	}
	t.Logf("%d notes in %d windows; the largest batch held %d", total, st.Total, store.maxBatch)
	if limit := total * 6 / 100; store.maxBatch > limit {
		t.Errorf("a window held %d notes at once, over 6 %% of the account's %d", store.maxBatch, total)
	}
}
