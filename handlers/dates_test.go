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

// TestQuickRangesIncludeTheLast90Days: every preset ends today in the
// viewer's zone, and "last N days" counts today as one of the N.
func TestQuickRangesIncludeTheLast90Days(t *testing.T) {
	t.Parallel()
	// 23:30 UTC on 15 May is already 16 May in Shanghai.
	now := time.Date(2026, 5, 15, 23, 30, 0, 0, time.UTC)
	sh := time.FixedZone("UTC+8", 8*3600)
	want := map[string][2]string{
		"range.today":  {"2026-05-16", "2026-05-16"},
		"range.last7":  {"2026-05-10", "2026-05-16"},
		"range.last30": {"2026-04-17", "2026-05-16"},
		"range.last90": {"2026-02-16", "2026-05-16"},
		"range.month":  {"2026-05-01", "2026-05-16"},
	}
	got := QuickRanges(now, sh)
	if len(got) != len(want) {
		t.Fatalf("%d presets, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		if w, ok := want[r.Label]; !ok || r.From != w[0] || r.To != w[1] {
			t.Errorf("%s = %s…%s, want %s…%s", r.Label, r.From, r.To, w[0], w[1])
		}
	}
}
