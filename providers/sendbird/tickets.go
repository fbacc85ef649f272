package sendbird

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Paging of the ticket list.
const (
	// ticketPageSize is the largest limit the ticket list accepts (1–500).
	ticketPageSize = 500
	// maxTicketsScanned caps how many tickets one ListTickets call reads.
	// The list has no documented date filter or order, so it is read whole
	// up to this cap and filtered here.
	maxTicketsScanned = 10000
)

// ListTickets returns the tickets created in q's range, newest first, at
// most q.Max(). It returns the vendor's error as a *providers.Error.
func (c *Client) ListTickets(ctx context.Context, q providers.TicketQuery) ([]providers.Ticket, error) {
	return c.listTickets(ctx, q, maxTicketsScanned)
}

// listTickets is ListTickets reading at most scanCap tickets.
func (c *Client) listTickets(ctx context.Context, q providers.TicketQuery, scanCap int) ([]providers.Ticket, error) {
	first, err := c.ticketPage(ctx, 0)
	if err != nil {
		return nil, err
	}
	pages := []ticketPage{first}
	step := len(first.tickets)
	if first.more && step > 0 {
		var offsets []int
		for off := step; off < first.count && off < scanCap; off += step {
			offsets = append(offsets, off)
		}
		rest := make([]ticketPage, len(offsets))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(pageWorkers)
		for i, off := range offsets {
			g.Go(func() error {
				p, err := c.ticketPage(gctx, off)
				rest[i] = p
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		last, next := first, step
		for i, p := range rest {
			pages = append(pages, p)
			last, next = p, offsets[i]+len(p.tickets)
			if !p.more || len(p.tickets) == 0 {
				break
			}
		}
		// The list grew while paging, or the vendor sent no count: follow
		// next, up to the cap.
		for last.more && len(last.tickets) > 0 && next < scanCap {
			p, err := c.ticketPage(ctx, next)
			if err != nil {
				return nil, err
			}
			pages = append(pages, p)
			last, next = p, next+len(p.tickets)
		}
	}
	in := providers.Query{From: q.From, To: q.To}
	seen := map[string]bool{}
	var out []providers.Ticket
	for _, p := range pages {
		for _, t := range p.tickets {
			if seen[t.ID] || !in.Contains(t.CreatedAt) {
				continue
			}
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b providers.Ticket) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return compareIDs(b.ID, a.ID)
	})
	if max := q.Max(); len(out) > max {
		out = out[:max:max]
	}
	return out, nil
}

// ticketPage is one decoded page of the ticket list.
type ticketPage struct {
	tickets []providers.Ticket
	count   int
	more    bool
}

func (c *Client) ticketPage(ctx context.Context, offset int) (ticketPage, error) {
	const op = "list tickets"
	query := url.Values{"limit": {strconv.Itoa(ticketPageSize)}, "offset": {strconv.Itoa(offset)}}
	resp, err := c.read(ctx, op, "/tickets", query)
	if err != nil {
		return ticketPage{}, err
	}
	l, err := decodeList(resp.Body)
	if err != nil {
		return ticketPage{}, c.malformed(op, resp, fmt.Errorf("decode tickets page: %w", err))
	}
	p := ticketPage{count: -1, more: l.Next != nil, tickets: make([]providers.Ticket, 0, len(l.Results))}
	if l.Count != nil {
		p.count = *l.Count
	}
	for _, raw := range l.Results {
		t, err := parseTicket(raw)
		if err != nil {
			return ticketPage{}, c.malformed(op, resp, fmt.Errorf("decode ticket: %w", err))
		}
		p.tickets = append(p.tickets, t)
	}
	return p, nil
}
