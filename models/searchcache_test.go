package models_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// searchBoth runs q in relevance and newest order and checks that both
// find exactly want (note ids, any order) with that total, and that the
// answer is then cached.
func searchBoth(t *testing.T, db *models.DB, q string, want ...string) {
	t.Helper()
	ctx := context.Background()
	for _, sort := range []string{models.SortRelevance, models.SortNewest} {
		f := models.NoteFilter{Query: q, Sort: sort}
		for range 2 { // the second answer comes from the cache
			notes, total, _, err := db.ListArchivedNotes(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got := noteIDs(notes)
			slices.Sort(got)
			if !slices.Equal(got, want) || total != int64(len(want)) {
				t.Fatalf("%s %q: got %v (total %d), want %v", sort, q, got, total, want)
			}
		}
		if ok, err := models.SearchCached(ctx, db, f); err != nil || !ok {
			t.Fatalf("%s %q: not cached (%v)", sort, q, err)
		}
	}
}

// Every kind of write changes what a cached search answers: a sync batch,
// an edit and a deletion made here, a write from another handle on the
// same database (`ticketnotes sync` beside the server) and the cascade of
// an account's deletion.
func TestSearchCacheFollowsWrites(t *testing.T) {
	db, dir := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "alibaba")
	other := newAccount(t, db, "feishu")
	storeTicket(t, db, acc, "1", note("1", "a", "please refund me", day(1)), note("1", "b", "hello", day(2)))
	searchBoth(t, db, "refund", "a")

	storeTicket(t, db, acc, "2", note("2", "c", "the refund arrived", day(3)))
	searchBoth(t, db, "refund", "a", "c")

	edited := note("1", "a", "never mind", day(1))
	edited.AccountID = acc
	if err := db.ArchiveNoteWritten(ctx, acc, edited, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	searchBoth(t, db, "refund", "c")

	if err := db.ArchiveNoteDeleted(ctx, acc, "2", "c", "ada@example.com", day(4)); err != nil {
		t.Fatal(err)
	}
	searchBoth(t, db, "refund")

	second := openDir(t, dir, testKey)
	storeTicket(t, second, other, "9", note("9", "d", "refund via the other handle", day(5)))
	searchBoth(t, db, "refund", "d")

	if err := db.DeleteAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	searchBoth(t, db, "refund")
}

// Concurrent searches and writes: every answer is one the archive held at
// some moment, and once the writes stop the cache answers the final state.
func TestSearchCacheConcurrentWrites(t *testing.T) {
	db, _ := openDB(t)
	acc := newAccount(t, db, "alibaba")
	ctx := context.Background()
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			id := string(rune('a' + i))
			scope := syncer.Scope{TicketID: "t" + id, Complete: true}
			if _, err := db.StoreNotes(ctx, acc, scope, []providers.Note{note("t"+id, id, "refund "+id, day(1+i))}, day(20)); err != nil {
				werr = err
				return
			}
		}
	}()
	last := int64(0)
	for range 50 {
		_, total, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "refund"})
		if err != nil {
			t.Fatal(err)
		}
		if total < last {
			t.Fatalf("total went back from %d to %d", last, total)
		}
		last = total
	}
	wg.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	want := make([]string, 20)
	for i := range want {
		want[i] = string(rune('a' + i))
	}
	searchBoth(t, db, "refund", want...)
}

// SQLite connections stay open between requests and each has the pragmas
// Open sets.
func TestSQLiteConnectionsKeepPragmas(t *testing.T) {
	if modelstest.Postgres() {
		t.Skip("sqlite only: PRAGMAs are SQLite's per-connection settings")
	}
	db, _ := openDB(t)
	ctx := context.Background()
	pool, err := models.SQLDB(db)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	conns := make([]interface{ Close() error }, 0, n)
	for range n {
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var mmap, cache, temp int64
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&temp); err != nil {
			t.Fatal(err)
		}
		if mmap != 0 || cache != -2048 || temp != 2 {
			t.Fatalf("connection: mmap_size %d, cache_size %d, temp_store %d; want 0, -2048 and 2 (memory)", mmap, cache, temp)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	if idle := pool.Stats().Idle; idle != n {
		t.Fatalf("%d idle connections after %d concurrent ones, want all kept", idle, n)
	}
}

// The per-account counts of a search are cached too: the notes page asks
// for them with every page of results.
func TestSearchCountsByAccountCached(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := newAccount(t, db, "alibaba"), newAccount(t, db, "feishu")
	storeTicket(t, db, a, "1", note("1", "x", "refund one", day(1)), note("1", "y", "refund two", day(2)))
	storeTicket(t, db, b, "2", note("2", "z", "no match", day(3)))
	f := models.NoteFilter{Query: "refund", Sort: models.SortNewest, Offset: 50}
	by, err := db.CountArchivedNotesByAccount(ctx, f)
	if err != nil || by[a] != 2 || by[b] != 0 || len(by) != 2 {
		t.Fatalf("counts %v (%v), want %d: 2, %d: 0", by, err, a, b)
	}
	for _, acc := range []uint{a, b} {
		if ok, err := models.SearchCached(ctx, db, models.NoteFilter{Query: "refund", Accounts: []uint{acc}}); err != nil || !ok {
			t.Errorf("account %d: count not cached (%v)", acc, err)
		}
	}
}
