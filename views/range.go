package views

import (
	"slices"
	"strconv"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
)

// Geometry of the range chart, in SVG user units: each bar is barWidth
// wide with barGap between, chartHeight tall at its most. The SVG scales to
// its box (app.css), so these are proportions, not pixels.
const (
	barWidth    = 10
	barGap      = 2
	chartHeight = 60
)

// RangeChart is the histogram above the notes: one bar per bucket.
type RangeChart struct {
	Unit   string // models.UnitDay, UnitWeek or UnitMonth
	Bars   []RangeBar
	Total  int
	Capped bool
	// Peak is the bar with the most notes (the first of equals).
	Peak int
	// Width is the viewBox width.
	Width int
}

// RangeBar is one bucket of the chart.
type RangeBar struct {
	From, To time.Time // [From, To) in the viewer's zone
	Total    int
	Segs     []RangeSeg
	X        int
	// URL is the list narrowed to this bucket's days.
	URL string
}

// RangeSeg is one account's part of a bar, stacked from the bottom.
type RangeSeg struct {
	AccountID uint
	N         int
	Y, H      int
}

// Height is the chart's viewBox height.
func (RangeChart) Height() int { return chartHeight }

// BarWidth is each bar's width.
func (RangeChart) BarWidth() int { return barWidth }

// LastDay is the last day a bar covers (To is the next midnight).
func (b RangeBar) LastDay() time.Time { return b.To.Add(-time.Nanosecond) }

// Range is the chart of d's notes, nil when there is nothing to draw.
// Accounts stack in the order of d.Accounts.
func (d NotesData) Range() *RangeChart {
	rc := d.RangeCounts
	if len(rc.Buckets) == 0 {
		return nil
	}
	order := make([]uint, 0, len(d.Accounts))
	for _, a := range d.Accounts {
		if id, err := strconv.ParseUint(a.ID, 10, 64); err == nil {
			order = append(order, uint(id))
		}
	}
	c := &RangeChart{Unit: rc.Unit, Capped: rc.Capped}
	peak := int64(0)
	for i, b := range rc.Buckets {
		if b.Total > peak {
			peak, c.Peak = b.Total, i
		}
		c.Total += int(b.Total)
	}
	for i, b := range rc.Buckets {
		bar := RangeBar{From: b.From, To: b.To, Total: int(b.Total), X: i * (barWidth + barGap)}
		q := d.Query
		q.From, q.To = b.From.Format(time.DateOnly), bar.LastDay().Format(time.DateOnly)
		bar.URL = q.URL("/notes", 0)
		// Stacked from the bottom; heights round so the bar's total
		// height is its share of the peak, whatever its parts round to.
		base := 0
		var cum int64
		for _, id := range accountsOf(order, b.ByAccount) {
			n := b.ByAccount[id]
			if n == 0 {
				continue
			}
			cum += n
			top := scale(cum, peak)
			bar.Segs = append(bar.Segs, RangeSeg{AccountID: id, N: int(n), Y: chartHeight - top, H: top - base})
			base = top
		}
		c.Bars = append(c.Bars, bar)
	}
	c.Width = len(c.Bars)*(barWidth+barGap) - barGap
	return c
}

// scale is n's height out of chartHeight for peak, at least 1 for any note.
func scale(n, peak int64) int {
	if n == 0 || peak == 0 {
		return 0
	}
	return max(1, int((n*chartHeight+peak/2)/peak))
}

// accountsOf is order, then any other account of by (by id).
func accountsOf(order []uint, by map[uint]int64) []uint {
	out := slices.Clone(order)
	var rest []uint
	for id := range by {
		if !slices.Contains(order, id) {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// Facet is one clickable count of the facets.
type Facet struct {
	Label  string // already translated
	Count  int
	URL    string // the list with this facet toggled
	Active bool
	// Class is the account's colour class, for account facets.
	Class string
}

// FacetGroup is one dimension of the facets: its heading's message id
// and its items.
type FacetGroup struct {
	Title string
	Items []Facet
}

// FacetGroups are d's facets: accounts, roles, states. t translates
// the role and state names.
func (d NotesData) FacetGroups(t interface{ T(string, ...any) string }) []FacetGroup {
	f := d.Facets
	if f.Accounts == nil && f.Roles == nil && f.States == nil {
		return nil
	}
	accts := FacetGroup{Title: "facets.accounts"}
	for _, a := range d.Accounts {
		id, err := strconv.ParseUint(a.ID, 10, 64)
		if err != nil {
			continue
		}
		q := d.Query
		q.Accounts = toggle(q.Accounts, a.ID)
		accts.Items = append(accts.Items, Facet{Label: a.Name, Count: int(f.Accounts[uint(id)]), URL: q.URL("/notes", 0),
			Active: slices.Contains(d.Query.Accounts, a.ID), Class: AccountColor(uint(id))})
	}
	roles := FacetGroup{Title: "facets.roles"}
	for _, r := range models.FacetRoles {
		q := d.Query
		active := q.Role == string(r)
		if active {
			q.Role = ""
		} else {
			q.Role = string(r)
		}
		roles.Items = append(roles.Items, Facet{Label: t.T("author." + string(r)), Count: int(f.Roles[r]), URL: q.URL("/notes", 0), Active: active})
	}
	states := FacetGroup{Title: "facets.states"}
	for _, s := range models.FacetStates {
		q := d.Query
		q.States = toggle(q.States, s)
		states.Items = append(states.Items, Facet{Label: t.T("facets.state." + s), Count: int(f.States[s]), URL: q.URL("/notes", 0),
			Active: slices.Contains(d.Query.States, s)})
	}
	return []FacetGroup{accts, roles, states}
}

// toggle returns list with v removed when it holds v, else added.
func toggle(list []string, v string) []string {
	if i := slices.Index(list, v); i >= 0 {
		return slices.Delete(slices.Clone(list), i, i+1)
	}
	return append(slices.Clone(list), v)
}

// dayLabel is t as a short localised day ("12 Nov", "11月12日"); long
// adds the year.
func dayLabel(p Page, t time.Time, long bool) string {
	if long {
		return t.Format(p.T.T("range.layout.day_long"))
	}
	return t.Format(p.T.T("range.layout.day"))
}

// BarName is a bar's accessible name: its days and its count ("12 Nov: 88
// notes", "Week of 3 Nov: …", "Nov 2025: …").
func (c RangeChart) BarName(p Page, b RangeBar) string {
	return p.T.T("range.bar", "When", c.barWhen(p, b), "Notes", notesCount(p, b.Total))
}

func (c RangeChart) barWhen(p Page, b RangeBar) string {
	switch c.Unit {
	case models.UnitWeek:
		return p.T.T("range.week_of", "Day", dayLabel(p, b.From, false))
	case models.UnitMonth:
		return b.From.Format(p.T.T("range.layout.month"))
	}
	return dayLabel(p, b.From, false)
}

// Summary is the chart's text alternative: "1,234 notes from 1 Nov 2025 to
// 30 Nov 2025; most on 12 Nov (88)".
func (c RangeChart) Summary(p Page) string {
	first, last := c.Bars[0], c.Bars[len(c.Bars)-1]
	s := p.T.T("range.summary", "Notes", notesCount(p, c.Total),
		"From", dayLabel(p, first.From, true), "To", dayLabel(p, last.LastDay(), true))
	if c.Total > 0 {
		peak := c.Bars[c.Peak]
		s += p.T.T("range.summary_peak", "When", c.barWhen(p, peak), "Count", FormatCount(peak.Total))
	}
	return s
}

// notesCount is "1 note", "1,234 notes".
func notesCount(p Page, n int) string { return p.T.N("range.notes", n, "Count", FormatCount(n)) }
