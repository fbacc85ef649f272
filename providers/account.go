package providers

import (
	"net/http"
	"time"
)

// Account is what a client is built from: a stored provider account with its
// secrets decrypted.
type Account struct {
	ID   uint
	Name string
	Kind Kind
	// Endpoint overrides the vendor's base URL when not empty.
	Endpoint string
	// Settings holds the non-secret fields, Secrets the secret ones, both
	// keyed by Field.Name.
	Settings map[string]string
	Secrets  map[string]string
}

// Field describes one credential or setting of a vendor account, so forms
// and validation are driven by the vendor package.
type Field struct {
	Name     string // key in Account.Settings or Account.Secrets
	Label    string // message id of the label
	Secret   bool
	Required bool
	// Choices, when not empty, are the allowed values.
	Choices []string
}

// Options are the transport settings a client is built with.
type Options struct {
	// HTTPClient is the base client; nil means a fresh one.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt; 0 means 15 s.
	Timeout time.Duration
	// RateLimit is requests per second shared by all calls of the account;
	// 0 means the vendor's default.
	RateLimit float64
	// Burst is the limiter's burst; 0 means a vendor default.
	Burst int
	// MaxRetries for reads; 0 means 3, negative means none.
	MaxRetries int
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// Observer, when set, is told of every vendor call and every wait for
	// the rate limit (the server's metrics); nil observes nothing.
	Observer Observer
}

// Observer is told how an account's vendor calls went. vendorhttp, the one
// place every vendor call passes through, is its only caller; the
// interface sits here beside Options because vendorhttp imports this
// package, not the other way round. Implementations are called on the
// call's goroutine, so they must be quick and safe for concurrent use.
type Observer interface {
	// VendorCall reports one call of op (a read with its retries, or a
	// write) with its outcome (see vendorhttp's Outcome constants) and how
	// long the caller waited for it, rate-limit waits included.
	VendorCall(provider Kind, op, outcome string, took time.Duration)
	// RateLimitWait reports one attempt held back by the account's rate
	// limit, and for how long.
	RateLimitWait(provider Kind, waited time.Duration)
}
