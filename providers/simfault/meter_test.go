package simfault

import (
	"testing"
	"time"
)

// The meter counts requests per wall-clock second and the mean rate
// between the first and the last.
func TestMeter(t *testing.T) {
	t.Parallel()
	var m Meter
	if st := m.Stats(); st != (MeterStats{}) {
		t.Fatalf("empty meter: %+v", st)
	}
	for range 3 {
		m.Hit()
	}
	time.Sleep(100 * time.Millisecond)
	m.Hit()
	st := m.Stats()
	if st.Requests != 4 || st.MaxPerSecond < 2 || st.MaxPerSecond > 4 || st.Rate < 10 || st.Rate > 40 {
		t.Fatalf("stats = %+v, want 4 requests, 3 over about 0.1 s", st)
	}
	m.Reset()
	if st := m.Stats(); st.Requests != 0 || st.MaxPerSecond != 0 {
		t.Fatalf("after Reset: %+v", st)
	}
}
