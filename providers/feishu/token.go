package feishu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// tokenPath issues a tenant_access_token for a custom app.
// https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
const tokenPath = "/open-apis/auth/v3/tenant_access_token/internal"

// tokenLifetime is how long a token that the vendor says lives expire is
// used: until shortly before it runs out, so a call never carries a token
// that dies in flight. The margin is 5 minutes or a tenth of the lifetime,
// whichever is smaller.
func tokenLifetime(expire time.Duration) time.Duration {
	if expire <= 0 {
		return 0
	}
	return expire - min(5*time.Minute, expire/10)
}

type tokenRequest struct {
	AppID     string `json:"app_id"`
	AppSecret string `json:"app_secret"`
}

// tokenResponse is the token endpoint's answer; unlike the helpdesk calls
// it has no data envelope.
type tokenResponse struct {
	Code              int    `json:"code"`
	Msg               string `json:"msg"`
	TenantAccessToken string `json:"tenant_access_token"`
	Expire            int64  `json:"expire"` // seconds
}

// parseToken decodes a token response body.
func parseToken(body []byte) (tokenResponse, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("decode token response: %w", err)
	}
	return tr, nil
}

// fetchToken asks the vendor for a new tenant_access_token.
func (c *Client) fetchToken(ctx context.Context, op string) (string, time.Duration, error) {
	body, err := json.Marshal(tokenRequest{AppID: c.appID, AppSecret: c.appSecret})
	if err != nil {
		return "", 0, &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrInvalid, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+tokenPath, bytes.NewReader(body))
	if err != nil {
		return "", 0, &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrInvalid, Err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	// Asking for a token changes nothing, so it may be retried like a read.
	resp, err := c.http.Read(req, op)
	if err != nil {
		return "", 0, err
	}
	reqID := resp.Header.Get(headerLogID)
	tr, perr := parseToken(resp.Body)
	if perr != nil {
		return "", 0, vendorError(op, resp.Status, reqID, 0, "", perr)
	}
	if tr.Code != 0 || resp.Status >= 400 {
		e := vendorError(op, resp.Status, reqID, tr.Code, tr.Msg, nil)
		// The token endpoint refuses only credentials (an unknown app_id
		// comes back as "invalid param"), so a refusal is an auth failure.
		if e.Kind == providers.ErrInvalid {
			e.Kind = providers.ErrUnauthorized
		}
		return "", 0, e
	}
	if tr.TenantAccessToken == "" {
		return "", 0, &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrUnavailable,
			Status: resp.Status, RequestID: reqID, Err: errors.New("token response without a token")}
	}
	return tr.TenantAccessToken, time.Duration(tr.Expire) * time.Second, nil
}

// tokenCache keeps one tenant_access_token for the account. Concurrent
// callers that find no valid token share a single fetch.
type tokenCache struct {
	now   func() time.Time
	fetch func(ctx context.Context, op string) (string, time.Duration, error)

	mu         sync.Mutex
	token      string
	validUntil time.Time
	flight     *tokenFlight
}

// tokenFlight is a fetch in progress; token and err are set before done is
// closed.
type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

func newTokenCache(now func() time.Time, fetch func(context.Context, string) (string, time.Duration, error)) *tokenCache {
	return &tokenCache{now: now, fetch: fetch}
}

// get returns a valid token, fetching one when none is cached.
func (t *tokenCache) get(ctx context.Context, op string) (string, error) {
	for {
		t.mu.Lock()
		if t.token != "" && t.now().Before(t.validUntil) {
			tok := t.token
			t.mu.Unlock()
			return tok, nil
		}
		f := t.flight
		if f == nil {
			f = &tokenFlight{done: make(chan struct{})}
			t.flight = f
			t.mu.Unlock()
			return t.lead(ctx, op, f)
		}
		t.mu.Unlock()

		select {
		case <-f.done:
			if f.err == nil {
				return f.token, nil
			}
			// The leader gave up on its own deadline, not ours: try again.
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue
			}
			return "", f.err
		case <-ctx.Done():
			return "", &providers.Error{Provider: providers.KindFeishu, Op: op, Kind: providers.ErrUnavailable, Err: ctx.Err()}
		}
	}
}

// lead performs the fetch for flight f and publishes its result.
func (t *tokenCache) lead(ctx context.Context, op string, f *tokenFlight) (string, error) {
	// Count the lifetime from before the request, so clock time spent in
	// flight is never counted as still valid.
	started := t.now()
	tok, expire, err := t.fetch(ctx, op)
	f.token, f.err = tok, err
	t.mu.Lock()
	if err == nil {
		t.token = tok
		t.validUntil = started.Add(tokenLifetime(expire))
	}
	t.flight = nil
	t.mu.Unlock()
	close(f.done)
	return tok, err
}

// invalidate drops tok when it is still the cached token; a token another
// caller has already renewed is kept.
func (t *tokenCache) invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = ""
		t.validUntil = time.Time{}
	}
}
