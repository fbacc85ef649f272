package syncer

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// First a backfill, then an incremental pass after new notes arrived at
// the vendor: the archive holds exactly the vendor's notes each time.
func TestBackfillThenIncrementalIsExact(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	for _, id := range accountIDs {
		st, err := e.Pass(ctx, id, false)
		if err != nil {
			t.Fatalf("%s backfill: %v", name(id), err)
		}
		if st.Kind != PassBackfill || st.Err != nil || st.Checkpoint != nil || st.LastFullAt.IsZero() || st.Done != st.Total {
			t.Fatalf("%s backfill state = %+v", name(id), st)
		}
		w.checkExact(t, id)
	}

	now := time.Now()
	if _, err := w.ali.PutNote(w.ali.TicketIDs()[0], "new at the vendor", now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sb.PutNote(w.sb.Tickets()[0].ID, "new at the vendor", now); err != nil {
		t.Fatal(err)
	}
	if _, err := w.fs.PutMessage(w.fs.TicketIDs()[0], "new at the vendor", now); err != nil {
		t.Fatal(err)
	}
	// A Sendbird ticket opened since: its note makes the pass list tickets.
	fresh := w.sb.PutTicket("opened since the backfill", now.Add(-time.Minute))
	if _, err := w.sb.PutNote(fresh, "on a new ticket", now); err != nil {
		t.Fatal(err)
	}
	for _, id := range accountIDs {
		st, err := e.Pass(ctx, id, false)
		if err != nil {
			t.Fatalf("%s incremental: %v", name(id), err)
		}
		if st.Kind != PassIncremental || st.Err != nil || st.Checkpoint != nil {
			t.Fatalf("%s incremental state = %+v", name(id), st)
		}
		w.checkExact(t, id)
	}
	w.store.mu.Lock()
	ft := w.store.tickets[sbID][strconv.FormatInt(fresh, 10)]
	w.store.mu.Unlock()
	if ft == nil || ft.t.Title != "opened since the backfill" {
		t.Fatalf("new Sendbird ticket archived as %+v, want its title", ft)
	}
}

// An edit and a deletion made at the vendor show as a new version and as
// deleted, text kept: recent ones after an incremental pass, old ones on
// closed tickets after the full pass.
func TestEditAndDeletionAtVendor(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()

	// Sendbird: a recent note edited and another deleted show after an
	// incremental pass; an old note edited waits for the full pass.
	recentEdit, _ := w.sb.PutNote(w.sb.Tickets()[0].ID, "recent", now.Add(-time.Minute))
	recentGone, _ := w.sb.PutNote(w.sb.Tickets()[0].ID, "recent, soon gone", now.Add(-time.Minute))
	// Feishu: the ticket's newest message recalled shows after an
	// incremental pass (its window starts at the newest stored message).
	fsTicket := w.fs.TicketIDs()[1]
	fsNewest, _ := w.fs.PutMessage(fsTicket, "newest", now.Add(-time.Minute))
	// Alibaba: a note on an open ticket edited shows after an incremental
	// pass.
	aliOpen := w.ali.TicketIDs()[0]
	if err := w.ali.SetStatus(aliOpen, 2); err != nil {
		t.Fatal(err)
	}
	aliRecent, _ := w.ali.PutNote(aliOpen, "recent", now.Add(-time.Minute))
	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.sb.EditNote(recentEdit, "recent, edited"))
	must(w.sb.RemoveNote(recentGone))
	must(w.fs.RemoveMessage(fsNewest))
	must(w.ali.EditNote(aliRecent, "recent, edited"))
	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	checkEdited(t, w, sbID, strconv.FormatInt(recentEdit, 10), "recent, edited")
	checkDeleted(t, w, sbID, strconv.FormatInt(recentGone, 10), "recent, soon gone")
	checkDeleted(t, w, fsID, fsNewest, "newest")
	checkEdited(t, w, aliID, aliRecent, "recent, edited")

	// Old notes: Sendbird's oldest, Alibaba's on a completed ticket and
	// Feishu's oldest message of a ticket, edited and deleted at the
	// vendor. An incremental pass does not see them; the full pass does.
	sbNotes := w.sb.Notes()
	sbOldEdit, sbOldGone := strconv.FormatInt(sbNotes[0].ID, 10), strconv.FormatInt(sbNotes[1].ID, 10)
	sbOldGoneText := sbNotes[1].Text
	must(w.sb.EditNote(sbNotes[0].ID, "old, edited"))
	must(w.sb.RemoveNote(sbNotes[1].ID))
	aliClosed := w.ali.TicketIDs()[1]
	must(w.ali.SetStatus(aliClosed, 6))
	if _, err := e.Pass(ctx, aliID, false); err != nil { // the status change itself is read
		t.Fatal(err)
	}
	var aliOld []string
	for _, n := range w.ali.Notes() {
		if n.TicketID == aliClosed {
			aliOld = append(aliOld, n.DialogID)
		}
	}
	if len(aliOld) < 2 {
		t.Fatalf("ticket %s has %d notes, want 2 or more", aliClosed, len(aliOld))
	}
	aliGoneText := w.store.live(aliID)[aliOld[1]].Body
	must(w.ali.EditNote(aliOld[0], "old, edited"))
	must(w.ali.RemoveNote(aliOld[1]))
	var fsOld []string
	for _, m := range w.fs.Messages() { // newest first
		if m.TicketID == fsTicket {
			fsOld = append([]string{m.ID}, fsOld...)
		}
	}
	if len(fsOld) < 3 {
		t.Fatalf("feishu ticket %s has %d messages, want 3 or more", fsTicket, len(fsOld))
	}
	fsGoneText := w.store.live(fsID)[fsOld[1]].Body
	must(w.fs.EditMessage(fsOld[0], "old, edited"))
	must(w.fs.RemoveMessage(fsOld[1]))

	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		id   uint
		note string
	}{{sbID, sbOldEdit}, {aliID, aliOld[0]}, {fsID, fsOld[0]}} {
		if n, _ := w.store.note(c.id, c.note); len(n.versions) != 1 {
			t.Errorf("%s note %s: %d versions after an incremental pass, want 1 (old edits wait for the full pass)",
				name(c.id), c.note, len(n.versions))
		}
	}

	for _, id := range accountIDs {
		st, err := e.Pass(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if st.Kind != PassFull {
			t.Fatalf("%s: kind %q, want full", name(id), st.Kind)
		}
	}
	checkEdited(t, w, sbID, sbOldEdit, "old, edited")
	checkDeleted(t, w, sbID, sbOldGone, sbOldGoneText)
	checkEdited(t, w, aliID, aliOld[0], "old, edited")
	checkDeleted(t, w, aliID, aliOld[1], aliGoneText)
	checkEdited(t, w, fsID, fsOld[0], "old, edited")
	checkDeleted(t, w, fsID, fsOld[1], fsGoneText)
	for _, id := range accountIDs {
		w.checkExact(t, id, strconv.FormatInt(recentEdit, 10), aliRecent, sbOldEdit, aliOld[0], fsOld[0])
	}
}

func checkEdited(t *testing.T, w *world, id uint, note, text string) {
	t.Helper()
	n, ok := w.store.note(id, note)
	if !ok || len(n.versions) != 2 || n.deleted {
		t.Fatalf("%s note %s: found %v, %d versions, deleted %v; want 2 versions", name(id), note, ok, len(n.versions), n.deleted)
	}
	if got := n.current().Body; got != text {
		t.Errorf("%s note %s: current text %q, want %q", name(id), note, got, text)
	}
}

func checkDeleted(t *testing.T, w *world, id uint, note, text string) {
	t.Helper()
	n, ok := w.store.note(id, note)
	if !ok || !n.deleted || n.deletedAt.IsZero() {
		t.Fatalf("%s note %s: found %v, deleted %v; want deleted", name(id), note, ok, n.deleted)
	}
	if got := n.current().Body; got != text {
		t.Errorf("%s deleted note %s: text %q, want %q kept", name(id), note, got, text)
	}
}

// A pass cancelled in the middle keeps what it stored and its checkpoint;
// the next pass resumes it and the archive is exactly the vendor's, each
// note stored once.
func TestCancelledPassResumes(t *testing.T) {
	t.Parallel()
	for _, id := range accountIDs {
		t.Run(name(id), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{client: fast})
			ctx, cancel := context.WithCancel(ctxT(t, time.Minute))
			e := w.engine(t, Options{Window: 7 * day, Workers: 2, OnProgress: func(_ uint, st State) {
				if st.Done >= 3 && st.Running() {
					cancel()
				}
			}})
			st, err := e.Pass(ctx, id, false)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("pass: %v, want cancelled", err)
			}
			saved := w.store.state(id)
			if saved.Checkpoint == nil || saved.Err == nil || saved.Err.Kind != "interrupted" || saved.Err.Where == "" || saved.Done < 3 {
				t.Fatalf("state after cancel = %+v (err %+v)", saved, saved.Err)
			}
			stored := len(w.store.live(id))
			if stored == 0 || stored >= len(w.vendorNotes(id)) {
				t.Fatalf("after cancel the archive holds %d of %d notes, want some", stored, len(w.vendorNotes(id)))
			}

			w.meter(id).Reset()
			e2 := w.engine(t, Options{Window: 7 * day, Workers: 2})
			st, err = e2.Pass(ctxT(t, time.Minute), id, false)
			if err != nil {
				t.Fatal(err)
			}
			// The resumed pass reads only what was left: the ticket list
			// and the units not stored (one call each here; two spare for
			// a token fetch and a window's second page).
			if calls, left := w.meter(id).Stats().Requests, saved.Total-saved.Done; calls > 1+left+2 {
				t.Errorf("resumed pass made %d vendor calls for %d units left", calls, left)
			}
			if st.Kind != PassBackfill || !st.StartedAt.Equal(saved.StartedAt) || st.Checkpoint != nil {
				t.Fatalf("resumed state = %+v, want the backfill started at %v finished", st, saved.StartedAt)
			}
			w.checkExact(t, id)
		})
	}
}

// A process that dies mid-pass (the store answers nothing more, the lease
// is not released) leaves its last checkpoint; a new process waits for the
// lease to lapse, then resumes, and the archive is exactly the vendor's.
func TestCrashedPassResumes(t *testing.T) {
	t.Parallel()
	for _, id := range accountIDs {
		t.Run(name(id), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{client: fast})
			w.store.crashAfter = 4
			// Long enough that the resumed pass renews its lease in time on
			// a busy machine (300 ms lost it under the whole suite).
			ttl := 2 * time.Second
			e := w.engine(t, Options{Window: 7 * day, Workers: 3, LeaseTTL: ttl, Owner: "first"})
			if _, err := e.Pass(ctxT(t, time.Minute), id, false); !errors.Is(err, errCrashed) {
				t.Fatalf("pass: %v, want the crash", err)
			}
			w.store.mu.Lock()
			w.store.crashed = false // the database outlives the process
			w.store.mu.Unlock()
			if st := w.store.state(id); !st.Running() || st.Checkpoint == nil {
				t.Fatalf("state after the crash = %+v, want a running pass with a checkpoint", st)
			}

			e2 := w.engine(t, Options{Window: 7 * day, LeaseTTL: ttl, Owner: "second"})
			if _, err := e2.Pass(ctxT(t, time.Minute), id, false); !errors.Is(err, ErrLeaseHeld) {
				t.Fatalf("pass before the lease lapsed: %v, want ErrLeaseHeld", err)
			}
			time.Sleep(ttl + 50*time.Millisecond)
			saved := w.store.state(id)
			w.meter(id).Reset()
			st, err := e2.Pass(ctxT(t, time.Minute), id, false)
			if err != nil {
				t.Fatal(err)
			}
			if calls, left := w.meter(id).Stats().Requests, saved.Total-saved.Done; calls > 1+left+2 {
				t.Errorf("resumed pass made %d vendor calls for %d units left", calls, left)
			}
			if st.Kind != PassBackfill || st.Running() {
				t.Fatalf("resumed state = %+v", st)
			}
			w.checkExact(t, id)
		})
	}
}

// The lease is renewed while a pass runs longer than its lifetime, so no
// other owner can start a pass of the same account meanwhile.
func TestLeaseHeldWhilePassRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	w.ali.Faults.SetLatency(40 * time.Millisecond)
	ttl := 150 * time.Millisecond
	e := w.engine(t, Options{LeaseTTL: ttl, Owner: "server", Workers: 1})
	done := make(chan error, 1)
	go func() {
		_, err := e.Pass(ctxT(t, time.Minute), aliID, false)
		done <- err
	}()
	other := w.engine(t, Options{LeaseTTL: ttl, Owner: "cli"})
	deadline := time.After(3 * ttl)
	tries := 0
	for waiting := true; waiting; {
		select {
		case <-deadline:
			waiting = false
		case err := <-done:
			t.Fatalf("pass ended after %d tries (%v); the test needs it to outlast 3 lease lifetimes", tries, err)
		case <-time.After(20 * time.Millisecond):
			if _, err := other.Pass(ctxT(t, time.Minute), aliID, false); !errors.Is(err, ErrLeaseHeld) {
				t.Fatalf("second owner's pass: %v, want ErrLeaseHeld", err)
			}
			tries++
		}
	}
	if _, err := e.Pass(ctxT(t, time.Minute), aliID, false); !errors.Is(err, ErrPassRunning) {
		t.Fatalf("second pass in the same engine: %v, want ErrPassRunning", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.checkExact(t, aliID)
	// Released at the end: the other owner runs the next pass at once.
	if _, err := other.Pass(ctxT(t, time.Minute), aliID, false); err != nil {
		t.Fatalf("pass after the first released its lease: %v", err)
	}
}

// Sendbird notes older than a year are archived by the backfill and by a
// one-ticket refresh; every window sent stays within the vendor's year.
func TestSendbirdNotesOlderThanAYear(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	now := time.Now()
	old := w.sb.PutTicket("opened long ago", now.AddDate(-3, 0, 0))
	ancient, err := w.sb.PutNote(old, "two and a half years old", now.AddDate(-2, -6, 0))
	if err != nil {
		t.Fatal(err)
	}
	aged, _ := w.sb.PutNote(old, "thirteen months old", now.AddDate(-1, -1, 0))
	e := w.engine(t, Options{Window: 365 * day})
	if _, err := e.Pass(ctxT(t, time.Minute), sbID, false); err != nil {
		t.Fatal(err)
	}
	w.checkExact(t, sbID)
	for _, id := range []int64{ancient, aged} {
		if _, ok := w.store.live(sbID)[strconv.FormatInt(id, 10)]; !ok {
			t.Errorf("note %d is not archived", id)
		}
	}

	if err := w.sb.EditNote(ancient, "edited long after"); err != nil {
		t.Fatal(err)
	}
	if err := e.PassTicket(ctxT(t, time.Minute), sbID, strconv.FormatInt(old, 10)); err != nil {
		t.Fatal(err)
	}
	checkEdited(t, w, sbID, strconv.FormatInt(ancient, 10), "edited long after")
	for _, r := range w.sb.Log() {
		if r.Path != "/ticket_notes" {
			continue
		}
		q := parseQuery(t, r.Query)
		from, _ := time.Parse(time.DateOnly, q.Get("start_date"))
		to, _ := time.Parse(time.DateOnly, q.Get("end_date"))
		if to.Sub(from) > 364*day {
			t.Fatalf("window %s…%s spans more than 365 days", q.Get("start_date"), q.Get("end_date"))
		}
	}
}

// Run schedules nothing with a zero Interval; SyncNow and RefreshTicket
// request a pass and a one-ticket refresh.
func TestRunOnDemand(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	progress := make(chan State, 100)
	e := w.engine(t, Options{OnProgress: func(id uint, st State) {
		if id == fsID && !st.Running() {
			select {
			case progress <- st:
			default:
			}
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if n := w.fs.Meter.Stats().Requests; n != 0 {
		t.Fatalf("%d vendor requests without a schedule or a request", n)
	}
	if err := e.SyncNow(fsID, false); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-progress:
		if st.Kind != PassBackfill || st.Err != nil {
			t.Fatalf("state = %+v", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no pass after SyncNow")
	}
	w.checkExact(t, fsID)

	ticket := w.fs.TicketIDs()[0]
	id, _ := w.fs.PutMessage(ticket, "arrived while the conversation is open", time.Now())
	if err := e.RefreshTicket(fsID, ticket); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, ok := w.store.live(fsID)[id]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refreshed ticket's new message is not archived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.SyncNow(99, false); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("SyncNow(unknown) = %v, want ErrUnknownAccount", err)
	}
}

// The engine takes only what can be synced.
func TestAddRefusesNonSource(t *testing.T) {
	t.Parallel()
	e := New(newFakeStore(), Options{})
	var p providers.Provider
	if err := e.Add(1, p); err == nil {
		t.Fatal("Add(nil provider) succeeded")
	}
}

// With an Interval, Run starts each account with a backfill and follows
// with incremental passes on its own.
func TestRunSchedules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{Interval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ready := 0
		for _, id := range accountIDs {
			st := w.store.state(id)
			if st.Kind == PassIncremental && !st.LastOKAt.IsZero() && !st.LastFullAt.IsZero() && st.LastOKAt.After(st.LastFullAt) {
				ready++
			}
		}
		if ready == len(accountIDs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incremental pass followed the backfills")
		}
	}
	for _, id := range accountIDs {
		w.checkExact(t, id)
	}
}

// An archive that refuses a write stops the pass: the state says it was
// the archive, where, and that the vendor was not to blame.
func TestArchiveFailureStopsPass(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	w.store.failNotes[fsID] = errors.New("disk full")
	e := w.engine(t, Options{})
	st, err := e.Pass(ctxT(t, time.Minute), fsID, false)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("pass: %v, want the archive's error", err)
	}
	if st.Err == nil || st.Err.Kind != "archive error" || st.Err.Code != "" {
		t.Fatalf("state err = %+v", st.Err)
	}
	// Where names the ticket, or the first and last of the batch, that the
	// archive refused: "ticket ID" or "tickets ID…ID".
	var named []string
	if rest, ok := strings.CutPrefix(st.Err.Where, "tickets "); ok {
		named = strings.Split(rest, "…")
	} else if rest, ok := strings.CutPrefix(st.Err.Where, "ticket "); ok {
		named = []string{rest}
	}
	known := map[string]bool{}
	for _, id := range w.fs.TicketIDs() {
		known[id] = true
	}
	if len(named) == 0 {
		t.Fatalf("where = %q, want the refused ticket(s)", st.Err.Where)
	}
	for _, id := range named {
		if !known[id] {
			t.Fatalf("where = %q names %q, not a ticket of the account", st.Err.Where, id)
		}
	}
}

// A ticket deleted at the vendor has its notes marked deleted (text kept)
// by the next full pass.
func TestTicketDeletedAtVendor(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	gone := map[uint]string{aliID: w.ali.TicketIDs()[3], sbID: strconv.FormatInt(w.sb.Tickets()[3].ID, 10), fsID: w.fs.TicketIDs()[3]}
	had := map[uint][]string{}
	for id, ticket := range gone {
		for nid, n := range w.store.live(id) {
			if n.TicketID == ticket {
				had[id] = append(had[id], nid)
			}
		}
		if len(had[id]) == 0 {
			t.Fatalf("%s ticket %s has no archived notes", name(id), ticket)
		}
	}
	sbTicket, _ := strconv.ParseInt(gone[sbID], 10, 64)
	if err := errors.Join(w.ali.RemoveTicket(gone[aliID]), w.sb.RemoveTicket(sbTicket), w.fs.RemoveTicket(gone[fsID])); err != nil {
		t.Fatal(err)
	}
	for _, id := range accountIDs {
		st, err := e.Pass(ctx, id, true)
		if err != nil || st.Kind != PassFull {
			t.Fatalf("%s full pass: %v, %+v", name(id), err, st)
		}
		for _, nid := range had[id] {
			if n, _ := w.store.note(id, nid); !n.deleted || n.current().Body == "" {
				t.Errorf("%s note %s of the deleted ticket: deleted %v, text %q", name(id), nid, n.deleted, n.current().Body)
			}
		}
		w.checkExact(t, id)
	}
}

// missing hides one ticket from the listing, as a page shifted while read
// would.
type missing struct {
	Source
	id string
}

func (m missing) SyncTickets(ctx context.Context) ([]providers.Ticket, error) {
	ts, err := m.Source.SyncTickets(ctx)
	return slices.DeleteFunc(ts, func(t providers.Ticket) bool { return t.ID == m.id }), err
}

type missingWindows struct {
	missing
	w WindowSource
}

func (m missingWindows) SyncWindow(ctx context.Context, from, to time.Time) ([]providers.Note, error) {
	return m.w.SyncWindow(ctx, from, to)
}
func (m missingWindows) MaxWindow() time.Duration { return m.w.MaxWindow() }

// A ticket the listing missed but the vendor still has keeps its notes
// through a full pass: only a ticket the vendor says is gone loses them.
func TestTicketMissingFromListingKeepsNotes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	for _, id := range []uint{aliID, sbID} {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
	}
	hide := map[uint]string{aliID: w.ali.TicketIDs()[2], sbID: strconv.FormatInt(w.sb.Tickets()[2].ID, 10)}
	if err := e.Add(aliID, missing{w.srcs[aliID], hide[aliID]}); err != nil {
		t.Fatal(err)
	}
	sb := w.srcs[sbID].(WindowSource)
	if err := e.Add(sbID, missingWindows{missing{sb, hide[sbID]}, sb}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint{aliID, sbID} {
		if _, err := e.Pass(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		w.checkExact(t, id)
	}
}

// Replacing an account's source while its pass runs does not let a second
// pass of the account start in the same engine.
func TestAddWhilePassRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	w.ali.Faults.SetLatency(30 * time.Millisecond)
	started := make(chan struct{})
	var once sync.Once
	e := w.engine(t, Options{Workers: 1, OnProgress: func(uint, State) { once.Do(func() { close(started) }) }})
	done := make(chan error, 1)
	go func() {
		_, err := e.Pass(ctxT(t, time.Minute), aliID, false)
		done <- err
	}()
	<-started
	if err := e.Add(aliID, w.srcs[aliID]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pass(ctxT(t, time.Minute), aliID, false); !errors.Is(err, ErrPassRunning) {
		t.Fatalf("second pass after Add: %v, want ErrPassRunning", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.checkExact(t, aliID)
}

// A refresh asked for while a long pass runs is done between two of the
// pass's units, not after the pass; refreshes do not postpone the schedule.
func TestRefreshDuringPass(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	w.fs.Faults.SetLatency(40 * time.Millisecond)
	ids := w.fs.TicketIDs()
	slices.SortFunc(ids, compareIDs)
	ticket := ids[len(ids)-1] // the last in plan order
	msg, _ := w.fs.PutMessage(ticket, "the customer just wrote", time.Now())
	var refreshedAt, doneAt time.Time
	left := -1 // units of the backfill left when the refresh was stored
	var mu sync.Mutex
	e := w.engine(t, Options{Interval: 300 * time.Millisecond, Workers: 1, OnProgress: func(id uint, st State) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := w.store.live(fsID)[msg]; ok && refreshedAt.IsZero() {
			refreshedAt, left = time.Now(), st.Total-st.Done
		}
		if st.Kind == PassBackfill && !st.Running() && doneAt.IsZero() {
			doneAt = time.Now()
		}
	}})
	e.Remove(aliID)
	e.Remove(sbID)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
	}()
	time.Sleep(200 * time.Millisecond) // the backfill is under way
	if err := e.RefreshTicket(fsID, ticket); err != nil {
		t.Fatal(err)
	}
	// Keep opening conversations: the schedule must still come round.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				_ = e.RefreshTicket(fsID, w.fs.TicketIDs()[0])
			}
		}
	}()
	defer close(stop)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st := w.store.state(fsID); st.Kind == PassIncremental && !st.Running() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled incremental pass while conversations were opened")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// The ticket is the last of the plan: only a refresh between units
	// stores its message while many units are left.
	if refreshedAt.IsZero() || doneAt.IsZero() || !refreshedAt.Before(doneAt) || left < 10 {
		t.Fatalf("refreshed at %v with %d units left, backfill done at %v: want the refresh early in the backfill",
			refreshedAt, left, doneAt)
	}
}

// While the store is slower than the vendor, a backfill stores the reads
// that queued meanwhile in one transaction instead of three per ticket,
// and the archive is still exact.
func TestSlowStoreGetsBatches(t *testing.T) {
	t.Parallel()
	for _, id := range []uint{aliID, fsID} {
		t.Run(name(id), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, worldOpts{client: fast})
			w.store.writeDelay = 20 * time.Millisecond
			e := w.engine(t, Options{Workers: 8})
			st, err := e.Pass(ctxT(t, time.Minute), id, false)
			if err != nil {
				t.Fatal(err)
			}
			w.checkExact(t, id)
			w.store.mu.Lock()
			writes, batches, batched := w.store.writes, w.store.batches, w.store.batched
			w.store.mu.Unlock()
			tickets := st.Total
			t.Logf("%d tickets: %d writes, %d batches of %d tickets", tickets, writes, batches, batched)
			if tickets < 20 || batched != tickets {
				t.Fatalf("%d tickets read, %d stored in batches; want all of at least 20", tickets, batched)
			}
			// One at a time would be a batch per ticket, plus the
			// ticket-list writes; half of that shows the queue is stored
			// together.
			if batches > tickets/2 || writes > tickets {
				t.Fatalf("%d tickets took %d batches and %d writes, want at most %d and %d", tickets, batches, writes, tickets/2, tickets)
			}
		})
	}
}
