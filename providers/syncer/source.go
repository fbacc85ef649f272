package syncer

import (
	"context"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Source is what the engine reads from a vendor account, without the read
// path's caps: every ticket, every note of a ticket whatever its age. The
// vendor clients implement it. Every method returns the vendor's failure as
// a *providers.Error.
type Source interface {
	// SyncTickets lists every ticket of the account, paging to the end,
	// with UpdatedAt and Closed where the vendor has them.
	SyncTickets(ctx context.Context) ([]providers.Ticket, error)
	// SyncTicketNotes returns the notes of one ticket created at or after
	// since (zero: all of them), and from, the instant from which the answer
	// is complete: since rounded down to the vendor's filter unit, or zero
	// when the vendor has no filter and answered the whole ticket. An
	// unknown ticket is an error of kind providers.ErrNotFound.
	SyncTicketNotes(ctx context.Context, ticketID string, since time.Time) (notes []providers.Note, from time.Time, err error)
}

// WindowSource is a Source that also lists notes by creation time across
// tickets (Sendbird). The engine then reads windows instead of tickets.
type WindowSource interface {
	Source
	// SyncWindow returns every note created in [from, to) across tickets.
	// from and to must be UTC midnights at most MaxWindow apart; otherwise
	// it returns an error of kind providers.ErrInvalid without calling the
	// vendor.
	SyncWindow(ctx context.Context, from, to time.Time) ([]providers.Note, error)
	// MaxWindow is the longest span one SyncWindow accepts.
	MaxWindow() time.Duration
}
