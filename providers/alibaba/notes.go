package alibaba

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Limits of the cross-ticket listing.
const (
	// lookback widens the ticket search before Query.From: a ticket opened
	// a little earlier can still receive messages inside the range.
	lookback = 30 * 24 * time.Hour
	// maxTicketsScanned caps how many tickets one ListNotes call reads.
	maxTicketsScanned = 200
	// fetchers is how many requests one call runs at once; the shared rate
	// limiter paces them.
	fetchers = 8
)

// ListTickets page sizes: Alibaba accepts 10 to 100 per page.
const (
	minPageSize   = 10
	maxPageSize   = 100
	checkPageSize = 10
)

// noteJSON is one element of ListTicketNotes' Data.
type noteJSON struct {
	Type       flexInt64  `json:"Type"`
	Status     flexInt64  `json:"Status"`
	Tip        flexString `json:"Tip"`
	DialogID   flexString `json:"DialogId"`
	CreateTime flexInt64  `json:"CreateTime"`
	Dialog     struct {
		Schema  textOrJSON `json:"Schema"`
		Content textOrJSON `json:"Content"`
	} `json:"Dialog"`
	User struct {
		Role flexInt64  `json:"Role"`
		Name flexString `json:"Name"`
	} `json:"User"`
	Attachments []struct {
		Name flexString `json:"Name"`
		URL  flexString `json:"Url"`
	} `json:"Attachments"`
}

// textOrJSON is a string field that might one day arrive as a JSON object
// (Schema is documented as a string holding a card); an object or array is
// kept as its JSON text.
type textOrJSON string

func (t *textOrJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		*t = textOrJSON(b)
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = textOrJSON(s)
	return nil
}

// Message types of ListTicketNotes.
const (
	typeCard = 1 // body in Dialog.Schema
	typeText = 2 // body in Dialog.Content
)

// User roles of ListTicketNotes.
const (
	roleAgent    = 2
	roleCustomer = 3
)

// Message status of ListTicketNotes.
const statusUnread = 1

// notesResponse is the ListTicketNotes answer past the envelope.
type notesResponse struct {
	Data []json.RawMessage `json:"Data"`
}

// parseNotes reads a ListTicketNotes answer into normalised notes of
// ticketID, in the vendor's order. It returns an error when the body or a
// note is not the documented shape.
func parseNotes(body []byte, accountID uint, ticketID string) ([]providers.Note, error) {
	var resp notesResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decode notes: %w", err)
	}
	notes := make([]providers.Note, 0, len(resp.Data))
	for i, raw := range resp.Data {
		n, err := normaliseNote(raw, accountID, ticketID)
		if err != nil {
			return nil, fmt.Errorf("note %d: %w", i, err)
		}
		notes = append(notes, n)
	}
	return notes, nil
}

// normaliseNote turns one vendor note into a providers.Note.
func normaliseNote(raw json.RawMessage, accountID uint, ticketID string) (providers.Note, error) {
	var v noteJSON
	if err := json.Unmarshal(raw, &v); err != nil {
		return providers.Note{}, fmt.Errorf("decode: %w", err)
	}
	id := clean(string(v.DialogID))
	if id == "" {
		return providers.Note{}, errors.New("no DialogId")
	}
	n := providers.Note{
		Provider:   providers.KindAlibaba,
		AccountID:  accountID,
		TicketID:   ticketID,
		ID:         id,
		AuthorName: clean(string(v.User.Name)),
		AuthorRole: role(int64(v.User.Role)),
		CreatedAt:  time.UnixMilli(int64(v.CreateTime)).UTC(),
		Raw:        append(json.RawMessage(nil), raw...),
	}
	schema, content := clean(string(v.Dialog.Schema)), clean(string(v.Dialog.Content))
	switch v.Type {
	case typeCard:
		n.ContentType = "card"
		n.Content, n.Body = schema, renderCard(schema)
		if n.Body == "" {
			// Alibaba says Schema is reserved and Content holds the text
			// meanwhile; the documented example is a card with Schema "null".
			n.Content, n.Body = content, content
		}
	case typeText:
		n.ContentType = "text"
		n.Content, n.Body = content, content
	default:
		n.ContentType = "type " + strconv.FormatInt(int64(v.Type), 10)
		n.Content, n.Body = content, content
		if n.Body == "" {
			n.Content, n.Body = schema, renderCard(schema)
		}
	}
	switch v.Status {
	case 0:
		// No status sent: leave Read unknown.
	case statusUnread:
		n.Read = new(false)
	default:
		// 2 is read; the documented example shows 6, taken as read.
		n.Read = new(true)
	}
	for _, a := range v.Attachments {
		name, u := clean(string(a.Name)), clean(string(a.URL))
		if name == "" && u == "" {
			continue
		}
		n.Attachments = append(n.Attachments, providers.Attachment{Name: name, URL: u})
	}
	return n, nil
}

// clean trims s and treats Alibaba's literal "null" as empty.
func clean(s string) string {
	s = strings.TrimSpace(s)
	if s == "null" {
		return ""
	}
	return s
}

// role maps User.Role: 2 is a support agent, 3 the customer, anything else
// the system.
func role(r int64) providers.Role {
	switch r {
	case roleAgent:
		return providers.RoleAgent
	case roleCustomer:
		return providers.RoleCustomer
	}
	return providers.RoleSystem
}

// ListNotes returns the messages matching q, newest first. With a ticket it
// reads that ticket's messages; without one it lists the tickets created
// from q.From minus a lookback to q.To and reads their messages
// concurrently. It returns a *providers.Error when Alibaba refuses or fails.
func (c *Client) ListNotes(ctx context.Context, q providers.Query) (providers.NoteList, error) {
	const op = "list notes"
	if q.TicketID != "" {
		notes, err := c.ticketNotes(ctx, op, q.TicketID)
		if err != nil {
			return providers.NoteList{}, err
		}
		return newestFirst(notes, q, false), nil
	}

	from := q.From
	if !from.IsZero() {
		from = from.Add(-lookback)
	}
	tickets, total, err := c.listTickets(ctx, op, ticketFilter{from: from, to: q.To}, maxTicketsScanned)
	if err != nil {
		return providers.NoteList{}, err
	}
	perTicket := make([][]providers.Note, len(tickets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchers)
	for i, t := range tickets {
		g.Go(func() error {
			notes, err := c.ticketNotes(gctx, op, t.ID)
			if errors.Is(err, providers.ErrNotFound) {
				// Gone between listing and reading: nothing to show.
				return nil
			}
			if err != nil {
				return err
			}
			perTicket[i] = slices.DeleteFunc(notes, func(n providers.Note) bool { return !q.Contains(n.CreatedAt) })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return providers.NoteList{}, err
	}
	return newestFirst(slices.Concat(perTicket...), q, total > len(tickets)), nil
}

// ticketNotes reads every message of one ticket.
func (c *Client) ticketNotes(ctx context.Context, op, ticketID string) ([]providers.Note, error) {
	body, requestID, err := c.call(ctx, op, "ListTicketNotes", url.Values{"TicketId": {ticketID}}, false)
	if err != nil {
		return nil, err
	}
	notes, err := parseNotes(body, c.accountID, ticketID)
	if err != nil {
		return nil, decodeError(op, requestID, fmt.Errorf("ticket %s: %w", ticketID, err))
	}
	return notes, nil
}

// newestFirst keeps the notes inside q, sorts them newest first and cuts
// them at q.Max().
func newestFirst(notes []providers.Note, q providers.Query, truncated bool) providers.NoteList {
	notes = slices.DeleteFunc(notes, func(n providers.Note) bool { return !q.Contains(n.CreatedAt) })
	slices.SortStableFunc(notes, func(a, b providers.Note) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		// Same millisecond: the larger DialogId came later.
		if c := cmp.Compare(len(b.ID), len(a.ID)); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if len(notes) > q.Max() {
		notes, truncated = notes[:q.Max()], true
	}
	if notes == nil {
		notes = []providers.Note{}
	}
	return providers.NoteList{Notes: notes, Truncated: truncated}
}

// AddNote replies to a ticket with ReplyTicket (unencrypted); the reply is
// visible to Alibaba Cloud support and cannot be taken back. It is sent
// once, never retried. It returns the message as ListTicketNotes shows it,
// or as sent when that read fails, with ReplyTicket's RequestId as the
// receipt, and a *providers.Error when Alibaba refuses or fails the reply.
func (c *Client) AddNote(ctx context.Context, ticketID, body string) (providers.Note, providers.Receipt, error) {
	const op = "add note"
	params := url.Values{
		"TicketId": {ticketID},
		"Content":  {body},
		"Encrypt":  {"false"},
	}
	resp, requestID, err := c.call(ctx, op, "ReplyTicket", params, true)
	if err != nil {
		return providers.Note{}, providers.Receipt{}, err
	}
	rcpt := providers.Receipt{RequestID: requestID}
	dialogID, err := parseReply(resp)
	if err != nil {
		// The reply went through; only its id is unreadable.
		dialogID = ""
	}
	sent := providers.Note{
		Provider:    providers.KindAlibaba,
		AccountID:   c.accountID,
		TicketID:    ticketID,
		ID:          dialogID,
		AuthorRole:  providers.RoleCustomer,
		Body:        body,
		Content:     body,
		ContentType: "text",
		CreatedAt:   c.now().UTC(),
		Raw:         append(json.RawMessage(nil), resp...),
	}
	// Read the conversation back to return the message as stored; a failure
	// here must not turn a successful reply into an error the user retries.
	notes, err := c.ticketNotes(ctx, op, ticketID)
	if err != nil {
		return sent, rcpt, nil
	}
	for i := len(notes) - 1; i >= 0; i-- {
		n := notes[i]
		if (dialogID != "" && n.ID == dialogID) ||
			(dialogID == "" && n.AuthorRole == providers.RoleCustomer && n.Content == body) {
			return n, rcpt, nil
		}
	}
	return sent, rcpt, nil
}

// replyResponse is the ReplyTicket answer past the envelope: Data is the
// new message's DialogId.
type replyResponse struct {
	Data flexString `json:"Data"`
}

// parseReply returns the DialogId of a ReplyTicket answer, or an error when
// the body is not the documented shape or holds no id.
func parseReply(body []byte) (string, error) {
	var r replyResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("decode reply: %w", err)
	}
	id := clean(string(r.Data))
	if id == "" {
		return "", errors.New("reply without dialog id")
	}
	return id, nil
}
