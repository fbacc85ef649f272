// Package sendbird is the client for Sendbird Desk ticket notes, through the
// Desk Platform API v1.
//
// Ticket notes are internal: admins and agents see them, customers never do.
// Vendor documentation:
// https://sendbird.com/docs/desk/platform-api/v1/features/ticket-note and
// https://sendbird.com/docs/desk/platform-api/v1/features/ticket.
//
// What the public pages do not confirm is kept in vendor.go, in one block.
package sendbird

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// Account field names.
const (
	FieldApplicationID = "application_id"
	FieldAPIToken      = "api_token"
)

// Transport defaults. Sendbird documents no rate limit for Desk notes, so
// the default stays conservative. A burst of 1 keeps every wall-clock
// second at or under the rate: a larger burst lets one second see
// burst+rate calls.
const (
	defaultRate  = 10
	defaultBurst = 1
)

// tokenHeader carries the Desk API token on every request.
const tokenHeader = "SENDBIRDDESKAPITOKEN"

// appIDPattern keeps the application id to characters a host name allows,
// so it cannot redirect requests to another host.
var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

var _ providers.Provider = (*Client)(nil)

// Client talks to one Sendbird Desk application. It is safe for concurrent
// use.
type Client struct {
	acct  providers.Account
	base  string
	token string
	http  *vendorhttp.Client
	now   func() time.Time
}

// Fields returns the settings and secrets a Sendbird Desk account needs.
func Fields() []providers.Field {
	return []providers.Field{
		{Name: FieldApplicationID, Label: "field." + FieldApplicationID, Required: true},
		{Name: FieldAPIToken, Label: "field." + FieldAPIToken, Secret: true, Required: true},
	}
}

// New returns a client for acct. It returns a *providers.Error of kind
// ErrInvalid when the application id or API token is missing, the
// application id has characters a host name cannot hold, or acct.Endpoint is
// not an http(s) URL.
func New(acct providers.Account, opts providers.Options) (*Client, error) {
	const op = "new client"
	appID := strings.TrimSpace(acct.Settings[FieldApplicationID])
	token := strings.TrimSpace(acct.Secrets[FieldAPIToken])
	switch {
	case appID == "":
		return nil, invalid(op, FieldApplicationID+" is required")
	case token == "":
		return nil, invalid(op, FieldAPIToken+" is required")
	}
	base := strings.TrimRight(strings.TrimSpace(acct.Endpoint), "/")
	if base == "" {
		if !appIDPattern.MatchString(appID) {
			return nil, invalid(op, FieldApplicationID+" may hold only letters, digits and dashes")
		}
		base = "https://desk-api-" + appID + ".sendbird.com/platform/v1"
	} else if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid(op, "endpoint must be an http or https URL")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		acct:  acct,
		base:  base,
		token: token,
		http:  vendorhttp.New(providers.KindSendbird, opts, defaultRate, defaultBurst),
		now:   now,
	}, nil
}

// Capabilities returns what Sendbird Desk allows: internal notes can be
// added, edited and deleted, and listed across tickets by date.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Add:              providers.AddInternalNote,
		Edit:             true,
		Delete:           true,
		NeedsTicket:      false,
		ServerDateFilter: true,
	}
}

// Check lists one ticket to prove the token works. It returns a
// *providers.Error when the vendor refuses or fails.
func (c *Client) Check(ctx context.Context) (providers.CheckResult, error) {
	const op = "check"
	resp, err := c.read(ctx, op, "/tickets", url.Values{"limit": {"1"}, "offset": {"0"}})
	if err != nil {
		return providers.CheckResult{}, err
	}
	l, err := decodeList(resp.Body)
	if err != nil {
		return providers.CheckResult{}, c.malformed(op, resp, fmt.Errorf("decode tickets: %w", err))
	}
	n := len(l.Results)
	if l.Count != nil {
		n = *l.Count
	}
	detail := fmt.Sprintf("%d tickets visible", n)
	if n == 1 {
		detail = "1 ticket visible"
	}
	return providers.CheckResult{Detail: detail, RequestID: resp.Header.Get(requestIDHeader)}, nil
}

// read sends an idempotent GET (retried by vendorhttp) and returns the
// successful answer, or a *providers.Error.
func (c *Client) read(ctx context.Context, op, path string, query url.Values) (*vendorhttp.Response, error) {
	req, err := c.newRequest(ctx, op, http.MethodGet, path, query, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Read(req, op)
	if err != nil {
		return nil, err
	}
	return resp, c.check(op, resp)
}

// write sends a request exactly once and returns the successful answer, or
// a *providers.Error.
func (c *Client) write(ctx context.Context, op, method, path string, body any) (*vendorhttp.Response, error) {
	req, err := c.newRequest(ctx, op, method, path, nil, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Write(req, op)
	if err != nil {
		return nil, err
	}
	return resp, c.check(op, resp)
}

func (c *Client) newRequest(ctx context.Context, op, method, path string, query url.Values, body any) (*http.Request, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, &providers.Error{Provider: providers.KindSendbird, Op: op, Kind: providers.ErrInvalid, Err: fmt.Errorf("encode body: %w", err)}
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, &providers.Error{Provider: providers.KindSendbird, Op: op, Kind: providers.ErrInvalid, Err: fmt.Errorf("build request: %w", err)}
	}
	if body != nil {
		// Only a request with a body says what it is. The page's header
		// line spells the charset "utf8", which is no registered charset
		// name; UTF-8 is.
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(tokenHeader, c.token)
	return req, nil
}

// check turns a non-2xx answer, or a 2xx one whose body is a Desk error
// ({"error": true, ...}), into a *providers.Error.
func (c *Client) check(op string, resp *vendorhttp.Response) error {
	if resp.Status >= 200 && resp.Status < 300 && !isErrorBody(resp.Body) {
		return nil
	}
	code, msg := parseError(resp.Body)
	return &providers.Error{
		Provider:  providers.KindSendbird,
		Op:        op,
		Kind:      kindFor(code, resp.Status),
		Status:    resp.Status,
		Code:      code,
		Message:   msg,
		RequestID: resp.Header.Get(requestIDHeader),
	}
}

// isErrorBody reports whether body is a JSON object with "error": true. The
// cheap byte test first spares decoding every large list twice.
func isErrorBody(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !bytes.Contains(body, []byte(`"error"`)) {
		return false
	}
	var flag struct {
		Error bool `json:"error"`
	}
	return json.Unmarshal(body, &flag) == nil && flag.Error
}

// kindFor maps a Desk error code, or else the HTTP status, to a sentinel.
func kindFor(code string, status int) error {
	switch code {
	case "deskp400105", "deskp400111", "deskp400113":
		return providers.ErrInvalid
	case "deskp400201":
		return providers.ErrNotFound
	}
	if status >= 200 && status < 300 {
		// An error body on a success status: the vendor failed to say why.
		return providers.ErrUnavailable
	}
	return providers.KindForStatus(status)
}

// malformed reports an answer that could not be read.
func (c *Client) malformed(op string, resp *vendorhttp.Response, err error) error {
	return &providers.Error{
		Provider:  providers.KindSendbird,
		Op:        op,
		Kind:      providers.ErrUnavailable,
		Status:    resp.Status,
		RequestID: resp.Header.Get(requestIDHeader),
		Err:       err,
	}
}

func invalid(op, msg string) error {
	return &providers.Error{Provider: providers.KindSendbird, Op: op, Kind: providers.ErrInvalid, Message: msg}
}

func notFound(op, msg string) error {
	return &providers.Error{Provider: providers.KindSendbird, Op: op, Kind: providers.ErrNotFound, Message: msg}
}

// parseNote normalises one note; raw is kept as the note's Raw.
func parseNote(raw json.RawMessage, accountID uint) (providers.Note, error) {
	var w wireNote
	if err := json.Unmarshal(raw, &w); err != nil {
		return providers.Note{}, err
	}
	if w.ID == "" {
		return providers.Note{}, fmt.Errorf("note without id")
	}
	ticket, err := noteTicketID(w)
	if err != nil {
		return providers.Note{}, fmt.Errorf("note %s: %w", w.ID, err)
	}
	created, err := parseTime(w.CreatedAt)
	if err != nil {
		return providers.Note{}, fmt.Errorf("note %s: createdAt: %w", w.ID, err)
	}
	var updated time.Time
	if strings.TrimSpace(w.UpdatedAt) != "" {
		if updated, err = parseTime(w.UpdatedAt); err != nil {
			return providers.Note{}, fmt.Errorf("note %s: updatedAt: %w", w.ID, err)
		}
	}
	name, role := author(w.CreatedBy)
	return providers.Note{
		Provider:    providers.KindSendbird,
		AccountID:   accountID,
		TicketID:    ticket,
		ID:          string(w.ID),
		AuthorName:  name,
		AuthorRole:  role,
		Body:        w.Note,
		Content:     w.Note,
		ContentType: "text",
		CreatedAt:   created,
		UpdatedAt:   updated,
		Raw:         append(json.RawMessage(nil), raw...),
	}, nil
}

// author names who wrote a note: the agent in createdBy, or the Platform
// API when createdBy is null (the documented meaning of null).
func author(createdBy json.RawMessage) (string, providers.Role) {
	raw := bytes.TrimSpace(createdBy)
	if len(raw) == 0 || string(raw) == "null" {
		return "Platform API", providers.RoleSystem
	}
	if raw[0] != '{' {
		if id := scalar(raw); id != "" {
			return "Agent " + id, providers.RoleAgent
		}
		return "Agent", providers.RoleAgent
	}
	var a wireAgent
	_ = json.Unmarshal(raw, &a) // an odd agent object still means an agent wrote it
	for _, s := range []string{a.DisplayName, a.Name, a.Nickname, a.SendbirdID, scalar(a.UserID)} {
		if s = strings.TrimSpace(s); s != "" {
			return s, providers.RoleAgent
		}
	}
	if id := scalar(a.ID); id != "" {
		return "Agent " + id, providers.RoleAgent
	}
	return "Agent", providers.RoleAgent
}

// parseTicket normalises one ticket; an unreadable createdAt leaves
// CreatedAt zero.
func parseTicket(raw json.RawMessage) (providers.Ticket, error) {
	var w wireTicket
	if err := json.Unmarshal(raw, &w); err != nil {
		return providers.Ticket{}, err
	}
	if w.ID == "" {
		return providers.Ticket{}, fmt.Errorf("ticket without id")
	}
	status := w.Status2
	if status == "" {
		status = w.Status
	}
	created, _ := parseTime(w.CreatedAt)
	return providers.Ticket{
		ID:        string(w.ID),
		Title:     w.ChannelName,
		Status:    status,
		CreatedAt: created,
		Closed:    w.closed(status),
		Raw:       append(json.RawMessage(nil), raw...),
	}, nil
}
