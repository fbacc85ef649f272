package feishu

import (
	"context"
	"math"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Sync-oriented reads (syncer.Source): no ticket or message caps.

// SyncTickets lists every ticket, paging to the end, with its update time
// and whether it is closed, and remembers each ticket's guest and agents
// for SyncTicketNotes. It returns a *providers.Error when the vendor
// refuses or fails a read.
func (c *Client) SyncTickets(ctx context.Context) ([]providers.Ticket, error) {
	ts, _, err := c.listTicketsUpTo(ctx, providers.TicketQuery{Limit: math.MaxInt}, "sync tickets", math.MaxInt)
	if err != nil {
		return nil, err
	}
	out := make([]providers.Ticket, len(ts))
	c.peopleMu.Lock()
	defer c.peopleMu.Unlock()
	if c.people == nil {
		c.people = map[string]people{}
	}
	for i, t := range ts {
		out[i] = toTicket(t)
		c.people[string(t.TicketID)] = t.people()
	}
	return out, nil
}

// SyncTicketNotes returns a ticket's messages with time_start at since
// (zero: every message), paging to the end. from is since rounded down to
// the unit time_start is sent in (messageTimeUnit), so the answer is
// complete from there on; zero for the whole ticket. Authors' roles come
// from the ticket's guest and agents, remembered from SyncTickets or read
// with the ticket. It returns a *providers.Error (ErrNotFound for an
// unknown ticket) when the vendor refuses or fails.
func (c *Client) SyncTicketNotes(ctx context.Context, ticketID string, since time.Time) ([]providers.Note, time.Time, error) {
	const op = "sync ticket notes"
	var from time.Time
	if !since.IsZero() {
		from = since.Truncate(messageTimeUnit)
	}
	c.peopleMu.Lock()
	p, ok := c.people[ticketID]
	c.peopleMu.Unlock()
	if !ok {
		t, err := c.getTicket(ctx, ticketID, op)
		if err != nil {
			return nil, time.Time{}, err
		}
		p = t.people()
	}
	msgs, _, err := c.ticketMessagesUpTo(ctx, ticketID, from, time.Time{}, op, math.MaxInt)
	if err != nil {
		return nil, time.Time{}, err
	}
	notes := make([]providers.Note, 0, len(msgs))
	for _, m := range msgs {
		notes = append(notes, normalise(c.accountID, m, ticketID, p))
	}
	return notes, from, nil
}
