package vendorhttp

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// No span of one second sees more calls than the rate, even when callers
// stalled past their slots arrive together and the burst is large.
func TestSlidingWindowCapsEverySecond(t *testing.T) {
	t.Parallel()
	w := newSlidingWindow(5)
	ctx := context.Background()
	var starts []time.Time
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.wait(ctx); err != nil {
				t.Error(err)
			}
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for i := 5; i < len(starts); i++ {
		if d := starts[i].Sub(starts[i-5]); d < time.Second {
			t.Fatalf("calls %d and %d started %v apart: six calls within one second", i-5, i, d)
		}
	}
	if newSlidingWindow(0.5) != nil {
		t.Error("a window below one call a second")
	}
}
