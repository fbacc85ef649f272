package models

import (
	"context"
	"runtime"
)

// readGate lets at most as many archive reads run as there are cores; the
// others wait their turn in arrival order.
//
// Why: a list or search read is CPU inside SQLite (cgo), a few
// milliseconds each. With 16 at once on 2 cores they share the cores, so
// every read is stretched by all the others and a long one (a phrase, a
// range) finishes last by a wide margin: at 16 clients the p99 was 4–7×
// the p50. Queued instead, a read waits for the ones ahead of it and then
// runs at full speed, which keeps the tail close to the mean (measured in
// BENCHMARKS.md, "Archive"). Only the archive's page reads pass the gate,
// never a write or a transaction, and a read never takes it twice, so it
// cannot deadlock.
type readGate chan struct{}

func newReadGate() readGate {
	return make(readGate, max(2, runtime.GOMAXPROCS(0)))
}

// enter waits for a free slot; it returns ctx's error if ctx ends first,
// and otherwise a function that gives the slot back.
func (r readGate) enter(ctx context.Context) (leave func(), err error) {
	select {
	case r <- struct{}{}:
		return func() { <-r }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
