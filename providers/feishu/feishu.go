// Package feishu is the client for the Feishu / Lark Helpdesk v1 API: a
// ticket's chat messages are its notes, and adding a note sends a message
// the ticket's customer sees.
//
// Vendor docs (list ticket messages):
// https://open.feishu.cn/document/server-docs/helpdesk-v1/ticket-management/ticket-message/list
package feishu

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

var _ providers.Provider = (*Client)(nil)

// Base URLs of the two deployments; the paths are the same on both.
const (
	hostFeishu = "https://open.feishu.cn"
	hostLark   = "https://open.larksuite.com"
)

// Account field names, as stored in Account.Settings and Account.Secrets.
const (
	fieldDomain        = "domain"
	fieldAppID         = "app_id"
	fieldAppSecret     = "app_secret"
	fieldHelpdeskID    = "helpdesk_id"
	fieldHelpdeskToken = "helpdesk_token"
)

// Domain choices.
const (
	domainFeishu = "feishu"
	domainLark   = "lark"
)

// Default pacing for one account. The docs give 50/s and 1000/min for
// sending and listing tickets, and only "special limits" for listing
// messages; 15/s stays under the per-minute cap (about 16.7/s sustained)
// and leaves room for other apps of the same tenant.
const (
	defaultRate  = 15
	defaultBurst = 1
)

// Fields returns the settings and secrets a Feishu / Lark account needs.
// It never fails.
func Fields() []providers.Field {
	return []providers.Field{
		{Name: fieldDomain, Label: "field." + fieldDomain, Required: true, Choices: []string{domainFeishu, domainLark}},
		{Name: fieldAppID, Label: "field." + fieldAppID, Required: true},
		{Name: fieldAppSecret, Label: "field." + fieldAppSecret, Secret: true, Required: true},
		{Name: fieldHelpdeskID, Label: "field." + fieldHelpdeskID, Required: true},
		{Name: fieldHelpdeskToken, Label: "field." + fieldHelpdeskToken, Secret: true, Required: true},
	}
}

// Client talks to the helpdesk of one Feishu / Lark account. It is safe for
// concurrent use.
type Client struct {
	accountID uint
	base      string
	appID     string
	appSecret string
	// helpdeskAuth is the X-Lark-Helpdesk-Authorization value.
	helpdeskAuth string
	http         *vendorhttp.Client
	now          func() time.Time
	tokens       *tokenCache

	// people remembers who speaks for which side of each ticket, from the
	// last SyncTickets, so a sync's message reads need no ticket read.
	peopleMu sync.Mutex
	people   map[string]people
}

// New builds a client for acct. It returns a *providers.Error of kind
// providers.ErrInvalid when a required field is missing, the domain is not
// one of the choices, or acct.Endpoint is not an absolute URL.
func New(acct providers.Account, opts providers.Options) (*Client, error) {
	get := func(f providers.Field) string {
		if f.Secret {
			return strings.TrimSpace(acct.Secrets[f.Name])
		}
		return strings.TrimSpace(acct.Settings[f.Name])
	}
	var missing []string
	for _, f := range Fields() {
		if f.Required && get(f) == "" {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return nil, invalid("new client", "missing "+strings.Join(missing, ", "))
	}

	var base string
	switch domain := acct.Settings[fieldDomain]; strings.TrimSpace(domain) {
	case domainFeishu:
		base = hostFeishu
	case domainLark:
		base = hostLark
	default:
		return nil, invalid("new client", "domain must be feishu or lark")
	}
	if acct.Endpoint != "" {
		u, err := url.Parse(acct.Endpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, invalid("new client", "endpoint must be an absolute URL")
		}
		base = strings.TrimRight(acct.Endpoint, "/")
	}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	helpdeskID := strings.TrimSpace(acct.Settings[fieldHelpdeskID])
	helpdeskToken := strings.TrimSpace(acct.Secrets[fieldHelpdeskToken])
	c := &Client{
		accountID:    acct.ID,
		base:         base,
		appID:        strings.TrimSpace(acct.Settings[fieldAppID]),
		appSecret:    strings.TrimSpace(acct.Secrets[fieldAppSecret]),
		helpdeskAuth: helpdeskAuthorization(helpdeskID, helpdeskToken),
		http:         vendorhttp.New(providers.KindFeishu, opts, defaultRate, defaultBurst),
		now:          now,
	}
	c.tokens = newTokenCache(now, c.fetchToken)
	return c, nil
}

// helpdeskAuthorization is base64(helpdesk_id + ":" + helpdesk_token) in
// standard encoding, as the helpdesk token page describes.
func helpdeskAuthorization(id, token string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + token))
}

// Capabilities reports what the helpdesk API allows: sending a message to
// the ticket's customer, no edit or delete, messages listed per ticket and
// filtered by time on the server.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Add:              providers.AddCustomerMessage,
		NeedsTicket:      true,
		ServerDateFilter: true,
	}
}

// UpdateNote always returns a *providers.Error of kind
// providers.ErrUnsupported: sent messages cannot be edited through the
// helpdesk API.
func (c *Client) UpdateNote(ctx context.Context, ticketID, noteID, body string) (providers.Note, providers.Receipt, error) {
	return providers.Note{}, providers.Receipt{}, &providers.Error{Provider: providers.KindFeishu, Op: "update note", Kind: providers.ErrUnsupported}
}

// DeleteNote always returns a *providers.Error of kind
// providers.ErrUnsupported: the helpdesk API cannot delete messages.
func (c *Client) DeleteNote(ctx context.Context, ticketID, noteID string) (providers.Receipt, error) {
	return providers.Receipt{}, &providers.Error{Provider: providers.KindFeishu, Op: "delete note", Kind: providers.ErrUnsupported}
}

func invalid(op, msg string) *providers.Error {
	return &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrInvalid, Message: msg}
}
