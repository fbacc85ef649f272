package syncer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// A backfill at each vendor's default rate uses at least 90 % of it on
// average and never more than the rate in any wall-clock second, as the
// simulators count requests. Timing on a shared 2-core machine is noisy: a
// starved process sends late and slow, so a failed attempt is repeated
// (three at most) before the test fails.
func TestBackfillRateWithinLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about ten seconds")
	}
	if raceEnabled {
		t.Skip("the race detector's slowdown makes the timing meaningless")
	}
	t.Parallel()
	var problems []string
	for attempt := 1; attempt <= 3; attempt++ {
		problems = backfillAtDefaultRates(t)
		if len(problems) == 0 {
			return
		}
		t.Logf("attempt %d: %v", attempt, problems)
	}
	t.Fatal(problems)
}

// backfillAtDefaultRates backfills fresh simulators with default client
// options (Alibaba 5/s, Sendbird 10/s, Feishu 15/s) and returns what broke
// the rate budget.
func backfillAtDefaultRates(t *testing.T) []string {
	w := newWorld(t, worldOpts{sim: 3000})
	e := w.engine(t, Options{})
	type outcome struct {
		id  uint
		err error
	}
	done := make(chan outcome, len(accountIDs))
	for _, id := range accountIDs {
		go func() {
			_, err := e.Pass(ctxT(t, 2*time.Minute), id, false)
			done <- outcome{id, err}
		}()
	}
	limits := map[uint]int{aliID: 5, sbID: 10, fsID: 15}
	var problems []string
	for range accountIDs {
		o := <-done
		if o.err != nil {
			t.Fatalf("%s: %v", name(o.id), o.err)
		}
		w.checkExact(t, o.id)
		st := w.meter(o.id).Stats()
		t.Logf("%s: %d requests, at most %d in a second, %.2f/s on average (limit %d/s)",
			name(o.id), st.Requests, st.MaxPerSecond, st.Rate, limits[o.id])
		if st.MaxPerSecond > limits[o.id] {
			problems = append(problems, fmt.Sprintf("%s: %d requests in one second, limit %d", name(o.id), st.MaxPerSecond, limits[o.id]))
		}
		if st.Requests < 20 || st.Rate < 0.9*float64(limits[o.id]) {
			problems = append(problems, fmt.Sprintf("%s: %d requests at %.2f/s, want 20 or more at 90 %% of %d/s",
				name(o.id), st.Requests, st.Rate, limits[o.id]))
		}
	}
	return problems
}

// An incremental pass with nothing changed costs one ticket-list call per
// page plus one read per open ticket (Alibaba, Feishu), or the ticket list
// plus one window page (Sendbird).
func TestIncrementalCallCount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{client: fast})
	e := w.engine(t, Options{})
	ctx := ctxT(t, time.Minute)
	for _, id := range accountIDs {
		if _, err := e.Pass(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		w.meter(id).Reset()
	}
	want := map[uint]int{
		aliID: 1 + w.ali.OpenTickets(), // one ListTickets page of 100, ListTicketNotes per open ticket
		sbID:  1,                       // one /ticket_notes page for the last day or two; no ticket list
		fsID:  1 + w.fs.OpenTickets(),  // one tickets page of 200 (token cached), messages per open ticket
	}
	for _, id := range accountIDs {
		st, err := e.Pass(ctx, id, false)
		if err != nil {
			t.Fatal(err)
		}
		got := w.meter(id).Stats().Requests
		t.Logf("%s: incremental pass with nothing changed: %d calls (%d %s)", name(id), got, st.Total, st.Unit)
		if got != want[id] {
			t.Errorf("%s: %d vendor calls, want %d", name(id), got, want[id])
		}
		w.checkExact(t, id)
	}
}

var faultKinds = []struct {
	name  string
	fault simfault.Fault
	kind  error
}{
	{"rate limit", simfault.RateLimit, providers.ErrRateLimited},
	{"server error", simfault.ServerError, providers.ErrUnavailable},
	{"timeout", simfault.Timeout, providers.ErrUnavailable},
	{"malformed", simfault.Malformed, providers.ErrUnavailable},
	{"expired token", simfault.ExpiredToken, providers.ErrUnauthorized},
}

// Each fault kind on one account, from its first request on: that
// account's pass fails saying where and why, while the other two, run by
// the same engine at the same time, sync completely and are not held up.
func TestFaultOnOneAccount(t *testing.T) {
	t.Parallel()
	for i, fk := range faultKinds {
		bad := accountIDs[i%len(accountIDs)]
		t.Run(fmt.Sprintf("%s on %s", fk.name, name(bad)), func(t *testing.T) {
			t.Parallel()
			client := fast
			client.Timeout = 3 * time.Second
			client.MaxRetries = 1
			w := newWorld(t, worldOpts{client: client})
			w.faults(bad).Arm(fk.fault, -1)
			// Slow as well as failing: every answer takes two seconds, far
			// longer than a whole pass of a healthy account here.
			w.faults(bad).SetLatency(2 * time.Second)
			finished := make(chan uint, 3)
			e := w.engine(t, Options{Interval: time.Hour, OnProgress: func(id uint, st State) {
				if !st.Running() {
					finished <- id
				}
			}})
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error, 1)
			go func() { ran <- e.Run(ctx) }()
			var order []uint
			for len(order) < 3 {
				select {
				case id := <-finished:
					order = append(order, id)
				case <-time.After(time.Minute):
					t.Fatalf("passes finished: %v", order)
				}
			}
			cancel()
			if err := <-ran; err != nil {
				t.Fatal(err)
			}
			if order[2] != bad {
				t.Errorf("finish order %v: the failing account %d held up another", order, bad)
			}
			for _, id := range accountIDs {
				st := w.store.state(id)
				if id != bad {
					if st.Err != nil || st.LastOKAt.IsZero() {
						t.Errorf("%s: state %+v, err %+v; want a good pass", name(id), st, st.Err)
					}
					w.checkExact(t, id)
					continue
				}
				if st.Err == nil || st.Err.Kind != fk.kind.Error() || st.Err.Where != "ticket list" || !st.LastOKAt.IsZero() {
					t.Errorf("%s: err %+v, want %q at the ticket list", name(id), st.Err, fk.kind)
				}
			}
		})
	}
}

// A fault in the middle of a pass keeps everything stored before it and
// says where the pass stopped; the next pass resumes there and completes.
func TestFaultMidPassKeepsWhatWasStored(t *testing.T) {
	t.Parallel()
	for _, id := range accountIDs {
		t.Run(name(id), func(t *testing.T) {
			t.Parallel()
			client := fast
			client.MaxRetries = -1
			w := newWorld(t, worldOpts{client: client})
			var once sync.Once
			e := w.engine(t, Options{Window: 7 * day, Workers: 1, OnProgress: func(pid uint, st State) {
				// At least 2, not exactly: when a read is in before the
				// last is stored, one batch holds both and Done steps over 2.
				if st.Done >= 2 && st.Running() {
					once.Do(func() { w.faults(id).Arm(simfault.ServerError, 1) })
				}
			}})
			st, err := e.Pass(ctxT(t, time.Minute), id, false)
			if err == nil || st.Err == nil || st.Err.Kind != providers.ErrUnavailable.Error() || st.Err.Status != 500 {
				t.Fatalf("pass: %v, state err %+v; want a 500", err, st.Err)
			}
			if st.Err.Where == "" || st.Err.Where == "ticket list" || st.Done < 2 || st.Checkpoint == nil {
				t.Fatalf("state %+v, err %+v: want where it stopped after 2 units", st, st.Err)
			}
			kept := len(w.store.live(id))
			if kept == 0 {
				t.Fatal("nothing stored before the fault was kept")
			}
			st, err = e.Pass(ctxT(t, time.Minute), id, false)
			if err != nil || st.Kind != PassBackfill {
				t.Fatalf("resumed pass: %v, %+v", err, st)
			}
			w.checkExact(t, id)
		})
	}
}
