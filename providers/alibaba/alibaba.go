// Package alibaba is the client for the Alibaba Cloud Ticket System API
// (product Workorder, API version 2021-06-10), RPC style, signed with
// HMAC-SHA1 signature version 1.0.
//
// A "note" here is one message of a ticket's conversation between the
// customer and Alibaba Cloud support: ListTicketNotes returns them per ticket,
// without paging or date filter, and ReplyTicket adds one that support reads.
// Notes can be neither edited nor deleted.
//
// Vendor reference: https://www.alibabacloud.com/help/en/ticket-system-api/latest/api-workorder-2021-06-10-listticketnotes
package alibaba

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// The account fields, keys of Account.Settings and Account.Secrets.
const (
	FieldAccessKeyID     = "access_key_id"
	FieldAccessKeySecret = "access_key_secret"
	FieldSecurityToken   = "security_token"
	FieldUID             = "uid"
	FieldRegion          = "region"
)

// DefaultRegion is used when the account names no region.
const DefaultRegion = "cn-hangzhou"

// APIVersion is the Workorder API version every request names; the older
// 2020-03-26 version takes different parameters.
const APIVersion = "2021-06-10"

// Alibaba documents no request rate for the Ticket System API, so the default
// is deliberately conservative. A burst of 1 keeps every wall-clock second
// at or under the rate: a larger burst lets one second see burst+rate calls.
const (
	defaultRate  = 5.0
	defaultBurst = 1
)

var _ providers.Provider = (*Client)(nil)

// Fields returns the settings and secrets an Alibaba Cloud account needs.
// It cannot fail.
func Fields() []providers.Field {
	return []providers.Field{
		{Name: FieldAccessKeyID, Label: "field." + FieldAccessKeyID, Required: true},
		{Name: FieldAccessKeySecret, Label: "field." + FieldAccessKeySecret, Secret: true, Required: true},
		{Name: FieldSecurityToken, Label: "field." + FieldSecurityToken, Secret: true},
		{Name: FieldUID, Label: "field." + FieldUID},
		{Name: FieldRegion, Label: "field." + FieldRegion},
	}
}

// Host returns the Workorder API host for a region: two regions have their
// own host, every other region (and the empty one) uses the central one.
func Host(region string) string {
	switch region {
	case "ap-northeast-1", "ap-southeast-1":
		return "workorder." + region + ".aliyuncs.com"
	}
	return "workorder.aliyuncs.com"
}

// Client talks to the Ticket System API for one account.
type Client struct {
	accountID uint
	uid       string
	endpoint  string
	now       func() time.Time
	http      *vendorhttp.Client
}

// New builds a client for acct. It returns a *providers.Error of kind
// ErrInvalid when a required field is missing or the endpoint is not a URL.
func New(acct providers.Account, opts providers.Options) (*Client, error) {
	keyID := strings.TrimSpace(acct.Settings[FieldAccessKeyID])
	secret := acct.Secrets[FieldAccessKeySecret]
	var missing []string
	if keyID == "" {
		missing = append(missing, FieldAccessKeyID)
	}
	if strings.TrimSpace(secret) == "" {
		missing = append(missing, FieldAccessKeySecret)
	}
	if len(missing) > 0 {
		return nil, &providers.Error{Provider: providers.KindAlibaba, Op: "new client", Kind: providers.ErrInvalid,
			Message: "missing " + strings.Join(missing, ", ")}
	}
	region := strings.TrimSpace(acct.Settings[FieldRegion])
	if region == "" {
		region = DefaultRegion
	}
	endpoint := "https://" + Host(region) + "/"
	if acct.Endpoint != "" {
		u, err := url.Parse(acct.Endpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, &providers.Error{Provider: providers.KindAlibaba, Op: "new client", Kind: providers.ErrInvalid,
				Message: "endpoint is not an absolute URL"}
		}
		if u.Path == "" {
			u.Path = "/"
		}
		endpoint = u.String()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	// The signature goes on inside the transport, below the rate limiter
	// and the retry loop, so every attempt carries a fresh SignatureNonce and
	// Timestamp: Alibaba refuses a reused nonce, so a retried request must be
	// signed anew.
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	signed := *base
	signed.Transport = &signingTransport{next: next, signer: &signer{
		keyID:  keyID,
		secret: secret,
		token:  acct.Secrets[FieldSecurityToken],
		now:    now,
		nonce:  uuid.NewString,
	}}
	opts.HTTPClient = &signed

	return &Client{
		accountID: acct.ID,
		uid:       strings.TrimSpace(acct.Settings[FieldUID]),
		endpoint:  endpoint,
		now:       now,
		http:      vendorhttp.New(providers.KindAlibaba, opts, defaultRate, defaultBurst),
	}, nil
}

// Capabilities reports what the Ticket System API offers: replies that
// support reads, no edit or delete, notes only per ticket and no date filter
// on the server. It cannot fail.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Add:         providers.AddSupportReply,
		NeedsTicket: true,
	}
}

// UpdateNote always returns a *providers.Error of kind ErrUnsupported: the
// Ticket System API cannot change a sent message.
func (c *Client) UpdateNote(ctx context.Context, ticketID, noteID, body string) (providers.Note, providers.Receipt, error) {
	return providers.Note{}, providers.Receipt{}, c.unsupported("update note")
}

// DeleteNote always returns a *providers.Error of kind ErrUnsupported: the
// Ticket System API cannot delete a sent message.
func (c *Client) DeleteNote(ctx context.Context, ticketID, noteID string) (providers.Receipt, error) {
	return providers.Receipt{}, c.unsupported("delete note")
}

func (c *Client) unsupported(op string) error {
	return &providers.Error{Provider: providers.KindAlibaba, Op: op, Kind: providers.ErrUnsupported,
		Message: "the Ticket System API has no way to " + op}
}

// Check lists one page of tickets to prove the credentials work. It returns
// a *providers.Error when Alibaba refuses or fails.
func (c *Client) Check(ctx context.Context) (providers.CheckResult, error) {
	page, err := c.ticketPage(ctx, "check", ticketFilter{}, 1, checkPageSize)
	if err != nil {
		return providers.CheckResult{}, err
	}
	noun := "tickets"
	if page.total == 1 {
		noun = "ticket"
	}
	return providers.CheckResult{
		Detail:    fmt.Sprintf("%d %s visible", page.total, noun),
		RequestID: page.requestID,
	}, nil
}
