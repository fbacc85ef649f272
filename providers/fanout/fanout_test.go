package fanout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// fakeProvider is a providers.Provider whose ListNotes is a function field;
// every other method reports ErrUnsupported.
type fakeProvider struct {
	listNotes func(ctx context.Context, q providers.Query) (providers.NoteList, error)
}

var _ providers.Provider = (*fakeProvider)(nil)

func (p *fakeProvider) Capabilities() providers.Capabilities { return providers.Capabilities{} }

func (p *fakeProvider) ListNotes(ctx context.Context, q providers.Query) (providers.NoteList, error) {
	return p.listNotes(ctx, q)
}

func (p *fakeProvider) ListTickets(context.Context, providers.TicketQuery) ([]providers.Ticket, error) {
	return nil, providers.ErrUnsupported
}

func (p *fakeProvider) AddNote(context.Context, string, string) (providers.Note, providers.Receipt, error) {
	return providers.Note{}, providers.Receipt{}, providers.ErrUnsupported
}

func (p *fakeProvider) UpdateNote(context.Context, string, string, string) (providers.Note, providers.Receipt, error) {
	return providers.Note{}, providers.Receipt{}, providers.ErrUnsupported
}

func (p *fakeProvider) DeleteNote(context.Context, string, string) (providers.Receipt, error) {
	return providers.Receipt{}, providers.ErrUnsupported
}

func (p *fakeProvider) Check(context.Context) (providers.CheckResult, error) {
	return providers.CheckResult{}, providers.ErrUnsupported
}

// static returns a fake that counts its calls and always returns notes.
func static(calls *atomic.Int32, notes ...providers.Note) *fakeProvider {
	return &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
		calls.Add(1)
		return providers.NoteList{Notes: slices.Clone(notes)}, nil
	}}
}

// byTicket returns a fake that counts calls per ticket id and returns one
// note on the asked ticket.
func byTicket(mu *sync.Mutex, calls map[string]int) *fakeProvider {
	return &fakeProvider{listNotes: func(_ context.Context, q providers.Query) (providers.NoteList, error) {
		mu.Lock()
		calls[q.TicketID]++
		mu.Unlock()
		return providers.NoteList{Notes: []providers.Note{note(q.TicketID, "n-"+q.TicketID, 1)}}, nil
	}}
}

var base = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

// note returns a note created min minutes after base.
func note(ticket, id string, min int) providers.Note {
	return providers.Note{TicketID: ticket, ID: id, Body: "body " + id, CreatedAt: base.Add(time.Duration(min) * time.Minute)}
}

// clock is a settable Now for Options.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: base} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ref names a note by account and id, for comparing orders.
type ref struct {
	Account uint
	ID      string
}

func refs(notes []providers.Note) []ref {
	out := make([]ref, len(notes))
	for i, n := range notes {
		out[i] = ref{n.AccountID, n.ID}
	}
	return out
}

func TestNotesMergeOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		notes         [3][]providers.Note // per account 1, 2, 3, newest first
		truncated     [3]bool
		want          []ref
		wantTruncated bool
	}{
		{
			name: "interleaved",
			notes: [3][]providers.Note{
				{note("t1", "a3", 30), note("t1", "a1", 10)},
				{note("t2", "b4", 40), note("t2", "b2", 20)},
				{note("t3", "c5", 50)},
			},
			want: []ref{{3, "c5"}, {2, "b4"}, {1, "a3"}, {2, "b2"}, {1, "a1"}},
		},
		{
			name: "equal timestamps across and within accounts",
			notes: [3][]providers.Note{
				{note("t1", "x", 10), note("t1", "w", 10)},
				{note("t2", "a", 10)},
				{note("t3", "b", 20), note("t3", "a", 10)},
			},
			want: []ref{{3, "b"}, {1, "w"}, {1, "x"}, {2, "a"}, {3, "a"}},
		},
		{
			name: "one account truncated",
			notes: [3][]providers.Note{
				{note("t1", "a", 1)},
				nil,
				{note("t3", "c", 2)},
			},
			truncated:     [3]bool{false, true, false},
			want:          []ref{{3, "c"}, {1, "a"}},
			wantTruncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sources []Source
			for i := range 3 {
				notes, truncated := tt.notes[i], tt.truncated[i]
				sources = append(sources, Source{
					AccountID: uint(i + 1),
					Name:      fmt.Sprintf("account %d", i+1),
					Kind:      providers.KindSendbird,
					Provider: &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
						// AccountID is left wrong on purpose: Notes must set it.
						out := slices.Clone(notes)
						for j := range out {
							out[j].AccountID = 99
						}
						return providers.NoteList{Notes: out, Truncated: truncated}, nil
					}},
				})
			}
			res := New(Options{}).Notes(context.Background(), sources, providers.Query{}, false)

			if got := refs(res.Notes); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
			if res.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v, want %v", res.Truncated, tt.wantTruncated)
			}
			for i, o := range res.Outcomes {
				want := Outcome{
					AccountID: uint(i + 1),
					Name:      fmt.Sprintf("account %d", i+1),
					Kind:      providers.KindSendbird,
					Count:     len(tt.notes[i]),
					Truncated: tt.truncated[i],
					FetchedAt: o.FetchedAt,
				}
				if o != want {
					t.Errorf("Outcomes[%d] = %+v, want %+v", i, o, want)
				}
			}
		})
	}
}

func TestNotesOneAccountFails(t *testing.T) {
	t.Parallel()
	vendorErr := &providers.Error{Provider: providers.KindFeishu, Op: "list notes", Kind: providers.ErrRateLimited, Code: "99991400"}
	tests := []struct {
		name    string
		broken  providers.Provider
		wantErr error
	}{
		{
			name: "provider error",
			broken: &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
				return providers.NoteList{}, vendorErr
			}},
			wantErr: providers.ErrRateLimited,
		},
		{name: "nil provider", broken: nil, wantErr: ErrNoProvider},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			sources := []Source{
				{AccountID: 1, Provider: static(&calls, note("t1", "a", 1))},
				{AccountID: 2, Provider: tt.broken},
				{AccountID: 3, Provider: static(&calls, note("t3", "c", 2))},
			}
			res := New(Options{}).Notes(context.Background(), sources, providers.Query{}, false)

			if got, want := refs(res.Notes), []ref{{3, "c"}, {1, "a"}}; !slices.Equal(got, want) {
				t.Errorf("notes = %v, want %v", got, want)
			}
			if err := res.Outcomes[1].Err; !errors.Is(err, tt.wantErr) {
				t.Errorf("Outcomes[1].Err = %v, want %v", err, tt.wantErr)
			}
			for _, i := range []int{0, 2} {
				if o := res.Outcomes[i]; o.Err != nil || o.Count != 1 {
					t.Errorf("Outcomes[%d] = %+v, want Count 1 and no error", i, o)
				}
			}
		})
	}
}

// An account whose vendor has no such ticket answers a ticket-filtered
// list with 0 notes, not an error; other errors, and not found without a
// ticket filter, stay errors; the single-ticket read still says not found.
func TestNotesTicketFilterNotFoundIsZeroNotes(t *testing.T) {
	t.Parallel()
	notFound := &providers.Error{Provider: providers.KindFeishu, Op: "list notes", Kind: providers.ErrNotFound, Code: "154000", Status: 400}
	var unknownCalls atomic.Int32
	unknown := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
		unknownCalls.Add(1)
		return providers.NoteList{}, notFound
	}}
	refused := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
		return providers.NoteList{}, &providers.Error{Provider: providers.KindAlibaba, Kind: providers.ErrForbidden}
	}}
	var calls atomic.Int32
	sources := []Source{
		{AccountID: 1, Kind: providers.KindFeishu, Provider: unknown},
		{AccountID: 2, Provider: static(&calls, note("T", "b", 1))},
		{AccountID: 3, Provider: refused},
	}
	f := New(Options{})
	// No date bounds: the same cache key as the conversation's read.
	res := f.Notes(context.Background(), sources, providers.Query{TicketID: "T"}, false)
	if o := res.Outcomes[0]; o.Err != nil || o.Count != 0 || o.AccountID != 1 {
		t.Errorf("unknown ticket: outcome %+v, want ok with 0 notes", o)
	}
	if o := res.Outcomes[1]; o.Err != nil || o.Count != 1 {
		t.Errorf("known ticket: outcome %+v, want 1 note", o)
	}
	if err := res.Outcomes[2].Err; !errors.Is(err, providers.ErrForbidden) {
		t.Errorf("refused account: err %v, want ErrForbidden", err)
	}
	if got, want := refs(res.Notes), []ref{{2, "b"}}; !slices.Equal(got, want) {
		t.Errorf("notes = %v, want %v", got, want)
	}

	if _, o := f.Ticket(context.Background(), sources[0], "T", false); !errors.Is(o.Err, providers.ErrNotFound) {
		t.Errorf("Ticket: err %v, want ErrNotFound", o.Err)
	}
	if n := unknownCalls.Load(); n != 2 {
		t.Errorf("vendor asked %d times, want 2 (a not-found answer is not cached)", n)
	}

	all := f.Notes(context.Background(), sources[:1], providers.Query{}, false)
	if err := all.Outcomes[0].Err; !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("no ticket filter: err %v, want ErrNotFound kept", err)
	}
}

func TestNotesSlowAccountTimesOut(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	hang := &fakeProvider{listNotes: func(ctx context.Context, _ providers.Query) (providers.NoteList, error) {
		<-ctx.Done()
		return providers.NoteList{}, ctx.Err()
	}}
	sources := []Source{
		{AccountID: 1, Provider: static(&calls, note("t1", "a", 1))},
		{AccountID: 2, Provider: hang},
		{AccountID: 3, Provider: static(&calls, note("t3", "c", 2))},
	}
	res := New(Options{Timeout: 50 * time.Millisecond}).Notes(context.Background(), sources, providers.Query{}, false)

	if err := res.Outcomes[1].Err; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Outcomes[1].Err = %v, want %v", err, context.DeadlineExceeded)
	}
	if got, want := refs(res.Notes), []ref{{3, "c"}, {1, "a"}}; !slices.Equal(got, want) {
		t.Errorf("notes = %v, want %v", got, want)
	}
	for _, i := range []int{0, 2} {
		if o := res.Outcomes[i]; o.Err != nil || o.Count != 1 {
			t.Errorf("Outcomes[%d] = %+v, want Count 1 and no error", i, o)
		}
	}
}

func TestNotesCancelledContext(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := New(Options{}).Notes(ctx, []Source{{AccountID: 1, Provider: static(&calls)}}, providers.Query{}, false)
	if err := res.Outcomes[0].Err; !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want %v", err, context.Canceled)
	}
	if got := calls.Load(); got != 0 {
		t.Errorf("provider calls = %d, want 0", got)
	}
}

func TestNotesCache(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	q := providers.Query{From: base, To: base.Add(24 * time.Hour), Limit: 100}
	tests := []struct {
		name       string
		ttl        time.Duration
		failFirst  bool
		between    func(f *Fetcher, c *clock)
		second     func(src Source) Source // the source of the second fetch
		secondQ    *providers.Query        // nil means q
		refresh    bool
		wantCalls  int32
		wantCached bool
	}{
		{name: "hit within TTL", between: func(_ *Fetcher, c *clock) { c.Add(ttl - time.Nanosecond) }, wantCalls: 1, wantCached: true},
		{name: "miss after TTL", between: func(_ *Fetcher, c *clock) { c.Add(ttl) }, wantCalls: 2},
		{name: "refresh bypasses", refresh: true, wantCalls: 2},
		{name: "version change misses", second: func(s Source) Source { s.Version = "v2"; return s }, wantCalls: 2},
		{name: "invalidate drops", between: func(f *Fetcher, _ *clock) { f.Invalidate(7) }, wantCalls: 2},
		{name: "invalidating another account keeps", between: func(f *Fetcher, _ *clock) { f.Invalidate(8) }, wantCalls: 1, wantCached: true},
		{name: "failed fetch not cached", failFirst: true, wantCalls: 2},
		{name: "negative TTL disables caching", ttl: -1, wantCalls: 2},
		{name: "other query misses", secondQ: &providers.Query{TicketID: "t1"}, wantCalls: 2},
		{name: "same instants in another zone hit", secondQ: &providers.Query{From: base.In(time.FixedZone("x", 3600)), To: q.To, Limit: 100}, wantCalls: 1, wantCached: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			p := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
				if calls.Add(1) == 1 && tt.failFirst {
					return providers.NoteList{}, &providers.Error{Kind: providers.ErrUnavailable}
				}
				return providers.NoteList{Notes: []providers.Note{note("t1", "a", 1)}}, nil
			}}
			c := newClock()
			f := New(Options{TTL: cmpOr(tt.ttl, ttl), Now: c.Now})
			src := Source{AccountID: 7, Version: "v1", Provider: p}

			first := f.Notes(context.Background(), []Source{src}, q, false)
			if tt.between != nil {
				tt.between(f, c)
			}
			second := src
			if tt.second != nil {
				second = tt.second(src)
			}
			secondQ := q
			if tt.secondQ != nil {
				secondQ = *tt.secondQ
			}
			res := f.Notes(context.Background(), []Source{second}, secondQ, tt.refresh)

			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("provider calls = %d, want %d", got, tt.wantCalls)
			}
			o := res.Outcomes[0]
			if o.Cached != tt.wantCached {
				t.Errorf("Cached = %v, want %v", o.Cached, tt.wantCached)
			}
			if o.Err != nil || len(res.Notes) != 1 {
				t.Errorf("second fetch = %d notes, err %v; want 1 note", len(res.Notes), o.Err)
			}
			if tt.wantCached && !o.FetchedAt.Equal(first.Outcomes[0].FetchedAt) {
				t.Errorf("FetchedAt = %v, want the first fetch's %v", o.FetchedAt, first.Outcomes[0].FetchedAt)
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d != 0 {
		return d
	}
	return def
}

// TestNotesInvalidateDuringFetch checks that a fetch started before
// Invalidate does not put its older data back in the cache.
func TestNotesInvalidateDuringFetch(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	p := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
		}
		return providers.NoteList{Notes: []providers.Note{note("t1", "a", 1)}}, nil
	}}
	f := New(Options{})
	src := Source{AccountID: 1, Provider: p}

	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Notes(context.Background(), []Source{src}, providers.Query{}, false)
	}()
	<-started
	f.Invalidate(1)
	close(release)
	<-done

	res := f.Notes(context.Background(), []Source{src}, providers.Query{}, false)
	if got := calls.Load(); got != 2 {
		t.Errorf("provider calls = %d, want 2", got)
	}
	if res.Outcomes[0].Cached {
		t.Errorf("Cached = true, want false")
	}
}

func TestNotesSingleflight(t *testing.T) {
	t.Parallel()
	// synctest.Wait tells when every caller is parked waiting on the one
	// vendor call, without sleeping. Caching is off so only the shared
	// call can explain a single provider call.
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		var calls atomic.Int32
		release := make(chan struct{})
		p := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
			calls.Add(1)
			<-release
			return providers.NoteList{Notes: []providers.Note{note("t1", "a", 1)}}, nil
		}}
		f := New(Options{TTL: -1})
		src := Source{AccountID: 1, Provider: p}

		results := make([]Result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i] = f.Notes(context.Background(), []Source{src}, providers.Query{}, false)
			})
		}
		synctest.Wait()
		if got := calls.Load(); got != 1 {
			t.Errorf("provider calls while blocked = %d, want 1", got)
		}
		close(release)
		wg.Wait()

		if got := calls.Load(); got != 1 {
			t.Errorf("provider calls = %d, want 1", got)
		}
		for i, r := range results {
			if r.Outcomes[0].Err != nil || len(r.Notes) != 1 {
				t.Errorf("results[%d] = %d notes, err %v; want 1 note", i, len(r.Notes), r.Outcomes[0].Err)
			}
		}
	})
}

func TestNotesConcurrencyBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const sources, limit = 10, 3
		var mu sync.Mutex
		inFlight, maxInFlight := 0, 0
		release := make(chan struct{})
		p := &fakeProvider{listNotes: func(context.Context, providers.Query) (providers.NoteList, error) {
			mu.Lock()
			inFlight++
			maxInFlight = max(maxInFlight, inFlight)
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			return providers.NoteList{Notes: []providers.Note{note("t", "a", 1)}}, nil
		}}
		var srcs []Source
		for i := range sources {
			srcs = append(srcs, Source{AccountID: uint(i + 1), Provider: p})
		}
		f := New(Options{Concurrency: limit})

		done := make(chan Result)
		go func() { done <- f.Notes(context.Background(), srcs, providers.Query{}, false) }()
		for left := sources; left > 0; left-- {
			synctest.Wait()
			mu.Lock()
			got := inFlight
			mu.Unlock()
			if want := min(limit, left); got != want {
				t.Errorf("with %d calls left, in flight = %d, want %d", left, got, want)
			}
			release <- struct{}{}
		}
		res := <-done

		if maxInFlight != limit {
			t.Errorf("max in flight = %d, want %d", maxInFlight, limit)
		}
		if len(res.Notes) != sources {
			t.Errorf("notes = %d, want %d", len(res.Notes), sources)
		}
	})
}

func TestMaxEntriesEviction(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[string]int{}
	f := New(Options{MaxEntries: 2})
	src := Source{AccountID: 1, Provider: byTicket(&mu, calls)}
	fetch := func(ticket string) Outcome {
		return f.Notes(context.Background(), []Source{src}, providers.Query{TicketID: ticket}, false).Outcomes[0]
	}

	for _, ticket := range []string{"a", "b", "c"} {
		fetch(ticket)
	}
	// a was stored first, so it went when c came in.
	steps := []struct {
		ticket     string
		wantCached bool
	}{
		{"c", true},
		{"b", true},
		{"a", false}, // stored again, evicting b
		{"b", false},
	}
	for _, s := range steps {
		if got := fetch(s.ticket).Cached; got != s.wantCached {
			t.Errorf("fetch %s: Cached = %v, want %v", s.ticket, got, s.wantCached)
		}
	}
	want := map[string]int{"a": 2, "b": 2, "c": 1}
	for ticket, n := range want {
		if calls[ticket] != n {
			t.Errorf("calls[%s] = %d, want %d", ticket, calls[ticket], n)
		}
	}
}

func TestTicket(t *testing.T) {
	t.Parallel()
	var gotQ []providers.Query
	var mu sync.Mutex
	p := &fakeProvider{listNotes: func(_ context.Context, q providers.Query) (providers.NoteList, error) {
		mu.Lock()
		gotQ = append(gotQ, q)
		mu.Unlock()
		// Newest first, as providers return them.
		return providers.NoteList{Notes: []providers.Note{
			note("t1", "n3", 30), note("t1", "n2b", 20), note("t1", "n2a", 20), note("t1", "n1", 10),
		}}, nil
	}}
	f := New(Options{})
	src := Source{AccountID: 4, Name: "desk", Provider: p}

	notes, out := f.Ticket(context.Background(), src, "t1", false)
	if out.Err != nil {
		t.Fatalf("Ticket: %v", out.Err)
	}
	if got, want := refs(notes), []ref{{4, "n1"}, {4, "n2a"}, {4, "n2b"}, {4, "n3"}}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if want := []providers.Query{{TicketID: "t1"}}; !slices.Equal(gotQ, want) {
		t.Errorf("queries = %+v, want %+v", gotQ, want)
	}

	// The same ticket through Notes uses the same cache entry.
	res := f.Notes(context.Background(), []Source{src}, providers.Query{TicketID: "t1"}, false)
	if !res.Outcomes[0].Cached || len(gotQ) != 1 {
		t.Errorf("Notes after Ticket: Cached = %v, calls = %d; want true, 1", res.Outcomes[0].Cached, len(gotQ))
	}
	if got, want := refs(res.Notes), []ref{{4, "n3"}, {4, "n2a"}, {4, "n2b"}, {4, "n1"}}; !slices.Equal(got, want) {
		t.Errorf("Notes order = %v, want %v", got, want)
	}

	notes, out = f.Ticket(context.Background(), src, "", false)
	if !errors.Is(out.Err, providers.ErrInvalid) || notes != nil {
		t.Errorf("empty ticket: notes %v, err %v; want nil, %v", notes, out.Err, providers.ErrInvalid)
	}
	if len(gotQ) != 1 {
		t.Errorf("empty ticket called the provider")
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		prefill   *providers.Query // a Notes fetch made before Find
		version   string           // the version Find is asked with
		noteID    string
		fail      bool
		wantOK    bool
		wantErr   error
		wantCalls []string // ticket ids the provider was asked for, in order
	}{
		{name: "from a cached date query", prefill: &providers.Query{From: base}, version: "v1", noteID: "a2", wantOK: true, wantCalls: []string{""}},
		{name: "from fetching the ticket", version: "v1", noteID: "a2", wantOK: true, wantCalls: []string{"t1"}},
		{name: "cache of another version is ignored", prefill: &providers.Query{From: base}, version: "v2", noteID: "a2", wantOK: true, wantCalls: []string{"", "t1"}},
		{name: "not found", version: "v1", noteID: "zz", wantCalls: []string{"t1"}},
		{name: "fetch error", version: "v1", noteID: "a2", fail: true, wantErr: providers.ErrForbidden, wantCalls: []string{"t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var calls []string
			p := &fakeProvider{listNotes: func(_ context.Context, q providers.Query) (providers.NoteList, error) {
				mu.Lock()
				calls = append(calls, q.TicketID)
				mu.Unlock()
				if tt.fail {
					return providers.NoteList{}, &providers.Error{Kind: providers.ErrForbidden}
				}
				return providers.NoteList{Notes: []providers.Note{note("t1", "a2", 2), note("t2", "a2", 1), note("t1", "a1", 1)}}, nil
			}}
			f := New(Options{})
			src := Source{AccountID: 5, Version: "v1", Provider: p}
			if tt.prefill != nil {
				f.Notes(context.Background(), []Source{src}, *tt.prefill, false)
			}
			src.Version = tt.version

			n, ok, err := f.Find(context.Background(), src, "t1", tt.noteID)

			if ok != tt.wantOK || !errors.Is(err, tt.wantErr) {
				t.Errorf("Find = ok %v, err %v; want ok %v, err %v", ok, err, tt.wantOK, tt.wantErr)
			}
			if ok && (n.ID != tt.noteID || n.TicketID != "t1" || n.AccountID != 5) {
				t.Errorf("note = %+v, want %s on t1 of account 5", n, tt.noteID)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("provider asked for tickets %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}

func TestReturnedNotesAreCopies(t *testing.T) {
	t.Parallel()
	read := true
	orig := note("t1", "a", 1)
	orig.Attachments = []providers.Attachment{{Name: "file.txt", URL: "https://example.test/f"}}
	orig.Read = &read
	orig.Raw = []byte(`{"id":"a"}`)
	var calls atomic.Int32
	src := Source{AccountID: 1, Provider: static(&calls, orig)}

	mutate := func(n *providers.Note) {
		n.Body = "changed"
		n.Attachments[0].Name = "changed"
		*n.Read = false
		n.Raw[0] = 'X'
	}
	tests := []struct {
		name string
		get  func(f *Fetcher) *providers.Note
	}{
		{"Notes", func(f *Fetcher) *providers.Note {
			return &f.Notes(context.Background(), []Source{src}, providers.Query{TicketID: "t1"}, false).Notes[0]
		}},
		{"Ticket", func(f *Fetcher) *providers.Note {
			notes, _ := f.Ticket(context.Background(), src, "t1", false)
			return &notes[0]
		}},
		{"Find", func(f *Fetcher) *providers.Note {
			n, _, _ := f.Find(context.Background(), src, "t1", "a")
			return &n
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := New(Options{})
			mutate(tt.get(f))
			got := tt.get(f)
			if got.Body != orig.Body || got.Attachments[0].Name != "file.txt" || !*got.Read || string(got.Raw) != `{"id":"a"}` {
				t.Errorf("second read = %+v (read %v, raw %s); the cached note was changed", got, *got.Read, got.Raw)
			}
		})
	}
}

// notesOf returns n notes of one account, newest first.
func notesOf(account uint, n int) []providers.Note {
	notes := make([]providers.Note, n)
	for i := range notes {
		notes[i] = note("t", fmt.Sprintf("n%d", i), n-i)
		notes[i].AccountID = account
		notes[i].Raw = []byte(`{"id":1}`)
	}
	return notes
}

func BenchmarkMerge(b *testing.B) {
	entries := []*entry{
		{notes: notesOf(1, 2000)},
		{notes: notesOf(2, 2000)},
		{notes: notesOf(3, 2000)},
	}
	for b.Loop() {
		merge(entries)
	}
}

func BenchmarkCachedNotes(b *testing.B) {
	var calls atomic.Int32
	var sources []Source
	for i := range 3 {
		sources = append(sources, Source{AccountID: uint(i + 1), Provider: static(&calls, notesOf(uint(i+1), 2000)...)})
	}
	f := New(Options{TTL: time.Hour})
	ctx := context.Background()
	f.Notes(ctx, sources, providers.Query{}, false)
	for b.Loop() {
		f.Notes(ctx, sources, providers.Query{}, false)
	}
	if got := calls.Load(); got != 3 {
		b.Errorf("provider calls = %d, want 3", got)
	}
}
