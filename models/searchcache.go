package models

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// A search over a million notes reads every match of its terms (up to
// SearchCountCap+1 of them, ~30 ms of CPU for a common word) to rank and
// count them, while the page a user sees is 50 of them; paging through the
// results, and the per-account counts beside them, ask the same again. So
// the matches of a search, ranked, or its count, are kept in memory keyed
// by the filter without its paging, together with the archive generation
// they were read at: archive_generation.n, which triggers bump in the
// transaction of every change to a note (from this process, from
// `ticketnotes sync` beside it, or a cascade of an account's deletion). A
// cached answer is used only while the generation is the same, so a search
// never shows a note the archive no longer matches, nor misses a new one.

// migrateGeneration is version 4: the archive generation.
func migrateGeneration(tx *gorm.DB, pg bool) error {
	create := []string{
		`CREATE TABLE IF NOT EXISTS archive_generation (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)`,
		`INSERT INTO archive_generation (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
	}
	if pg {
		// pgSQL would make the key BIGSERIAL; the one row is numbered 1.
		create[0] = `CREATE TABLE IF NOT EXISTS archive_generation (id BIGINT NOT NULL PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)`
		if err := execAll(tx, false, create...); err != nil {
			return err
		}
		// One bump per statement is enough there. The row (not a
		// sequence) is what makes the new number visible exactly when the
		// notes are: a sequence's nextval is seen before the writer
		// commits, so a reader could cache the old notes under the new
		// number. The cost: writers of the archive wait on this row's
		// lock until they commit (SQLite has one writer anyway).
		return execAll(tx, false,
			`CREATE OR REPLACE FUNCTION archive_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN UPDATE archive_generation SET n = n + 1 WHERE id = 1; RETURN NULL; END $$`,
			`DROP TRIGGER IF EXISTS archive_notes_generation ON archive_notes`,
			`CREATE TRIGGER archive_notes_generation AFTER INSERT OR DELETE OR UPDATE OF
			account_id, ticket_id, author_role, created_at, tokens, version, read, deleted_at
			ON archive_notes FOR EACH STATEMENT EXECUTE FUNCTION archive_generation_bump()`)
	}
	// SQLite has row triggers only: a bump per note written, a few
	// microseconds each. Moving last_seen_at changes no search, so it
	// does not bump.
	return execAll(tx, false, append(create,
		`CREATE TRIGGER IF NOT EXISTS archive_notes_gen_ai AFTER INSERT ON archive_notes BEGIN
			UPDATE archive_generation SET n = n + 1 WHERE id = 1; END`,
		`CREATE TRIGGER IF NOT EXISTS archive_notes_gen_au AFTER UPDATE OF
			account_id, ticket_id, author_role, created_at, tokens, version, read, deleted_at ON archive_notes BEGIN
			UPDATE archive_generation SET n = n + 1 WHERE id = 1; END`,
		`CREATE TRIGGER IF NOT EXISTS archive_notes_gen_ad AFTER DELETE ON archive_notes BEGIN
			UPDATE archive_generation SET n = n + 1 WHERE id = 1; END`,
	)...)
}

// migrateHourCountsCover is version 5: a covering index of the per-hour
// totals, so a range's total reads them in key order instead of looking
// up each hour's row in the table (1.5 ms to 0.2 ms for 30 days of 3
// accounts at 1,000,000 notes, whose hours were written in random order).
func migrateHourCountsCover(tx *gorm.DB, pg bool) error {
	return execAll(tx, pg,
		`CREATE INDEX IF NOT EXISTS archive_hour_counts_cover ON archive_hour_counts (account_id, hour, notes, deleted)`)
}

// archiveGeneration returns the archive's generation number.
func archiveGeneration(g *gorm.DB) (int64, error) {
	var n int64
	err := g.Raw("SELECT n FROM archive_generation WHERE id = 1").Scan(&n).Error
	return n, err
}

// migrateFirmGeneration is version 7: the firm generation,
// archive_generation.firm. It moves with every change to the archive
// except those a sync pass makes while it runs: a note written or deleted
// here, an account deleted, a pass ended (see bumpFirm). A notes page read
// at the current firm generation may be shown while a running pass moves
// the generation on, for a moment (DB.pageLag), while it is read again in
// the background: during a backfill the generation moves with every
// ticket stored, and otherwise every page view would wait for a read.
func migrateFirmGeneration(tx *gorm.DB, pg bool) error {
	if pg {
		return execAll(tx, pg, `ALTER TABLE archive_generation ADD COLUMN IF NOT EXISTS firm BIGINT NOT NULL DEFAULT 0`)
	}
	// SQLite has no ADD COLUMN IF NOT EXISTS; a migration runs again when
	// its record is lost (TestMigrateReapplies).
	var n int64
	if err := tx.Raw(`SELECT COUNT(*) FROM pragma_table_info('archive_generation') WHERE name = 'firm'`).Scan(&n).Error; err != nil {
		return fmt.Errorf("read archive_generation's columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	return execAll(tx, pg, `ALTER TABLE archive_generation ADD COLUMN firm BIGINT NOT NULL DEFAULT 0`)
}

// bumpFirm moves the firm generation, in tx: what tx changes is shown on
// the next page read (see migrateFirmGeneration).
func bumpFirm(tx *gorm.DB) error {
	return tx.Exec("UPDATE archive_generation SET firm = firm + 1 WHERE id = 1").Error
}

// archiveGenerations returns the archive's generation and its firm
// generation, read together.
func archiveGenerations(g *gorm.DB) (gen, firm int64, err error) {
	var row struct{ N, Firm int64 }
	err = g.Raw("SELECT n, firm FROM archive_generation WHERE id = 1").Scan(&row).Error
	return row.N, row.Firm, err
}

// searchCacheEntries bounds the search cache: a ranked entry holds up to
// SearchCountCap+1 hits (~24 bytes each), so at most ~16 MB.
const searchCacheEntries = 64

// cachedSearch is what a search read: its ranked hits (relevance order;
// nil for newest or oldest, which keep the count only), its total and
// whether the total was capped.
type cachedSearch struct {
	hits   []searchHit
	total  int64
	capped bool
}

// genCache maps a key to the last answer read for it and the archive
// generation it was read at; the oldest-stored entry goes first when it
// holds size entries. Its values are shared by every caller: read only.
type genCache[V any] struct {
	size  int
	mu    sync.Mutex
	m     map[string]genEntry[V]
	order []string
	// running is the read of each key running now, and next the one that
	// starts when it ends (see do): a burst of requests for one view costs
	// one read, or two while the archive is being written.
	running, next map[string]*flight[V]
	// bg counts the reads lagging started, which drain awaits.
	bg sync.WaitGroup
}

type genEntry[V any] struct {
	gen int64
	// firm is the firm generation the read saw when it started (0 where
	// it is not used), and at when the answer was stored (see lagging).
	firm int64
	at   time.Time
	v    V
}

// flight is one read; done closes when v and err are set. gen is the
// generation read before it started reading (set before a request can see
// it running).
type flight[V any] struct {
	gen, firm int64
	done      chan struct{}
	v         V
	err       error
}

func newGenCache[V any](size int) *genCache[V] {
	return &genCache[V]{size: size, m: map[string]genEntry[V]{}, running: map[string]*flight[V]{},
		next: map[string]*flight[V]{}}
}

func newSearchCache() *genCache[cachedSearch] { return newGenCache[cachedSearch](searchCacheEntries) }

// do returns an answer for key at least as new as generation gen, which the
// caller read when its request arrived: the one cached at gen, or the
// answer of a read that started at gen or later, or of the read it starts.
// A read running from an older generation is not joined: the request waits
// for it to end and joins the next read, which reads the generation again
// (readGen) when it starts, so every request waiting for it shares that
// one read. A failed shared read is not taken as this caller's answer: it
// reads again itself, so one request's cancelled context does not fail
// another's. firm is the firm generation the caller read with gen (0 if it
// does not use lagging); it is kept with the answer. A nil cache just runs
// read.
func (c *genCache[V]) do(key string, gen, firm int64, readGen func() (int64, error), read func() (V, error)) (V, error) {
	if c == nil {
		return read()
	}
	c.mu.Lock()
	// An answer read at a later generation than the caller's is newer
	// than the archive the caller saw: good for it too.
	if e, ok := c.m[key]; ok && e.gen >= gen {
		c.mu.Unlock()
		return e.v, nil
	}
	if fl := c.running[key]; fl != nil && fl.gen >= gen {
		c.mu.Unlock()
		return c.wait(fl, read)
	}
	if fl := c.next[key]; fl != nil {
		c.mu.Unlock()
		return c.wait(fl, read)
	}
	fl := &flight[V]{gen: gen, firm: firm, done: make(chan struct{})}
	if old := c.running[key]; old != nil {
		c.next[key] = fl
		c.mu.Unlock()
		<-old.done
		g, err := readGen()
		c.mu.Lock()
		delete(c.next, key)
		if err != nil {
			c.mu.Unlock()
			fl.err = err
			close(fl.done)
			var zero V
			return zero, err
		}
		fl.gen = max(g, gen)
	}
	c.running[key] = fl
	c.mu.Unlock()
	c.run(key, fl, read)
	return fl.v, fl.err
}

// run performs fl, registered as key's running read: its answer is kept
// when it succeeds, then fl stops running and its waiters are released.
func (c *genCache[V]) run(key string, fl *flight[V], read func() (V, error)) {
	defer func() {
		c.mu.Lock()
		if c.running[key] == fl {
			delete(c.running, key)
		}
		c.mu.Unlock()
		close(fl.done)
	}()
	fl.v, fl.err = read()
	if fl.err == nil {
		c.put(key, fl.gen, fl.firm, fl.v)
	}
}

// wait returns fl's answer, or read's when fl failed.
func (c *genCache[V]) wait(fl *flight[V], read func() (V, error)) (V, error) {
	<-fl.done
	if fl.err == nil {
		return fl.v, nil
	}
	return read()
}

// searchKey is f without its paging, in a form where equal filters give
// equal keys.
func searchKey(f NoteFilter) string {
	f.Offset, f.Limit = 0, 0
	f.Accounts = slices.Clone(f.Accounts)
	slices.Sort(f.Accounts)
	f.States = slices.Clone(f.States)
	slices.Sort(f.States)
	if f.Sort == "" {
		f.Sort = SortRelevance
	}
	return fmt.Sprintf("%v|%q|%d|%d|%q|%q|%q|%t|%s", f.Accounts, f.TicketID, f.From.UnixNano(), f.To.UnixNano(),
		f.Role, f.Query, f.States, f.IncludeDeleted, f.Sort)
}

// get returns the entry for key read at gen or later. A nil cache has
// nothing.
func (c *genCache[V]) get(key string, gen int64) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.gen < gen {
		return zero, false
	}
	return e.v, true
}

// lagging returns the answer kept for key when it is older than gen only
// by what a running sync pass stored: it was read at firm generation firm
// or later, and stored less than maxLag ago. Unless a read of key is
// already running or queued, it then also starts read (at gen and firm) in
// a goroutine of its own, so the next request finds a newer answer. A
// request for a page never waits for the sync's writes this way, and sees
// them at most about maxLag late; a change made here, or the end of a
// pass, moves the firm generation, and then lagging answers nothing.
func (c *genCache[V]) lagging(key string, gen, firm int64, maxLag time.Duration, read func() (V, error)) (V, bool) {
	var zero V
	if c == nil || maxLag <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.gen >= gen || e.firm < firm || time.Since(e.at) >= maxLag {
		return zero, false
	}
	if c.running[key] == nil && c.next[key] == nil {
		// Registered before the lock goes, so requests arriving meanwhile
		// neither start another read nor miss this one.
		fl := &flight[V]{gen: gen, firm: firm, done: make(chan struct{})}
		c.running[key] = fl
		c.bg.Add(1)
		go func() {
			defer c.bg.Done()
			c.run(key, fl, read)
		}()
	}
	return e.v, true
}

// drain waits for the reads lagging started. A nil cache has none.
func (c *genCache[V]) drain() {
	if c != nil {
		c.bg.Wait()
	}
}

// settle waits for the read of key running now, if any (for tests).
func (c *genCache[V]) settle(key string) {
	c.mu.Lock()
	fl := c.running[key]
	c.mu.Unlock()
	if fl != nil {
		<-fl.done
	}
}

// put stores v read at gen (and firm generation firm) for key, replacing
// an older one. A nil cache keeps nothing.
func (c *genCache[V]) put(key string, gen, firm int64, v V) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		if old.gen > gen {
			return // a later answer is already there
		}
	} else {
		c.order = append(c.order, key)
		if len(c.order) > c.size {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.m[key] = genEntry[V]{gen: gen, firm: firm, at: time.Now(), v: v}
}
