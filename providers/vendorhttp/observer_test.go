package vendorhttp_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu    sync.Mutex
	calls []string // "provider op outcome"
	waits []time.Duration
}

func (r *recorder) VendorCall(p providers.Kind, op, outcome string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, string(p)+" "+op+" "+outcome)
}

func (r *recorder) RateLimitWait(_ providers.Kind, waited time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, waited)
}

func TestObserverSeesEveryCallWithItsOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		write  bool
		want   string
	}{
		{"read ok", 200, false, vendorhttp.OutcomeOK},
		{"write ok", 201, true, vendorhttp.OutcomeOK},
		{"not found", 404, false, vendorhttp.OutcomeClientError},
		{"rate limited", 429, false, vendorhttp.OutcomeRateLimited},
		{"server error", 502, true, vendorhttp.OutcomeServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := scripted(t, answer{status: tt.status})
			rec := &recorder{}
			c := vendorhttp.New(kind, providers.Options{MaxRetries: -1, Observer: rec}, 100, 10)
			if tt.write {
				_, _ = c.Write(newRequest(t, context.Background(), http.MethodPost, srv.URL), "add note")
			} else {
				_, _ = c.Read(newRequest(t, context.Background(), http.MethodGet, srv.URL), "list notes")
			}
			op := "list notes"
			if tt.write {
				op = "add note"
			}
			if got, want := rec.calls, []string{string(kind) + " " + op + " " + tt.want}; len(got) != 1 || got[0] != want[0] {
				t.Errorf("calls %q, want %q", got, want)
			}
		})
	}
}

func TestObserverSeesFailuresWithoutAnswer(t *testing.T) {
	t.Parallel()
	srv, _ := scripted(t, answer{hangUp: true})
	rec := &recorder{}
	c := vendorhttp.New(kind, providers.Options{MaxRetries: -1, Observer: rec}, 100, 10)
	if _, err := c.Read(newRequest(t, context.Background(), http.MethodGet, srv.URL), "check"); err == nil {
		t.Fatal("a hung-up call succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(newRequest(t, ctx, http.MethodGet, srv.URL), "check"); err == nil {
		t.Fatal("a canceled call succeeded")
	}
	got, want := rec.calls, []string{"sendbird check error", "sendbird check canceled"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("calls %q, want %q", got, want)
	}
}

func TestObserverSeesRateLimitWaits(t *testing.T) {
	t.Parallel()
	srv, _ := scripted(t, answer{status: 200})
	rec := &recorder{}
	// A burst of one at 20 a second: the first call goes at once, the
	// next two wait about 50 ms each.
	c := vendorhttp.New(kind, providers.Options{Observer: rec}, 20, 1)
	for range 3 {
		if _, err := c.Read(newRequest(t, context.Background(), http.MethodGet, srv.URL), "list tickets"); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got, want := len(rec.waits), 2; got != want {
		t.Fatalf("%d waits reported, want %d", got, want)
	}
	for _, w := range rec.waits {
		if w <= 0 {
			t.Errorf("a wait of %v reported", w)
		}
	}
	if got, want := len(rec.calls), 3; got != want {
		t.Errorf("%d calls reported, want %d", got, want)
	}
}

func TestRateLimitWaitRefusedPastTheDeadline(t *testing.T) {
	t.Parallel()
	srv, hits := scripted(t, answer{status: 200})
	rec := &recorder{}
	// One call every 100 s: the second cannot go within a 5 s deadline and
	// is refused at once, without waiting and without reaching the server.
	c := vendorhttp.New(kind, providers.Options{Observer: rec, MaxRetries: -1}, 0.01, 1)
	if _, err := c.Read(newRequest(t, context.Background(), http.MethodGet, srv.URL), "check"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Read(newRequest(t, ctx, http.MethodGet, srv.URL), "check"); err == nil {
		t.Fatal("a call past the deadline succeeded")
	}
	if ctx.Err() != nil {
		t.Error("the refused call waited for its deadline")
	}
	if got, want := hits.Load(), int32(1); got != want {
		t.Errorf("server hit %d times, want %d", got, want)
	}
	if got := len(rec.waits); got != 0 {
		t.Errorf("%d waits reported for a refused call, want 0", got)
	}
}
