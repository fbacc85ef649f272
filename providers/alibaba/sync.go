package alibaba

import (
	"context"
	"math"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Sync-oriented reads (syncer.Source): no ticket cap and no lookback guess.

// SyncTickets lists every ticket, paging to the end (page 1 gives
// TotalCount, the rest are read concurrently within the rate limit).
// ListTickets carries no update or creation time, so those stay zero;
// Closed follows the status. It returns a *providers.Error when Alibaba
// refuses or fails.
func (c *Client) SyncTickets(ctx context.Context) ([]providers.Ticket, error) {
	tickets, _, err := c.listTickets(ctx, "sync tickets", ticketFilter{}, math.MaxInt)
	return tickets, err
}

// SyncTicketNotes returns every message of one ticket, oldest first as
// Alibaba sends them. ListTicketNotes has no date filter, so since is not
// sent and from is always zero: the answer is the whole ticket. It returns
// a *providers.Error (ErrNotFound for an unknown ticket) when Alibaba
// refuses or fails.
func (c *Client) SyncTicketNotes(ctx context.Context, ticketID string, since time.Time) ([]providers.Note, time.Time, error) {
	notes, err := c.ticketNotes(ctx, "sync ticket notes", ticketID)
	return notes, time.Time{}, err
}
