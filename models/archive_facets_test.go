package models_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("zone %s: %v", name, err)
	}
	return loc
}

// at is a note of ticket created at the instant given.
func noteAt(ticket, id string, role providers.Role, at time.Time) providers.Note {
	n := note(ticket, id, "note "+id, at)
	n.AuthorRole = role
	return n
}

// bucketTotals is each bucket's day (in its zone) and account counts.
type bucketWant struct {
	from string
	by   map[uint]int64
}

func checkBuckets(t *testing.T, what string, rc models.RangeCounts, unit string, want []bucketWant) {
	t.Helper()
	if rc.Unit != unit || len(rc.Buckets) != len(want) {
		t.Fatalf("%s: unit %q, %d buckets, want %q, %d: %+v", what, rc.Unit, len(rc.Buckets), unit, len(want), rc.Buckets)
	}
	for i, w := range want {
		b := rc.Buckets[i]
		if got := b.From.Format("2006-01-02 15:04 MST"); got != w.from {
			t.Errorf("%s: bucket %d from %s, want %s", what, i, got, w.from)
		}
		var total int64
		for a, n := range w.by {
			total += n
			if b.ByAccount[a] != n {
				t.Errorf("%s: bucket %d (%s) account %d = %d, want %d (%v)", what, i, w.from, a, b.ByAccount[a], n, b.ByAccount)
			}
		}
		if b.Total != total {
			t.Errorf("%s: bucket %d (%s) total %d, want %d", what, i, w.from, b.Total, total)
		}
	}
}

func page(t *testing.T, db *models.DB, f models.NoteFilter) models.NotesPage {
	t.Helper()
	// The counts of what was just stored, not a kept page a running pass
	// may lag behind (TestNotesPageLagsOnlyARunningPass).
	models.SetPageLag(db, 0)
	p, err := db.NotesPage(context.Background(), f)
	if err != nil {
		t.Fatalf("notes page %+v: %v", f, err)
	}
	return p
}

// Days are the viewer's: New York's, across the start of summer time on
// 9 March 2025 (a 23-hour day), stacked by account; the hourly counts and
// the per-note counts (a role filter) agree.
func TestNotesPageRangeDaysAcrossDST(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ny := mustZone(t, "America/New_York")
	a, b := newAccount(t, db, "alibaba"), newAccount(t, db, "sendbird")
	local := func(d, h, m int) time.Time { return time.Date(2025, 3, d, h, m, 0, 0, ny) }
	storeTicket(t, db, a, "1",
		noteAt("1", "1", providers.RoleAgent, local(8, 23, 30)), // 9 Mar 04:30 UTC
		noteAt("1", "2", providers.RoleAgent, local(9, 0, 30)),
		noteAt("1", "3", providers.RoleAgent, local(9, 23, 30)), // 10 Mar 03:30 UTC
		noteAt("1", "4", providers.RoleAgent, local(7, 12, 0)))  // before the range
	storeTicket(t, db, b, "2",
		noteAt("2", "1", providers.RoleAgent, local(10, 12, 0)),
		noteAt("2", "2", providers.RoleAgent, local(10, 23, 59)),
		noteAt("2", "3", providers.RoleAgent, local(11, 0, 0))) // the end is open: not in
	f := models.NoteFilter{Accounts: []uint{a, b}, From: local(8, 0, 0), To: local(11, 0, 0), Zone: ny}
	want := []bucketWant{
		{"2025-03-08 00:00 EST", map[uint]int64{a: 1}},
		{"2025-03-09 00:00 EST", map[uint]int64{a: 2}},
		{"2025-03-10 00:00 EDT", map[uint]int64{b: 2}},
	}
	p := page(t, db, f)
	checkBuckets(t, "hourly", p.Range, models.UnitDay, want)
	if got := p.Range.Buckets[1].To.Sub(p.Range.Buckets[1].From); got != 23*time.Hour {
		t.Errorf("9 March is %v long, want 23h", got)
	}
	f.Role = providers.RoleAgent
	checkBuckets(t, "by note", page(t, db, f).Range, models.UnitDay, want)

	// The same notes in UTC days fall differently: the zone is in the key.
	f.Role, f.Zone = "", time.UTC
	f.From, f.To = time.Date(2025, 3, 8, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC)
	checkBuckets(t, "utc", page(t, db, f).Range, models.UnitDay, []bucketWant{
		{"2025-03-08 00:00 UTC", map[uint]int64{}},
		{"2025-03-09 00:00 UTC", map[uint]int64{a: 2}},
		{"2025-03-10 00:00 UTC", map[uint]int64{a: 1, b: 1}}, // b's 23:59 EDT is 11 March in UTC
	})
}

// A zone half an hour off UTC cuts days inside an hour: the partial hours
// are counted from the notes' index, not given to the wrong day.
func TestNotesPageRangeHalfHourZone(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ist := mustZone(t, "Asia/Kolkata")
	a := newAccount(t, db, "feishu")
	utc := func(d, h, m int) time.Time { return time.Date(2025, 3, d, h, m, 0, 0, time.UTC) }
	storeTicket(t, db, a, "1",
		noteAt("1", "1", providers.RoleAgent, utc(1, 18, 15)),    // 1 Mar 23:45 IST
		noteAt("1", "2", providers.RoleCustomer, utc(1, 18, 45)), // 2 Mar 00:15 IST
		noteAt("1", "3", providers.RoleAgent, utc(2, 12, 0)))
	f := models.NoteFilter{Accounts: []uint{a}, From: time.Date(2025, 3, 1, 0, 0, 0, 0, ist), To: time.Date(2025, 3, 3, 0, 0, 0, 0, ist), Zone: ist}
	checkBuckets(t, "ist", page(t, db, f).Range, models.UnitDay, []bucketWant{
		{"2025-03-01 00:00 IST", map[uint]int64{a: 1}},
		{"2025-03-02 00:00 IST", map[uint]int64{a: 2}},
	})
}

// Long ranges count weeks from Monday, longer ones months; an open range
// spans the archive's notes.
func TestNotesPageRangeWeeksAndMonths(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	a := newAccount(t, db, "alibaba")
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 12, 0, 0, 0, time.UTC) }
	storeTicket(t, db, a, "1",
		noteAt("1", "1", providers.RoleAgent, d(2025, 1, 1)),  // Wednesday
		noteAt("1", "2", providers.RoleAgent, d(2025, 1, 5)),  // Sunday: the same week
		noteAt("1", "3", providers.RoleAgent, d(2025, 1, 6)),  // Monday: the next
		noteAt("1", "4", providers.RoleAgent, d(2025, 6, 30)), // the last week, one day of it
		noteAt("1", "5", providers.RoleAgent, d(2023, 2, 14)))
	f := models.NoteFilter{Accounts: []uint{a}, From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)}
	rc := page(t, db, f).Range
	if rc.Unit != models.UnitWeek || len(rc.Buckets) != 27 {
		t.Fatalf("half a year = %q × %d, want 27 weeks", rc.Unit, len(rc.Buckets))
	}
	checkBuckets(t, "weeks", models.RangeCounts{Unit: rc.Unit, Buckets: rc.Buckets[:2]}, models.UnitWeek, []bucketWant{
		{"2025-01-01 00:00 UTC", map[uint]int64{a: 2}}, // clipped to the range
		{"2025-01-06 00:00 UTC", map[uint]int64{a: 1}},
	})
	if last := rc.Buckets[26]; last.From.Weekday() != time.Monday || last.Total != 1 || !last.To.Equal(f.To) {
		t.Errorf("last week = %v–%v, %d notes", last.From, last.To, last.Total)
	}

	// Open: from the first note (February 2023) to the last (June 2025).
	rc = page(t, db, models.NoteFilter{Accounts: []uint{a}}).Range
	if rc.Unit != models.UnitMonth || len(rc.Buckets) != 29 {
		t.Fatalf("open range = %q × %d, want 29 months", rc.Unit, len(rc.Buckets))
	}
	var total int64
	for i, b := range rc.Buckets {
		total += b.Total
		if b.From.Day() != 1 && i > 0 {
			t.Errorf("month bucket from %v", b.From)
		}
	}
	if total != 5 || rc.Buckets[0].Total != 1 || rc.Buckets[5].Total != 0 || rc.Buckets[23].Total != 3 {
		t.Errorf("months: total %d, first %d, Jan 2025 %d", total, rc.Buckets[0].Total, rc.Buckets[23].Total)
	}

	// A range of millennia draws the months that hold notes, from the
	// first note's day.
	huge := models.NoteFilter{Accounts: []uint{a}, From: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	rc = page(t, db, huge).Range
	if rc.Unit != models.UnitMonth || len(rc.Buckets) != 29 || !rc.Buckets[0].From.Equal(time.Date(2023, 2, 14, 0, 0, 0, 0, time.UTC)) ||
		!rc.Buckets[28].To.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("millennia = %q × %d from %v", rc.Unit, len(rc.Buckets), rc.Buckets[0].From)
	}
	huge.From = time.Time{} // open: the same
	if rc = page(t, db, huge).Range; len(rc.Buckets) != 29 {
		t.Fatalf("open start, far end = %d months", len(rc.Buckets))
	}
	huge.From = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	// Notes a century apart: the latest fifty years of months.
	storeTicket(t, db, a, "old", noteAt("old", "1", providers.RoleAgent, d(1900, 5, 1)))
	rc = page(t, db, huge).Range
	if n := len(rc.Buckets); n < 590 || n > 610 || rc.Buckets[0].From.Year() < 1970 {
		t.Errorf("a century of notes = %d months from %v, want the latest 50 years", n, rc.Buckets[0].From)
	}
}

// facetArchive stores two accounts' notes: a has agent, customer and
// system notes, one edited, one deleted at the vendor, one unread; b two
// agent notes.
func facetArchive(t *testing.T) (*models.DB, uint, uint) {
	db, _ := openDB(t)
	a, b := newAccount(t, db, "alibaba"), newAccount(t, db, "feishu")
	unread := false
	n1 := noteAt("1", "1", providers.RoleAgent, day(1))
	n2 := noteAt("1", "2", providers.RoleCustomer, day(2))
	n3 := noteAt("1", "3", providers.RoleSystem, day(3))
	n4 := noteAt("1", "4", providers.RoleAgent, day(4))
	n4.Read = &unread
	n5 := noteAt("1", "5", providers.RoleCustomer, day(5))
	storeTicket(t, db, a, "1", n1, n2, n3, n4, n5)
	n1.Body = "note 1, edited"
	// Seen again without n5: gone at the vendor.
	storeAt(t, db, a, syncer.Scope{TicketID: "1", Complete: true}, day(21), n1, n2, n3, n4)
	storeTicket(t, db, b, "2", noteAt("2", "1", providers.RoleAgent, day(1)), noteAt("2", "2", providers.RoleAgent, day(6)))
	return db, a, b
}

// Each facet ignores its own dimension and follows the rest.
func TestNotesPageFacets(t *testing.T) {
	t.Parallel()
	db, a, b := facetArchive(t)
	rng := models.NoteFilter{From: day(1).Add(-time.Hour), To: day(10)}
	type want struct {
		accounts map[uint]int64
		roles    map[providers.Role]int64
		states   map[string]int64
		total    int64
	}
	for _, c := range []struct {
		name string
		f    func(models.NoteFilter) models.NoteFilter
		want want
	}{
		{"everything", func(f models.NoteFilter) models.NoteFilter { f.Accounts = []uint{a, b}; return f }, want{
			map[uint]int64{a: 4, b: 2}, map[providers.Role]int64{"agent": 4, "customer": 1, "system": 1},
			map[string]int64{"edited": 1, "deleted": 1, "unread": 1}, 6}},
		{"account a", func(f models.NoteFilter) models.NoteFilter { f.Accounts = []uint{a}; return f }, want{
			map[uint]int64{a: 4, b: 2}, map[providers.Role]int64{"agent": 2, "customer": 1, "system": 1},
			map[string]int64{"edited": 1, "deleted": 1, "unread": 1}, 4}},
		{"agents of a", func(f models.NoteFilter) models.NoteFilter {
			f.Accounts, f.Role = []uint{a}, providers.RoleAgent
			return f
		}, want{
			map[uint]int64{a: 2, b: 2}, map[providers.Role]int64{"agent": 2, "customer": 1, "system": 1},
			map[string]int64{"edited": 1, "deleted": 0, "unread": 1}, 2}},
		{"customers, deleted", func(f models.NoteFilter) models.NoteFilter {
			f.Role, f.States = providers.RoleCustomer, []string{models.StateDeleted}
			return f
		}, want{
			map[uint]int64{a: 1, b: 0}, map[providers.Role]int64{"agent": 0, "customer": 1, "system": 0},
			map[string]int64{"edited": 0, "deleted": 1, "unread": 0}, 1}},
		{"edited or unread", func(f models.NoteFilter) models.NoteFilter {
			f.States = []string{models.StateEdited, models.StateUnread}
			return f
		}, want{
			map[uint]int64{a: 2, b: 0}, map[providers.Role]int64{"agent": 2, "customer": 0, "system": 0},
			map[string]int64{"edited": 1, "deleted": 1, "unread": 1}, 2}},
		{"a search", func(f models.NoteFilter) models.NoteFilter {
			f.Accounts, f.Query = []uint{a}, "note"
			return f
		}, want{
			map[uint]int64{a: 4, b: 2}, map[providers.Role]int64{"agent": 2, "customer": 1, "system": 1},
			map[string]int64{"edited": 1, "deleted": 1, "unread": 1}, 4}},
		{"a search, agents, edited", func(f models.NoteFilter) models.NoteFilter {
			f.Query, f.Role, f.States = "edited", providers.RoleAgent, []string{models.StateEdited}
			return f
		}, want{
			map[uint]int64{a: 1, b: 0}, map[providers.Role]int64{"agent": 1, "customer": 0, "system": 0},
			map[string]int64{"edited": 1, "deleted": 0, "unread": 0}, 1}},
	} {
		f := c.f(rng)
		p := page(t, db, f)
		fc := p.Facets
		if p.Total != c.want.total {
			t.Errorf("%s: total %d, want %d", c.name, p.Total, c.want.total)
		}
		for id, n := range c.want.accounts {
			if fc.Accounts[id] != n {
				t.Errorf("%s: account %d facet %d, want %d (%v)", c.name, id, fc.Accounts[id], n, fc.Accounts)
			}
		}
		for r, n := range c.want.roles {
			if fc.Roles[r] != n {
				t.Errorf("%s: role %s facet %d, want %d (%v)", c.name, r, fc.Roles[r], n, fc.Roles)
			}
		}
		for s, n := range c.want.states {
			if fc.States[s] != n {
				t.Errorf("%s: state %s facet %d, want %d (%v)", c.name, s, fc.States[s], n, fc.States)
			}
		}
		// The histogram holds the page's notes.
		var sum int64
		for _, bk := range p.Range.Buckets {
			sum += bk.Total
		}
		if sum != c.want.total || fc.Capped || p.Range.Capped {
			t.Errorf("%s: histogram %d notes (capped %v), want %d", c.name, sum, p.Range.Capped, c.want.total)
		}
	}
}

// The counts read indexed columns and aggregates, never the notes
// themselves: no statement names a text column, and their number does not
// grow with the notes.
func TestRangeAndFacetsLoadNoNotes(t *testing.T) {
	t.Parallel()
	db, a, b := facetArchive(t)
	ctx := context.Background()
	for _, f := range []models.NoteFilter{
		{Accounts: []uint{a, b}, From: day(1), To: day(10)},
		{Accounts: []uint{a}, From: day(1).Add(30 * time.Minute), To: day(9).Add(15 * time.Minute), Role: providers.RoleAgent},
		{Accounts: []uint{a, b}, States: []string{models.StateUnread}},
		{Accounts: []uint{a}, Query: "note", From: day(1), To: day(10)},
	} {
		rc, _, stmts, err := models.RangeAndFacets(ctx, db, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if len(rc.Buckets) == 0 {
			t.Errorf("%+v: no buckets", f)
		}
		if len(stmts) == 0 || len(stmts) > 20 {
			t.Errorf("%+v: %d statements", f, len(stmts))
		}
		for _, s := range stmts {
			low := strings.ToLower(s)
			// The search's own match (SQLite's FTS, PostgreSQL's tsquery
			// over the tokens it ranks by) is the search, not a count.
			if strings.Contains(low, "archive_fts") || strings.Contains(low, "tsquery") {
				continue
			}
			for _, col := range []string{"body", "content", "raw", "attachments", "author_name", "tokens"} {
				if strings.Contains(low, col) {
					t.Errorf("%+v: a count reads %s: %s", f, col, s)
				}
			}
		}
	}
}

// A search past SearchCountCap matches counts its first SearchCountCap
// and says so.
func TestNotesPageRangeSearchCapped(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	a := newAccount(t, db, "alibaba")
	var notes []providers.Note
	for i := range models.SearchCountCap + 5 {
		notes = append(notes, note("1", strconv.Itoa(i), "renewal "+strconv.Itoa(i), day(1+i%9).Add(time.Duration(i)*time.Second)))
	}
	storeTicket(t, db, a, "1", notes...)
	p := page(t, db, models.NoteFilter{Accounts: []uint{a}, Query: "renewal", From: day(1).Add(-time.Hour), To: day(10)})
	var sum int64
	for _, b := range p.Range.Buckets {
		sum += b.Total
	}
	if !p.Range.Capped || !p.Facets.Capped || sum != models.SearchCountCap || p.Facets.Accounts[a] != models.SearchCountCap {
		t.Errorf("capped %v/%v, histogram %d, account facet %d; want capped at %d", p.Range.Capped, p.Facets.Capped, sum,
			p.Facets.Accounts[a], models.SearchCountCap)
	}
	if len(p.Range.Buckets) != 10 {
		t.Errorf("%d day buckets, want 10", len(p.Range.Buckets))
	}
}
