package feishu

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

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
	msgs, err := c.stableMessages(ctx, ticketID, from, op)
	if err != nil {
		return nil, time.Time{}, err
	}
	notes := make([]providers.Note, 0, len(msgs))
	for _, m := range msgs {
		notes = append(notes, normalise(c.accountID, m, ticketID, p))
	}
	return notes, from, nil
}

// stableTries is how often a ticket's messages are read again when their
// total changed while the pages were read.
const stableTries = 3

// stableMessages reads every message of a ticket from from on. The list
// pages by number, so a message recalled meanwhile shifts the later pages
// and one message would be missed (and then taken for deleted): a read
// whose total changed between its pages is done again. It returns a
// *providers.Error of kind ErrUnavailable when the chat keeps changing,
// and the vendor's error otherwise.
func (c *Client) stableMessages(ctx context.Context, ticketID string, from time.Time, op string) ([]rawMessage, error) {
	for try := 1; ; try++ {
		first, total, err := c.messagePage(ctx, ticketID, from, time.Time{}, 1, op)
		if err != nil {
			return nil, err
		}
		all, stable := first, true
		if total <= 0 && len(first) == messagePageSize {
			// No total given: walk on until a short page.
			for p := 2; ; p++ {
				msgs, _, err := c.messagePage(ctx, ticketID, from, time.Time{}, p, op)
				if err != nil {
					return nil, err
				}
				all = append(all, msgs...)
				if len(msgs) < messagePageSize {
					break
				}
			}
		} else if pages := (total + messagePageSize - 1) / messagePageSize; pages > 1 {
			rest := make([][]rawMessage, pages+1)
			totals := make([]int, pages+1)
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(fetchConcurrency)
			for p := 2; p <= pages; p++ {
				g.Go(func() error {
					var err error
					rest[p], totals[p], err = c.messagePage(gctx, ticketID, from, time.Time{}, p, op)
					return err
				})
			}
			if err := g.Wait(); err != nil {
				return nil, err
			}
			for p := 2; p <= pages; p++ {
				all = append(all, rest[p]...)
				stable = stable && totals[p] == total
			}
		}
		if stable {
			return dedupe(all), nil
		}
		if try == stableTries {
			return nil, vendorError(op, http.StatusOK, "", 0, "", fmt.Errorf("ticket %s: messages kept changing while read", ticketID))
		}
	}
}
