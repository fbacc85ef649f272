package feishu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Ticket list and get.
// https://open.feishu.cn/document/server-docs/helpdesk-v1/ticket-management/ticket/list
const ticketsPath = "/open-apis/helpdesk/v1/tickets"

const (
	// ticketPageSize is the documented maximum page_size of list tickets.
	ticketPageSize = 200
	// maxTicketPages caps a ticket listing at 10 000 tickets, read
	// concurrently once page 1 gave the total.
	maxTicketPages = 50
)

// ticketUser is a guest or agent of a ticket.
type ticketUser struct {
	ID        flexString `json:"id"`
	Name      flexString `json:"name"`
	AvatarURL flexString `json:"avatar_url"`
}

// ticket is the subset of a helpdesk ticket the client reads.
type ticket struct {
	TicketID  flexString   `json:"ticket_id"`
	Guest     *ticketUser  `json:"guest"`
	Agents    []ticketUser `json:"agents"`
	Status    flexString   `json:"status"`
	CreatedAt epochMS      `json:"created_at"`
	// UpdatedAt is the ticket's last change, epoch ms. Unconfirmed: the
	// list-tickets page's field table is not in the public copy; the
	// simulator sends it and moves it when the chat changes.
	UpdatedAt epochMS `json:"updated_at"`
	raw       json.RawMessage
}

// people returns who speaks for which side in t.
func (t ticket) people() people {
	p := people{agents: map[string]bool{}}
	if t.Guest != nil {
		p.guest = string(t.Guest.ID)
	}
	for _, a := range t.Agents {
		if a.ID != "" {
			p.agents[string(a.ID)] = true
		}
	}
	return p
}

// ticketStatuses names the documented status numbers.
var ticketStatuses = map[string]string{
	"1":  "created",
	"2":  "in_progress",
	"3":  "queued",
	"4":  "pending",
	"5":  "waiting_for_user",
	"50": "closed_by_bot",
	"51": "closed_by_agent",
	"52": "closed_by_user",
}

// closedStatuses are the final statuses: closed by the bot, an agent or the
// user.
var closedStatuses = map[string]bool{"50": true, "51": true, "52": true}

// toTicket normalises t. A helpdesk ticket has no subject, so the title
// is the name of the guest who opened it.
func toTicket(t ticket) providers.Ticket {
	status := string(t.Status)
	if s, ok := ticketStatuses[status]; ok {
		status = s
	}
	title := ""
	if t.Guest != nil {
		title = string(t.Guest.Name)
	}
	var updated time.Time
	if t.UpdatedAt != 0 {
		updated = t.UpdatedAt.Time()
	}
	return providers.Ticket{
		ID:        string(t.TicketID),
		Title:     title,
		Status:    status,
		CreatedAt: t.CreatedAt.Time(),
		UpdatedAt: updated,
		Closed:    closedStatuses[string(t.Status)],
		Raw:       t.raw,
	}
}

type ticketPage struct {
	Total   int               `json:"total"`
	Tickets []json.RawMessage `json:"tickets"`
}

func decodeTickets(page ticketPage) ([]ticket, error) {
	out := make([]ticket, 0, len(page.Tickets))
	for _, r := range page.Tickets {
		var t ticket
		if err := json.Unmarshal(r, &t); err != nil {
			return nil, fmt.Errorf("decode ticket: %w", err)
		}
		t.raw = append(json.RawMessage(nil), r...)
		out = append(out, t)
	}
	return out, nil
}

// parseTicketsResponse decodes a whole list-tickets body; it is what the
// fuzz target drives.
func parseTicketsResponse(body []byte) ([]ticket, int, error) {
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, 0, err
	}
	var page ticketPage
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, &page); err != nil {
			return nil, 0, fmt.Errorf("decode data: %w", err)
		}
	}
	ts, err := decodeTickets(page)
	return ts, page.Total, err
}

// ListTickets returns the tickets created in q's range, newest first, at
// most q.Max(). It returns a *providers.Error when the vendor refuses or
// fails a read.
func (c *Client) ListTickets(ctx context.Context, q providers.TicketQuery) ([]providers.Ticket, error) {
	ts, _, err := c.listTickets(ctx, q, "list tickets")
	if err != nil {
		return nil, err
	}
	out := make([]providers.Ticket, len(ts))
	for i, t := range ts {
		out[i] = toTicket(t)
	}
	return out, nil
}

// listTickets reads every page of tickets in q's range (page 1 tells the
// total, the rest are read concurrently), keeps those q contains, sorts
// them newest first and cuts at q.Max(). The order of the vendor's pages
// is not documented, hence reading them all. It reports truncated when a
// cap cut the list.
func (c *Client) listTickets(ctx context.Context, q providers.TicketQuery, op string) ([]ticket, bool, error) {
	return c.listTicketsUpTo(ctx, q, op, maxTicketPages)
}

// listTicketsUpTo is listTickets reading at most pageCap pages.
func (c *Client) listTicketsUpTo(ctx context.Context, q providers.TicketQuery, op string, pageCap int) ([]ticket, bool, error) {
	first, total, err := c.ticketPage(ctx, q, 1, ticketPageSize, op)
	if err != nil {
		return nil, false, err
	}
	pages := (total + ticketPageSize - 1) / ticketPageSize
	truncated := false
	if pages > pageCap {
		pages, truncated = pageCap, true
	}
	all := first
	if pages > 1 {
		var mu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(fetchConcurrency)
		for p := 2; p <= pages; p++ {
			g.Go(func() error {
				ts, _, err := c.ticketPage(gctx, q, p, ticketPageSize, op)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				all = append(all, ts...)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, false, err
		}
	}

	seen := map[string]bool{}
	kept := make([]ticket, 0, len(all))
	rq := providers.Query{From: q.From, To: q.To}
	for _, t := range all {
		id := string(t.TicketID)
		if seen[id] {
			continue
		}
		seen[id] = true
		// A ticket without a creation time cannot be placed; keep it.
		if t.CreatedAt != 0 && !rq.Contains(t.CreatedAt.Time()) {
			continue
		}
		kept = append(kept, t)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].CreatedAt != kept[j].CreatedAt {
			return kept[i].CreatedAt > kept[j].CreatedAt
		}
		return kept[i].TicketID > kept[j].TicketID
	})
	if len(kept) > q.Max() {
		kept, truncated = kept[:q.Max()], true
	}
	return kept, truncated, nil
}

// ticketPage reads one page of tickets; create_time_start and
// create_time_end are epoch milliseconds.
func (c *Client) ticketPage(ctx context.Context, q providers.TicketQuery, page, size int, op string) ([]ticket, int, error) {
	v := url.Values{}
	v.Set("page", strconv.Itoa(page))
	v.Set("page_size", strconv.Itoa(size))
	if !q.From.IsZero() {
		v.Set("create_time_start", strconv.FormatInt(q.From.UnixMilli(), 10))
	}
	if !q.To.IsZero() {
		v.Set("create_time_end", strconv.FormatInt(q.To.UnixMilli(), 10))
	}
	var data ticketPage
	reqID, err := c.do(ctx, call{op: op, method: http.MethodGet, path: ticketsPath, query: v}, &data)
	if err != nil {
		return nil, 0, err
	}
	ts, err := decodeTickets(data)
	if err != nil {
		return nil, 0, vendorError(op, http.StatusOK, reqID, 0, "", err)
	}
	return ts, data.Total, nil
}

// getTicket reads one ticket; an unknown id is a *providers.Error of kind
// providers.ErrNotFound.
func (c *Client) getTicket(ctx context.Context, id, op string) (ticket, error) {
	var data struct {
		Ticket json.RawMessage `json:"ticket"`
	}
	reqID, err := c.do(ctx, call{op: op, method: http.MethodGet, path: ticketsPath + "/" + url.PathEscape(id)}, &data)
	if err != nil {
		return ticket{}, unknownTicketOnRead(err)
	}
	if len(data.Ticket) == 0 || string(data.Ticket) == "null" {
		return ticket{}, vendorError(op, http.StatusOK, reqID, 0, "", errors.New("answer without a ticket"))
	}
	ts, err := decodeTickets(ticketPage{Tickets: []json.RawMessage{data.Ticket}})
	if err != nil {
		return ticket{}, vendorError(op, http.StatusOK, reqID, 0, "", err)
	}
	return ts[0], nil
}

// Check reads one ticket page to prove the app credentials and the
// helpdesk token work, and reports how many tickets the helpdesk shows. It
// returns a *providers.Error when the vendor refuses or fails.
func (c *Client) Check(ctx context.Context) (providers.CheckResult, error) {
	const op = "check"
	v := url.Values{}
	v.Set("page", "1")
	v.Set("page_size", "1")
	var data ticketPage
	reqID, err := c.do(ctx, call{op: op, method: http.MethodGet, path: ticketsPath, query: v}, &data)
	if err != nil {
		return providers.CheckResult{}, err
	}
	noun := "tickets"
	if data.Total == 1 {
		noun = "ticket"
	}
	return providers.CheckResult{Detail: fmt.Sprintf("%d %s visible", data.Total, noun), RequestID: reqID}, nil
}
