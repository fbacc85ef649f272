package vendorhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

const kind = providers.KindSendbird

// answer is one scripted reply of a test server.
type answer struct {
	status     int
	retryAfter string
	hangUp     bool // close the connection without answering
}

// scripted starts a loopback server that replies with answers in turn,
// repeating the last one, and returns it with its hit counter. Each body is
// "attempt N".
func scripted(t *testing.T, answers ...answer) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		a := answers[min(n, len(answers))-1]
		if a.hangUp {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		fmt.Fprintf(w, "attempt %d", n)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newRequest(t *testing.T, ctx context.Context, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestReadRetries(t *testing.T) {
	t.Parallel()
	// Retry-After: 0 keeps the retries of answered requests immediate.
	busy := answer{status: http.StatusServiceUnavailable, retryAfter: "0"}
	tests := []struct {
		name       string
		maxRetries int
		answers    []answer
		wantHits   int
		wantStatus int
		wantErr    bool
	}{
		{"ok first time", 3, []answer{{status: 200}}, 1, 200, false},
		{"429 then ok", 3, []answer{{status: 429, retryAfter: "0"}, {status: 200}}, 2, 200, false},
		{"500 then ok", 3, []answer{{status: 500, retryAfter: "0"}, {status: 200}}, 2, 200, false},
		{"503 twice then ok", 3, []answer{busy, busy, {status: 200}}, 3, 200, false},
		{"503 always: last response kept", 3, []answer{busy}, 4, 503, false},
		{"429 always: last response kept", 2, []answer{{status: 429, retryAfter: "0"}}, 3, 429, false},
		{"500 always: last response kept", 1, []answer{{status: 500, retryAfter: "0"}}, 2, 500, false},
		{"negative MaxRetries means none", -1, []answer{busy}, 1, 503, false},
		{"501 is not retried", 3, []answer{{status: 501}}, 1, 501, false},
		{"404 is not retried", 3, []answer{{status: 404}}, 1, 404, false},
		{"400 is not retried", 3, []answer{{status: 400}}, 1, 400, false},
		{"network error then ok", 2, []answer{{hangUp: true}, {status: 200}}, 2, 200, false},
		{"network error always", 1, []answer{{hangUp: true}}, 2, 0, true},
		{"429 with Retry-After over the cap is given up", 3, []answer{{status: 429, retryAfter: "31"}, {status: 200}}, 1, 429, false},
		{"429 with a far HTTP-date Retry-After is given up", 3,
			[]answer{{status: 429, retryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, {status: 200}}, 1, 429, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, hits := scripted(t, tt.answers...)
			c := vendorhttp.New(kind, providers.Options{MaxRetries: tt.maxRetries}, 1000, 100)
			resp, err := c.Read(newRequest(t, t.Context(), http.MethodGet, srv.URL), "list notes")
			if got := int(hits.Load()); got != tt.wantHits {
				t.Errorf("server hits = %d, want %d", got, tt.wantHits)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Read = status %d, want an error", resp.Status)
				}
				if !errors.Is(err, providers.ErrUnavailable) {
					t.Errorf("Read error = %v, want it to match ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.Status, tt.wantStatus)
			}
			// The body is that of the last attempt.
			if got, want := string(resp.Body), fmt.Sprintf("attempt %d", tt.wantHits); got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
		})
	}
}

func TestReadResendsBody(t *testing.T) {
	t.Parallel()
	var (
		mu     sync.Mutex
		bodies []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	c := vendorhttp.New(kind, providers.Options{}, 1000, 100)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("Action=ListTickets"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Read(req, "list tickets")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.Status)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(bodies, "|"), "Action=ListTickets|Action=ListTickets|Action=ListTickets"; got != want {
		t.Errorf("bodies = %q, want %q", got, want)
	}
}

func TestWriteNeverRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer answer
	}{
		{"500", answer{status: 500}},
		{"503 with Retry-After", answer{status: 503, retryAfter: "0"}},
		{"429 with Retry-After", answer{status: 429, retryAfter: "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, hits := scripted(t, tt.answer, answer{status: 200})
			c := vendorhttp.New(kind, providers.Options{MaxRetries: 5}, 1000, 100)
			resp, err := c.Write(newRequest(t, t.Context(), http.MethodPost, srv.URL), "add note")
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := hits.Load(); got != 1 {
				t.Errorf("server hits = %d, want 1", got)
			}
			if resp.Status != tt.answer.status {
				t.Errorf("status = %d, want %d", resp.Status, tt.answer.status)
			}
		})
	}

	t.Run("network error", func(t *testing.T) {
		t.Parallel()
		srv, hits := scripted(t, answer{hangUp: true}, answer{status: 200})
		c := vendorhttp.New(kind, providers.Options{MaxRetries: 5}, 1000, 100)
		_, err := c.Write(newRequest(t, t.Context(), http.MethodPost, srv.URL), "add note")
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("Write error = %v, want ErrUnavailable", err)
		}
		if got := hits.Load(); got != 1 {
			t.Errorf("server hits = %d, want 1", got)
		}
	})
}

func TestBodyOverMaxBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size    int64
		wantErr bool
	}{
		{vendorhttp.MaxBody, false},
		{vendorhttp.MaxBody + 1, true},
		{vendorhttp.MaxBody + 1<<20, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Streamed without Content-Length, so only the reader's
				// limit can stop it.
				w.WriteHeader(http.StatusOK)
				io.CopyN(w, zeros{}, tt.size)
			}))
			t.Cleanup(srv.Close)
			c := vendorhttp.New(kind, providers.Options{}, 1000, 100)
			for _, call := range []struct {
				name string
				do   func(*http.Request, string) (*vendorhttp.Response, error)
			}{{"Read", c.Read}, {"Write", c.Write}} {
				resp, err := call.do(newRequest(t, t.Context(), http.MethodGet, srv.URL), "list notes")
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("%s: %v", call.name, err)
					}
					if got := int64(len(resp.Body)); got != tt.size {
						t.Errorf("%s: body length = %d, want %d", call.name, got, tt.size)
					}
					continue
				}
				pe := providers.AsError(err)
				if pe == nil {
					t.Fatalf("%s error = %v, want a *providers.Error", call.name, err)
				}
				if !errors.Is(err, providers.ErrUnavailable) {
					t.Errorf("%s error = %v, want ErrUnavailable", call.name, err)
				}
				if pe.Provider != kind || pe.Op != "list notes" || pe.Status != http.StatusOK {
					t.Errorf("%s error = %+v, want provider %s, op %q, status 200", call.name, pe, kind, "list notes")
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestCancelledContext(t *testing.T) {
	t.Parallel()

	t.Run("before the call", func(t *testing.T) {
		t.Parallel()
		srv, hits := scripted(t, answer{status: 200})
		c := vendorhttp.New(kind, providers.Options{}, 1000, 100)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, call := range []struct {
			name string
			do   func(*http.Request, string) (*vendorhttp.Response, error)
		}{{"Read", c.Read}, {"Write", c.Write}} {
			_, err := call.do(newRequest(t, ctx, http.MethodGet, srv.URL), "list notes")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s error = %v, want context.Canceled", call.name, err)
			}
			if pe := providers.AsError(err); pe == nil || pe.Provider != kind || pe.Op != "list notes" {
				t.Errorf("%s error = %v, want a *providers.Error for %s list notes", call.name, err, kind)
			}
		}
		if got := hits.Load(); got != 0 {
			t.Errorf("server hits = %d, want 0", got)
		}
	})

	t.Run("during a failing read", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			cancel() // the caller gives up while the vendor fails
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		t.Cleanup(srv.Close)
		c := vendorhttp.New(kind, providers.Options{MaxRetries: 5}, 1000, 100)
		_, err := c.Read(newRequest(t, ctx, http.MethodGet, srv.URL), "list notes")
		if err == nil {
			t.Fatal("Read succeeded, want an error")
		}
		if got := hits.Load(); got != 1 {
			t.Errorf("server hits = %d, want 1 (no retry after cancel)", got)
		}
	})
}

func TestRateLimiter(t *testing.T) {
	t.Parallel()

	t.Run("paced requests all succeed", func(t *testing.T) {
		t.Parallel()
		srv, hits := scripted(t, answer{status: 200})
		c := vendorhttp.New(kind, providers.Options{RateLimit: 1000, Burst: 1}, 1, 1)
		const n = 10
		for i := range n {
			call := c.Read
			if i%2 == 1 {
				call = c.Write
			}
			resp, err := call(newRequest(t, t.Context(), http.MethodGet, srv.URL), "list notes")
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if resp.Status != http.StatusOK {
				t.Errorf("call %d: status = %d, want 200", i, resp.Status)
			}
		}
		if got := hits.Load(); got != n {
			t.Errorf("server hits = %d, want %d", got, n)
		}
	})

	t.Run("an exhausted budget fails the wait", func(t *testing.T) {
		t.Parallel()
		srv, hits := scripted(t, answer{status: 200})
		// One request per thousand seconds: the burst token goes to the
		// first call, and the limiter sees at once that the second cannot
		// be sent before its context's deadline.
		c := vendorhttp.New(kind, providers.Options{RateLimit: 0.001, Burst: 1, MaxRetries: -1}, 1, 1)
		if _, err := c.Read(newRequest(t, t.Context(), http.MethodGet, srv.URL), "list notes"); err != nil {
			t.Fatalf("first call: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for _, call := range []struct {
			name string
			do   func(*http.Request, string) (*vendorhttp.Response, error)
		}{{"Read", c.Read}, {"Write", c.Write}} {
			_, err := call.do(newRequest(t, ctx, http.MethodGet, srv.URL), "list notes")
			if pe := providers.AsError(err); pe == nil || pe.Op != "list notes" {
				t.Errorf("%s error = %v, want a *providers.Error for list notes", call.name, err)
			}
		}
		if got := hits.Load(); got != 1 {
			t.Errorf("server hits = %d, want 1", got)
		}
	})

	t.Run("cancelled context fails the wait", func(t *testing.T) {
		t.Parallel()
		srv, hits := scripted(t, answer{status: 200})
		c := vendorhttp.New(kind, providers.Options{RateLimit: 1000, Burst: 1}, 1, 1)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.Write(newRequest(t, ctx, http.MethodGet, srv.URL), "list notes")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write error = %v, want context.Canceled", err)
		}
		if got := hits.Load(); got != 0 {
			t.Errorf("server hits = %d, want 0", got)
		}
	})
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c := vendorhttp.New(kind, providers.Options{MaxRetries: -1}, 1000, 100)
	for _, call := range []struct {
		name string
		do   func(*http.Request, string) (*vendorhttp.Response, error)
	}{{"Read", c.Read}, {"Write", c.Write}} {
		resp, err := call.do(newRequest(t, t.Context(), http.MethodGet, url), "check")
		if err == nil {
			t.Fatalf("%s = status %d, want an error", call.name, resp.Status)
		}
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("%s error = %v, want ErrUnavailable", call.name, err)
		}
		pe := providers.AsError(err)
		if pe == nil {
			t.Fatalf("%s error = %v, want a *providers.Error", call.name, err)
		}
		if pe.Provider != kind || pe.Op != "check" || pe.Status != 0 || pe.Err == nil {
			t.Errorf("%s error = %+v, want provider %s, op check, status 0 and a cause", call.name, pe, kind)
		}
	}
}

func retryAfter(v string) *http.Response {
	h := http.Header{}
	if v != "" {
		h.Set("Retry-After", v)
	}
	return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		// want is a range because an HTTP date is relative to now.
		wantMin, wantMax time.Duration
		wantOK           bool
	}{
		{"absent", "", 0, 0, false},
		{"zero", "0", 0, 0, true},
		{"seconds", "7", 7 * time.Second, 7 * time.Second, true},
		{"many seconds", "3600", time.Hour, time.Hour, true},
		{"negative", "-1", 0, 0, false},
		{"fraction", "1.5", 0, 0, false},
		{"garbage", "soon", 0, 0, false},
		{"date in the future", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 58 * time.Minute, time.Hour, true},
		{"date in the past", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0, true},
		{"RFC 850 date", time.Now().Add(time.Hour).UTC().Format(time.RFC850), 58 * time.Minute, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := vendorhttp.RetryAfter(retryAfter(tt.header))
			if ok != tt.wantOK || got < tt.wantMin || got > tt.wantMax {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v..%v, %v", tt.header, got, ok, tt.wantMin, tt.wantMax, tt.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()

	t.Run("Retry-After wins", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			header           string
			wantMin, wantMax time.Duration
		}{
			{"0", 0, 0},
			{"1", time.Second, time.Second},
			{"20", 20 * time.Second, 20 * time.Second},
			{time.Now().Add(10 * time.Minute).UTC().Format(http.TimeFormat), 8 * time.Minute, 10 * time.Minute},
		}
		for _, tt := range tests {
			for attempt := range 4 {
				got := vendorhttp.Backoff(250*time.Millisecond, 8*time.Second, attempt, retryAfter(tt.header))
				if got < tt.wantMin || got > tt.wantMax {
					t.Errorf("Backoff(attempt %d, Retry-After %q) = %v, want %v..%v", attempt, tt.header, got, tt.wantMin, tt.wantMax)
				}
			}
		}
	})

	t.Run("jitter stays within bounds", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			min, max time.Duration
			resp     *http.Response
		}{
			{250 * time.Millisecond, 8 * time.Second, nil},
			{250 * time.Millisecond, 8 * time.Second, retryAfter("")},
			{250 * time.Millisecond, 8 * time.Second, retryAfter("soon")},
			{time.Second, time.Second, nil},
			{time.Millisecond, 30 * time.Second, nil},
		}
		for _, tt := range tests {
			for attempt := range 70 {
				// The ceiling doubles per attempt from min up to max
				// (compared without overflowing the shift).
				ceil := tt.max
				if tt.max>>attempt >= tt.min {
					ceil = tt.min << attempt
				}
				for range 50 {
					got := vendorhttp.Backoff(tt.min, tt.max, attempt, tt.resp)
					if got < tt.min/2 || got > ceil || got > tt.max {
						t.Fatalf("Backoff(%v, %v, attempt %d) = %v, want %v..%v", tt.min, tt.max, attempt, got, tt.min/2, ceil)
					}
				}
			}
		}
	})

	t.Run("jitter varies", func(t *testing.T) {
		t.Parallel()
		seen := map[time.Duration]bool{}
		for range 100 {
			seen[vendorhttp.Backoff(250*time.Millisecond, 8*time.Second, 3, nil)] = true
		}
		if len(seen) < 2 {
			t.Errorf("100 backoffs gave %d distinct waits, want jitter", len(seen))
		}
	})
}
