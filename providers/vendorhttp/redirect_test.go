package vendorhttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// redirecting starts an endpoint that answers every request with status
// and a Location on target, and counts the requests it got.
func redirecting(t *testing.T, status int, target string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, target, status)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// recording starts a second host that records whatever reaches it.
type recording struct {
	srv  *httptest.Server
	hits atomic.Int32
	// saw is the last request's token header and body, for the failure
	// message.
	saw atomic.Value
}

func newRecording(t *testing.T) *recording {
	t.Helper()
	rec := &recording{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		rec.saw.Store(r.Header.Get("Api-Token") + " " + string(b))
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

// TestRedirectRefused: a 301, 302, 303, 307 or 308 from the endpoint, to
// another host or its own, is an ErrInvalid error wrapping ErrRedirect
// with the status; the credentials (a token header, a secret body) never
// reach the second host, and a read is not retried.
func TestRedirectRefused(t *testing.T) {
	t.Parallel()
	const token, secret = "tok-SECRET-123", `{"app_secret":"s3cr3t"}`
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, write := range []bool{false, true} {
			for _, sameHost := range []bool{false, true} {
				rec := newRecording(t)
				target := rec.srv.URL + "/steal"
				if sameHost {
					target = "/elsewhere"
				}
				endpoint, hits := redirecting(t, status, target)
				c := vendorhttp.New(kind, providers.Options{MaxRetries: 3}, 100, 10)
				req := newRequest(t, t.Context(), http.MethodPost, endpoint.URL+"/token")
				req.Body = io.NopCloser(strings.NewReader(secret))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(secret)), nil }
				req.ContentLength = int64(len(secret))
				req.Header.Set("Api-Token", token)
				var err error
				if write {
					_, err = c.Write(req, "add note")
				} else {
					_, err = c.Read(req, "get token")
				}
				name := http.StatusText(status)
				if !errors.Is(err, providers.ErrRedirect) || !errors.Is(err, providers.ErrInvalid) {
					t.Errorf("%d write=%v same=%v: error = %v, want ErrInvalid wrapping ErrRedirect", status, write, sameHost, err)
				}
				if pe := providers.AsError(err); pe == nil || pe.Status != status || pe.Provider != kind ||
					!strings.HasPrefix(pe.Detail, "Location: ") {
					t.Errorf("%s write=%v: provider error = %#v, want status %d and the Location host as detail", name, write, pe, status)
				}
				if n := rec.hits.Load(); n != 0 {
					t.Errorf("%s write=%v: the redirect target got %d requests (%v)", name, write, n, rec.saw.Load())
				}
				if n := hits.Load(); n != 1 {
					t.Errorf("%s write=%v same=%v: the endpoint got %d requests, want 1 (a redirect is not retried or followed)", name, write, sameHost, n)
				}
				if err != nil && strings.Contains(err.Error(), token) {
					t.Errorf("the error text carries the token: %v", err)
				}
			}
		}
	}
}

// TestRedirectRefusedWhateverTheBaseClient: a base client that would
// follow redirects does not change the policy.
func TestRedirectRefusedWhateverTheBaseClient(t *testing.T) {
	t.Parallel()
	rec := newRecording(t)
	endpoint, _ := redirecting(t, http.StatusFound, rec.srv.URL)
	base := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	c := vendorhttp.New(kind, providers.Options{HTTPClient: base, MaxRetries: -1}, 100, 10)
	req := newRequest(t, t.Context(), http.MethodGet, endpoint.URL)
	req.Header.Set("Api-Token", "tok")
	if _, err := c.Read(req, "list"); !errors.Is(err, providers.ErrRedirect) {
		t.Errorf("error = %v, want ErrRedirect", err)
	}
	if n := rec.hits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}
