package models

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// Concurrent requests for the same search at the same generation read it
// once; another generation reads again; a failed read is not shared.
func TestSearchCacheSharesOneRead(t *testing.T) {
	c := newSearchCache()
	var reads atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	read := func() (cachedSearch, error) {
		if reads.Add(1) == 1 {
			close(started)
			<-release
		}
		return cachedSearch{total: 7}, nil
	}
	var wg sync.WaitGroup
	got := make([]int64, 8)
	run := func(i int) {
		defer wg.Done()
		e, err := c.do("k", 1, 0, func() (int64, error) { return 1, nil }, read)
		if err != nil {
			t.Error(err)
		}
		got[i] = e.total
	}
	wg.Add(1)
	go run(0)
	<-started
	for i := 1; i < len(got); i++ {
		wg.Add(1)
		go run(i)
	}
	close(release)
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads of one search, want 1", n)
	}
	for i, n := range got {
		if n != 7 {
			t.Fatalf("request %d got total %d, want 7", i, n)
		}
	}
	if _, err := c.do("k", 2, 0, func() (int64, error) { return 2, nil }, read); err != nil || reads.Load() != 2 {
		t.Fatalf("a new generation: %d reads (%v), want 2", reads.Load(), err)
	}

	// A failed read is neither cached nor taken by a waiter.
	boom := errors.New("boom")
	failing, unblock := make(chan struct{}), make(chan struct{})
	var mine atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := c.do("f", 1, 0, func() (int64, error) { return 1, nil }, func() (cachedSearch, error) {
			close(failing)
			<-unblock
			return cachedSearch{}, boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("leader: %v, want boom", err)
		}
	}()
	<-failing
	wg.Add(1)
	go func() {
		defer wg.Done()
		e, err := c.do("f", 1, 0, func() (int64, error) { return 1, nil }, func() (cachedSearch, error) { mine.Add(1); return cachedSearch{total: 3}, nil })
		if err != nil || e.total != 3 {
			t.Errorf("waiter: %+v %v, want its own read", e, err)
		}
	}()
	close(unblock)
	wg.Wait()
	if mine.Load() != 1 {
		t.Fatalf("waiter read %d times, want 1", mine.Load())
	}
}

// A range's total reads the per-hour totals from a covering index.
// On PostgreSQL, whose planner goes by the table's statistics (a table
// scan wins on an empty one), the check is that the index can serve it
// alone once the scans that read the table are ruled out.
func TestHourCountsCovered(t *testing.T) {
	loc := modelstest.New(t)
	db, err := Open(context.Background(), Options{DataDir: loc.Dir, URL: loc.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, col := range []string{"notes", "notes + deleted"} {
		for _, accounts := range []bool{false, true} {
			args := []any{1, 2}
			if accounts {
				args = append(args, []uint{1, 2, 3})
			}
			if db.IsPostgres() {
				var plan []string
				err := db.g.Transaction(func(tx *gorm.DB) error {
					for _, off := range []string{"enable_seqscan", "enable_bitmapscan"} {
						if err := tx.Exec("SET LOCAL " + off + " = off").Error; err != nil {
							return err
						}
					}
					return tx.Raw("EXPLAIN "+hourCountsQuery(col, accounts), args...).Scan(&plan).Error
				})
				if err != nil {
					t.Fatal(err)
				}
				if p := strings.Join(plan, "\n"); !strings.Contains(p, "Index Only Scan using archive_hour_counts_cover") {
					t.Errorf("%s, accounts %v: plan\n%s\nwant an index-only scan of the covering index", col, accounts, p)
				}
				continue
			}
			var plan []struct{ Detail string }
			if err := db.g.Raw("EXPLAIN QUERY PLAN "+hourCountsQuery(col, accounts), args...).Scan(&plan).Error; err != nil {
				t.Fatal(err)
			}
			if len(plan) == 0 || !strings.Contains(plan[len(plan)-1].Detail, "COVERING INDEX archive_hour_counts_cover") {
				t.Errorf("%s, accounts %v: plan %+v, want the covering index", col, accounts, plan)
			}
		}
	}
}

// While the archive is written, requests that arrive during a read begun
// at an older generation, each at a newer one, do not take its answer:
// they wait for it and all share one next read, begun after they arrived
// (one read each before: a read per generation).
func TestGenCacheCoalescesWhileTheGenerationMoves(t *testing.T) {
	c := newGenCache[int64](4)
	var reads atomic.Int64
	var now atomic.Int64 // the archive's generation
	now.Store(1)
	started, release := make(chan struct{}), make(chan struct{})
	read := func() (int64, error) {
		if reads.Add(1) == 1 {
			close(started)
			<-release
		}
		return now.Load(), nil // the answer is the generation it read
	}
	readGen := func() (int64, error) { return now.Load(), nil }
	first := make(chan int64, 1)
	go func() {
		v, _ := c.do("k", 1, 0, readGen, read)
		first <- v
	}()
	<-started
	var wg sync.WaitGroup
	got, arrived := make([]int64, 6), make([]int64, 6)
	for i := range got {
		arrived[i] = now.Add(1) // a write lands before each request
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = c.do("k", arrived[i], 0, readGen, read)
		}()
	}
	// Every later request is queued behind the first read before it ends.
	for {
		c.mu.Lock()
		queued := c.next["k"] != nil
		c.mu.Unlock()
		if queued {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if v := <-first; v < 1 {
		t.Fatalf("first request got %d", v)
	}
	if n := reads.Load(); n != 2 {
		t.Fatalf("%d reads for a burst during a write, want 2 (the running one and one next)", n)
	}
	for i, v := range got {
		if v < arrived[i] {
			t.Fatalf("request %d, arrived at generation %d, got an answer of generation %d", i, arrived[i], v)
		}
	}
	if _, ok := c.get("k", now.Load()); !ok {
		t.Fatal("the next read's answer is not kept at its generation")
	}
}

// Requests that find their page behind only by a running pass's writes get
// the kept page, and a burst of them starts one read in the background;
// a newer firm generation gets nothing from lagging.
func TestLaggingServesTheKeptPageAndReadsOnce(t *testing.T) {
	c := newGenCache[int](4)
	c.put("k", 1, 1, 10)
	var reads atomic.Int64
	release := make(chan struct{})
	read := func() (int, error) {
		reads.Add(1)
		<-release
		return 20, nil
	}
	for i := range 16 {
		v, ok := c.lagging("k", 2+int64(i), 1, time.Hour, read)
		if !ok || v != 10 {
			t.Fatalf("request %d: lagging = %d, %t; want the kept 10", i, v, ok)
		}
	}
	close(release)
	c.settle("k")
	c.drain()
	if n := reads.Load(); n != 1 {
		t.Fatalf("a burst of 16 read %d times, want 1", n)
	}
	if v, ok := c.get("k", 2); !ok || v != 20 {
		t.Fatalf("after the background read: %d, %t; want 20 at generation 2", v, ok)
	}
	if _, ok := c.lagging("k", 3, 2, time.Hour, read); ok {
		t.Fatal("a newer firm generation (a change made here) was served the kept page")
	}
	if _, ok := c.lagging("k", 3, 1, 0, read); ok {
		t.Fatal("lag 0 served the kept page")
	}
	if _, ok := c.lagging("k", 2, 1, time.Hour, read); ok {
		t.Fatal("lagging answered a request the cache holds current")
	}
}
