package vendorhttp

import (
	"context"
	"sync"
	"time"
)

// windowMargin widens the one-second window: a call sent just before a
// second ends may reach the vendor just after, and must still not make
// that second one call too many.
const windowMargin = 25 * time.Millisecond

// slidingWindow lets at most n calls start in any span of one second plus
// windowMargin, on top of the token bucket: the bucket alone lets one
// wall-clock second see burst+rate calls, and a caller stalled past its
// slot sends late, bunched with the next. It is safe for concurrent use.
type slidingWindow struct {
	mu    sync.Mutex
	width time.Duration
	sent  []time.Time // the last n starts, a ring; zero when unused
	next  int         // the oldest of them
}

// newSlidingWindow returns a window for rps calls a second, or nil below
// one a second (the bucket then spaces calls over a second apart).
func newSlidingWindow(rps float64) *slidingWindow {
	n := int(rps)
	if n < 1 {
		return nil
	}
	return &slidingWindow{width: time.Second + windowMargin, sent: make([]time.Time, n)}
}

// wait blocks until a call may start and records it, and reports whether
// it had to wait; it returns ctx's error when ctx ends first.
func (w *slidingWindow) wait(ctx context.Context) (waited bool, err error) {
	if w == nil {
		return false, nil
	}
	for {
		w.mu.Lock()
		now := time.Now()
		oldest := w.sent[w.next]
		if oldest.IsZero() || now.Sub(oldest) >= w.width {
			w.sent[w.next] = now
			w.next = (w.next + 1) % len(w.sent)
			w.mu.Unlock()
			return waited, nil
		}
		d := w.width - now.Sub(oldest)
		w.mu.Unlock()
		waited = true
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return true, ctx.Err()
		case <-t.C:
		}
	}
}
