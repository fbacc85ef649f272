package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/providers"
)

// The histogram and the facets of a notes page.
//
// Both count in SQL and never load notes: without a search, a bucket of
// accounts and dates sums archive_hour_counts (its covering index,
// migration 5) plus the partial hours at its ends from the created index;
// with a role, ticket or state filter it counts the indexed columns of
// archive_notes per bucket in one grouped query. With a search they count
// the matches the search finds (at most SearchCountCap, the newest
// archived; Capped says so), from their few indexed columns read by id.
//
// Facet counts follow GitHub's issue search: each facet ignores its own
// dimension, so it shows the alternatives a click gives. Account counts
// ignore the account filter, role counts the role filter and state counts
// the state filter (states combine with OR, so a count under the state
// filter would only repeat the total); every other filter and the search
// apply to all of them. An edited or unread count leaves deleted notes
// out, as the list does; the deleted count is the notes deleted at the
// vendor (or here) that a state=deleted filter would show.

// Histogram bucket units.
const (
	UnitDay   = "day"
	UnitWeek  = "week"  // starting on Monday
	UnitMonth = "month" // starting on the 1st
)

// Bucket sizes by the span of the range: days up to dayUnitMax, weeks up to
// weekUnitMax, months beyond.
const (
	dayUnitMax  = 92 * 24 * time.Hour
	weekUnitMax = 2 * 366 * 24 * time.Hour
)

// RangeBucket is one bar of the histogram: the notes created in [From, To)
// (midnights in the filter's zone, clipped to the filter's range).
type RangeBucket struct {
	From, To time.Time
	// ByAccount holds the accounts with notes in the bucket.
	ByAccount map[uint]int64
	Total     int64
}

// RangeCounts is the histogram of a filter's notes.
type RangeCounts struct {
	Unit    string
	Buckets []RangeBucket
	// Capped says a search counted only its first SearchCountCap matches.
	Capped bool
}

// Facets are the counts a filter's facets show (see the comment above).
type Facets struct {
	// Accounts counts every account's notes, the account filter aside.
	Accounts map[uint]int64
	// Roles counts by author role (agent, customer, system), the role
	// filter aside.
	Roles map[providers.Role]int64
	// States counts StateEdited, StateDeleted and StateUnread, the state
	// filter aside.
	States map[string]int64
	// Capped says a search counted only its first SearchCountCap matches.
	Capped bool
}

// FacetRoles are the roles the role facet counts.
var FacetRoles = []providers.Role{providers.RoleAgent, providers.RoleCustomer, providers.RoleSystem}

// FacetStates are the states the state facet counts.
var FacetStates = []string{StateEdited, StateDeleted, StateUnread}

// migrateStateIndexes is version 9: partial indexes over the few notes in
// each state, so the state facet counts a range by index, not by reading
// every note of it; each ends in its condition's column, so SQLite counts
// from the index alone (covering). Portable: SQLite and PostgreSQL both have partial
// indexes; the queries spell each condition as the index does.
func migrateStateIndexes(tx *gorm.DB, pg bool) error {
	return execAll(tx, pg,
		`CREATE INDEX IF NOT EXISTS archive_notes_edited ON archive_notes (account_id, created_at, author_role, deleted_at, version) WHERE version > 1`,
		`CREATE INDEX IF NOT EXISTS archive_notes_unread ON archive_notes (account_id, created_at, author_role, deleted_at, read) WHERE read = FALSE`,
		`CREATE INDEX IF NOT EXISTS archive_notes_deleted ON archive_notes (account_id, created_at, author_role) WHERE deleted_at IS NOT NULL`)
}

// zone is the filter's time zone for buckets; UTC when unset.
func (f NoteFilter) zone() *time.Location {
	if f.Zone == nil {
		return time.UTC
	}
	return f.Zone
}

// readRangeAndFacets fills p.Range and p.Facets for f.
func (db *DB) readRangeAndFacets(g *gorm.DB, f NoteFilter, p *NotesPage) error {
	if terms := parseSearch(f.Query); len(terms) > 0 {
		return db.searchRangeAndFacets(g, f, terms, p)
	}
	var err error
	if p.Range, err = rangeCounts(g, f); err != nil {
		return fmt.Errorf("range counts: %w", err)
	}
	fc := Facets{Roles: map[providers.Role]int64{}, States: map[string]int64{}}
	if len(f.Accounts) == 0 && p.ByAccount != nil {
		fc.Accounts = p.ByAccount // the same counts: no account filter
	} else {
		all := f
		all.Accounts = nil
		if fc.Accounts, err = db.countByAccount(g, all); err != nil {
			return err
		}
	}
	for _, r := range FacetRoles {
		e := f
		e.Role = r
		if fc.Roles[r], err = db.countNotes(g, e); err != nil {
			return fmt.Errorf("role counts: %w", err)
		}
	}
	for _, s := range FacetStates {
		e := f
		e.States = []string{s}
		if fc.States[s], err = db.countNotes(g, e); err != nil {
			return fmt.Errorf("state counts: %w", err)
		}
	}
	p.Facets = fc
	return nil
}

// rangeBounds is the range the histogram spans: f's, with an open end
// closed at the first or last hour of the archive's notes of f.Accounts
// (every account when empty), and a range longer than days shrunk to those
// notes (see closeBounds). ok is false when there is nothing to draw.
func rangeBounds(g *gorm.DB, f NoteFilter) (lo, hi time.Time, ok bool, err error) {
	lo, hi = f.From, f.To
	if lo.IsZero() || hi.IsZero() || hi.Sub(lo) > dayUnitMax {
		q := "SELECT MIN(hour) AS lo, MAX(hour) AS hi FROM archive_hour_counts"
		var args []any
		if len(f.Accounts) > 0 {
			q += " WHERE account_id IN ?"
			args = append(args, f.Accounts)
		}
		var r struct{ Lo, Hi *int64 }
		if err := g.Raw(q, args...).Scan(&r).Error; err != nil {
			return lo, hi, false, err
		}
		if r.Lo == nil || r.Hi == nil {
			return lo, hi, false, nil
		}
		lo, hi = closeBounds(lo, hi, time.Unix(0, *r.Lo*int64(time.Hour)).UTC(), time.Unix(0, (*r.Hi+1)*int64(time.Hour)).UTC(), f.zone())
	}
	return lo, hi, hi.After(lo), nil
}

// maxRangeSpan bounds the histogram: fifty years of months at most, the
// latest, however far apart the notes' times are.
const maxRangeSpan = 50 * 366 * 24 * time.Hour

// closeBounds closes [lo, hi) over notes from first to (before) last: an
// open end at them, and, when the range is longer than days, both ends to
// them, so "from 0001-01-01" draws the years that hold notes, not 2,000
// years of empty months. Ends taken from the notes move to the midnights
// (in loc) around them, so every bar is whole days. At most maxRangeSpan,
// the latest part.
func closeBounds(lo, hi, first, last time.Time, loc *time.Location) (time.Time, time.Time) {
	first = unitStart(first.In(loc), UnitDay).UTC()
	last = unitNext(unitStart(last.Add(-time.Nanosecond).In(loc), UnitDay), UnitDay).UTC()
	if lo.IsZero() {
		lo = first
	}
	if hi.IsZero() {
		hi = last
	}
	if hi.Sub(lo) > dayUnitMax {
		if first.After(lo) {
			lo = first
		}
		if last.Before(hi) {
			hi = last
		}
	}
	if hi.Sub(lo) > maxRangeSpan {
		lo = hi.Add(-maxRangeSpan)
	}
	return lo, hi
}

// rangeUnit picks the bucket unit for a range of span d.
func rangeUnit(d time.Duration) string {
	switch {
	case d <= dayUnitMax:
		return UnitDay
	case d <= weekUnitMax:
		return UnitWeek
	}
	return UnitMonth
}

// unitStart is the start of t's day, week (Monday) or month in t's zone.
// time.Date keeps wall-clock midnight across DST changes.
func unitStart(t time.Time, unit string) time.Time {
	y, m, d := t.Date()
	switch unit {
	case UnitWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
	case UnitMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// unitNext is the start of the unit after the one starting at t.
func unitNext(t time.Time, unit string) time.Time {
	y, m, d := t.Date()
	switch unit {
	case UnitWeek:
		return time.Date(y, m, d+7, 0, 0, 0, 0, t.Location())
	case UnitMonth:
		return time.Date(y, m+1, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
}

// bucketsOf cuts [lo, hi) into units in loc, the first and last clipped.
func bucketsOf(lo, hi time.Time, unit string, loc *time.Location) []RangeBucket {
	var out []RangeBucket
	for s := unitStart(lo.In(loc), unit); s.Before(hi); s = unitNext(s, unit) {
		b := RangeBucket{From: s, To: unitNext(s, unit), ByAccount: map[uint]int64{}}
		if b.From.Before(lo) {
			b.From = lo.In(loc)
		}
		if b.To.After(hi) {
			b.To = hi.In(loc)
		}
		out = append(out, b)
	}
	return out
}

// window is a bucket's part [lo, hi): nanoseconds, or Unix hours.
type window struct {
	bucket int
	lo, hi int64
}

// values is windows as a VALUES list of (bucket, lo, hi), read as column1,
// column2 and column3 (both SQLite and PostgreSQL name them so). The
// numbers are written out, not bound: they are computed here, and a bound
// parameter in VALUES has no type on PostgreSQL.
func values(ws []window) string {
	var b strings.Builder
	b.WriteString("(VALUES ")
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d, %d)", w.bucket, w.lo, w.hi)
	}
	b.WriteString(") AS b")
	return b.String()
}

// rangeCounts counts f's notes (without a search) per bucket and account.
func rangeCounts(g *gorm.DB, f NoteFilter) (RangeCounts, error) {
	lo, hi, ok, err := rangeBounds(g, f)
	if err != nil || !ok {
		return RangeCounts{}, err
	}
	unit := rangeUnit(hi.Sub(lo))
	rc := RangeCounts{Unit: unit, Buckets: bucketsOf(lo, hi, unit, f.zone())}
	const hour = int64(time.Hour)
	var hours, parts []window
	hourly := f.TicketID == "" && f.Role == "" && len(f.States) == 0
	for i, b := range rc.Buckets {
		from, to := ns(b.From.UTC()), ns(b.To.UTC())
		hFrom, hTo := ceilDiv(from, hour), floorDiv(to, hour)
		if !hourly || hFrom >= hTo {
			parts = append(parts, window{i, from, to})
			continue
		}
		hours = append(hours, window{i, hFrom, hTo})
		if from < hFrom*hour {
			parts = append(parts, window{i, from, hFrom * hour})
		}
		if hTo*hour < to {
			parts = append(parts, window{i, hTo * hour, to})
		}
	}
	add := func(q string, args ...any) error {
		var rows []struct {
			Bucket    int
			AccountID uint
			N         int64
		}
		if err := g.Raw(q, args...).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			rc.Buckets[r.Bucket].ByAccount[r.AccountID] += r.N
			rc.Buckets[r.Bucket].Total += r.N
		}
		return nil
	}
	if len(hours) > 0 {
		col := "c.notes"
		if f.IncludeDeleted {
			col = "c.notes + c.deleted"
		}
		// CROSS JOIN keeps the buckets outside on SQLite: a range seek of
		// the cover index per bucket (and account).
		q := "SELECT b.column1 AS bucket, c.account_id, CAST(SUM(" + col + ") AS BIGINT) AS n FROM " + values(hours) +
			" CROSS JOIN archive_hour_counts c WHERE c.hour >= b.column2 AND c.hour < b.column3"
		var args []any
		if len(f.Accounts) > 0 {
			q += " AND c.account_id IN ?"
			args = append(args, f.Accounts)
		}
		if err := add(q+" GROUP BY b.column1, c.account_id", args...); err != nil {
			return RangeCounts{}, err
		}
	}
	if len(parts) > 0 {
		e := f
		e.From, e.To = time.Time{}, time.Time{}
		where, args := e.where(true)
		q := "SELECT b.column1 AS bucket, n.account_id, count(*) AS n FROM " + values(parts) +
			" CROSS JOIN archive_notes n WHERE n.created_at >= b.column2 AND n.created_at < b.column3 AND " + where +
			" GROUP BY b.column1, n.account_id"
		if err := add(q, args...); err != nil {
			return RangeCounts{}, err
		}
	}
	return rc, nil
}

// matchRow is what the facets read of a search's match.
type matchRow struct {
	AccountID  uint
	AuthorRole string
	Version    int
	Deleted    bool
	Unread     bool
	CreatedAt  int64
}

// matches reports whether r passes f's accounts, role, states and deleted
// rule (the search and the ticket and range are applied already), as
// NoteFilter.where does.
func (f NoteFilter) matches(r matchRow) bool {
	if len(f.Accounts) > 0 && !containsID(f.Accounts, r.AccountID) {
		return false
	}
	if f.Role != "" && r.AuthorRole != string(f.Role) {
		return false
	}
	if r.Deleted && !f.IncludeDeleted && !f.hasState(StateDeleted) {
		return false
	}
	if len(f.States) == 0 {
		return true
	}
	return (f.hasState(StateEdited) && r.Version > 1) || (f.hasState(StateDeleted) && r.Deleted) ||
		(f.hasState(StateUnread) && r.Unread)
}

func containsID(ids []uint, id uint) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// searchRangeAndFacets counts a search's matches: the search runs once
// without the account, role and state filters (deleted notes included),
// kept in the search cache, and those filters are applied here to the
// matches' indexed columns.
func (db *DB) searchRangeAndFacets(g *gorm.DB, f NoteFilter, terms []searchTerm, p *NotesPage) error {
	wide := f
	wide.Accounts, wide.Role, wide.States, wide.IncludeDeleted = nil, "", nil, true
	// Limit 0: the ranked matches only, no page of notes loaded.
	wide.Sort, wide.Offset, wide.Limit = SortRelevance, 0, 0
	gen, err := archiveGeneration(g)
	if err != nil {
		return fmt.Errorf("search counts: %w", err)
	}
	e, err := db.cache.do(searchKey(wide), gen, 0, func() (int64, error) { return archiveGeneration(g) }, func() (cachedSearch, error) {
		_, e, err := db.searchNotes(g, wide, terms, nil)
		return e, err
	})
	if err != nil {
		return fmt.Errorf("search counts: %w", err)
	}
	ids := make([]int64, len(e.hits))
	for i, h := range e.hits {
		ids[i] = h.id
	}
	var rows []matchRow
	if len(ids) > 0 {
		if err := g.Raw(`SELECT account_id, author_role, version, deleted_at IS NOT NULL AS deleted,
			COALESCE(read = FALSE, FALSE) AS unread, created_at FROM archive_notes WHERE id IN ?`, ids).Scan(&rows).Error; err != nil {
			return fmt.Errorf("search counts: %w", err)
		}
	}
	fc := Facets{Accounts: map[uint]int64{}, Roles: map[providers.Role]int64{}, States: map[string]int64{}, Capped: e.capped}
	for _, a := range f.Accounts {
		fc.Accounts[a] = 0
	}
	noAcc, noRole := f, f
	noAcc.Accounts, noRole.Role = nil, ""
	stateF := make(map[string]NoteFilter, len(FacetStates))
	for _, s := range FacetStates {
		x := f
		x.States = []string{s}
		stateF[s] = x
	}
	var first, last time.Time
	var kept []matchRow
	for _, r := range rows {
		if noAcc.matches(r) {
			fc.Accounts[r.AccountID]++
		}
		if noRole.matches(r) {
			fc.Roles[providers.Role(r.AuthorRole)]++
		}
		for s, x := range stateF {
			if x.matches(r) {
				fc.States[s]++
			}
		}
		if !f.matches(r) {
			continue
		}
		kept = append(kept, r)
		at := time.Unix(0, r.CreatedAt).UTC()
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if last.IsZero() || !at.Before(last) {
			last = at.Add(time.Nanosecond)
		}
	}
	p.Facets = fc
	p.Range = RangeCounts{Capped: e.capped}
	lo, hi := f.From, f.To
	if first.IsZero() {
		if lo.IsZero() || hi.IsZero() || hi.Sub(lo) > dayUnitMax {
			return nil // no match to span: nothing to draw
		}
	} else {
		lo, hi = closeBounds(lo, hi, first, last, f.zone())
	}
	if !hi.After(lo) {
		return nil
	}
	p.Range.Unit = rangeUnit(hi.Sub(lo))
	p.Range.Buckets = bucketsOf(lo, hi, p.Range.Unit, f.zone())
	for _, r := range kept {
		at := time.Unix(0, r.CreatedAt)
		// Buckets are few (at most ~100) and ordered: find the one holding at.
		for i := range p.Range.Buckets {
			b := &p.Range.Buckets[i]
			if !at.Before(b.From) && at.Before(b.To) {
				b.ByAccount[r.AccountID]++
				b.Total++
				break
			}
		}
	}
	return nil
}
