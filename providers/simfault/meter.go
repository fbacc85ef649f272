package simfault

import (
	"sync"
	"time"
)

// Meter counts the requests a simulated account receives in each wall-clock
// second, so a test can hold a client to the vendor's rate limit. The zero
// value is ready; it is safe for concurrent use.
type Meter struct {
	mu          sync.Mutex
	perSec      map[int64]int
	first, last time.Time
	n           int
}

// Hit records one request arriving now.
func (m *Meter) Hit() {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.perSec == nil {
		m.perSec = map[int64]int{}
	}
	m.perSec[now.Unix()]++
	if m.n == 0 {
		m.first = now
	}
	m.last = now
	m.n++
}

// Reset forgets every request counted so far.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.perSec, m.first, m.last, m.n = nil, time.Time{}, time.Time{}, 0
}

// MeterStats sums up a Meter.
type MeterStats struct {
	Requests int
	// MaxPerSecond is the most requests counted in one wall-clock second.
	MaxPerSecond int
	// Rate is the mean rate between the first and the last request, in
	// requests per second: (Requests-1) / (last-first). Zero with fewer
	// than two requests.
	Rate float64
}

// Stats returns what the meter counted.
func (m *Meter) Stats() MeterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := MeterStats{Requests: m.n}
	for _, c := range m.perSec {
		st.MaxPerSecond = max(st.MaxPerSecond, c)
	}
	if d := m.last.Sub(m.first).Seconds(); m.n > 1 && d > 0 {
		st.Rate = float64(m.n-1) / d
	}
	return st
}
