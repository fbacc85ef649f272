// Package providers defines what the dashboard needs from a helpdesk vendor:
// one small Provider interface, the normalised types every vendor client
// returns, and the typed errors vendor failures unwrap to.
//
// Each vendor lives in its own sub-package (alibaba, sendbird, feishu) next to
// a simulator of its API; the registry sub-package builds a client from a
// stored account.
package providers

import (
	"context"
	"encoding/json"
	"time"
)

// Kind names a vendor.
type Kind string

// The supported vendors.
const (
	KindAlibaba  Kind = "alibaba"
	KindSendbird Kind = "sendbird"
	KindFeishu   Kind = "feishu"
)

// Kinds lists every supported vendor in display order.
var Kinds = []Kind{KindAlibaba, KindSendbird, KindFeishu}

// Valid reports whether k is a supported vendor.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Role is the side a note's author speaks for.
type Role string

// Author roles, normalised across vendors.
const (
	RoleAgent    Role = "agent"
	RoleCustomer Role = "customer"
	RoleSystem   Role = "system"
)

// AddKind says what adding a note does at a vendor, so the form can tell the
// user plainly who will see it.
type AddKind string

// The meanings of "add a note".
const (
	AddNone            AddKind = ""
	AddInternalNote    AddKind = "internal_note"    // Sendbird: agents only
	AddSupportReply    AddKind = "support_reply"    // Alibaba: visible to Alibaba Cloud support
	AddCustomerMessage AddKind = "customer_message" // Feishu: visible to the customer
)

// Capabilities says which operations and filters a provider supports.
type Capabilities struct {
	Add    AddKind // AddNone when notes cannot be added
	Edit   bool
	Delete bool
	// NeedsTicket is true when the vendor lists notes only per ticket; the
	// client then lists tickets in the date range first.
	NeedsTicket bool
	// ServerDateFilter is true when the vendor filters by date itself.
	ServerDateFilter bool
}

// Attachment is a file attached to a note. URLs may be temporary.
type Attachment struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Note is one note or message of a ticket, normalised across vendors.
type Note struct {
	Provider  Kind   `json:"provider"`
	AccountID uint   `json:"account_id"`
	TicketID  string `json:"ticket_id"`
	ID        string `json:"id"`
	// ChatMessageID is the vendor's second id of the note where it has one:
	// Feishu's chat message_id (ID is the ticket-message id). Empty
	// elsewhere.
	ChatMessageID string `json:"chat_message_id,omitempty"`
	AuthorName    string `json:"author_name"`
	AuthorRole    Role   `json:"author_role"`
	// Body is plain text, safe to show once escaped; links in rich text are
	// kept as "text (url)".
	Body string `json:"body"`
	// Content is the content as the vendor sent it, and ContentType its type
	// in the vendor's own words ("text", "card", "post", "image", ...).
	Content     string       `json:"content"`
	ContentType string       `json:"content_type"`
	CreatedAt   time.Time    `json:"created_at"` // UTC
	UpdatedAt   time.Time    `json:"updated_at"` // UTC; zero when the vendor has none
	Attachments []Attachment `json:"attachments,omitempty"`
	// Read is nil where the vendor has no read status.
	Read *bool `json:"read,omitempty"`
	// Raw is the vendor's JSON for this note, unchanged.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Ticket is a helpdesk ticket, normalised across vendors.
type Ticket struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`          // UTC; zero when unknown
	UpdatedAt time.Time `json:"updated_at,omitzero"` // UTC; zero when the vendor has none
	// Closed is true when the vendor says the ticket is finished, so a sync
	// pass need not read its notes again until it reopens.
	Closed bool            `json:"closed,omitempty"`
	Raw    json.RawMessage `json:"raw,omitempty"`
}

// Query selects notes. From and To bound CreatedAt as the half-open interval
// [From, To); a zero bound is open. Callers turn the viewer's inclusive days
// into instants before asking.
type Query struct {
	TicketID string
	From, To time.Time
	// Limit caps how many notes are fetched; 0 means DefaultLimit.
	Limit int
}

// DefaultLimit is the most notes one ListNotes call returns when Query.Limit
// is 0.
const DefaultLimit = 2000

// Max returns the effective note cap of q.
func (q Query) Max() int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return q.Limit
}

// Contains reports whether t falls inside q's date range.
func (q Query) Contains(t time.Time) bool {
	if !q.From.IsZero() && t.Before(q.From) {
		return false
	}
	if !q.To.IsZero() && !t.Before(q.To) {
		return false
	}
	return true
}

// NoteList is the result of ListNotes.
type NoteList struct {
	Notes []Note // newest first
	// Truncated is true when the result was cut at a limit (Query.Limit or a
	// cap on tickets scanned) and more notes exist.
	Truncated bool
}

// TicketQuery selects tickets, by creation time, newest first.
type TicketQuery struct {
	From, To time.Time // half-open, zero is open
	Limit    int       // 0 means DefaultTicketLimit
}

// DefaultTicketLimit is the most tickets one ListTickets call returns when
// TicketQuery.Limit is 0.
const DefaultTicketLimit = 200

// Max returns the effective ticket cap of q.
func (q TicketQuery) Max() int {
	if q.Limit <= 0 {
		return DefaultTicketLimit
	}
	return q.Limit
}

// CheckResult is what a connection check read from the vendor.
type CheckResult struct {
	// Detail is a short, safe summary such as "3 tickets visible".
	Detail    string
	RequestID string
}

// Receipt is what a successful write leaves behind for the audit log.
type Receipt struct {
	// RequestID is the vendor's request id of the write call (Alibaba's
	// RequestId, Feishu's X-Tt-Logid, Sendbird's X-Request-Id); empty when
	// the vendor sends none.
	RequestID string
}

// Provider is what the dashboard calls on a vendor account. Every method
// returns an *Error (matching one of the Err sentinels with errors.Is) when
// the vendor refuses or fails, and ErrUnsupported for operations the
// Capabilities do not offer.
type Provider interface {
	Capabilities() Capabilities
	// ListNotes returns the notes matching q, newest first.
	ListNotes(ctx context.Context, q Query) (NoteList, error)
	// ListTickets returns tickets, newest first.
	ListTickets(ctx context.Context, q TicketQuery) ([]Ticket, error)
	// AddNote adds a note to a ticket and returns it as the vendor stored it,
	// with the write's receipt.
	AddNote(ctx context.Context, ticketID, body string) (Note, Receipt, error)
	// UpdateNote replaces a note's text and returns the note and the
	// write's receipt.
	UpdateNote(ctx context.Context, ticketID, noteID, body string) (Note, Receipt, error)
	// DeleteNote deletes a note and returns the write's receipt.
	DeleteNote(ctx context.Context, ticketID, noteID string) (Receipt, error)
	// Check performs a real read call to prove the credentials work.
	Check(ctx context.Context) (CheckResult, error)
}
