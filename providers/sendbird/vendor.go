package sendbird

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Unconfirmed readings of the Desk Platform API.
//
// The public ticket-note page (https://sendbird.com/docs/desk/platform-api/v1/features/ticket-note)
// confirms the list path, its parameters and error codes, the write bodies
// and the note's fields. Everything in this block is NOT shown there; each is
// a reading kept here so it is cheap to correct, and the simulator
// (sendbirdsim) follows the same reading. The order of the lists is not
// documented either; nothing here relies on it.
const (
	// notesPath is where notes are listed (confirmed) and created
	// (unconfirmed: the page's text breaks off at "POST /ticket").
	notesPath = "/ticket_notes"

	// maxWindowDays is how many whole UTC days one list request may span:
	// "the date range should be within 1 year" read strictly as 365 days,
	// start_date and end_date both included.
	maxWindowDays = 365

	// requestIDHeader carries a request id. Sendbird documents none; the
	// simulator sends this one, and an empty value is kept empty.
	requestIDHeader = "X-Request-Id"
)

// notePath is the address of one note, for PATCH (update) and DELETE.
// Unconfirmed: method and path follow the list path.
func notePath(id string) string { return notesPath + "/" + id }

// span returns the instants whose UTC days a query asks for. The vendor's
// default range when dates are left out is unconfirmed (probably the 30 days
// before end_date, seen on a sibling resource), so both dates are always
// sent: a missing To is now, and a missing From is the start of the widest
// single window ending at To's day.
//
// The list is not filtered by ticket on the server either (no ticket
// parameter is documented): ListNotes filters on the note's ticket itself.
func (c *Client) span(q providers.Query) (from, to time.Time) {
	from, to = q.From, q.To
	if to.IsZero() {
		to = c.now()
	}
	if from.IsZero() {
		from = utcDay(to.Add(-time.Nanosecond)).AddDate(0, 0, -(maxWindowDays - 1))
	}
	return from, to
}

// noteTicketID returns the ticket of a note. The page documents the key
// `ticket_id`; `ticket` (an id or an object with an id) and `ticketId` are
// accepted too because no example response confirms the key.
func noteTicketID(n wireNote) (string, error) {
	if n.TicketID != "" {
		return string(n.TicketID), nil
	}
	if n.TicketIDCamel != "" {
		return string(n.TicketIDCamel), nil
	}
	raw := bytes.TrimSpace(n.Ticket)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '{' {
		var obj struct {
			ID flexID `json:"id"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("ticket: %w", err)
		}
		return string(obj.ID), nil
	}
	var id flexID
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", fmt.Errorf("ticket: %w", err)
	}
	return string(id), nil
}

// decodeList reads a list response. The documented Desk list envelope is
// {"count", "next", "previous", "results"} (unconfirmed for notes); a bare
// array is accepted as a single, last page.
func decodeList(body []byte) (wireList, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return wireList{}, err
		}
		n := len(items)
		return wireList{Count: &n, Results: items}, nil
	}
	var env struct {
		Count    *int            `json:"count"`
		Next     *string         `json:"next"`
		Previous *string         `json:"previous"`
		Results  json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return wireList{}, err
	}
	if len(env.Results) == 0 {
		return wireList{}, errors.New(`list without "results"`)
	}
	l := wireList{Count: env.Count, Next: env.Next, Previous: env.Previous}
	if err := json.Unmarshal(env.Results, &l.Results); err != nil {
		return wireList{}, fmt.Errorf("results: %w", err)
	}
	if l.Count != nil && *l.Count < 0 {
		return wireList{}, fmt.Errorf("negative count %d", *l.Count)
	}
	return l, nil
}

// decodeWritten picks the note a create or update answered with. The page
// says writes return "a list of ticket notes resources"; the simulator sends
// the single note. Both a single object and a list (bare or in the envelope)
// are accepted: the note with id wantID, or, for a create, the newest id.
func decodeWritten(body []byte, wantID string) (json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	var candidates []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &candidates); err != nil {
			return nil, err
		}
	} else {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(body, &probe); err != nil {
			return nil, err
		}
		if _, ok := probe["results"]; ok {
			l, err := decodeList(body)
			if err != nil {
				return nil, err
			}
			candidates = l.Results
		} else {
			candidates = []json.RawMessage{body}
		}
	}
	var best json.RawMessage
	var bestID int64 = -1
	for _, c := range candidates {
		var n struct {
			ID flexID `json:"id"`
		}
		if err := json.Unmarshal(c, &n); err != nil || n.ID == "" {
			continue
		}
		if wantID != "" {
			if string(n.ID) == wantID {
				return c, nil
			}
			continue
		}
		id, _ := strconv.ParseInt(string(n.ID), 10, 64)
		if id > bestID {
			best, bestID = c, id
		}
	}
	if best == nil {
		return nil, errors.New("no note in the answer")
	}
	return best, nil
}

// End of the unconfirmed readings. Below: the vendor's JSON as documented.

// wireList is a page of a Desk list.
type wireList struct {
	Count    *int              `json:"count"`
	Next     *string           `json:"next"`
	Previous *string           `json:"previous"`
	Results  []json.RawMessage `json:"results"`
}

// wireNote is a ticket note as the Desk Platform API sends it.
type wireNote struct {
	ID            flexID          `json:"id"`
	TicketID      flexID          `json:"ticket_id"`
	TicketIDCamel flexID          `json:"ticketId"`
	Ticket        json.RawMessage `json:"ticket"`
	Note          string          `json:"note"`
	RequestedFrom string          `json:"requestedFrom"`
	// CreatedBy is the agent, or null for a note left through the Platform
	// API. Kept raw so an unexpected shape does not lose the note.
	CreatedBy json.RawMessage `json:"createdBy"`
	CreatedAt string          `json:"createdAt"`
	UpdatedAt string          `json:"updatedAt"`
}

// wireAgent is the part of an agent object used for the author's name.
type wireAgent struct {
	ID          json.RawMessage `json:"id"`
	DisplayName string          `json:"displayName"`
	Name        string          `json:"name"`
	Nickname    string          `json:"nickname"`
	SendbirdID  string          `json:"sendbirdId"`
	UserID      json.RawMessage `json:"userId"`
}

// wireTicket is the part of a Desk ticket the dashboard shows.
type wireTicket struct {
	ID          flexID          `json:"id"`
	ChannelName string          `json:"channelName"`
	Status2     string          `json:"status2"`
	Status      string          `json:"status"`
	CreatedAt   string          `json:"createdAt"`
	ClosedAt    json.RawMessage `json:"closedAt"`
}

// closed reports whether a ticket is closed: status2 CLOSED (the Desk
// status names; unconfirmed that no other final status exists) or a
// closedAt set.
func (w wireTicket) closed(status string) bool {
	at := bytes.TrimSpace(w.ClosedAt)
	return strings.EqualFold(status, "CLOSED") || (len(at) > 0 && string(at) != "null" && string(at) != `""`)
}

// wireError is the Desk error body: {"message", "code", "error": true}
// (the shape of Sendbird's other APIs; the Desk page shows only the codes).
// Code is a string such as "deskp400201"; a number is accepted too.
type wireError struct {
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
	Error   bool            `json:"error"`
}

// parseError reads the code and message of an error body; both are empty
// when the body is not a Desk error (an HTML error page, say).
func parseError(body []byte) (code, message string) {
	var e wireError
	if err := json.Unmarshal(body, &e); err != nil {
		return "", ""
	}
	return scalar(e.Code), e.Message
}

// scalar renders a JSON string or number as text; anything else is "".
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// flexID is an integer id sent as a JSON number or a string of digits.
type flexID string

// UnmarshalJSON accepts 42, "42" and null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		s = n.String()
	}
	id, ok := parseID(s)
	if !ok {
		return fmt.Errorf("id %q is not a non-negative integer", s)
	}
	*f = flexID(id)
	return nil
}

// parseID normalises a decimal id ("007" → "7"); ok is false for anything
// that is not a non-negative 64-bit integer.
func parseID(s string) (string, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return "", false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// timeLayouts are the ISO 8601 forms accepted, most likely first. Times
// without a zone are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads an ISO 8601 time into UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not ISO 8601", s)
}
