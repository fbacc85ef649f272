package handlers

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/views"
)

// Requests for one rendering while it is made share it; a failed one is
// not kept; the oldest renderings go first beyond the bound, and one past
// its age is made again.
func TestRenderCache(t *testing.T) {
	r := newRenderCache(2, time.Hour)
	var made atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	render := func() (*keptResults, error) {
		if made.Add(1) == 1 {
			close(started)
			<-release
		}
		return &keptResults{text: &views.RenderedResults{Rows: "rows"}}, nil
	}
	var wg sync.WaitGroup
	got := make([]string, 8)
	run := func(i int) {
		defer wg.Done()
		p, err := r.do("a", render)
		if err != nil {
			t.Error(err)
			return
		}
		got[i] = p.text.Rows
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
	if n := made.Load(); n != 1 {
		t.Fatalf("%d renderings of one key, want 1", n)
	}
	for i, s := range got {
		if s != "rows" {
			t.Fatalf("request %d got %q", i, s)
		}
	}

	fail := errors.New("render failed")
	if _, err := r.do("b", func() (*keptResults, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("a failed rendering: %v", err)
	}
	if _, ok := r.get("b"); ok {
		t.Error("a failed rendering was kept")
	}

	for i := range 3 {
		r.put("k"+strconv.Itoa(i), &keptResults{})
	}
	if _, ok := r.get("a"); ok {
		t.Error("the oldest rendering is kept beyond the bound")
	}
	if _, ok := r.get("k2"); !ok {
		t.Error("the newest rendering is not kept")
	}

	old := newRenderCache(2, time.Nanosecond)
	old.put("x", &keptResults{})
	time.Sleep(time.Millisecond)
	if _, ok := old.get("x"); ok {
		t.Error("a rendering past its age is served")
	}
}
