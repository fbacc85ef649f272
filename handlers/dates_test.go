package handlers

import (
	"testing"
	"time"
)

// TestDayRangeClampsToTheLastFourDigitYear: the midnight after 9999-12-31
// has a five-digit year, which sorts before every stored time in SQLite;
// range ends are clamped to the end of 9999 instead.
func TestDayRangeClampsToTheLastFourDigitYear(t *testing.T) {
	t.Parallel()
	west := time.FixedZone("UTC-12", -12*3600)
	for _, tt := range []struct {
		from, to string
		loc      *time.Location
	}{
		{"", "9999-12-31", time.UTC},
		{"2026-01-01", "9999-12-31", west},
		{"9999-12-31", "9999-12-31", west},
	} {
		from, to, bad := DayRange(tt.from, tt.to, tt.loc)
		if bad != "" {
			t.Errorf("%s..%s in %s: bad %q", tt.from, tt.to, tt.loc, bad)
			continue
		}
		if to.Year() > 9999 || from.Year() > 9999 {
			t.Errorf("%s..%s in %s: range %v..%v leaves four-digit years", tt.from, tt.to, tt.loc, from, to)
		}
	}
	if _, _, bad := DayRange("9999-12-31", "9999-12-30", time.UTC); bad != "to" {
		t.Errorf("to before from: bad %q, want to", bad)
	}
}
