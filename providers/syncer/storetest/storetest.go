// Package storetest checks a syncer.Store against the semantics its doc
// comments state, so the engine's in-memory fake and the database archive
// in package models are held to the same contract:
//
//	func TestStoreContract(t *testing.T) {
//		storetest.Contract(t, func(t *testing.T) syncer.Store { return openTestDB(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// Contract runs the contract's cases as subtests; open returns an empty
// store for each (account 1 and 2 exist where the store needs them to).
func Contract(t *testing.T, open func(t *testing.T) syncer.Store) {
	t.Run("sync state round trip", func(t *testing.T) { syncState(t, open(t)) })
	t.Run("lease", func(t *testing.T) { leases(t, open(t)) })
	t.Run("sync requests", func(t *testing.T) { requests(t, open(t)) })
	t.Run("ticket marks", func(t *testing.T) { marks(t, open(t)) })
	t.Run("notes add version delete", func(t *testing.T) { notes(t, open(t)) })
	t.Run("scopes bound deletion", func(t *testing.T) { scopes(t, open(t)) })
	t.Run("ticket notes batch", func(t *testing.T) { batch(t, open(t)) })
}

// base is a fixed instant in the past, whole milliseconds, so any time
// precision a database keeps holds it exactly.
var base = time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

func near(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

func syncState(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	st, err := s.SyncState(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running() || st.Checkpoint != nil || !st.LastOKAt.IsZero() || st.Err != nil {
		t.Fatalf("state of a new account = %+v, want the zero State", st)
	}
	want := syncer.State{
		Checkpoint: []byte(`{"kind":"backfill","next":3}`),
		Kind:       syncer.PassBackfill,
		StartedAt:  base,
		LastOKAt:   base.Add(-time.Hour),
		LastFullAt: base.Add(-2 * time.Hour),
		Done:       3, Total: 9, Unit: "windows",
		Err: &syncer.PassError{Kind: "rate limited", Code: "Throttling", RequestID: "req-1", Status: 429,
			Message: "slow down", Where: "window 2025-01-01…2025-01-30", At: base.Add(time.Minute)},
	}
	if err := s.SaveSyncState(ctx, 1, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncState(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact(got.Checkpoint), compact(want.Checkpoint)) || got.Kind != want.Kind ||
		!near(got.StartedAt, want.StartedAt) || !got.FinishedAt.IsZero() || !near(got.LastOKAt, want.LastOKAt) ||
		!near(got.LastFullAt, want.LastFullAt) || got.Done != 3 || got.Total != 9 || got.Unit != "windows" || !got.Running() {
		t.Fatalf("state read back = %+v, want %+v", got, want)
	}
	if e := got.Err; e == nil || e.Kind != "rate limited" || e.Code != "Throttling" || e.RequestID != "req-1" ||
		e.Status != 429 || e.Where != want.Err.Where || !near(e.At, want.Err.At) {
		t.Fatalf("error read back = %+v, want %+v", got.Err, want.Err)
	}
	// Replaced whole: a nil checkpoint and error stay nil.
	want.Checkpoint, want.Err, want.FinishedAt = nil, nil, base.Add(time.Hour)
	if err := s.SaveSyncState(ctx, 1, want); err != nil {
		t.Fatal(err)
	}
	if got, err = s.SyncState(ctx, 1); err != nil || got.Checkpoint != nil || got.Err != nil || got.Running() {
		t.Fatalf("state after a finished pass = %+v, %v", got, err)
	}
	if other, err := s.SyncState(ctx, 2); err != nil || other.Kind != "" {
		t.Fatalf("another account's state = %+v, %v; want the zero State", other, err)
	}
}

func compact(b []byte) []byte { return bytes.Join(bytes.Fields(b), nil) }

func leases(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	acquire := func(owner string, ttl time.Duration, want bool) {
		t.Helper()
		ok, err := s.AcquireSyncLease(ctx, 1, owner, ttl)
		if err != nil || ok != want {
			t.Fatalf("AcquireSyncLease(%s) = %v, %v; want %v", owner, ok, err, want)
		}
	}
	acquire("a", time.Minute, true)
	acquire("b", time.Minute, false)
	acquire("a", time.Minute, true) // renewal
	if ok, err := s.AcquireSyncLease(ctx, 2, "b", time.Minute); err != nil || !ok {
		t.Fatalf("another account's lease = %v, %v; want it free", ok, err)
	}
	if err := s.ReleaseSyncLease(ctx, 1, "b"); err != nil {
		t.Fatalf("releasing a lease not held: %v", err)
	}
	acquire("b", time.Minute, false)
	if err := s.ReleaseSyncLease(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	acquire("b", 200*time.Millisecond, true)
	acquire("a", time.Minute, false)
	time.Sleep(400 * time.Millisecond)
	acquire("a", time.Minute, true) // b's lease lapsed
}

// requests: a request is pending until cleared; requests made before it
// is cleared merge into it (Full if any asked), and clearing what was read
// leaves a request made since pending.
func requests(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	pending := func(account uint) syncer.Request {
		t.Helper()
		r, err := s.SyncRequest(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := pending(1); r.Pending() {
		t.Fatalf("request before any = %+v", r)
	}
	before := time.Now()
	if err := s.RequestSync(ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	first := pending(1)
	if !first.Pending() || first.Full || first.At.Before(before.Add(-time.Second)) || first.At.After(time.Now().Add(time.Second)) {
		t.Fatalf("request = %+v, want pending, not full, made about now", first)
	}
	if r := pending(2); r.Pending() {
		t.Fatalf("account 2 has account 1's request: %+v", r)
	}
	if err := s.RequestSync(ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	merged := pending(1)
	if !merged.Full || merged.Seq <= first.Seq || !merged.At.Equal(first.At) {
		t.Fatalf("merged request = %+v, want full, a later Seq than %+v and its time", merged, first)
	}
	// Clearing the first one read leaves the merged one.
	if err := s.ClearSyncRequest(ctx, 1, first); err != nil {
		t.Fatal(err)
	}
	if r := pending(1); r != merged {
		t.Fatalf("after clearing a stale read: %+v, want %+v", r, merged)
	}
	if err := s.ClearSyncRequest(ctx, 1, merged); err != nil {
		t.Fatal(err)
	}
	if r := pending(1); r.Pending() {
		t.Fatalf("after clearing: %+v, want none", r)
	}
	// A new request after clearing is pending again, and not full.
	if err := s.RequestSync(ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	if r := pending(1); !r.Pending() || r.Full {
		t.Fatalf("request after clearing = %+v", r)
	}
}

func marks(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	tickets := []providers.Ticket{
		{ID: "10", Title: "open", Status: "ACTIVE", CreatedAt: base, UpdatedAt: base.Add(time.Hour)},
		{ID: "11", Title: "closed", Status: "CLOSED", CreatedAt: base, Closed: true},
	}
	if err := s.StoreTickets(ctx, 1, tickets, base); err != nil {
		t.Fatal(err)
	}
	m, err := s.TicketMarks(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !near(m["10"].UpdatedAt, base.Add(time.Hour)) || m["10"].Closed || !m["11"].Closed ||
		!m["11"].UpdatedAt.IsZero() || !m["10"].NotesReadAt.IsZero() || !m["10"].NewestNote.IsZero() {
		t.Fatalf("marks = %+v", m)
	}
	// An upsert moves the update time and the closed state.
	tickets[0].UpdatedAt, tickets[0].Closed = base.Add(2*time.Hour), true
	if err := s.StoreTickets(ctx, 1, tickets[:1], base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m, err = s.TicketMarks(ctx, 1); err != nil || !near(m["10"].UpdatedAt, base.Add(2*time.Hour)) || !m["10"].Closed || len(m) != 2 {
		t.Fatalf("marks after an upsert = %+v, %v", m, err)
	}
	if other, err := s.TicketMarks(ctx, 2); err != nil || len(other) != 0 {
		t.Fatalf("another account's marks = %+v, %v; want none", other, err)
	}
}

// note is a note of ticket 20 of account 1 created minutes after base.
func note(id string, minutes int, body string) providers.Note {
	at := base.Add(time.Duration(minutes) * time.Minute)
	return providers.Note{Provider: providers.KindSendbird, AccountID: 1, TicketID: "20", ID: id,
		AuthorName: "Maya", AuthorRole: providers.RoleAgent, Body: body, Content: body, ContentType: "text",
		CreatedAt: at, UpdatedAt: at, Raw: []byte(`{"id":` + id + `}`)}
}

func store(t *testing.T, s syncer.Store, scope syncer.Scope, notes []providers.Note, want syncer.Applied) {
	t.Helper()
	got, err := s.StoreNotes(context.Background(), 1, scope, notes, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("StoreNotes(%+v, %d notes) = %+v, want %+v", scope, len(notes), got, want)
	}
}

func notes(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	whole := syncer.Scope{TicketID: "20", Complete: true}
	a, b, c := note("1", 1, "first"), note("2", 2, "second"), note("3", 3, "third")
	store(t, s, syncer.Scope{TicketID: "20"}, []providers.Note{a, b}, syncer.Applied{Added: 2})
	m, err := s.TicketMarks(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !m["20"].NotesReadAt.IsZero() || !near(m["20"].NewestNote, b.CreatedAt) {
		t.Fatalf("after an incomplete batch: mark %+v, want not read, newest note at %v", m["20"], b.CreatedAt)
	}
	store(t, s, whole, []providers.Note{a, b, c}, syncer.Applied{Added: 1, Unchanged: 2})
	if m, err = s.TicketMarks(ctx, 1); err != nil || m["20"].NotesReadAt.IsZero() || !near(m["20"].NewestNote, c.CreatedAt) {
		t.Fatalf("after a complete whole-ticket batch: mark %+v, %v; want read, newest at %v", m["20"], err, c.CreatedAt)
	}
	edited := b
	edited.Body, edited.Content, edited.UpdatedAt = "second, edited", "second, edited", base.Add(time.Hour)
	store(t, s, whole, []providers.Note{a, edited, c}, syncer.Applied{Updated: 1, Unchanged: 2})
	store(t, s, whole, []providers.Note{a, edited, c}, syncer.Applied{Unchanged: 3})
	// c gone at the vendor: deleted once, not again.
	store(t, s, whole, []providers.Note{a, edited}, syncer.Applied{Deleted: 1, Unchanged: 2})
	store(t, s, whole, []providers.Note{a, edited}, syncer.Applied{Unchanged: 2})
	// An incomplete batch deletes nothing.
	store(t, s, syncer.Scope{TicketID: "20"}, []providers.Note{a}, syncer.Applied{Unchanged: 1})
	// A deleted note keeps its place in the marks (its text is kept).
	if m, err = s.TicketMarks(ctx, 1); err != nil || m["20"].NewestNote.Before(edited.CreatedAt) {
		t.Fatalf("marks = %+v, %v", m["20"], err)
	}
}

func scopes(t *testing.T, s syncer.Store) {
	other := func(n providers.Note) providers.Note { n.TicketID = "21"; return n }
	a, b, c, d := note("1", 10, "a"), note("2", 20, "b"), other(note("3", 30, "c")), note("4", 40, "d")
	store(t, s, syncer.Scope{}, []providers.Note{a, b, c, d}, syncer.Applied{Added: 4})
	// A window [15, 35) across tickets lacking b and c deletes those two only.
	window := syncer.Scope{From: base.Add(15 * time.Minute), To: base.Add(35 * time.Minute), Complete: true}
	store(t, s, window, nil, syncer.Applied{Deleted: 2})
	// Ticket 20 from minute 40 on, lacking d: d only, not a.
	since := syncer.Scope{TicketID: "20", From: base.Add(40 * time.Minute), Complete: true}
	store(t, s, since, nil, syncer.Applied{Deleted: 1})
	// The whole ticket 20, holding a: nothing more is deleted.
	store(t, s, syncer.Scope{TicketID: "20", Complete: true}, []providers.Note{a}, syncer.Applied{Unchanged: 1})
}

// batch stores two tickets' reads and a checkpoint in one call: each
// item's notes land as StoreNotes would land them (deletion bounded by its
// scope), its ticket as StoreTickets would, and the state as SaveSyncState.
func batch(t *testing.T, s syncer.Store) {
	ctx := context.Background()
	other := func(n providers.Note) providers.Note { n.TicketID = "21"; return n }
	a, b, c := note("1", 1, "a"), note("2", 2, "b"), other(note("3", 3, "c"))
	store(t, s, syncer.Scope{}, []providers.Note{a, b, c}, syncer.Applied{Added: 3})
	d := other(note("4", 4, "d"))
	items := []syncer.TicketNotes{
		// Ticket 20 lacks b: b is deleted, a stays.
		{Ticket: providers.Ticket{ID: "20", Title: "twenty", Status: "ACTIVE", CreatedAt: base, UpdatedAt: base.Add(time.Hour)},
			Scope: syncer.Scope{TicketID: "20", Complete: true}, Notes: []providers.Note{a}},
		// Ticket 21 gains d and keeps c.
		{Ticket: providers.Ticket{ID: "21", Title: "twenty-one", Status: "CLOSED", CreatedAt: base, Closed: true},
			Scope: syncer.Scope{TicketID: "21", Complete: true}, Notes: []providers.Note{c, d}},
	}
	want := syncer.State{Checkpoint: []byte(`{"kind":"backfill","cursor":"21"}`), Kind: syncer.PassBackfill,
		StartedAt: base, Done: 2, Total: 5, Unit: "tickets"}
	if err := s.StoreTicketNotes(ctx, 1, items, want, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m, err := s.TicketMarks(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !near(m["20"].UpdatedAt, base.Add(time.Hour)) || m["20"].Closed || !m["21"].Closed ||
		m["20"].NotesReadAt.IsZero() || m["21"].NotesReadAt.IsZero() || !near(m["21"].NewestNote, d.CreatedAt) {
		t.Fatalf("marks after a batch = %+v", m)
	}
	got, err := s.SyncState(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact(got.Checkpoint), compact(want.Checkpoint)) || got.Done != 2 || got.Total != 5 ||
		got.Unit != "tickets" || !got.Running() {
		t.Fatalf("state after a batch = %+v, want %+v", got, want)
	}
	// What the batch left: a, c and d live, b deleted (a second read of
	// the whole ticket without b deletes nothing more).
	store(t, s, syncer.Scope{TicketID: "20", Complete: true}, []providers.Note{a}, syncer.Applied{Unchanged: 1})
	store(t, s, syncer.Scope{TicketID: "21", Complete: true}, []providers.Note{c, d}, syncer.Applied{Unchanged: 2})
	// An empty batch still saves the state (a pass past skipped tickets).
	want.Done = 3
	if err := s.StoreTicketNotes(ctx, 1, nil, want, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err = s.SyncState(ctx, 1); err != nil || got.Done != 3 {
		t.Fatalf("state after an empty batch = %+v, %v", got, err)
	}
}
