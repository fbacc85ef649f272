package alibaba

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

// ticketFilter bounds tickets by creation time, half-open [from, to); a zero
// bound is open.
type ticketFilter struct {
	from, to time.Time
}

// dateParams sets ListTickets' StartDate and EndDate, in epoch milliseconds.
// EndDate is taken as inclusive (unconfirmed; the doc says only "the end
// time"), so the half-open bound becomes the millisecond before it.
func (f ticketFilter) dateParams(p url.Values) {
	if !f.from.IsZero() {
		p.Set("StartDate", strconv.FormatInt(f.from.UnixMilli(), 10))
	}
	if !f.to.IsZero() {
		p.Set("EndDate", strconv.FormatInt(f.to.UnixMilli()-1, 10))
	}
}

// ticketJSON is one element of ListTickets' Data.
type ticketJSON struct {
	TicketID flexString   `json:"TicketId"`
	Title    flexString   `json:"Title"`
	Status   ticketStatus `json:"Status"`
}

// ticketStatus is documented as {Label, Value}; a bare value is accepted
// too.
type ticketStatus struct {
	Label flexString `json:"Label"`
	Value flexString `json:"Value"`
}

func (s *ticketStatus) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '{' {
		type plain ticketStatus
		return json.Unmarshal(b, (*plain)(s))
	}
	*s = ticketStatus{}
	return s.Value.UnmarshalJSON(b)
}

// closedStatus reports whether a ticket's status is final. Unconfirmed: the
// ListTickets page names the StatusList values (assigned, dealing,
// wait_feedback, feedback, wait_confirm, confirmed) but not the numbers or
// labels Status carries; "confirmed", value 6 and the label "Completed" are
// read as the one final status. The simulator follows the same reading.
func closedStatus(s ticketStatus) bool {
	v, l := clean(string(s.Value)), strings.ToLower(clean(string(s.Label)))
	return v == "6" || v == "confirmed" || l == "completed" || l == "confirmed"
}

// ticketsResponse is the ListTickets answer past the envelope.
type ticketsResponse struct {
	TotalCount flexInt64         `json:"TotalCount"`
	Data       []json.RawMessage `json:"Data"`
}

// ticketPageResult is one page of ListTickets.
type ticketPageResult struct {
	tickets   []providers.Ticket
	total     int
	requestID string
}

// parseTickets reads a ListTickets answer: the page's tickets in the
// vendor's order and TotalCount. It returns an error when the body or a
// ticket is not the documented shape.
func parseTickets(body []byte) ([]providers.Ticket, int, error) {
	var resp ticketsResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, 0, fmt.Errorf("decode tickets: %w", err)
	}
	if resp.TotalCount < 0 {
		return nil, 0, fmt.Errorf("negative TotalCount %d", resp.TotalCount)
	}
	tickets := make([]providers.Ticket, 0, len(resp.Data))
	for i, raw := range resp.Data {
		var t ticketJSON
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, 0, fmt.Errorf("ticket %d: %w", i, err)
		}
		id := clean(string(t.TicketID))
		if id == "" {
			return nil, 0, fmt.Errorf("ticket %d: no TicketId", i)
		}
		status := clean(string(t.Status.Label))
		if status == "" {
			status = clean(string(t.Status.Value))
		}
		tickets = append(tickets, providers.Ticket{
			ID:     id,
			Title:  clean(string(t.Title)),
			Status: status,
			Closed: closedStatus(t.Status),
			Raw:    append(json.RawMessage(nil), raw...),
		})
	}
	total := int(min(int64(resp.TotalCount), int64(1<<31-1)))
	return tickets, total, nil
}

// ListTickets returns the tickets created in q's range, in Alibaba's order,
// taken to be newest first (the doc does not say). ListTickets carries no
// creation time, so CreatedAt stays zero. It returns a *providers.Error when
// Alibaba refuses or fails.
func (c *Client) ListTickets(ctx context.Context, q providers.TicketQuery) ([]providers.Ticket, error) {
	tickets, _, err := c.listTickets(ctx, "list tickets", ticketFilter{from: q.From, to: q.To}, q.Max())
	return tickets, err
}

// listTickets reads up to limit tickets and the total Alibaba counts. The
// first page gives TotalCount; the remaining pages are then read
// concurrently.
func (c *Client) listTickets(ctx context.Context, op string, f ticketFilter, limit int) ([]providers.Ticket, int, error) {
	size := min(max(limit, minPageSize), maxPageSize)
	first, err := c.ticketPage(ctx, op, f, 1, size)
	if err != nil {
		return nil, 0, err
	}
	want := min(first.total, limit)
	pages := (want + size - 1) / size
	results := make([][]providers.Ticket, max(pages, 1))
	results[0] = first.tickets
	if pages > 1 && len(first.tickets) > 0 {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(fetchers)
		for n := 2; n <= pages; n++ {
			g.Go(func() error {
				page, err := c.ticketPage(gctx, op, f, n, size)
				if err != nil {
					return err
				}
				results[n-1] = page.tickets
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, 0, err
		}
	}

	// A ticket opened while paging shifts the pages; drop the repeats.
	seen := make(map[string]bool, want)
	tickets := make([]providers.Ticket, 0, want)
	for _, page := range results {
		for _, t := range page {
			if seen[t.ID] || len(tickets) >= limit {
				continue
			}
			seen[t.ID] = true
			tickets = append(tickets, t)
		}
	}
	return tickets, max(first.total, len(tickets)), nil
}

// ticketPage reads one page of ListTickets.
func (c *Client) ticketPage(ctx context.Context, op string, f ticketFilter, number, size int) (ticketPageResult, error) {
	p := url.Values{
		"PageNumber": {strconv.Itoa(number)},
		"PageSize":   {strconv.Itoa(size)},
	}
	f.dateParams(p)
	body, requestID, err := c.call(ctx, op, "ListTickets", p, false)
	if err != nil {
		return ticketPageResult{}, err
	}
	tickets, total, err := parseTickets(body)
	if err != nil {
		return ticketPageResult{}, decodeError(op, requestID, err)
	}
	return ticketPageResult{tickets: tickets, total: total, requestID: requestID}, nil
}
