package handlers

import (
	"time"

	"github.com/ticketnotes/ticketnotes/views"
)

// lastInstant is the end of the last day a four-digit year names. Times are
// compared as text in SQLite, where a five-digit year (the midnight after
// 9999-12-31) sorts before every stored time; range ends are clamped to it.
var lastInstant = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)

// DayRange turns inclusive "YYYY-MM-DD" days in loc into the half-open
// instant range [from, to) in UTC: from is the first day's midnight, to the
// midnight after the last day, both at most lastInstant. Empty strings
// leave that side open. bad names the offending field ("from" or "to") for
// a malformed day or to before from, and is "" otherwise.
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
	// Clamped after the order check: both ends may clamp to the same instant.
	if from.After(lastInstant) {
		from = lastInstant
	}
	if to.After(lastInstant) {
		to = lastInstant
	}
	return from, to, ""
}

// QuickRanges returns the date presets in loc: today, the last 7, 30 and
// 90 days (today included) and this month.
func QuickRanges(now time.Time, loc *time.Location) []views.QuickPick {
	today := now.In(loc)
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc)
	return []views.QuickPick{
		{Label: "range.today", From: day(today), To: day(today)},
		{Label: "range.last7", From: day(today.AddDate(0, 0, -6)), To: day(today)},
		{Label: "range.last30", From: day(today.AddDate(0, 0, -29)), To: day(today)},
		{Label: "range.last90", From: day(today.AddDate(0, 0, -89)), To: day(today)},
		{Label: "range.month", From: day(first), To: day(today)},
	}
}
