// Package vendorhttp is the HTTP behaviour all vendor clients share: a
// request-rate limit per account, a timeout per attempt, reads retried with
// capped exponential backoff and jitter (honouring Retry-After), writes never
// retried, redirects never followed, and response bodies read under a size
// limit.
package vendorhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/ticketnotes/ticketnotes/providers"
)

// MaxBody is the largest response body read from a vendor.
const MaxBody = 8 << 20

// Backoff bounds.
const (
	minWait = 250 * time.Millisecond
	maxWait = 8 * time.Second
	// maxRetryAfter caps how long a vendor's Retry-After is honoured; a longer
	// wait is not retried and the vendor's answer is returned.
	maxRetryAfter = 30 * time.Second
)

// Client sends requests for one vendor account.
type Client struct {
	kind     providers.Kind
	plain    *http.Client
	retry    *retryablehttp.Client
	observer providers.Observer // nil: none
}

// The outcomes a call is reported to the Observer with: what the HTTP
// exchange came to, before the vendor package reads the body (a vendor may
// still refuse inside a 200).
const (
	OutcomeOK          = "ok"           // an answer below 400
	OutcomeClientError = "client_error" // 4xx other than 429
	OutcomeRateLimited = "rate_limited" // 429, after any retries
	OutcomeServerError = "server_error" // 5xx, after any retries
	OutcomeError       = "error"        // no usable answer: network failure, timeout, refused redirect, oversized body
	OutcomeCanceled    = "canceled"     // the caller gave up (context canceled)
)

// Response is a vendor answer with its body already read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// New returns a Client for one account. defaultRate and defaultBurst apply
// when opts leaves them zero.
func New(kind providers.Kind, opts providers.Options, defaultRate float64, defaultBurst int) *Client {
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	rps, burst := opts.RateLimit, opts.Burst
	if rps <= 0 {
		rps = defaultRate
	}
	if burst <= 0 {
		burst = defaultBurst
	}
	if burst <= 0 {
		burst = 1
	}
	transport := base.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	hc := &http.Client{
		Transport: &limitedTransport{next: transport, limiter: rate.NewLimiter(rate.Limit(rps), burst), window: newSlidingWindow(rps),
			kind: kind, observer: opts.Observer},
		Timeout:       timeout,
		CheckRedirect: refuseRedirect,
		Jar:           base.Jar,
	}
	retries := opts.MaxRetries
	if retries == 0 {
		retries = 3
	}
	if retries < 0 {
		retries = 0
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = hc
	rc.Logger = nil
	rc.RetryMax = retries
	rc.RetryWaitMin = minWait
	rc.RetryWaitMax = maxWait
	rc.Backoff = Backoff
	rc.CheckRetry = checkRetry
	// Hand back the last response instead of a generic "giving up" error, so
	// the vendor's code and request id survive.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{kind: kind, plain: hc, retry: rc, observer: opts.Observer}
}

// Read sends an idempotent request, retrying on 429, 5xx and network errors.
func (c *Client) Read(req *http.Request, op string) (*Response, error) {
	start := time.Now()
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, c.netError(op, err)
	}
	resp, err := c.retry.Do(rreq)
	out, err := c.finish(resp, err, op)
	c.observe(op, start, out, err)
	return out, err
}

// Write sends a request exactly once: a write is never retried blindly,
// because the vendor may have applied it before failing.
func (c *Client) Write(req *http.Request, op string) (*Response, error) {
	start := time.Now()
	resp, err := c.plain.Do(req)
	out, err := c.finish(resp, err, op)
	c.observe(op, start, out, err)
	return out, err
}

// observe tells the observer, if any, how the call that began at start
// went.
func (c *Client) observe(op string, start time.Time, resp *Response, err error) {
	if c.observer != nil {
		c.observer.VendorCall(c.kind, op, Outcome(resp, err), time.Since(start))
	}
}

// Outcome is the Outcome constant of a call that returned resp and err.
func Outcome(resp *Response, err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case err != nil || resp == nil:
		return OutcomeError
	case resp.Status == http.StatusTooManyRequests:
		return OutcomeRateLimited
	case resp.Status >= 500:
		return OutcomeServerError
	case resp.Status >= 400:
		return OutcomeClientError
	}
	return OutcomeOK
}

func (c *Client) finish(resp *http.Response, err error, op string) (*Response, error) {
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return nil, c.netError(op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, c.netError(op, err)
	}
	if len(body) > MaxBody {
		return nil, &providers.Error{Provider: c.kind, Op: op, Kind: providers.ErrUnavailable, Status: resp.StatusCode,
			Err: fmt.Errorf("response larger than %d bytes", MaxBody)}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

func (c *Client) netError(op string, err error) error {
	var re *redirectError
	if errors.As(err, &re) {
		return &providers.Error{Provider: c.kind, Op: op, Kind: providers.ErrInvalid, Status: re.status,
			Detail: "Location: " + re.to, Err: providers.ErrRedirect}
	}
	return &providers.Error{Provider: c.kind, Op: op, Kind: providers.ErrUnavailable, Err: err}
}

// redirectError is what refuseRedirect stops a redirect with.
type redirectError struct {
	status int
	to     string // host of the Location
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("HTTP %d redirect to %s refused", e.status, e.to)
}

// refuseRedirect is every vendor client's redirect policy: follow none.
// Vendor APIs answer in place; a redirect means a wrong or hijacked
// endpoint, and following it would re-send the Sendbird token header, the
// Feishu app_secret body (307/308 keep the body) or Alibaba's signed
// request to another host. The next request is never sent.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	to := req.URL.Host
	if len(to) > 100 { // shown on the account page; a host is never longer
		to = to[:100]
	}
	return &redirectError{status: status, to: to}
}

// checkRetry retries what DefaultRetryPolicy retries (network errors, 429,
// 5xx but 501) and never a cancelled context.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	// A redirect stays refused however often it is asked.
	var re *redirectError
	if errors.As(err, &re) {
		return false, nil
	}
	// A wait longer than the cap is not retried: the vendor's answer (429 or
	// 5xx) is returned as it is, with its code and request id.
	if resp != nil {
		if d, ok := RetryAfter(resp); ok && d > maxRetryAfter {
			return false, nil
		}
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// Backoff is the wait before retry attempt n: the vendor's Retry-After when
// it sent one, otherwise exponential from min, capped at max, with full
// jitter so accounts retrying together spread out.
func Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp); ok {
			return d
		}
	}
	ceil := min << uint(attempt)
	if ceil > max || ceil <= 0 {
		ceil = max
	}
	return min/2 + rand.N(ceil-min/2+1)
}

// RetryAfter reads a Retry-After header given in seconds or as an HTTP date.
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// limitedTransport waits for the account's rate limiter before each attempt,
// so retries and token fetches count against the same budget.
type limitedTransport struct {
	next     http.RoundTripper
	limiter  *rate.Limiter
	window   *slidingWindow // nil below one call a second
	kind     providers.Kind
	observer providers.Observer // told of each attempt that had to wait; nil: none
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	held, err := waitLimiter(req.Context(), t.limiter)
	if err == nil {
		var late bool
		late, err = t.window.wait(req.Context())
		held = held || late
	}
	// A wait cut short by the caller still held the call back.
	if held && t.observer != nil {
		t.observer.RateLimitWait(t.kind, time.Since(start))
	}
	if err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// waitLimiter is rate.Limiter.Wait for one call that also reports whether
// the call had to wait: a token taken at once is not a wait. Like Wait, it
// refuses at once a wait that would outlast ctx's deadline, and gives the
// token back when ctx ends first.
func waitLimiter(ctx context.Context, l *rate.Limiter) (waited bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r := l.Reserve()
	if !r.OK() {
		return false, errors.New("rate: no token can ever be had (burst 0)")
	}
	d := r.Delay()
	if d == 0 {
		return false, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.Cancel()
		return false, fmt.Errorf("rate: a wait of %v would exceed the context deadline", d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true, nil
	case <-ctx.Done():
		r.Cancel()
		return true, ctx.Err()
	}
}
