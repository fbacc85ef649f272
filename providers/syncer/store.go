// Package syncer keeps a local archive of every account's tickets and notes
// current: a first backfill, then incremental passes on a schedule and on
// demand, resumable from a checkpoint. It drives the vendor clients and
// reaches the database only through Store, which package models implements,
// so providers never import models.
package syncer

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Store is what the engine needs from the archive. Every method returns the
// database's error, wrapped, when it fails; none returns a vendor error.
type Store interface {
	// SyncState returns the account's state; the zero State when no pass
	// has run.
	SyncState(ctx context.Context, account uint) (State, error)
	// SaveSyncState replaces the account's state.
	SaveSyncState(ctx context.Context, account uint, st State) error
	// AcquireSyncLease takes, or renews when owner already holds it, the
	// account's lease for ttl, and reports whether owner holds it now. It is
	// the one place that decides who runs an account's pass, also across
	// processes sharing the database.
	AcquireSyncLease(ctx context.Context, account uint, owner string, ttl time.Duration) (bool, error)
	// ReleaseSyncLease gives up owner's lease; releasing a lease owner does
	// not hold is not an error.
	ReleaseSyncLease(ctx context.Context, account uint, owner string) error
	// RequestSync records that a pass of the account was asked for (a full
	// one when full is set), merged into the one already pending if any,
	// so that whichever process runs the account's next pass runs it, once.
	RequestSync(ctx context.Context, account uint, full bool) error
	// SyncRequest returns the account's pending request; the zero Request
	// when none is pending.
	SyncRequest(ctx context.Context, account uint) (Request, error)
	// ClearSyncRequest removes req if it is still the account's pending
	// request; one made since (a higher Seq) stays pending.
	ClearSyncRequest(ctx context.Context, account uint, req Request) error
	// StoreTickets upserts tickets as the vendor listed them.
	StoreTickets(ctx context.Context, account uint, tickets []providers.Ticket, seenAt time.Time) error
	// TicketMarks returns what the archive remembers of each of the
	// account's tickets, keyed by ticket id.
	TicketMarks(ctx context.Context, account uint) (map[string]TicketMark, error)
	// StoreNotes applies one batch in one transaction: a new note is added,
	// a changed one gets a new version (the newest is current), an unchanged
	// one only has its last-seen time moved. With scope.Complete, archived
	// notes in the scope that the batch lacks are marked deleted (their text
	// kept), and a complete whole-ticket batch records the ticket as read.
	StoreNotes(ctx context.Context, account uint, scope Scope, notes []providers.Note, seenAt time.Time) (Applied, error)
	// StoreTicketNotes applies, in one transaction, each item's notes as
	// StoreNotes does and then its ticket as StoreTickets does, in order,
	// and then saves st as SaveSyncState does: a pass stores many tickets'
	// reads and the checkpoint after them in one commit, so after a crash
	// either all of them and the checkpoint are kept, or none.
	StoreTicketNotes(ctx context.Context, account uint, batch []TicketNotes, st State, seenAt time.Time) error
}

// TicketNotes is one ticket's read: the notes the vendor holds in Scope,
// and the ticket as listed, stored after its notes (an empty Ticket.ID
// stores no ticket).
type TicketNotes struct {
	Ticket providers.Ticket
	Scope  Scope
	Notes  []providers.Note
}

// TicketMark is what the archive remembers of a ticket, so a pass can tell
// whether its notes may have changed since they were last read.
type TicketMark struct {
	ID        string
	UpdatedAt time.Time // the vendor's update time as last stored; zero when it has none
	Closed    bool
	// NotesReadAt is when all its notes were last read; zero means never.
	NotesReadAt time.Time
	// NewestNote is the creation time of its newest archived note.
	NewestNote time.Time
}

// Scope is the part of an account's archive one batch of notes covers: one
// ticket's notes (TicketID set), or every note created in [From, To)
// across tickets (TicketID empty). With TicketID and a non-zero From, only that
// ticket's notes created at or after From. Complete says the batch is
// everything the vendor holds in the scope.
type Scope struct {
	TicketID string
	From, To time.Time // half-open; zero is open
	Complete bool
}

// Contains reports whether note n falls in the scope.
func (s Scope) Contains(n providers.Note) bool {
	if s.TicketID != "" && n.TicketID != s.TicketID {
		return false
	}
	return (s.From.IsZero() || !n.CreatedAt.Before(s.From)) && (s.To.IsZero() || n.CreatedAt.Before(s.To))
}

// Applied counts what one StoreNotes call changed.
type Applied struct {
	Added, Updated, Deleted, Unchanged int
}

// Pass kinds.
const (
	PassBackfill    = "backfill"    // the first pass of an account
	PassIncremental = "incremental" // what may have changed since the last pass
	PassFull        = "full"        // every ticket again: catches edits and deletions on old ones
	PassTicket      = "ticket"      // one ticket, when its conversation is opened
)

// State is an account's sync state.
type State struct {
	// Checkpoint is the running pass's resume point, in the engine's own
	// format; nil when no pass is under way.
	Checkpoint json.RawMessage
	Kind       string // kind of the running or last pass
	StartedAt  time.Time
	FinishedAt time.Time // zero while a pass runs
	LastOKAt   time.Time // end of the last pass that succeeded
	LastFullAt time.Time // end of the last backfill or full pass that succeeded
	// Done of Total units (Unit: "tickets" or "windows") of the running or
	// last pass.
	Done, Total int
	Unit        string
	// Err is the last pass's failure, nil when it succeeded.
	Err *PassError
}

// Running reports whether a pass has started and not finished.
func (s State) Running() bool { return !s.StartedAt.IsZero() && s.FinishedAt.IsZero() }

// PassError is why a pass stopped: the vendor's answer where there was one,
// and where in the pass it stopped.
type PassError struct {
	Kind      string // the providers sentinel's text, e.g. "rate limited"
	Code      string
	RequestID string
	Status    int
	Detail    string // the vendor's short, safe detail (providers.Error.Detail)
	// VendorMessage is the vendor's own message when it answered with a
	// code; Message is the whole error, for logs only.
	VendorMessage string
	Message       string
	Where         string // e.g. "ticket 1033", "window 2025-01-01…2025-12-31"
	At            time.Time
}

// Request is an account's pending "sync now": kept in the store, not in one
// engine, so a request made on one instance is run by whichever instance
// runs the account's next pass, and exactly once.
type Request struct {
	// Seq grows with every request merged into the pending one, so that
	// clearing what a pass took leaves a request made meanwhile pending.
	Seq int64
	// Full is set when any of the merged requests asked for a full pass.
	Full bool
	// At is when the first of the merged requests was made.
	At time.Time
}

// Pending reports whether r is a request (not the zero Request).
func (r Request) Pending() bool { return r.Seq > 0 }
