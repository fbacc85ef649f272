package providers

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors that every vendor failure unwraps to.
var (
	ErrInvalid      = errors.New("invalid request")
	ErrUnauthorized = errors.New("credentials refused")
	ErrForbidden    = errors.New("permission denied")
	ErrNotFound     = errors.New("not found")
	ErrRateLimited  = errors.New("rate limited")
	ErrUnavailable  = errors.New("vendor unavailable")
	ErrUnsupported  = errors.New("not supported by this provider")
)

// ErrRedirect is the cause (Error.Err) of a vendor call refused because the
// endpoint answered with a redirect: vendor APIs do not redirect, and
// following one would send the account's credentials (token headers,
// signed or secret-bearing bodies) wherever the answer points. The Error's
// Kind is ErrInvalid, since the endpoint setting is what is wrong.
var ErrRedirect = errors.New("endpoint answered with a redirect")

// Error is a vendor failure. It matches its Kind with errors.Is and keeps the
// vendor's code and request id, which are safe to show; Message is the
// vendor's own text, for logs only.
type Error struct {
	Provider  Kind
	Op        string // short lowercase operation, e.g. "list notes"
	Kind      error  // one of the Err sentinels
	Status    int    // HTTP status, 0 when no response
	Code      string // vendor error code
	Message   string // vendor message, for logs
	RequestID string // vendor request id (RequestId, X-Tt-Logid, ...)
	// Detail is a short, safe explanation from the vendor's answer beyond
	// its code, e.g. "action ticket:ReplyTicket, NoPermissionType
	// ImplicitDeny" from Alibaba's AccessDeniedDetail; empty when none.
	Detail string
	Err    error // underlying cause, if any
}

// Error formats e as "provider: op: kind (code ..., request id ...)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %v", e.Provider, e.Op, e.Kind)
	var extra []string
	if e.Code != "" {
		extra = append(extra, "code "+e.Code)
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if e.Detail != "" {
		extra = append(extra, e.Detail)
	}
	if e.Message != "" {
		extra = append(extra, e.Message)
	}
	if e.Err != nil {
		extra = append(extra, e.Err.Error())
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, "; ") + ")")
	}
	return b.String()
}

// Unwrap lets errors.Is match both the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

// KindForStatus maps an HTTP status to a sentinel, for vendors whose error
// codes do not say more.
func KindForStatus(status int) error {
	switch {
	case status == 400 || status == 422:
		return ErrInvalid
	case status == 401:
		return ErrUnauthorized
	case status == 403:
		return ErrForbidden
	case status == 404:
		return ErrNotFound
	case status == 429:
		return ErrRateLimited
	default:
		return ErrUnavailable
	}
}

// AsError returns the *Error inside err, or nil.
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}
