// Package simfault injects faults into the vendor simulators: latency, rate
// limiting, server errors, hangs, malformed bodies and expired tokens. Counts
// are "the next N requests", so tests are deterministic; a count of -1 means
// every request.
package simfault

import (
	"sync"
	"time"
)

// Fault is one kind of injected failure.
type Fault int

// The injectable faults. How each is rendered is the simulator's business,
// in its vendor's own error format.
const (
	RateLimit    Fault = iota // 429 with Retry-After
	ServerError               // 500 with the vendor's internal-error body
	Timeout                   // hang until the client gives up
	Malformed                 // 200 with a body that is not valid JSON
	ExpiredToken              // the vendor's "token expired" answer
	numFaults
)

// Injector holds the faults armed for one simulated account. The zero value
// injects nothing. It is safe for concurrent use.
type Injector struct {
	mu         sync.Mutex
	latency    time.Duration
	retryAfter int
	left       [numFaults]int
	hits       [numFaults]int
}

// Arm makes the next n requests fail with f; n = -1 fails every request.
func (in *Injector) Arm(f Fault, n int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.left[f] = n
}

// SetLatency delays every request by d.
func (in *Injector) SetLatency(d time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.latency = d
}

// SetRetryAfter sets the Retry-After seconds sent with injected 429s
// (default 1).
func (in *Injector) SetRetryAfter(s int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.retryAfter = s
}

// RetryAfter returns the Retry-After seconds for injected 429s.
func (in *Injector) RetryAfter() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.retryAfter <= 0 {
		return 1
	}
	return in.retryAfter
}

// Latency returns the configured delay.
func (in *Injector) Latency() time.Duration {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.latency
}

// Take reports whether f fires for this request, consuming one count.
func (in *Injector) Take(f Fault) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.left[f] < 0:
	case in.left[f] > 0:
		in.left[f]--
	default:
		return false
	}
	in.hits[f]++
	return true
}

// Hits returns how many times f has fired.
func (in *Injector) Hits(f Fault) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.hits[f]
}
