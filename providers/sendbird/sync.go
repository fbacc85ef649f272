package sendbird

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Sync-oriented reads (syncer.WindowSource): no ticket or note caps, any
// age.

// MaxWindow is the longest span one SyncWindow accepts: maxWindowDays whole
// UTC days. It cannot fail.
func (c *Client) MaxWindow() time.Duration { return maxWindowDays * day }

// SyncTickets lists every ticket, paging to the end. It returns the
// vendor's error as a *providers.Error.
func (c *Client) SyncTickets(ctx context.Context) ([]providers.Ticket, error) {
	return c.listTickets(ctx, providers.TicketQuery{Limit: math.MaxInt}, math.MaxInt)
}

// SyncWindow returns every note created in [from, to), whole UTC days,
// pages read concurrently within the account's rate limit. It returns a
// *providers.Error of kind ErrInvalid, without calling the vendor, when
// from or to is not a UTC midnight or the span is empty or longer than
// MaxWindow, and the vendor's error otherwise.
func (c *Client) SyncWindow(ctx context.Context, from, to time.Time) ([]providers.Note, error) {
	const op = "sync notes"
	from, to = from.UTC(), to.UTC()
	if !utcDay(from).Equal(from) || !utcDay(to).Equal(to) || !from.Before(to) || to.Sub(from) > c.MaxWindow() {
		return nil, invalid(op, "a sync window is whole UTC days, at most a year")
	}
	return c.windowNotes(ctx, window{from, to.Add(-day)}, "")
}

// SyncTicketNotes returns the notes of one ticket created at or after
// since, any age: the list has no ticket filter, so it reads the windows
// from since's UTC day (or the ticket's creation day) to today and keeps
// the ticket's notes. from is since's UTC day, or zero for the whole
// ticket. It returns a *providers.Error of kind ErrNotFound for an unknown
// or non-integer ticket id, and the vendor's error otherwise.
func (c *Client) SyncTicketNotes(ctx context.Context, ticketID string, since time.Time) ([]providers.Note, time.Time, error) {
	const op = "sync ticket notes"
	id, ok := parseID(ticketID)
	if !ok {
		return nil, time.Time{}, notFound(op, "no Desk ticket has a non-integer id")
	}
	start := time.Time{}
	if !since.IsZero() {
		start = utcDay(since)
	} else {
		t, err := c.getTicket(ctx, op, id)
		if err != nil {
			return nil, time.Time{}, err
		}
		if t.CreatedAt.IsZero() {
			return nil, time.Time{}, &providers.Error{Provider: providers.KindSendbird, Op: op, Kind: providers.ErrUnavailable,
				Err: fmt.Errorf("ticket %s without createdAt", id)}
		}
		start = utcDay(t.CreatedAt)
	}
	var notes []providers.Note
	for _, w := range windows(start, c.now().Add(day)) {
		got, err := c.windowNotes(ctx, w, id)
		if err != nil {
			return nil, time.Time{}, err
		}
		notes = append(notes, got...)
	}
	if since.IsZero() {
		return notes, time.Time{}, nil
	}
	return notes, start, nil
}

// getTicket reads one ticket; an unknown one is ErrNotFound.
func (c *Client) getTicket(ctx context.Context, op, id string) (providers.Ticket, error) {
	resp, err := c.read(ctx, op, "/tickets/"+url.PathEscape(id), nil)
	if err != nil {
		return providers.Ticket{}, err
	}
	t, err := parseTicket(resp.Body)
	if err != nil {
		return providers.Ticket{}, c.malformed(op, resp, fmt.Errorf("decode ticket: %w", err))
	}
	return t, nil
}

// stableTries is how often a window is read again when its count changed
// while its pages were read.
const stableTries = 3

// windowNotes reads every note of window w, keeping only ticketID's notes
// when it is set. The list pages by offset, so a note deleted meanwhile
// shifts the later pages and one note would be missed (and then taken for
// deleted): a window whose count changed between its pages is read again.
// It returns a *providers.Error of kind ErrUnavailable when the window
// keeps changing, and the vendor's error otherwise.
func (c *Client) windowNotes(ctx context.Context, w window, ticketID string) ([]providers.Note, error) {
	for try := 1; ; try++ {
		notes, stable, err := c.windowOnce(ctx, w, ticketID)
		if err != nil || stable {
			return notes, err
		}
		if try == stableTries {
			return nil, &providers.Error{Provider: providers.KindSendbird, Op: "sync notes", Kind: providers.ErrUnavailable,
				Err: fmt.Errorf("window %s…%s kept changing while read", w.start.Format(time.DateOnly), w.end.Format(time.DateOnly))}
		}
	}
}

// windowOnce reads every page of window w once. Page 1 gives the count;
// the other offsets are read concurrently (the rate limiter paces them),
// then next is followed should the window have grown meanwhile. stable
// reports that every page gave the same count.
func (c *Client) windowOnce(ctx context.Context, w window, ticketID string) (notes []providers.Note, stable bool, err error) {
	first, err := c.notePage(ctx, w, 0)
	if err != nil {
		return nil, false, err
	}
	pages := []notePage{first}
	step := len(first.notes)
	last, next := first, step
	if first.more && step > 0 && first.count > step {
		var offsets []int
		for off := step; off < first.count; off += step {
			offsets = append(offsets, off)
		}
		rest := make([]notePage, len(offsets))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(pageWorkers)
		for i, off := range offsets {
			g.Go(func() error {
				p, err := c.notePage(gctx, w, off)
				rest[i] = p
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, false, err
		}
		for i, p := range rest {
			pages = append(pages, p)
			last, next = p, offsets[i]+len(p.notes)
			if !p.more || len(p.notes) == 0 {
				break
			}
		}
	}
	for last.more && len(last.notes) > 0 {
		p, err := c.notePage(ctx, w, next)
		if err != nil {
			return nil, false, err
		}
		pages = append(pages, p)
		last, next = p, next+len(p.notes)
	}
	seen := map[string]bool{}
	var out []providers.Note
	stable = true
	for _, p := range pages {
		stable = stable && p.count == first.count
		for _, n := range p.notes {
			if seen[n.ID] || (ticketID != "" && n.TicketID != ticketID) {
				continue
			}
			seen[n.ID] = true
			out = append(out, n)
		}
	}
	return out, stable, nil
}
