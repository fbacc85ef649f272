package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/providers"
)

// ArchivedNote is a note as the archive holds it: the normalised note (its
// current version) and what the archive knows about it.
type ArchivedNote struct {
	providers.Note
	// ArchiveID is the note's row id in the archive, stable for its life.
	ArchiveID int64
	// Version is the current version's number, 1 for a note never edited.
	Version int
	// DeletedAt is when the note was found gone at the vendor or deleted
	// here; zero when it is not deleted. DeletedBy is who deleted it here,
	// empty when a sync pass noticed it.
	DeletedAt time.Time
	DeletedBy string
	// FirstSeenAt and LastSeenAt are when a pass (or a write here) first and
	// last saw the note at the vendor.
	FirstSeenAt, LastSeenAt time.Time
}

// Deleted reports whether the note is gone at the vendor.
func (n ArchivedNote) Deleted() bool { return !n.DeletedAt.IsZero() }

// Edited reports whether the note has earlier versions.
func (n ArchivedNote) Edited() bool { return n.Version > 1 }

// Note states for NoteFilter.States.
const (
	StateEdited  = "edited"  // has more than one version
	StateDeleted = "deleted" // gone at the vendor, or deleted here
	StateUnread  = "unread"  // the vendor says it is unread
)

// Sort orders for NoteFilter.Sort.
const (
	SortNewest    = "newest"
	SortOldest    = "oldest"
	SortRelevance = "relevance" // search only; the default with a query
)

// Paging limits of ListArchivedNotes.
const (
	DefaultNoteLimit = 50
	MaxNoteLimit     = 1000
	// SearchCountCap is where a search stops counting: its total is then
	// SearchCountCap and capped is true ("1,000+"), and relevance ranks the
	// newest-archived SearchCountCap matches. GitHub stops at 1,000 results
	// too: past that, a search is narrowed, not paged. It also bounds a
	// search's work: the index hands over matches newest first and the
	// search stops reading there (see migrateSearchNewestFirst).
	SearchCountCap = 1000
)

// NoteFilter selects archived notes. Every set field must match.
type NoteFilter struct {
	// Accounts limits to these accounts; empty means every account.
	Accounts []uint
	TicketID string
	// From and To bound the creation time, half-open [From, To); zero is open.
	From, To time.Time
	Role     providers.Role
	// Query is a search (see parseSearch for its syntax); empty, or only
	// punctuation, means no search.
	Query string
	// States keeps notes in any of the listed states (StateEdited, ...).
	// Deleted notes are left out unless States lists StateDeleted or
	// IncludeDeleted is set.
	States         []string
	IncludeDeleted bool
	// Sort is SortNewest (the default without a query), SortOldest or
	// SortRelevance (the default with one). Ties go newest first.
	Sort string
	// Offset and Limit page the result; Limit 0 means DefaultNoteLimit.
	Offset, Limit int
	// WithoutRaw leaves each note's Raw empty: a page shows no vendor
	// JSON, and it is the largest column (about 400 bytes a note).
	WithoutRaw bool
	// Zone is the viewer's time zone, whose midnights cut the histogram's
	// buckets (NotesPage.Range); nil is UTC. It selects nothing.
	Zone *time.Location
}

// cols is noteCols, with the raw JSON read as NULL under WithoutRaw.
func (f NoteFilter) cols() string {
	if f.WithoutRaw {
		return noteColsWithoutRaw
	}
	return noteCols
}

func (f *NoteFilter) normalise() error {
	if f.Offset < 0 || f.Limit < 0 || f.Limit > MaxNoteLimit {
		return fmt.Errorf("note filter: offset %d, limit %d: %w", f.Offset, f.Limit, ErrInvalid)
	}
	if f.Limit == 0 {
		f.Limit = DefaultNoteLimit
	}
	for _, s := range f.States {
		if s != StateEdited && s != StateDeleted && s != StateUnread {
			return fmt.Errorf("note filter: state %q: %w", s, ErrInvalid)
		}
	}
	switch f.Sort {
	case "", SortNewest, SortOldest, SortRelevance:
	default:
		return fmt.Errorf("note filter: sort %q: %w", f.Sort, ErrInvalid)
	}
	return nil
}

func (f NoteFilter) hasState(s string) bool {
	for _, x := range f.States {
		if x == s {
			return true
		}
	}
	return false
}

// where returns the filter's conditions on archive_notes n, without the
// search. indexAccounts false keeps the account condition from choosing an
// index (SQLite's unary +), so the planner walks the creation-time index in
// order and stops after a page instead of sorting every note of the
// accounts.
func (f NoteFilter) where(indexAccounts bool) (string, []any) {
	var conds []string
	var args []any
	if len(f.Accounts) > 0 {
		if indexAccounts {
			conds = append(conds, "n.account_id IN ?")
		} else {
			conds = append(conds, "+n.account_id IN ?")
		}
		args = append(args, f.Accounts)
	}
	if f.TicketID != "" {
		conds = append(conds, "n.ticket_id = ?")
		args = append(args, f.TicketID)
	}
	if !f.From.IsZero() {
		conds = append(conds, "n.created_at >= ?")
		args = append(args, ns(f.From.UTC()))
	}
	if !f.To.IsZero() {
		conds = append(conds, "n.created_at < ?")
		args = append(args, ns(f.To.UTC()))
	}
	if f.Role != "" {
		// With a ticket, the ticket index is the one to use; SQLite, without
		// statistics, would take the role index instead (|| '' hides the
		// column from index choice, on PostgreSQL too).
		if f.TicketID != "" {
			conds = append(conds, "n.author_role || '' = ?")
		} else {
			conds = append(conds, "n.author_role = ?")
		}
		args = append(args, string(f.Role))
	}
	if !f.IncludeDeleted && !f.hasState(StateDeleted) {
		conds = append(conds, "n.deleted_at IS NULL")
	}
	if len(f.States) > 0 {
		var alts []string
		for _, s := range f.States {
			switch s {
			case StateEdited:
				alts = append(alts, "n.version > 1")
			case StateDeleted:
				alts = append(alts, "n.deleted_at IS NOT NULL")
			case StateUnread:
				// A literal, as archive_notes_unread's condition says it:
				// SQLite uses a partial index only for a matching term.
				alts = append(alts, "n.read = FALSE")
			}
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// order returns the ORDER BY of a non-relevance sort.
func (f NoteFilter) order() string {
	if f.Sort == SortOldest {
		return "n.created_at ASC, n.id ASC"
	}
	return "n.created_at DESC, n.id DESC"
}

// onlyAccounts reports whether the filter is the unfiltered list (at most
// accounts and whether deleted notes count), whose total archive_counts
// holds.
func (f NoteFilter) onlyAccounts() bool {
	return f.TicketID == "" && f.From.IsZero() && f.To.IsZero() && f.Role == "" && len(f.States) == 0
}

const noteCols = `n.id, n.account_id, n.ticket_id, n.note_id, n.chat_message_id, n.author_name, n.author_role,
	n.body, n.content, n.content_type, n.created_at, n.updated_at, n.attachments, n.read, n.raw, n.version,
	n.deleted_at, n.deleted_by, n.first_seen_at, n.last_seen_at`

// noteColsWithoutRaw is noteCols with NULL for n.raw.
var noteColsWithoutRaw = strings.Replace(noteCols, "n.raw,", "NULL,", 1)

// scanNotes reads rows of noteCols; kinds names each account's vendor.
func scanNotes(rows *sql.Rows, kinds map[uint]providers.Kind) ([]ArchivedNote, error) {
	defer rows.Close()
	var out []ArchivedNote
	for rows.Next() {
		var (
			n                                      ArchivedNote
			role                                   string
			created, updated, deleted, first, last sql.NullInt64
			attach, raw                            sql.NullString
			read                                   sql.NullBool
		)
		if err := rows.Scan(&n.ArchiveID, &n.AccountID, &n.TicketID, &n.ID, &n.ChatMessageID, &n.AuthorName, &role,
			&n.Body, &n.Content, &n.ContentType, &created, &updated, &attach, &read, &raw, &n.Version,
			&deleted, &n.DeletedBy, &first, &last); err != nil {
			return nil, err
		}
		n.AuthorRole = providers.Role(role)
		n.Provider = kinds[n.AccountID]
		n.CreatedAt, n.UpdatedAt, n.DeletedAt = fromNS(created), fromNS(updated), fromNS(deleted)
		n.FirstSeenAt, n.LastSeenAt = fromNS(first), fromNS(last)
		if attach.Valid {
			_ = json.Unmarshal([]byte(attach.String), &n.Attachments)
		}
		if read.Valid {
			r := read.Bool
			n.Read = &r
		}
		if raw.Valid {
			n.Raw = json.RawMessage(raw.String)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// accountKinds maps every account id to its vendor.
func accountKinds(g *gorm.DB) (map[uint]providers.Kind, error) {
	var rows []struct {
		ID   uint
		Kind string
	}
	if err := g.Raw("SELECT id, kind FROM accounts").Scan(&rows).Error; err != nil {
		return nil, err
	}
	m := make(map[uint]providers.Kind, len(rows))
	for _, r := range rows {
		m[r.ID] = providers.Kind(r.Kind)
	}
	return m, nil
}

// queryNotes runs a SELECT of noteCols and scans it.
func queryNotes(g *gorm.DB, q string, args ...any) ([]ArchivedNote, error) {
	kinds, err := accountKinds(g)
	if err != nil {
		return nil, err
	}
	rows, err := g.Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	return scanNotes(rows, kinds)
}

// ListArchivedNotes returns one page of the archived notes f selects, their
// total, and whether the total was capped: a search counts at most
// SearchCountCap matches (and ranks by relevance the newest-archived
// SearchCountCap of them); other totals are exact. It returns ErrInvalid for
// a bad filter, or the database's error.
func (db *DB) ListArchivedNotes(ctx context.Context, f NoteFilter) (notes []ArchivedNote, total int64, capped bool, err error) {
	if err := f.normalise(); err != nil {
		return nil, 0, false, err
	}
	leave, err := db.reads.enter(ctx)
	if err != nil {
		return nil, 0, false, fmt.Errorf("list notes: %w", err)
	}
	defer leave()
	return db.listNotes(db.g.WithContext(ctx), f, true)
}

// NotesPage is one page of the notes a filter selects, with its counts.
type NotesPage struct {
	Notes []ArchivedNote
	// Total and Capped are as ListArchivedNotes returns them.
	Total  int64
	Capped bool
	// ByAccount is as CountArchivedNotesByAccount returns it; with a
	// search, the account facet's counts of f's accounts (capped with it).
	ByAccount map[uint]int64
	// Marks are, with a search, Highlight(Notes[i].Body, f.Query) for each
	// note: kept with the page, so a page shown again is not highlighted
	// again (it costs more than the rest of the page).
	Marks [][]Segment
	// Range is the histogram of the filter's notes, Facets its facet
	// counts (see archive_facets.go).
	Range  RangeCounts
	Facets Facets
	// Read tells one read of a page from another: a page served again
	// from memory has the Read it was read with, a page read again has a
	// new one. Callers key what they derive from a page (its rendered
	// rows) by it.
	Read uint64
}

// pageReads numbers the notes pages read (NotesPage.Read).
var pageReads atomic.Uint64

// NotesPage returns what ListArchivedNotes and CountArchivedNotesByAccount
// return for f, read together: without a search the total is the sum of
// the accounts' counts, so it is counted once. It returns ErrInvalid for a
// bad filter, or the database's error.
//
// A page read is kept (pageCacheEntries of them) with the archive
// generation it was read at and served again while the generation is the
// same, so an unchanged archive answers the same view from memory, and a
// burst of one view reads it once; any change to a note moves the
// generation (see searchcache.go). While a sync pass is storing notes, a
// page kept up to pageLag ago is served at once and read again in the
// background (see migrateFirmGeneration); after a change made here or the
// end of a pass it is read again first. The page returned is shared: read
// only.
func (db *DB) NotesPage(ctx context.Context, f NoteFilter) (NotesPage, error) {
	if err := f.normalise(); err != nil {
		return NotesPage{}, err
	}
	g := db.g.WithContext(ctx)
	gen, firm, err := archiveGenerations(g)
	if err != nil {
		return NotesPage{}, fmt.Errorf("list notes: %w", err)
	}
	key := pageKey(f)
	read := func(ctx context.Context) (readGen func() (int64, error), read func() (NotesPage, error)) {
		g := db.g.WithContext(ctx)
		return func() (int64, error) { return archiveGeneration(g) }, func() (NotesPage, error) {
			// Only a read queues at the gate: requests waiting for another's
			// read of the same page hold no place in it.
			leave, err := db.reads.enter(ctx)
			if err != nil {
				return NotesPage{}, fmt.Errorf("list notes: %w", err)
			}
			defer leave()
			return db.readNotesPage(g, f)
		}
	}
	refresh := func() (NotesPage, error) {
		// The request that found its page behind may be gone before this
		// read is done: the read is for the next request.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pageRefreshTimeout)
		defer cancel()
		_, read := read(bctx)
		p, err := read()
		if err != nil {
			slog.Warn("notes page: background read failed", "err", err)
		}
		return p, err
	}
	if p, ok := db.pages.lagging(key, gen, firm, db.pageLag, refresh); ok {
		return p, nil
	}
	readGen, readPage := read(ctx)
	return db.pages.do(key, gen, firm, readGen, readPage)
}

// defaultPageLag is how long a notes page may be shown behind what a
// running sync pass has stored (DB.pageLag, see genCache.lagging), and
// pageRefreshTimeout bounds the read that brings it up to date.
const (
	defaultPageLag     = 2 * time.Second
	pageRefreshTimeout = 30 * time.Second
)

// pageKey is f, paging included, as a key of db.pages.
func pageKey(f NoteFilter) string {
	return fmt.Sprintf("%s|%d|%d|%t|%s", searchKey(f), f.Offset, f.Limit, f.WithoutRaw, f.zone())
}

// pageCacheEntries bounds the notes pages kept: one is up to MaxNoteLimit
// notes, most often 50 (~60 kB with their text, without raw JSON).
const pageCacheEntries = 32

// readNotesPage reads what NotesPage returns.
func (db *DB) readNotesPage(g *gorm.DB, f NoteFilter) (NotesPage, error) {
	var err error
	p := NotesPage{Read: pageReads.Add(1)}
	if len(parseSearch(f.Query)) == 0 {
		if p.Notes, p.Total, p.Capped, err = db.listNotes(g, f, false); err != nil {
			return NotesPage{}, err
		}
		if p.ByAccount, err = db.countByAccount(g, f); err != nil {
			return NotesPage{}, err
		}
		if err := db.readRangeAndFacets(g, f, &p); err != nil {
			return NotesPage{}, err
		}
		for _, n := range p.ByAccount {
			p.Total += n
		}
		return p, nil
	}
	// A search: the page's own search and the wider one of its facets
	// (searchRangeAndFacets) are independent reads, each CPU inside SQLite;
	// side by side they take the time of one, on two cores, while the
	// requests for this page wait for it.
	var listErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Notes, p.Total, p.Capped, listErr = db.listNotes(g, f, true)
	}()
	var counts NotesPage
	err = db.readRangeAndFacets(g, f, &counts)
	<-done
	if err := errors.Join(listErr, err); err != nil {
		return NotesPage{}, err
	}
	p.Range, p.Facets = counts.Range, counts.Facets
	// A search's account counts are its account facet's: the same
	// matches (every other filter applied), counted from the one search
	// the facets run rather than a search per account.
	if p.ByAccount, err = searchByAccount(g, f, p.Facets.Accounts); err != nil {
		return NotesPage{}, err
	}
	p.Marks = make([][]Segment, len(p.Notes))
	for i, n := range p.Notes {
		p.Marks[i] = Highlight(n.Body, f.Query)
	}
	return p, nil
}

// filterAccounts is the accounts f counts: those it names, or every
// account when it names none. It returns the database's error.
func filterAccounts(g *gorm.DB, f NoteFilter) ([]uint, error) {
	if len(f.Accounts) > 0 {
		return f.Accounts, nil
	}
	kinds, err := accountKinds(g)
	if err != nil {
		return nil, err
	}
	accs := make([]uint, 0, len(kinds))
	for id := range kinds {
		accs = append(accs, id)
	}
	return accs, nil
}

// searchByAccount is facet's count of each of f's accounts (every
// account when f names none), 0 for those it lacks.
func searchByAccount(g *gorm.DB, f NoteFilter, facet map[uint]int64) (map[uint]int64, error) {
	accs, err := filterAccounts(g, f)
	if err != nil {
		return nil, fmt.Errorf("count notes: %w", err)
	}
	out := make(map[uint]int64, len(accs))
	for _, a := range accs {
		out[a] = facet[a]
	}
	return out, nil
}

// listNotes is ListArchivedNotes inside the read gate; without count, the
// total of a filter without a search is left 0.
func (db *DB) listNotes(g *gorm.DB, f NoteFilter, count bool) (notes []ArchivedNote, total int64, capped bool, err error) {
	if terms := parseSearch(f.Query); len(terms) > 0 {
		notes, total, capped, err = db.cachedSearchNotes(g, f, terms)
		if err != nil {
			return nil, 0, false, fmt.Errorf("search notes: %w", err)
		}
		return notes, total, capped, nil
	}
	where, args := f.where(f.TicketID != "")
	notes, err = queryNotes(g, "SELECT "+f.cols()+" FROM archive_notes n WHERE "+where+
		" ORDER BY "+f.order()+" LIMIT ? OFFSET ?", append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, false, fmt.Errorf("list notes: %w", err)
	}
	if !count {
		return notes, 0, false, nil
	}
	if total, err = db.countNotes(g, f); err != nil {
		return nil, 0, false, fmt.Errorf("count notes: %w", err)
	}
	return notes, total, false, nil
}

// cachedSearchNotes is searchNotes through db.cache (see searchcache.go).
// The generation is read before the search, so an answer stored under it
// can only be as new as, or newer than, what that generation holds. A
// relevance search caches (and shares with concurrent requests) its ranked
// matches, each request then loads its own page; newest and oldest cache
// their count.
func (db *DB) cachedSearchNotes(g *gorm.DB, f NoteFilter, terms []searchTerm) ([]ArchivedNote, int64, bool, error) {
	gen, err := archiveGeneration(g)
	if err != nil {
		return nil, 0, false, err
	}
	key := searchKey(f)
	if f.Sort == "" || f.Sort == SortRelevance {
		e, err := db.cache.do(key, gen, 0, func() (int64, error) { return archiveGeneration(g) }, func() (cachedSearch, error) {
			first := f
			first.Offset, first.Limit = 0, 1
			_, e, err := db.searchNotes(g, first, terms, nil)
			return e, err
		})
		if err != nil {
			return nil, 0, false, err
		}
		notes, err := pageOf(g, f, e)
		return notes, e.total, e.capped, err
	}
	var known *cachedSearch
	if e, ok := db.cache.get(key, gen); ok {
		known = &e
	}
	notes, e, err := db.searchNotes(g, f, terms, known)
	if err != nil {
		return nil, 0, false, err
	}
	if known == nil {
		db.cache.put(key, gen, 0, e)
	}
	return notes, e.total, e.capped, nil
}

// countNotes counts what f (without a search) selects: from archive_counts
// for the unfiltered list, otherwise with count(*) over the covering
// indexes.
func (db *DB) countNotes(g *gorm.DB, f NoteFilter) (int64, error) {
	var total int64
	if f.onlyAccounts() {
		col := "notes"
		if f.IncludeDeleted {
			col = "notes + deleted"
		}
		// CAST: PostgreSQL's SUM of BIGINT is NUMERIC.
		q := "SELECT CAST(COALESCE(SUM(" + col + "), 0) AS BIGINT) FROM archive_counts"
		var args []any
		if len(f.Accounts) > 0 {
			q += " WHERE account_id IN ?"
			args = append(args, f.Accounts)
		}
		err := g.Raw(q, args...).Scan(&total).Error
		return total, err
	}
	if f.rangeOnly() {
		return countRange(g, f)
	}
	where, args := f.where(true)
	err := g.Raw("SELECT count(*) FROM archive_notes n WHERE "+where, args...).Scan(&total).Error
	return total, err
}

// rangeOnly reports whether the filter is accounts and a date range and
// nothing else, whose total archive_hour_counts holds.
func (f NoteFilter) rangeOnly() bool {
	return f.TicketID == "" && f.Role == "" && len(f.States) == 0 && (!f.From.IsZero() || !f.To.IsZero())
}

// countRange counts a rangeOnly filter (see countRangeBy).
func countRange(g *gorm.DB, f NoteFilter) (int64, error) {
	by, err := countRangeBy(g, f)
	var total int64
	for _, n := range by {
		total += n
	}
	return total, err
}

// countRangeBy counts a rangeOnly filter per account: the whole hours
// inside the range from archive_hour_counts, the partial hours at its ends
// from the index.
func countRangeBy(g *gorm.DB, f NoteFilter) (map[uint]int64, error) {
	const hour = int64(time.Hour)
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.From.IsZero() {
		from = ns(f.From.UTC())
	}
	if !f.To.IsZero() {
		to = ns(f.To.UTC())
	}
	// Whole hours [hFrom, hTo): hFrom rounds up, hTo down.
	hFrom, hTo := ceilDiv(from, hour), floorDiv(to, hour)
	if f.From.IsZero() {
		hFrom = math.MinInt64
	}
	if f.To.IsZero() {
		hTo = math.MaxInt64
	}
	total := map[uint]int64{}
	if hFrom >= hTo {
		return total, countWhereBy(g, f, total)
	}
	col := "notes"
	if f.IncludeDeleted {
		col = "notes + deleted"
	}
	args := []any{hFrom, hTo}
	if len(f.Accounts) > 0 {
		args = append(args, f.Accounts)
	}
	if err := sumBy(g, total, hourCountsQuery(col, len(f.Accounts) > 0), args...); err != nil {
		return nil, err
	}
	// The partial hours at each end.
	for _, edge := range [][2]time.Time{{f.From, hourTime(hFrom, f.From)}, {hourTime(hTo, f.To), f.To}} {
		if edge[0].IsZero() || edge[1].IsZero() || !edge[0].Before(edge[1]) {
			continue
		}
		e := f
		e.From, e.To = edge[0], edge[1]
		if err := countWhereBy(g, e, total); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// hourCountsQuery sums col of archive_hour_counts per account over hours
// [?, ?), of the accounts IN ? when withAccounts. A 30-day range sums 720
// rows per account, read from the covering archive_hour_counts_cover
// (migration 5) rather than looked up row by row in the table.
func hourCountsQuery(col string, withAccounts bool) string {
	q := "SELECT account_id, CAST(SUM(" + col + ") AS BIGINT) AS n FROM archive_hour_counts WHERE hour >= ? AND hour < ?"
	if withAccounts {
		q += " AND account_id IN ?"
	}
	return q + " GROUP BY account_id"
}

// countWhereBy adds to into each account's count(*) of what f (without a
// search) selects.
func countWhereBy(g *gorm.DB, f NoteFilter, into map[uint]int64) error {
	where, args := f.where(true)
	return sumBy(g, into, "SELECT n.account_id, count(*) AS n FROM archive_notes n WHERE "+where+" GROUP BY n.account_id", args...)
}

// sumBy adds to into the rows q returns, columns named account_id and n.
func sumBy(g *gorm.DB, into map[uint]int64, q string, args ...any) error {
	var rows []struct {
		AccountID uint
		N         int64
	}
	if err := g.Raw(q, args...).Scan(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		into[r.AccountID] += r.N
	}
	return nil
}

// CountArchivedNotesByAccount returns how many of the notes f selects each
// account holds, f's paging and sort aside: every account of f.Accounts
// (every account when it is empty) is in the map, 0 when it holds none.
// Without a search it is one query (archive_counts, archive_hour_counts or
// a grouped count); a search counts each account as ListArchivedNotes
// would, capped at SearchCountCap, through the search cache. It returns
// ErrInvalid for a bad filter, or the database's error.
func (db *DB) CountArchivedNotesByAccount(ctx context.Context, f NoteFilter) (map[uint]int64, error) {
	if err := f.normalise(); err != nil {
		return nil, err
	}
	leave, err := db.reads.enter(ctx)
	if err != nil {
		return nil, fmt.Errorf("count notes: %w", err)
	}
	defer leave()
	return db.countByAccount(db.g.WithContext(ctx), f)
}

// countByAccount is CountArchivedNotesByAccount inside the read gate.
func (db *DB) countByAccount(g *gorm.DB, f NoteFilter) (map[uint]int64, error) {
	accs, err := filterAccounts(g, f)
	if err != nil {
		return nil, fmt.Errorf("count notes: %w", err)
	}
	out := make(map[uint]int64, len(accs))
	for _, a := range accs {
		out[a] = 0
	}
	if terms := parseSearch(f.Query); len(terms) > 0 {
		for _, a := range accs {
			// Relevance counts the same matches as the other orders, and
			// its cached answer needs no further read: newest first would
			// walk the time index against every match for its page.
			e := f
			e.Accounts, e.Offset, e.Limit, e.Sort = []uint{a}, 0, 1, SortRelevance
			_, n, _, err := db.cachedSearchNotes(g, e, terms)
			if err != nil {
				return nil, fmt.Errorf("count notes: %w", err)
			}
			out[a] = n
		}
		return out, nil
	}
	switch {
	case f.onlyAccounts():
		col := "notes"
		if f.IncludeDeleted {
			col = "notes + deleted"
		}
		err = sumBy(g, out, "SELECT account_id, CAST(SUM("+col+") AS BIGINT) AS n FROM archive_counts WHERE account_id IN ? GROUP BY account_id", accs)
	case f.rangeOnly():
		f.Accounts = accs
		var by map[uint]int64
		if by, err = countRangeBy(g, f); err == nil {
			for a, n := range by {
				out[a] += n
			}
		}
	default:
		f.Accounts = accs
		err = countWhereBy(g, f, out)
	}
	if err != nil {
		return nil, fmt.Errorf("count notes: %w", err)
	}
	return out, nil
}

// hourTime is the start of Unix hour h, or the zero time when bound is
// zero (an open end has no partial hour).
func hourTime(h int64, bound time.Time) time.Time {
	if bound.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, h*int64(time.Hour)).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// TicketNotes returns the conversation of one archived ticket, oldest
// first, deleted notes included (see ArchivedNote.Deleted); none when the
// archive has no notes of it. It returns the database's error.
func (db *DB) TicketNotes(ctx context.Context, account uint, ticket string) ([]ArchivedNote, error) {
	notes, err := queryNotes(db.g.WithContext(ctx), "SELECT "+noteCols+` FROM archive_notes n
		WHERE n.account_id = ? AND n.ticket_id = ? ORDER BY n.created_at, n.id`, account, ticket)
	if err != nil {
		return nil, fmt.Errorf("ticket notes: %w", err)
	}
	return notes, nil
}

// ArchivedNoteByID returns one archived note, deleted or not. It returns
// ErrNotFound when the archive does not have it, or the database's error.
func (db *DB) ArchivedNoteByID(ctx context.Context, account uint, ticket, note string) (*ArchivedNote, error) {
	notes, err := queryNotes(db.g.WithContext(ctx), "SELECT "+noteCols+` FROM archive_notes n
		WHERE n.account_id = ? AND n.ticket_id = ? AND n.note_id = ?`, account, ticket, note)
	if err != nil {
		return nil, fmt.Errorf("archived note: %w", err)
	}
	if len(notes) == 0 {
		return nil, fmt.Errorf("archived note: %w", ErrNotFound)
	}
	return &notes[0], nil
}

// NoteVersion is one version of an archived note.
type NoteVersion struct {
	Version     int
	Body        string
	Content     string
	ContentType string
	Attachments []providers.Attachment
	// UpdatedAt is the vendor's update time of this version; zero when it
	// has none.
	UpdatedAt time.Time
	// SeenAt is when this version was first seen (or written here).
	SeenAt time.Time
	Source string // SourceVendor or SourceHere
	Actor  string // who wrote it here; empty for SourceVendor
	// Current is true for the newest version, the note's text now.
	Current bool
}

// NoteVersions returns every version of a note, oldest first, the current
// one last. It returns ErrNotFound when the archive does not have the
// note, or the database's error.
func (db *DB) NoteVersions(ctx context.Context, account uint, ticket, note string) ([]NoteVersion, error) {
	g := db.g.WithContext(ctx)
	rows, err := g.Raw(`SELECT v.version, v.body, v.content, v.content_type, v.attachments, v.updated_at, v.seen_at,
		v.source, v.actor, 0 FROM note_versions v JOIN archive_notes n ON n.id = v.note_id
		WHERE n.account_id = ? AND n.ticket_id = ? AND n.note_id = ?
		UNION ALL
		SELECT version, body, content, content_type, attachments, updated_at, version_seen_at, version_source,
		version_actor, 1 FROM archive_notes WHERE account_id = ? AND ticket_id = ? AND note_id = ?
		ORDER BY 1`, account, ticket, note, account, ticket, note).Rows()
	if err != nil {
		return nil, fmt.Errorf("note versions: %w", err)
	}
	defer rows.Close()
	var out []NoteVersion
	for rows.Next() {
		var (
			v             NoteVersion
			attach        sql.NullString
			updated, seen sql.NullInt64
			current       int
		)
		if err := rows.Scan(&v.Version, &v.Body, &v.Content, &v.ContentType, &attach, &updated, &seen,
			&v.Source, &v.Actor, &current); err != nil {
			return nil, fmt.Errorf("note versions: %w", err)
		}
		if attach.Valid {
			_ = json.Unmarshal([]byte(attach.String), &v.Attachments)
		}
		v.UpdatedAt, v.SeenAt, v.Current = fromNS(updated), fromNS(seen), current == 1
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("note versions: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("note versions: %w", ErrNotFound)
	}
	return out, nil
}

// ArchivedTicket is a ticket as the archive holds it.
type ArchivedTicket struct {
	AccountID uint
	providers.Ticket
	FirstSeenAt, LastSeenAt time.Time
	// NotesReadAt is when a pass last read all its notes; zero means never.
	NotesReadAt time.Time
}

// ArchivedTicket returns one archived ticket. It returns ErrNotFound when
// the archive does not have it, or the database's error.
func (db *DB) ArchivedTicket(ctx context.Context, account uint, ticket string) (*ArchivedTicket, error) {
	rows, err := db.g.WithContext(ctx).Raw(`SELECT title, status, closed, created_at, updated_at, raw, first_seen_at,
		last_seen_at, notes_read_at FROM archive_tickets WHERE account_id = ? AND ticket_id = ?`, account, ticket).Rows()
	if err != nil {
		return nil, fmt.Errorf("archived ticket: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("archived ticket: %w", err)
		}
		return nil, fmt.Errorf("archived ticket: %w", ErrNotFound)
	}
	t := ArchivedTicket{AccountID: account}
	t.ID = ticket
	var created, updated, first, last, read sql.NullInt64
	var raw sql.NullString
	if err := rows.Scan(&t.Title, &t.Status, &t.Closed, &created, &updated, &raw, &first, &last, &read); err != nil {
		return nil, fmt.Errorf("archived ticket: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = fromNS(created), fromNS(updated)
	t.FirstSeenAt, t.LastSeenAt, t.NotesReadAt = fromNS(first), fromNS(last), fromNS(read)
	if raw.Valid {
		t.Raw = json.RawMessage(raw.String)
	}
	return &t, nil
}
