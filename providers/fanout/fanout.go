// Package fanout reads notes from several provider accounts at once, merges
// them newest first and keeps recent results in a small in-memory cache.
//
// One slow or failing account never holds up or hides the others: each
// account is fetched under its own timeout and reports its own Outcome.
package fanout

import (
	"bytes"
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Defaults used when an Options field is zero.
const (
	DefaultTTL         = 60 * time.Second
	DefaultTimeout     = 20 * time.Second
	DefaultConcurrency = 8
	DefaultMaxEntries  = 512
)

// ErrNoProvider is the Outcome error of a Source whose Provider is nil, for
// instance an account whose client could not be built.
var ErrNoProvider = errors.New("fanout: account has no provider")

// Source is one account to read.
type Source struct {
	AccountID uint
	Name      string
	Kind      providers.Kind
	// Version changes when the account is edited; it is part of the cache
	// key, so an edited account is never served its old results.
	Version  string
	Provider providers.Provider
}

// Outcome is one account's part of a fetch.
type Outcome struct {
	AccountID uint
	Name      string
	Kind      providers.Kind
	// Count is how many notes this account returned (after the provider's
	// own date filter).
	Count int
	// Truncated is true when the provider cut its result at a limit.
	Truncated bool
	// Err is nil on success; otherwise the provider's error (usually a
	// *providers.Error), context.DeadlineExceeded when the account's
	// Timeout ran out, the caller's context error, or ErrNoProvider.
	Err error
	// Cached is true when the notes were served from the cache.
	Cached bool
	// FetchedAt is when the data was asked of the vendor.
	FetchedAt time.Time
}

// Result is a merged fetch.
type Result struct {
	// Notes holds every account's notes, newest first (CreatedAt
	// descending; ties broken by AccountID, then note ID, then ticket ID).
	Notes []providers.Note
	// Outcomes is in the order of the sources given.
	Outcomes []Outcome
	// Truncated is true when any account truncated its result.
	Truncated bool
}

// Options tunes a Fetcher. The zero value gives the defaults.
type Options struct {
	// TTL is how long a fetched result is kept; 0 means DefaultTTL and a
	// negative TTL disables caching.
	TTL time.Duration
	// Timeout bounds one account's fetch; 0 means DefaultTimeout.
	Timeout time.Duration
	// Concurrency is how many accounts one Notes call fetches at once; 0
	// means DefaultConcurrency.
	Concurrency int
	// MaxEntries is how many results the cache keeps; 0 means
	// DefaultMaxEntries. The oldest entry is evicted first.
	MaxEntries int
	// Now returns the current time; nil means time.Now. Tests move it.
	Now func() time.Time
}

// Fetcher fetches, merges and caches notes. It is safe for concurrent use.
type Fetcher struct {
	ttl         time.Duration
	timeout     time.Duration
	concurrency int
	maxEntries  int
	now         func() time.Time

	calls singleflight.Group

	mu      sync.Mutex
	entries map[key]*list.Element // values are *entry
	order   *list.List            // oldest stored first
	// gen counts Invalidate calls per account. It is part of the
	// singleflight key and checked before storing, so a fetch that started
	// before an invalidation neither joins later callers nor refills the
	// cache with data from before a write.
	gen map[uint]uint64
}

// key identifies one cached result. Times are kept as seconds and
// nanoseconds so that equal instants in different locations share a key.
type key struct {
	account          uint
	version          string
	ticket           string
	fromSec, toSec   int64
	fromNsec, toNsec int
	limit            int
}

// entry is one cached result. Its notes are never handed out directly, only
// copies of them.
type entry struct {
	key       key
	notes     []providers.Note // newest first, AccountID set
	truncated bool
	fetchedAt time.Time
}

// New returns a Fetcher with opts applied over the defaults.
func New(opts Options) *Fetcher {
	f := &Fetcher{
		ttl:         opts.TTL,
		timeout:     opts.Timeout,
		concurrency: opts.Concurrency,
		maxEntries:  opts.MaxEntries,
		now:         opts.Now,
		entries:     make(map[key]*list.Element),
		order:       list.New(),
		gen:         make(map[uint]uint64),
	}
	if f.ttl == 0 {
		f.ttl = DefaultTTL
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.concurrency <= 0 {
		f.concurrency = DefaultConcurrency
	}
	if f.maxEntries <= 0 {
		f.maxEntries = DefaultMaxEntries
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// Notes fetches q from every source, at most Concurrency at once and each
// under its own Timeout, and merges the notes newest first. A source is
// served from the cache when it holds a result for the same account,
// version and query younger than TTL, unless refresh is true. Concurrent
// fetches of the same key share one vendor call.
//
// Notes never fails as a whole: an account's error is in its Outcome and the
// other accounts' notes are still merged. Failed fetches are not cached.
// With q.TicketID set, an account whose provider answers
// providers.ErrNotFound (its vendor has no such ticket, or the id cannot be
// one of its tickets) has an ok Outcome with 0 notes: a ticket filter
// across vendors is expected to miss at most of them. That answer is not
// cached, so Ticket still reports the ticket as not found.
func (f *Fetcher) Notes(ctx context.Context, sources []Source, q providers.Query, refresh bool) Result {
	entries := make([]*entry, len(sources))
	outcomes := make([]Outcome, len(sources))

	var g errgroup.Group
	g.SetLimit(f.concurrency)
	for i, src := range sources {
		outcomes[i] = baseOutcome(src)
		if src.Provider == nil {
			outcomes[i].Err = ErrNoProvider
			continue
		}
		// Cache hits are answered here so they never wait for a slot.
		if !refresh {
			if e := f.lookup(keyFor(src, q)); e != nil {
				entries[i] = e
				outcomes[i] = fill(outcomes[i], e, true)
				continue
			}
		}
		g.Go(func() error {
			entries[i], outcomes[i] = f.load(ctx, src, q, refresh)
			if q.TicketID != "" && errors.Is(outcomes[i].Err, providers.ErrNotFound) {
				outcomes[i].Err = nil
			}
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through outcomes, never an error

	res := Result{Outcomes: outcomes}
	for _, o := range outcomes {
		res.Truncated = res.Truncated || o.Truncated
	}
	res.Notes = merge(entries)
	return res
}

// Ticket returns one ticket's notes from src, oldest first, sharing the
// cache with Notes (the key has this ticket, no date bounds and the default
// limit). On failure the notes are nil and the Outcome carries the error;
// an empty ticketID is refused with a *providers.Error matching
// providers.ErrInvalid.
func (f *Fetcher) Ticket(ctx context.Context, src Source, ticketID string, refresh bool) ([]providers.Note, Outcome) {
	out := baseOutcome(src)
	if ticketID == "" {
		// An empty ticket would turn into "every note of the account".
		out.Err = &providers.Error{Provider: src.Kind, Op: "list notes", Kind: providers.ErrInvalid, Message: "empty ticket id"}
		return nil, out
	}
	if src.Provider == nil {
		out.Err = ErrNoProvider
		return nil, out
	}
	q := providers.Query{TicketID: ticketID}
	var e *entry
	if !refresh {
		if e = f.lookup(keyFor(src, q)); e != nil {
			out = fill(out, e, true)
		}
	}
	if e == nil {
		e, out = f.load(ctx, src, q, refresh)
		if out.Err != nil {
			return nil, out
		}
	}
	notes := make([]providers.Note, len(e.notes))
	for i, n := range e.notes {
		notes[i] = cloneNote(n)
	}
	slices.SortStableFunc(notes, func(a, b providers.Note) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return notes, out
}

// Find returns the note noteID of ticket ticketID in src's account. It looks
// first in every fresh cached result of the account's current version,
// whatever its query, and otherwise fetches the ticket with Ticket. ok is
// false when the note is not there; err is the fetch's error, if any.
func (f *Fetcher) Find(ctx context.Context, src Source, ticketID, noteID string) (note providers.Note, ok bool, err error) {
	if n, found := f.findCached(src, ticketID, noteID); found {
		return n, true, nil
	}
	notes, out := f.Ticket(ctx, src, ticketID, false)
	if out.Err != nil {
		return providers.Note{}, false, out.Err
	}
	for _, n := range notes {
		if n.ID == noteID && n.TicketID == ticketID {
			return n, true, nil
		}
	}
	return providers.Note{}, false, nil
}

// Invalidate drops every cached result of the account, and keeps fetches
// already under way from storing theirs. Call it after a write.
func (f *Fetcher) Invalidate(accountID uint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen[accountID]++
	for el := f.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry); e.key.account == accountID {
			f.removeLocked(el)
		}
		el = next
	}
}

// sharedResult is what one shared vendor call hands to every caller.
type sharedResult struct {
	e      *entry
	cached bool // a caller stored the result just before this call began
}

// load fetches q from src, sharing the vendor call with concurrent
// identical fetches, and stores a successful result. The vendor call runs
// under a context that keeps ctx's values but not its cancellation, bounded
// by Timeout, so that one caller giving up does not fail the others waiting
// on the same call; the caller itself stops waiting when ctx is done or
// Timeout runs out.
func (f *Fetcher) load(ctx context.Context, src Source, q providers.Query, refresh bool) (*entry, Outcome) {
	out := baseOutcome(src)
	out.FetchedAt = f.now()

	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		out.Err = err
		return nil, out
	}

	k := keyFor(src, q)
	f.mu.Lock()
	gen := f.gen[k.account]
	f.mu.Unlock()

	ch := f.calls.DoChan(flightKey(k, gen), func() (any, error) {
		if !refresh {
			// A call that finished between our cache miss and now has
			// already stored what we need.
			if e := f.lookup(k); e != nil {
				return sharedResult{e: e, cached: true}, nil
			}
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
		defer cancel()
		started := f.now()
		got, err := src.Provider.ListNotes(callCtx, q)
		if err != nil {
			return nil, err
		}
		notes := make([]providers.Note, len(got.Notes))
		for i, n := range got.Notes {
			n.AccountID = src.AccountID
			notes[i] = n
		}
		e := &entry{key: k, notes: notes, truncated: got.Truncated, fetchedAt: started}
		f.store(e, gen)
		return sharedResult{e: e}, nil
	})

	select {
	case r := <-ch:
		if r.Err != nil {
			out.Err = r.Err
			return nil, out
		}
		sr := r.Val.(sharedResult)
		return sr.e, fill(out, sr.e, sr.cached)
	case <-ctx.Done():
		out.Err = ctx.Err()
		return nil, out
	}
}

// lookup returns the fresh entry for k, or nil. Caching disabled means
// always nil.
func (f *Fetcher) lookup(k key) *entry {
	if f.ttl < 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	el, ok := f.entries[k]
	if !ok {
		return nil
	}
	e := el.Value.(*entry)
	if !f.freshLocked(e) {
		f.removeLocked(el)
		return nil
	}
	return e
}

// store keeps e unless caching is disabled or the account was invalidated
// since generation gen was read, then evicts expired and excess entries,
// oldest first.
func (f *Fetcher) store(e *entry, gen uint64) {
	if f.ttl < 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gen[e.key.account] != gen {
		return
	}
	if old, ok := f.entries[e.key]; ok {
		f.removeLocked(old)
	}
	f.entries[e.key] = f.order.PushBack(e)
	for el := f.order.Front(); el != nil && !f.freshLocked(el.Value.(*entry)); el = f.order.Front() {
		f.removeLocked(el)
	}
	for len(f.entries) > f.maxEntries {
		f.removeLocked(f.order.Front())
	}
}

// findCached looks for the note in every fresh entry of src's account and
// current version.
func (f *Fetcher) findCached(src Source, ticketID, noteID string) (providers.Note, bool) {
	if f.ttl < 0 {
		return providers.Note{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for el := f.order.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if e.key.account != src.AccountID || e.key.version != src.Version || !f.freshLocked(e) {
			continue
		}
		if e.key.ticket != "" && e.key.ticket != ticketID {
			continue
		}
		for _, n := range e.notes {
			if n.ID == noteID && n.TicketID == ticketID {
				return cloneNote(n), true
			}
		}
	}
	return providers.Note{}, false
}

func (f *Fetcher) freshLocked(e *entry) bool {
	return f.now().Sub(e.fetchedAt) < f.ttl
}

func (f *Fetcher) removeLocked(el *list.Element) {
	delete(f.entries, el.Value.(*entry).key)
	f.order.Remove(el)
}

func keyFor(src Source, q providers.Query) key {
	return key{
		account:  src.AccountID,
		version:  src.Version,
		ticket:   q.TicketID,
		fromSec:  q.From.Unix(),
		fromNsec: q.From.Nanosecond(),
		toSec:    q.To.Unix(),
		toNsec:   q.To.Nanosecond(),
		// Limit 0 and DefaultLimit ask for the same notes.
		limit: q.Max(),
	}
}

// flightKey spells k and the account's invalidation generation as a string
// for singleflight; %q keeps free-form ids from running into each other.
func flightKey(k key, gen uint64) string {
	return fmt.Sprintf("%d|%d|%q|%q|%d.%d|%d.%d|%d",
		k.account, gen, k.version, k.ticket, k.fromSec, k.fromNsec, k.toSec, k.toNsec, k.limit)
}

func baseOutcome(src Source) Outcome {
	return Outcome{AccountID: src.AccountID, Name: src.Name, Kind: src.Kind}
}

func fill(out Outcome, e *entry, cached bool) Outcome {
	out.Count = len(e.notes)
	out.Truncated = e.truncated
	out.Cached = cached
	out.FetchedAt = e.fetchedAt
	return out
}

// merge copies the notes of every non-nil entry into one slice, newest
// first.
func merge(entries []*entry) []providers.Note {
	total := 0
	for _, e := range entries {
		if e != nil {
			total += len(e.notes)
		}
	}
	notes := make([]providers.Note, 0, total)
	for _, e := range entries {
		if e == nil {
			continue
		}
		for _, n := range e.notes {
			notes = append(notes, cloneNote(n))
		}
	}
	slices.SortStableFunc(notes, func(a, b providers.Note) int {
		return cmp.Or(
			b.CreatedAt.Compare(a.CreatedAt),
			cmp.Compare(a.AccountID, b.AccountID),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.TicketID, b.TicketID),
		)
	})
	return notes
}

// cloneNote copies n deeply enough that changing the copy's attachments,
// read flag or raw JSON leaves the cached note alone.
func cloneNote(n providers.Note) providers.Note {
	n.Attachments = slices.Clone(n.Attachments)
	if n.Read != nil {
		r := *n.Read
		n.Read = &r
	}
	n.Raw = bytes.Clone(n.Raw)
	return n
}
