package syncer

import (
	"context"
	"sync"
	"testing"
	"time"
)

// passLog records, across engines, each pass that ended: which engine ran
// it and when it started and finished.
type passLog struct {
	mu     sync.Mutex
	passes []endedPass
}

type endedPass struct {
	owner           string
	start, finished time.Time
	kind            string
}

// hook is an engine's OnProgress recording account id's ended passes.
func (l *passLog) hook(owner string, id uint) func(uint, State) {
	return func(account uint, st State) {
		if account != id || st.Running() {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.passes = append(l.passes, endedPass{owner: owner, start: st.StartedAt, finished: st.FinishedAt, kind: st.Kind})
	}
}

func (l *passLog) all() []endedPass {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]endedPass(nil), l.passes...)
}

// runEngines runs each engine until the test ends.
func runEngines(t *testing.T, engines ...*Engine) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// Two engines on one store, both scheduling the same account, make one
// pass per interval between them: each pass starts at least an Interval
// after the one before it ended, whichever engine ran either. (Each
// engine's own timer, the lease only keeping passes from overlapping,
// made two.)
func TestTwoEnginesOnePassPerInterval(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	const interval = 300 * time.Millisecond
	var log passLog
	a := w.engine(t, Options{Interval: interval, Poll: 20 * time.Millisecond, Owner: "a", OnProgress: log.hook("a", aliID)})
	b := w.engine(t, Options{Interval: interval, Poll: 20 * time.Millisecond, Owner: "b", OnProgress: log.hook("b", aliID)})
	for _, e := range []*Engine{a, b} {
		e.Remove(sbID)
		e.Remove(fsID)
	}
	start := time.Now()
	runEngines(t, a, b)
	time.Sleep(8 * interval)
	elapsed := time.Since(start)
	passes := log.all()
	if len(passes) < 3 {
		t.Fatalf("%d passes in %v, want a backfill and incremental ones", len(passes), elapsed)
	}
	if passes[0].kind != PassBackfill {
		t.Errorf("first pass is %s, want the backfill", passes[0].kind)
	}
	owners := map[string]int{}
	for i, p := range passes {
		owners[p.owner]++
		if i == 0 {
			continue
		}
		if gap := p.start.Sub(passes[i-1].finished); gap < interval {
			t.Errorf("pass %d (%s) started %v after pass %d (%s) ended, want at least %v",
				i, p.owner, gap, i-1, passes[i-1].owner, interval)
		}
	}
	// At most one pass per interval: the backfill, then one each Interval.
	if most := int(elapsed/interval) + 1; len(passes) > most {
		t.Errorf("%d passes in %v, at most %d fit one per %v", len(passes), elapsed, most, interval)
	}
	t.Logf("%d passes in %v by owner %v", len(passes), elapsed, owners)
	w.checkExact(t, aliID)
}

// "Sync now" asked of one engine while the other runs a pass of the
// account (holding its lease) is neither lost nor run twice: one more pass
// runs after the running one, and nothing more.
func TestSyncNowWhileAnotherEngineHoldsTheLease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	w.ali.Faults.SetLatency(20 * time.Millisecond)
	var log passLog
	// The first engine seen storing a unit is the one holding the lease.
	holder := make(chan string, 1)
	engines := map[string]*Engine{}
	for _, owner := range []string{"a", "b"} {
		record := log.hook(owner, aliID)
		engines[owner] = w.engine(t, Options{Poll: 20 * time.Millisecond, Owner: owner, Workers: 1, OnProgress: func(id uint, st State) {
			record(id, st)
			if id == aliID && st.Running() && st.Done > 0 {
				select {
				case holder <- owner:
				default:
				}
			}
		}})
	}
	runEngines(t, engines["a"], engines["b"])
	// Asked of b; either engine may run it.
	if err := engines["b"].SyncNow(aliID, false); err != nil {
		t.Fatal(err)
	}
	var other *Engine
	select {
	case h := <-holder:
		other = engines[map[string]string{"a": "b", "b": "a"}[h]]
		t.Logf("%s runs the first pass", h)
	case <-time.After(30 * time.Second):
		t.Fatal("no pass started")
	}
	// Asked twice of the engine not holding the lease: one request.
	for range 2 {
		if err := other.SyncNow(aliID, false); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(log.all()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("passes = %+v, want the first and one for the request", log.all())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Long enough for many polls of both engines: nothing else runs.
	time.Sleep(300 * time.Millisecond)
	passes := log.all()
	if len(passes) != 2 {
		t.Fatalf("passes = %+v, want exactly 2", passes)
	}
	if passes[1].start.Before(passes[0].finished) {
		t.Errorf("the requested pass %+v started before the first %+v ended", passes[1], passes[0])
	}
	if req, _ := w.store.SyncRequest(context.Background(), aliID); req.Pending() {
		t.Errorf("request still pending: %+v", req)
	}
	w.checkExact(t, aliID)
}

// With a schedule, an engine takes over an account whose pass another
// owner left running (it died holding the lease) once that lease expires,
// and resumes it from the checkpoint.
func TestEngineTakesOverAnExpiredLease(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	ttl := 300 * time.Millisecond
	// The dead owner: a pass stopped mid-way, its lease left to expire.
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	dead := w.engine(t, Options{Owner: "dead", LeaseTTL: ttl, Workers: 1, OnProgress: func(id uint, st State) {
		if id == aliID && st.Running() && st.Done > 3 {
			select {
			case <-stopped:
			default:
				close(stopped)
				cancel()
			}
		}
	}})
	_, _ = dead.Pass(ctx, aliID, false)
	<-stopped
	st := w.store.state(aliID)
	if st.Done == 0 {
		t.Fatalf("the dead pass stored nothing: %+v", st)
	}
	// Dying leaves the lease held and the state running (a cancelled pass
	// would release it and record its end).
	st.FinishedAt = time.Time{}
	if err := w.store.SaveSyncState(context.Background(), aliID, st); err != nil {
		t.Fatal(err)
	}
	if ok, _ := w.store.AcquireSyncLease(context.Background(), aliID, "dead", ttl); !ok {
		t.Fatal("cannot retake the dead owner's lease")
	}
	died := time.Now()
	var log passLog
	record := log.hook("live", aliID)
	tookOver := make(chan time.Time, 1)
	live := w.engine(t, Options{Owner: "live", Interval: time.Hour, LeaseTTL: ttl, OnProgress: func(id uint, st State) {
		select {
		case tookOver <- time.Now():
		default:
		}
		record(id, st)
	}})
	live.Remove(sbID)
	live.Remove(fsID)
	runEngines(t, live)
	deadline := time.Now().Add(30 * time.Second)
	for len(log.all()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the live engine never took the account over")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p := log.all()[0]
	if p.kind != PassBackfill || !p.start.Equal(st.StartedAt) {
		t.Errorf("taken-over pass = %+v, want the dead one's backfill resumed (started %v)", p, st.StartedAt)
	}
	// Within one lease period and a poll (a third of it), with room for a
	// loaded machine.
	if took := (<-tookOver).Sub(died); took > ttl+ttl/3+time.Second {
		t.Errorf("taken over %v after the owner died, lease %v", took, ttl)
	} else {
		t.Logf("taken over %v after the owner died (lease %v)", took, ttl)
	}
	w.checkExact(t, aliID)
}

// A pass run directly (`ticketnotes sync`) takes the "sync now" pending
// from before it when it covers it: any request for a full pass, a plain
// request for any pass; a full request stays for a plain pass.
func TestPassTakesThePendingRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	pending := func() Request {
		t.Helper()
		r, err := w.store.SyncRequest(ctx, fsID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := e.SyncNow(fsID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pass(ctx, fsID, false); err != nil {
		t.Fatal(err)
	}
	if r := pending(); !r.Pending() || !r.Full {
		t.Fatalf("after a plain pass the full request is %+v, want it pending", r)
	}
	if _, err := e.Pass(ctx, fsID, true); err != nil {
		t.Fatal(err)
	}
	if r := pending(); r.Pending() {
		t.Fatalf("after a full pass the request is %+v, want it taken", r)
	}
	if err := e.SyncNow(fsID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pass(ctx, fsID, false); err != nil {
		t.Fatal(err)
	}
	if r := pending(); r.Pending() {
		t.Fatalf("after a pass the plain request is %+v, want it taken", r)
	}
	w.checkExact(t, fsID)
}
