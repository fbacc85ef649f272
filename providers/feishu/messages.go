package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

const (
	// messagePageSize is the documented maximum page_size of list messages.
	messagePageSize = 200
	// maxMessagePages caps one ticket's chat at 10 000 messages; beyond
	// that the list is cut and reported as truncated.
	maxMessagePages = 50
	// fetchConcurrency bounds parallel pages and tickets; the account's
	// rate limiter paces them further.
	fetchConcurrency = 8
	// maxTicketsScanned caps how many tickets a ListNotes without a ticket
	// reads messages of.
	maxTicketsScanned = 200
	// ticketLookback widens the ticket search before q.From: a ticket
	// created earlier can still be talked about inside the range.
	ticketLookback = 30 * 24 * time.Hour
)

// messagesPath is list (GET) and send (POST) of a ticket's messages.
func messagesPath(ticketID string) string {
	return "/open-apis/helpdesk/v1/tickets/" + url.PathEscape(ticketID) + "/messages"
}

// messageTimeUnit is the unit of time_start and time_end. Unconfirmed: the
// official examples are epoch seconds, one third-party SDK says
// milliseconds. The simulator follows the same reading.
const messageTimeUnit = time.Second

// messageTimeParams returns time_start and time_end for [from, to): from
// rounded down and to rounded up to the unit, so the server never drops a
// message the client then filters exactly. A zero bound is left out.
func messageTimeParams(from, to time.Time) (start, end string) {
	unit := int64(messageTimeUnit)
	if !from.IsZero() {
		n := from.UnixNano()
		q := n / unit
		if n%unit < 0 {
			q--
		}
		start = strconv.FormatInt(q, 10)
	}
	if !to.IsZero() {
		n := to.UnixNano()
		q := n / unit
		if n%unit > 0 {
			q++
		}
		end = strconv.FormatInt(q, 10)
	}
	return start, end
}

// message is one ticket message as the helpdesk sends it.
type message struct {
	ID          flexString `json:"id"`
	MessageID   flexString `json:"message_id"`
	MessageType flexString `json:"message_type"`
	CreatedAt   epochMS    `json:"created_at"`
	Content     flexString `json:"content"`
	UserName    flexString `json:"user_name"`
	AvatarURL   flexString `json:"avatar_url"`
	UserID      flexString `json:"user_id"`
}

// messagePage is the data of list messages.
type messagePage struct {
	Messages []json.RawMessage `json:"messages"`
	Total    int               `json:"total"`
}

// rawMessage is a decoded message with its JSON kept for Note.Raw.
type rawMessage struct {
	message
	raw json.RawMessage
}

// decodeMessages decodes the messages of one page; a message that is not
// an object fails the page, because the vendor sent something else.
func decodeMessages(page messagePage) ([]rawMessage, error) {
	out := make([]rawMessage, 0, len(page.Messages))
	for _, r := range page.Messages {
		var m message
		if err := json.Unmarshal(r, &m); err != nil {
			return nil, fmt.Errorf("decode message: %w", err)
		}
		out = append(out, rawMessage{message: m, raw: append(json.RawMessage(nil), r...)})
	}
	return out, nil
}

// parseMessagesResponse decodes a whole list-messages body; it is what the
// fuzz target and golden tests drive.
func parseMessagesResponse(body []byte) ([]rawMessage, int, error) {
	env, err := parseEnvelope(body)
	if err != nil {
		return nil, 0, err
	}
	var page messagePage
	if len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, &page); err != nil {
			return nil, 0, fmt.Errorf("decode data: %w", err)
		}
	}
	msgs, err := decodeMessages(page)
	return msgs, page.Total, err
}

// people says who is who in one ticket, to tell the author's side.
type people struct {
	guest  string
	agents map[string]bool
}

// roleOf decides the author's side of a message. Messages carry no role,
// so this is our reading of the ticket chat: a message without a user_id
// is a helpdesk notice (system); the ticket's guest is the customer and its
// agents are agents; anyone else talking in the chat when the guest is
// known (the helpdesk bot 服务台机器人, the app's own API sender) is neither
// side, so system. Without knowing the guest we cannot tell a stranger from
// the guest and say customer, so nothing is wrongly shown as coming from
// staff.
func roleOf(userID string, p people) providers.Role {
	switch {
	case userID == "":
		return providers.RoleSystem
	case p.guest != "" && userID == p.guest:
		return providers.RoleCustomer
	case p.agents[userID]:
		return providers.RoleAgent
	case p.guest != "":
		return providers.RoleSystem
	default:
		return providers.RoleCustomer
	}
}

// noteID is the message's ticket-message id (工单消息ID), not the chat
// message_id (chat消息ID); a message sent without an id falls back to its
// message_id so it can still be told apart.
func noteID(m message) string {
	if m.ID != "" {
		return string(m.ID)
	}
	return string(m.MessageID)
}

// normalise turns one message of ticketID into a note of the account.
func normalise(accountID uint, m rawMessage, ticketID string, p people) providers.Note {
	return providers.Note{
		Provider:      providers.KindFeishu,
		AccountID:     accountID,
		TicketID:      ticketID,
		ID:            noteID(m.message),
		ChatMessageID: string(m.MessageID),
		AuthorName:    string(m.UserName),
		AuthorRole:    roleOf(string(m.UserID), p),
		Body:          renderContent(string(m.MessageType), string(m.Content)),
		Content:       string(m.Content),
		ContentType:   string(m.MessageType),
		CreatedAt:     m.CreatedAt.Time(),
		Raw:           m.raw,
	}
}

// ListNotes returns the messages of q.TicketID, or of the tickets created
// from 30 days before q.From up to q.To when q.TicketID is empty (at most
// 200 of them), newest first and cut at q.Max(). It returns a
// *providers.Error when the vendor refuses or fails any of the reads.
func (c *Client) ListNotes(ctx context.Context, q providers.Query) (providers.NoteList, error) {
	const op = "list notes"
	var (
		notes     []providers.Note
		truncated bool
	)
	if q.TicketID != "" {
		var t ticket
		var msgs []rawMessage
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error {
			var err error
			t, err = c.getTicket(gctx, q.TicketID, op)
			return err
		})
		g.Go(func() error {
			var err error
			msgs, truncated, err = c.ticketMessages(gctx, q.TicketID, q.From, q.To, op)
			return err
		})
		if err := g.Wait(); err != nil {
			return providers.NoteList{}, err
		}
		p := t.people()
		for _, m := range msgs {
			notes = append(notes, normalise(c.accountID, m, q.TicketID, p))
		}
	} else {
		var err error
		notes, truncated, err = c.notesAcrossTickets(ctx, q, op)
		if err != nil {
			return providers.NoteList{}, err
		}
	}

	kept := notes[:0]
	for _, n := range notes {
		if q.Contains(n.CreatedAt) {
			kept = append(kept, n)
		}
	}
	sortNewestFirst(kept)
	if len(kept) > q.Max() {
		kept = kept[:q.Max()]
		truncated = true
	}
	return providers.NoteList{Notes: kept, Truncated: truncated}, nil
}

// notesAcrossTickets lists tickets in range and reads their messages
// concurrently.
func (c *Client) notesAcrossTickets(ctx context.Context, q providers.Query, op string) ([]providers.Note, bool, error) {
	tq := providers.TicketQuery{To: q.To, Limit: maxTicketsScanned}
	if !q.From.IsZero() {
		tq.From = q.From.Add(-ticketLookback)
	}
	tickets, truncated, err := c.listTickets(ctx, tq, op)
	if err != nil {
		return nil, false, err
	}
	var (
		mu    sync.Mutex
		notes []providers.Note
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchConcurrency)
	for _, t := range tickets {
		g.Go(func() error {
			msgs, cut, err := c.ticketMessages(gctx, string(t.TicketID), q.From, q.To, op)
			if errors.Is(err, providers.ErrNotFound) {
				// Gone between listing and reading: nothing to show.
				return nil
			}
			if err != nil {
				return err
			}
			p := t.people()
			mu.Lock()
			defer mu.Unlock()
			truncated = truncated || cut
			for _, m := range msgs {
				notes = append(notes, normalise(c.accountID, m, string(t.TicketID), p))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, false, err
	}
	return notes, truncated, nil
}

// ticketMessages reads every page of a ticket's messages in [from, to):
// page 1 tells the total, the rest are fetched concurrently. It reports
// truncated when maxMessagePages cut the chat.
func (c *Client) ticketMessages(ctx context.Context, ticketID string, from, to time.Time, op string) ([]rawMessage, bool, error) {
	first, total, err := c.messagePage(ctx, ticketID, from, to, 1, op)
	if err != nil {
		return nil, false, err
	}
	pages := (total + messagePageSize - 1) / messagePageSize
	truncated := false
	if pages > maxMessagePages {
		pages, truncated = maxMessagePages, true
	}
	all := first
	switch {
	case pages > 1:
		rest := make([][]rawMessage, pages+1)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(fetchConcurrency)
		for p := 2; p <= pages; p++ {
			g.Go(func() error {
				msgs, _, err := c.messagePage(gctx, ticketID, from, to, p, op)
				rest[p] = msgs
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, false, err
		}
		for _, msgs := range rest {
			all = append(all, msgs...)
		}
	case total <= 0 && len(first) == messagePageSize:
		// No total given: walk on until a short page.
		for p := 2; ; p++ {
			if p > maxMessagePages {
				truncated = true
				break
			}
			msgs, _, err := c.messagePage(ctx, ticketID, from, to, p, op)
			if err != nil {
				return nil, false, err
			}
			all = append(all, msgs...)
			if len(msgs) < messagePageSize {
				break
			}
		}
	}
	return dedupe(all), truncated, nil
}

// dedupe drops repeats, which appear when a message arrives while pages
// are read and shifts the rest along.
func dedupe(msgs []rawMessage) []rawMessage {
	seen := make(map[string]bool, len(msgs))
	out := msgs[:0]
	for _, m := range msgs {
		id := noteID(m.message)
		if id != "" && seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, m)
	}
	return out
}

// messagePage reads one page of a ticket's messages.
func (c *Client) messagePage(ctx context.Context, ticketID string, from, to time.Time, page int, op string) ([]rawMessage, int, error) {
	q := url.Values{}
	start, end := messageTimeParams(from, to)
	if start != "" {
		q.Set("time_start", start)
	}
	if end != "" {
		q.Set("time_end", end)
	}
	q.Set("page", strconv.Itoa(page))
	q.Set("page_size", strconv.Itoa(messagePageSize))
	var data messagePage
	reqID, err := c.do(ctx, call{op: op, method: http.MethodGet, path: messagesPath(ticketID), query: q}, &data)
	if err != nil {
		return nil, 0, unknownTicketOnRead(err)
	}
	msgs, err := decodeMessages(data)
	if err != nil {
		return nil, 0, vendorError(op, http.StatusOK, reqID, 0, "", err)
	}
	return msgs, data.Total, nil
}

// sortNewestFirst orders notes by creation time, newest first, then by id
// so equal times keep a stable order.
func sortNewestFirst(notes []providers.Note) {
	sort.SliceStable(notes, func(i, j int) bool {
		if !notes[i].CreatedAt.Equal(notes[j].CreatedAt) {
			return notes[i].CreatedAt.After(notes[j].CreatedAt)
		}
		return notes[i].ID > notes[j].ID
	})
}

type sendRequest struct {
	MsgType string `json:"msg_type"`
	Content string `json:"content"`
}

type sendResponse struct {
	MessageID flexString `json:"message_id"`
}

// sentLookback is how far before the local clock the re-read after a send
// looks for the new message; it absorbs clock skew with the vendor.
const sentLookback = time.Hour

// AddNote sends body as a text message to the ticket's customer, who sees
// it in the helpdesk chat. The vendor answers only the new message's chat
// message_id, so the chat is read back and the message with that
// message_id gives the note, with its ticket-message id as ID. When the
// read-back fails or misses it, the note is built from what was sent: ID
// is empty (the ticket-message id is unknown), ChatMessageID is the
// answer's, CreatedAt the local send time, the author the app's sender (a
// system sender) and Raw the vendor's answer. The receipt holds the send's
// X-Tt-Logid. It returns a *providers.Error of kind providers.ErrInvalid
// for an empty ticket id or body (without calling the vendor), and the
// vendor's refusal otherwise; the send is never retried blindly.
func (c *Client) AddNote(ctx context.Context, ticketID, body string) (providers.Note, providers.Receipt, error) {
	const op = "add note"
	if ticketID == "" {
		return providers.Note{}, providers.Receipt{}, invalid(op, "ticket id is required")
	}
	if strings.TrimSpace(body) == "" {
		return providers.Note{}, providers.Receipt{}, invalid(op, "message text is empty")
	}
	content := textContent(body)
	reqBody, err := json.Marshal(sendRequest{MsgType: "text", Content: content})
	if err != nil {
		return providers.Note{}, providers.Receipt{}, &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrInvalid, Err: err}
	}
	sentAt := c.now().UTC()
	var raw json.RawMessage
	logID, err := c.do(ctx, call{op: op, method: http.MethodPost, path: messagesPath(ticketID), body: reqBody, write: true}, &raw)
	if err != nil {
		return providers.Note{}, providers.Receipt{}, err
	}
	rcpt := providers.Receipt{RequestID: logID}
	var resp sendResponse
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &resp); err != nil {
			return providers.Note{}, rcpt, &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrUnavailable,
				RequestID: logID, Err: fmt.Errorf("decode send response: %w", err)}
		}
	}
	if n, ok := c.findSent(ctx, ticketID, string(resp.MessageID), sentAt, op); ok {
		return n, rcpt, nil
	}
	return providers.Note{
		Provider:      providers.KindFeishu,
		AccountID:     c.accountID,
		TicketID:      ticketID,
		ChatMessageID: string(resp.MessageID),
		AuthorRole:    providers.RoleSystem,
		Body:          body,
		Content:       content,
		ContentType:   "text",
		CreatedAt:     sentAt,
		Raw:           bytes.Clone(raw),
	}, rcpt, nil
}

// findSent reads back the ticket's recent chat for the message whose chat
// message_id is chatID. ok is false when chatID is empty, a read fails or
// the message is not there; a failure here must not turn a sent message
// into an error the user retries.
func (c *Client) findSent(ctx context.Context, ticketID, chatID string, sentAt time.Time, op string) (providers.Note, bool) {
	if chatID == "" {
		return providers.Note{}, false
	}
	var t ticket
	var msgs []rawMessage
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		t, err = c.getTicket(gctx, ticketID, op)
		return err
	})
	g.Go(func() error {
		var err error
		msgs, _, err = c.ticketMessages(gctx, ticketID, sentAt.Add(-sentLookback), time.Time{}, op)
		return err
	})
	if g.Wait() != nil {
		return providers.Note{}, false
	}
	for _, m := range msgs {
		if string(m.MessageID) == chatID {
			return normalise(c.accountID, m, ticketID, t.people()), true
		}
	}
	return providers.Note{}, false
}

// flexString reads a JSON string, or a number or other value as its JSON
// text, so an id sent as a number still reads.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	if string(b) == "null" {
		*s = ""
		return nil
	}
	*s = flexString(b)
	return nil
}

// epochMS is a vendor timestamp: epoch milliseconds, as a number or a
// numeric string.
type epochMS int64

func (e *epochMS) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", s, err)
	}
	*e = epochMS(n)
	return nil
}

// Time returns e in UTC; zero stays the zero time. Values too small to be
// milliseconds of this era (before 1973) are read as seconds.
func (e epochMS) Time() time.Time {
	switch {
	case e == 0:
		return time.Time{}
	case e > -1e11 && e < 1e11:
		return time.Unix(int64(e), 0).UTC()
	default:
		return time.UnixMilli(int64(e)).UTC()
	}
}
