package handlers

import (
	"time"

	"github.com/ticketnotes/ticketnotes/views"
)

// DayRange turns inclusive "YYYY-MM-DD" days in loc into the half-open
// instant range [from, to) in UTC: from is the first day's midnight, to the
// midnight after the last day. Empty strings leave that side open. ok is
// false (with the offending field) for a malformed day or to before from.
func DayRange(fromStr, toStr string, loc *time.Location) (from, to time.Time, bad string) {
	if fromStr != "" {
		d, err := time.ParseInLocation(time.DateOnly, fromStr, loc)
		if err != nil {
			return time.Time{}, time.Time{}, "from"
		}
		from = d.UTC()
	}
	if toStr != "" {
		d, err := time.ParseInLocation(time.DateOnly, toStr, loc)
		if err != nil {
			return time.Time{}, time.Time{}, "to"
		}
		// AddDate keeps wall-clock midnight across DST changes.
		to = d.AddDate(0, 0, 1).UTC()
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return time.Time{}, time.Time{}, "to"
	}
	return from, to, ""
}

// QuickRanges returns today, the last 7 and 30 days and this month in loc.
func QuickRanges(now time.Time, loc *time.Location) []views.QuickPick {
	today := now.In(loc)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
	return []views.QuickPick{
		{Label: "range.today", From: day(today), To: day(today)},
		{Label: "range.last7", From: day(today.AddDate(0, 0, -6)), To: day(today)},
		{Label: "range.last30", From: day(today.AddDate(0, 0, -29)), To: day(today)},
		{Label: "range.month", From: day(first), To: day(today)},
	}
}
