package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Full-text search over the archive. On SQLite, archive_fts is an FTS4 table
// (compiled into the driver by default; FTS5 would need a build tag) whose
// content is archive_notes.tokens (see tokens.go): triggers keep it in step
// inside the same transactions that write the notes.
//
// On PostgreSQL the same tokens column is indexed as it is: its
// space-separated tokens become the lexemes of a tsvector
// (array_to_tsvector, no parser or dictionary in between, which would split
// or change them), with a GIN index over that expression. A search asks the
// index for the notes holding every token of every term (prefix as :*),
// and a phrase's tokens are then checked to stand in order with a LIKE over
// the tokens (they hold no spaces, % or _), which is what FTS4's phrase
// query does. Relevance is FTS4's too, computed from the tokens (termHits),
// so both databases find, count and rank the same notes.

// pgLexemes is the tsvector the PostgreSQL index is built over; a query
// must spell it the same way for the planner to use the index.
const pgLexemes = "array_to_tsvector(string_to_array(n.tokens, ' '))"

// migrateSearch is version 3: the full-text index.
func migrateSearch(tx *gorm.DB, pg bool) error {
	if pg {
		return execAll(tx, pg,
			`CREATE INDEX IF NOT EXISTS archive_notes_tokens ON archive_notes USING GIN (array_to_tsvector(string_to_array(tokens, ' ')))`)
	}
	stmts := append([]string{`CREATE VIRTUAL TABLE IF NOT EXISTS archive_fts USING fts4(content="archive_notes", tokens)`},
		ftsTriggers...)
	return execAll(tx, pg, append(stmts,
		// Index whatever the archive already holds (nothing on a new one).
		`INSERT INTO archive_fts (archive_fts) VALUES ('rebuild')`,
		// What a search filters and orders its matches by, in rows a tenth
		// the size of archive_notes': looking up a thousand matches here reads
		// a few hundred pages instead of thousands. Kept by triggers.
		`CREATE TABLE IF NOT EXISTS archive_note_meta (
			id INTEGER PRIMARY KEY REFERENCES archive_notes(id) ON DELETE CASCADE,
			account_id BIGINT NOT NULL,
			created_at BIGINT NOT NULL,
			author_role TEXT NOT NULL,
			version INTEGER NOT NULL,
			read BOOLEAN,
			deleted_at BIGINT
		)`,
		`CREATE TRIGGER IF NOT EXISTS archive_notes_meta_ai AFTER INSERT ON archive_notes BEGIN
			INSERT INTO archive_note_meta (id, account_id, created_at, author_role, version, read, deleted_at)
			VALUES (new.id, new.account_id, new.created_at, new.author_role, new.version, new.read, new.deleted_at); END`,
		`CREATE TRIGGER IF NOT EXISTS archive_notes_meta_au AFTER UPDATE OF author_role, version, read, deleted_at ON archive_notes BEGIN
			UPDATE archive_note_meta SET author_role = new.author_role, version = new.version, read = new.read,
			deleted_at = new.deleted_at WHERE id = new.id; END`,
		`INSERT OR IGNORE INTO archive_note_meta (id, account_id, created_at, author_role, version, read, deleted_at)
			SELECT id, account_id, created_at, author_role, version, read, deleted_at FROM archive_notes`,
	)...)
}

// ftsTriggers keep archive_fts in step with archive_notes.tokens.
var ftsTriggers = []string{
	// An external-content FTS4 table reads the old tokens from the
	// content row to remove them, so removal runs BEFORE the row
	// changes. Only a change of the tokens re-indexes: moving
	// last_seen_at must not.
	`CREATE TRIGGER IF NOT EXISTS archive_notes_fts_ai AFTER INSERT ON archive_notes BEGIN
		INSERT INTO archive_fts (docid, tokens) VALUES (new.id, new.tokens); END`,
	`CREATE TRIGGER IF NOT EXISTS archive_notes_fts_bu BEFORE UPDATE OF tokens ON archive_notes BEGIN
		DELETE FROM archive_fts WHERE docid = old.id; END`,
	`CREATE TRIGGER IF NOT EXISTS archive_notes_fts_au AFTER UPDATE OF tokens ON archive_notes BEGIN
		INSERT INTO archive_fts (docid, tokens) VALUES (new.id, new.tokens); END`,
	`CREATE TRIGGER IF NOT EXISTS archive_notes_fts_bd BEFORE DELETE ON archive_notes BEGIN
		DELETE FROM archive_fts WHERE docid = old.id; END`,
}

// migrateSearchNewestFirst is version 6: archive_fts again, its doclists
// stored newest first (order=DESC). A search reads its matches newest first
// (ORDER BY docid DESC) and stops after SearchCountCap+1; only when the
// index's order is the query's does FTS4 read a term's doclist
// incrementally, so a common word costs its first thousands of matches
// instead of all of them (a tenth of a million-note archive).
func migrateSearchNewestFirst(tx *gorm.DB, pg bool) error {
	if pg {
		return nil
	}
	return execAll(tx, pg, append(append([]string{
		`DROP TRIGGER IF EXISTS archive_notes_fts_ai`,
		`DROP TRIGGER IF EXISTS archive_notes_fts_bu`,
		`DROP TRIGGER IF EXISTS archive_notes_fts_au`,
		`DROP TRIGGER IF EXISTS archive_notes_fts_bd`,
		`DROP TABLE IF EXISTS archive_fts`,
		`CREATE VIRTUAL TABLE archive_fts USING fts4(content="archive_notes", tokens, order=DESC)`,
	}, ftsTriggers...),
		`INSERT INTO archive_fts (archive_fts) VALUES ('rebuild')`)...)
}

// tsQuery returns the PostgreSQL tsquery (as text, to be cast: to_tsquery
// would parse and normalise the tokens) that every token of every term
// must match, the last of a prefix term as a prefix.
func tsQuery(terms []searchTerm) string {
	var parts []string
	for _, t := range terms {
		for j, tok := range t.tokens {
			p := "'" + tok + "'"
			if t.prefix && j == len(t.tokens)-1 {
				p += ":*"
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " & ")
}

// pgMatch returns the PostgreSQL condition that a note (alias n) matches
// terms, and its arguments: the index's tsquery, then a LIKE per phrase.
func pgMatch(terms []searchTerm) (string, []any) {
	where := pgLexemes + " @@ CAST(? AS tsquery)"
	args := []any{tsQuery(terms)}
	for _, t := range terms {
		if len(t.tokens) < 2 {
			continue
		}
		pat := "% " + strings.Join(t.tokens, " ")
		if !t.prefix {
			pat += " "
		}
		where += " AND (' ' || n.tokens || ' ') LIKE ?"
		args = append(args, pat+"%")
	}
	return where, args
}

// termHits counts where term occurs in a note's stored tokens: FTS4's
// matchinfo 'y' for the term's phrase, which matchScore reads on SQLite.
func termHits(tokens []string, t searchTerm) int {
	n, hits := len(t.tokens), 0
	for i := 0; i+n <= len(tokens); i++ {
		ok := true
		for j := 0; j < n && ok; j++ {
			if j == n-1 && t.prefix {
				ok = strings.HasPrefix(tokens[i+j], t.tokens[j])
			} else {
				ok = tokens[i+j] == t.tokens[j]
			}
		}
		if ok {
			hits++
		}
	}
	return hits
}

// tokenScore is matchScore computed from a note's stored tokens.
func tokenScore(tokens string, terms []searchTerm) float64 {
	toks := strings.Split(tokens, " ")
	var score float64
	for _, t := range terms {
		hits := float64(termHits(toks, t))
		score += hits / (hits + 1.2)
	}
	return score
}

// searchHit is one match before paging: enough to rank and order it.
type searchHit struct {
	id      int64
	created int64
	score   float64
}

// searchNotes runs a search with f's other filters. With relevance it
// ranks the newest-archived SearchCountCap matches; newest and oldest order
// every match exactly.
//
// known is what the cache holds for f at the archive's generation, or nil:
// its ranked hits spare the ranking, its count the counting. The returned
// cachedSearch is what to cache (gen unset).
func (db *DB) searchNotes(g *gorm.DB, f NoteFilter, terms []searchTerm, known *cachedSearch) ([]ArchivedNote, cachedSearch, error) {
	relevance := f.Sort == "" || f.Sort == SortRelevance
	if known != nil && relevance {
		notes, err := pageOf(g, f, *known)
		return notes, *known, err
	}
	where, args := f.where(true)
	pg := db.IsPostgres()
	var from string
	var matchArgs []any
	if pg {
		from = "archive_notes n"
		var match string
		match, matchArgs = pgMatch(terms)
		where = match + " AND " + where
	} else {
		// CROSS JOIN keeps the full-text index as the outer loop: matches
		// first, then each one's filter columns by id, from the narrow
		// archive_note_meta (every column where() uses but ticket_id, which
		// goes to searchNarrow).
		from = "archive_fts CROSS JOIN archive_note_meta n ON n.id = archive_fts.docid"
		where = "archive_fts MATCH ? AND " + where
		matchArgs = []any{ftsMatch(terms)}
	}
	all := append(matchArgs, args...)
	if !pg && (f.TicketID != "" || !f.From.IsZero() || !f.To.IsZero()) {
		broad, err := broadRange(g, f)
		if err != nil {
			return nil, cachedSearch{}, err
		}
		if !broad {
			return searchNarrow(g, f, terms, known)
		}
	}
	if relevance {
		hits, err := db.rankHits(g, from, where, all, terms, pg)
		if err != nil {
			return nil, cachedSearch{}, err
		}
		e := rankedHits(hits)
		notes, err := pageOf(g, f, e)
		return notes, e, err
	}
	total, err := knownCount(known, func() (int64, error) {
		var n int64
		err := g.Raw("SELECT count(*) FROM (SELECT 1 FROM "+from+" WHERE "+where+" LIMIT ?) x",
			append(all, SearchCountCap+1)...).Scan(&n).Error
		return n, err
	})
	if err != nil {
		return nil, cachedSearch{}, err
	}
	capped := total > SearchCountCap
	counted := cachedSearch{total: min(total, SearchCountCap), capped: capped}
	if !capped && !pg {
		// Few matches: order them by the narrow rows, then load the page.
		var rows []struct {
			ID        int64
			CreatedAt int64
		}
		if err := g.Raw("SELECT n.id, n.created_at FROM "+from+" WHERE "+where+" ORDER BY "+f.order()+" LIMIT ? OFFSET ?",
			append(all, f.Limit, f.Offset)...).Scan(&rows).Error; err != nil {
			return nil, cachedSearch{}, err
		}
		hits := make([]searchHit, len(rows))
		for i, r := range rows {
			hits[i] = searchHit{id: r.ID, created: r.CreatedAt}
		}
		notes, err := notesByIDs(g, f.cols(), hits)
		return notes, counted, err
	}
	q := "SELECT " + f.cols() + " FROM " + from + " WHERE " + where
	qArgs := all
	if capped && !pg {
		// Many matches: walking the creation-time index and testing each
		// row against the set of matches stops after a page; sorting every
		// match would not. The unary + keeps SQLite from looking the
		// matches up by id and sorting them after all.
		w, a := f.where(false)
		q = "SELECT " + f.cols() + " FROM archive_notes n WHERE " + w +
			" AND +n.id IN (SELECT docid FROM archive_fts WHERE archive_fts MATCH ?)"
		qArgs = append(a, matchArgs...)
	}
	notes, err := queryNotes(g, q+" ORDER BY "+f.order()+" LIMIT ? OFFSET ?", append(qArgs, f.Limit, f.Offset)...)
	if err != nil {
		return nil, cachedSearch{}, err
	}
	return notes, counted, nil
}

// knownCount returns the count known holds, as count would (SearchCountCap+1
// for a capped one), or runs count when known is nil.
func knownCount(known *cachedSearch, count func() (int64, error)) (int64, error) {
	if known == nil {
		return count()
	}
	if known.capped {
		return SearchCountCap + 1, nil
	}
	return known.total, nil
}

// rankedHits orders the hits of a relevance search (score, then newest
// first), capped at SearchCountCap.
func rankedHits(hits []searchHit) cachedSearch {
	capped := len(hits) > SearchCountCap
	if capped {
		hits = hits[:SearchCountCap]
	}
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.created != b.created {
			return a.created > b.created
		}
		return a.id > b.id
	})
	return cachedSearch{hits: hits, total: int64(len(hits)), capped: capped}
}

// pageOf loads the page f asks for of ranked hits.
func pageOf(g *gorm.DB, f NoteFilter, e cachedSearch) ([]ArchivedNote, error) {
	page := e.hits[min(f.Offset, len(e.hits)):min(f.Offset+f.Limit, len(e.hits))]
	return notesByIDs(g, f.cols(), page)
}

// searchNarrow runs a SQLite search whose other filters (a ticket or a
// date range) select few notes: the notes they select come from the
// indexes alone, as a set the full-text matches are tested against, so no
// match outside the filters costs a row lookup. A common word in a 30-day
// range reads ~40k index entries instead of ~100k rows.
func searchNarrow(g *gorm.DB, f NoteFilter, terms []searchTerm, known *cachedSearch) ([]ArchivedNote, cachedSearch, error) {
	where, args := f.where(f.TicketID != "")
	match := ftsMatch(terms)
	if f.Sort == "" || f.Sort == SortRelevance {
		rows, err := g.Raw(`SELECT docid, matchinfo(archive_fts, 'pcy') FROM archive_fts WHERE archive_fts MATCH ?
			AND +docid IN (SELECT n.id FROM archive_notes n WHERE `+where+`) ORDER BY docid DESC LIMIT ?`,
			append(append([]any{match}, args...), SearchCountCap+1)...).Rows()
		if err != nil {
			return nil, cachedSearch{}, err
		}
		var hits []searchHit
		for rows.Next() {
			var h searchHit
			var info []byte
			if err := rows.Scan(&h.id, &info); err != nil {
				rows.Close()
				return nil, cachedSearch{}, err
			}
			h.score = matchScore(info)
			hits = append(hits, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, cachedSearch{}, err
		}
		// Creation times for the tie-break, of the matches only.
		at := make(map[int64]int64, len(hits))
		for start := 0; start < len(hits); start += 5000 {
			ids := make([]int64, 0, 5000)
			for _, h := range hits[start:min(start+5000, len(hits))] {
				ids = append(ids, h.id)
			}
			var rs []struct {
				ID        int64
				CreatedAt int64
			}
			if err := g.Raw("SELECT id, created_at FROM archive_note_meta WHERE id IN ?", ids).Scan(&rs).Error; err != nil {
				return nil, cachedSearch{}, err
			}
			for _, r := range rs {
				at[r.ID] = r.CreatedAt
			}
		}
		for i := range hits {
			hits[i].created = at[hits[i].id]
		}
		e := rankedHits(hits)
		notes, err := pageOf(g, f, e)
		return notes, e, err
	}
	in := " AND +n.id IN (SELECT docid FROM archive_fts WHERE archive_fts MATCH ?)"
	all := append(args, match)
	total, err := knownCount(known, func() (int64, error) {
		var n int64
		err := g.Raw("SELECT count(*) FROM (SELECT 1 FROM archive_notes n WHERE "+where+in+" LIMIT ?) x",
			append(all, SearchCountCap+1)...).Scan(&n).Error
		return n, err
	})
	if err != nil {
		return nil, cachedSearch{}, err
	}
	notes, err := queryNotes(g, "SELECT "+f.cols()+" FROM archive_notes n WHERE "+where+in+" ORDER BY "+f.order()+
		" LIMIT ? OFFSET ?", append(all, f.Limit, f.Offset)...)
	if err != nil {
		return nil, cachedSearch{}, err
	}
	return notes, cachedSearch{total: min(total, SearchCountCap), capped: total > SearchCountCap}, nil
}

// broadShare is the share of the archive's notes (of the filter's
// accounts) from which a SQLite search with a date range walks the
// matches, newest archived first, testing each one's row (the plan
// without a range), instead of searchNarrow's set of the range's notes.
// The walk reads about SearchCountCap / share matches' rows, the set one
// index entry per note in the range: at 1,000,000 notes a 30-day range
// (10%) took 26 ms walking and 70-100 ms as a set for a common word
// (BENCHMARKS.md, "Archive"); a one-day range (0.3%) is the other way
// round.
const broadShare = 0.05

// broadRange reports whether f, which has a date range, is a broad one
// (broadShare) with nothing narrower (a ticket) to start from. Counting
// reads the per-hour totals, not the notes.
func broadRange(g *gorm.DB, f NoteFilter) (bool, error) {
	if f.TicketID != "" {
		return false, nil
	}
	accs, err := filterAccounts(g, f)
	if err != nil || len(accs) == 0 {
		return false, err
	}
	r := NoteFilter{Accounts: accs, From: f.From, To: f.To, IncludeDeleted: true}
	in, err := countRange(g, r)
	if err != nil {
		return false, fmt.Errorf("count the range: %w", err)
	}
	all := map[uint]int64{}
	if err := sumBy(g, all, "SELECT account_id, CAST(SUM(notes + deleted) AS BIGINT) AS n FROM archive_counts WHERE account_id IN ? GROUP BY account_id", r.Accounts); err != nil {
		return false, fmt.Errorf("count the archive: %w", err)
	}
	var total int64
	for _, n := range all {
		total += n
	}
	return total > 0 && float64(in) >= broadShare*float64(total), nil
}

// pgPlanTimeout bounds the planner's own plan of a PostgreSQL search's
// newest matches (see rankHits); DB.planTimeout is it, but in tests.
const pgPlanTimeout = 500 * time.Millisecond

// rankHits returns up to SearchCountCap+1 matches, newest-archived first,
// each with its relevance (see matchScore; tokenScore on PostgreSQL).
//
// On PostgreSQL, asked for the newest matches, the planner walks the
// primary key backwards testing each row when it expects many matches,
// assuming they are spread evenly over ids. When they are not (an
// account's notes arrive together, and a date range is a stretch of time,
// not of ids) the walk tests most of the table: a 30-day search for
// "refund" tested 936,000 rows, 1.4 s warm and 17.7 s from disk, where the
// index's matches took 0.1–0.7 s. Where the matches are spread, as for a
// word in most notes, the walk is the fast plan (0.23 s, against 5.7 s
// through the index). So the planner's plan runs first under
// pgPlanTimeout, and if it takes longer, the index's matches are read
// (n.id + 0 hides the key's order from the planner).
func (db *DB) rankHits(g *gorm.DB, from, where string, args []any, terms []searchTerm, pg bool) ([]searchHit, error) {
	var hits []searchHit
	if pg {
		var rows []struct {
			ID        int64
			CreatedAt int64
			Tokens    string
		}
		q := "SELECT n.id, n.created_at, n.tokens FROM " + from + " WHERE " + where + " ORDER BY n.id"
		qArgs := append(args, SearchCountCap+1)
		// SET LOCAL ends with the transaction: the timeout is this
		// statement's only.
		err := g.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SET LOCAL statement_timeout = " + strconv.FormatInt(db.planTimeout.Milliseconds(), 10)).Error; err != nil {
				return err
			}
			return tx.Raw(q+" DESC LIMIT ?", qArgs...).Scan(&rows).Error
		})
		if pgCanceled(err) && g.Statement.Context.Err() == nil {
			rows = nil
			err = g.Raw(q+" + 0 DESC LIMIT ?", qArgs...).Scan(&rows).Error
		}
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			hits = append(hits, searchHit{id: r.ID, created: r.CreatedAt, score: tokenScore(r.Tokens, terms)})
		}
		return hits, nil
	}
	rows, err := g.Raw("SELECT n.id, n.created_at, matchinfo(archive_fts, 'pcy') FROM "+from+" WHERE "+where+
		" ORDER BY archive_fts.docid DESC LIMIT ?", append(args, SearchCountCap+1)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h searchHit
		var info []byte
		if err := rows.Scan(&h.id, &h.created, &info); err != nil {
			return nil, err
		}
		h.score = matchScore(info)
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// matchScore reads FTS4's matchinfo 'pcy' (32-bit native-order integers:
// phrases, columns, then each phrase's hits in this note) into a score:
// the sum over the query's terms of a saturating count of its hits, so one
// more hit matters less the more there are. ('x', with document
// frequencies for an idf weight, costs a pass over every match's
// positions; every match contains every term anyway.)
func matchScore(info []byte) float64 {
	if len(info) < 8 {
		return 0
	}
	u := func(i int) float64 { return float64(binary.NativeEndian.Uint32(info[4*i:])) }
	phrases, cols := int(u(0)), int(u(1))
	var score float64
	for k := 0; k < phrases*cols && 4*(2+k+1) <= len(info); k++ {
		hits := u(2 + k)
		score += hits / (hits + 1.2)
	}
	return score
}

// notesByIDs loads the notes of hits, in the hits' order.
func notesByIDs(g *gorm.DB, cols string, hits []searchHit) ([]ArchivedNote, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(hits))
	pos := make(map[int64]int, len(hits))
	for i, h := range hits {
		ids[i] = h.id
		pos[h.id] = i
	}
	notes, err := queryNotes(g, "SELECT "+cols+" FROM archive_notes n WHERE n.id IN ?", ids)
	if err != nil {
		return nil, err
	}
	sort.Slice(notes, func(i, j int) bool { return pos[notes[i].ArchiveID] < pos[notes[j].ArchiveID] })
	return notes, nil
}

// pgCanceled reports whether err is PostgreSQL's query_canceled: a
// statement timeout, or a cancel.
func pgCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}
