package syncer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultInterval is the schedule the command line offers by default;
	// Options.Interval itself is zero (no schedule) unless set.
	DefaultInterval  = 5 * time.Minute
	DefaultFullEvery = 24 * time.Hour
	// DefaultWindow is how many days one Sendbird window of a backfill or
	// full pass spans (capped by the source's MaxWindow). A window's notes
	// are held in memory until stored (about 1.3 KB each, decoded), and a
	// growing helpdesk has most of them in recent weeks: at a million
	// notes over three accounts the newest 30 days held about 42,000 and
	// took the server past its 200 MB budget; 7 days holds about a
	// quarter of that. A quiet account pays one partly filled page per
	// window: 105 calls for two years in a full pass.
	DefaultWindow   = 7 * 24 * time.Hour
	DefaultOverlap  = time.Hour
	DefaultLeaseTTL = time.Minute
	DefaultWorkers  = 8
	// DefaultStoreBatch is how many tickets' reads one transaction stores
	// at most. Reads are stored as they arrive; they queue only while the
	// database is the bottleneck (a backfill at a high vendor rate), and
	// then one commit for many tickets instead of three per ticket is what
	// leaves the pages' reads their share of the machine. 64 tickets hold
	// about 800 notes in the demo's helpdesks.
	DefaultStoreBatch = 64
	// storeBatchNotes caps a batch's notes too, so a few huge tickets do
	// not hold a big transaction's worth of notes in memory.
	storeBatchNotes = 4000
	// DefaultPoll is how often Run looks at the shared sync state at most;
	// Options.Poll is also capped at a third of LeaseTTL.
	DefaultPoll = 5 * time.Second
)

// Errors of the engine's own making.
var (
	// ErrUnknownAccount is returned for an account id never added.
	ErrUnknownAccount = errors.New("syncer: unknown account")
	// ErrLeaseHeld is returned when another owner holds the account's
	// lease: its pass runs elsewhere.
	ErrLeaseHeld = errors.New("syncer: another process is syncing this account")
	// ErrPassRunning is returned when this engine already runs a pass of
	// the account.
	ErrPassRunning = errors.New("syncer: a pass of this account is already running")
	// errLeaseLost cancels a pass whose lease could not be renewed.
	errLeaseLost = errors.New("syncer: lease lost")
)

// Options tune an Engine. Zero values take the defaults above, except
// Interval: zero turns the schedule off.
type Options struct {
	// Interval between the end of one pass of an account and the start of
	// the next scheduled one, whichever process ran it; zero schedules
	// nothing (passes run only on demand).
	Interval time.Duration
	// Poll is how often Run looks at each account's shared sync state for
	// a pass asked for on another instance, one that became due, or an
	// interrupted one to take over; zero means DefaultPoll or a third of
	// LeaseTTL, whichever is shorter.
	Poll time.Duration
	// FullEvery is how old the last full pass may get before the next pass
	// is a full one.
	FullEvery time.Duration
	// Window is the span of one Sendbird window in a backfill or full pass.
	Window time.Duration
	// Overlap is how far before the last pass's start an incremental
	// window pass reads again, so clock skew loses nothing.
	Overlap time.Duration
	// LeaseTTL is how long a lease lasts unless renewed; it is renewed every
	// third of it while a pass runs.
	LeaseTTL time.Duration
	// Workers bounds the ticket reads in flight for one account; the
	// client's rate limiter paces them.
	Workers int
	// StoreBatch bounds how many tickets' reads one transaction stores
	// (see DefaultStoreBatch).
	StoreBatch int
	// Owner names this engine in leases; empty means host, pid and a
	// random suffix.
	Owner string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per pass; nil means slog.Default.
	Logger *slog.Logger
	// OnProgress, when set, is called after every saved state change of a
	// pass (each stored unit or batch of units), from the pass's goroutine.
	OnProgress func(account uint, st State)
}

// Engine keeps accounts' archives current. Build it with New, add accounts
// with Add, then Run it, or call Pass directly. It is safe for concurrent
// use.
type Engine struct {
	store Store
	opts  Options
	log   *slog.Logger

	mu       sync.Mutex
	accounts map[uint]*account
	// locks are the accounts' pass locks, kept across Remove and Add so a
	// pass still running holds off the next.
	locks  map[uint]*sync.Mutex
	runCtx context.Context // set while Run runs
	wg     sync.WaitGroup
}

// account is one account's source and its pending requests.
type account struct {
	id  uint
	src Source

	// pass serialises passes of this account inside this engine (the lease,
	// taken under one owner name, cannot); the lease serialises passes
	// across engines and processes.
	pass *sync.Mutex

	mu          sync.Mutex
	wantTickets map[string]bool
	wake        chan struct{} // cap 1: a request is pending
	stop        context.CancelFunc
}

// New returns an engine over store. It cannot fail.
func New(store Store, opts Options) *Engine {
	if opts.FullEvery <= 0 {
		opts.FullEvery = DefaultFullEvery
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Overlap <= 0 {
		opts.Overlap = DefaultOverlap
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Poll <= 0 {
		opts.Poll = min(DefaultPoll, opts.LeaseTTL/3)
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.StoreBatch <= 0 {
		opts.StoreBatch = DefaultStoreBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		opts.Owner = defaultOwner()
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Engine{store: store, opts: opts, log: log, accounts: map[uint]*account{}, locks: map[uint]*sync.Mutex{}}
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Owner returns the name this engine takes leases under.
func (e *Engine) Owner() string { return e.opts.Owner }

// Add makes the engine sync account id from src, replacing an earlier
// source of the same account. A running Run starts scheduling it at once.
// It returns an error when src implements neither Source nor WindowSource.
func (e *Engine) Add(id uint, src any) error {
	s, ok := src.(Source)
	if !ok {
		return fmt.Errorf("syncer: account %d: %T cannot be synced", id, src)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	lock := e.locks[id]
	if lock == nil {
		lock = &sync.Mutex{}
		e.locks[id] = lock
	}
	a := &account{id: id, src: s, pass: lock, wake: make(chan struct{}, 1), wantTickets: map[string]bool{}}
	if old := e.accounts[id]; old != nil && old.stop != nil {
		old.stop()
	}
	e.accounts[id] = a
	if e.runCtx != nil {
		e.start(a)
	}
	return nil
}

// Remove stops syncing account id (a running pass is cancelled and keeps
// its checkpoint); its archive is left alone. Removing an unknown account
// does nothing.
func (e *Engine) Remove(id uint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := e.accounts[id]; a != nil {
		if a.stop != nil {
			a.stop()
		}
		delete(e.accounts, id)
	}
}

// Run schedules every account's passes, one goroutine per account so one
// failing or slow account never delays another, until ctx ends; it then
// waits for the running passes to stop (each keeps its checkpoint) and
// returns nil. Several engines may Run over one store (instances on one
// database): whether a pass is due is decided under the account's lease
// from the state in the store, so between them they make one pass per
// Interval, run each SyncNow once, and take over a pass whose engine died
// once its lease runs out.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.runCtx = ctx
	for _, a := range e.accounts {
		e.start(a)
	}
	e.mu.Unlock()
	<-ctx.Done()
	e.mu.Lock()
	e.runCtx = nil
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// start runs a's loop; callers hold e.mu with e.runCtx set.
func (e *Engine) start(a *account) {
	ctx, cancel := context.WithCancel(e.runCtx)
	a.stop = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.loop(ctx, a)
	}()
}

// loop looks at a's shared state at once, then every Poll, when a pass
// becomes due, and when this engine is asked for something, until ctx
// ends; check decides whether a pass runs.
func (e *Engine) loop(ctx context.Context, a *account) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-a.wake:
		}
		next := e.check(ctx, a)
		for _, t := range a.takeTickets() {
			if err := e.PassTicket(ctx, a.id, t); err != nil && ctx.Err() == nil {
				e.log.Warn("sync: ticket refresh failed", "account", a.id, "ticket", t, "err", err)
			}
		}
		timer.Reset(next)
	}
}

// never stands for "not until something changes" in due's answer.
const never = time.Duration(1<<63 - 1)

// due is the one rule for whether an account needs a pass now, from its
// shared state: a pending request (full if it asks), the first backfill
// or an interrupted pass to resume (with a schedule), or the schedule's
// Interval since the last pass ended, whichever instance ran it. When
// nothing is due it says how long until the schedule's next pass.
func (e *Engine) due(st State, req Request) (run, full bool, wait time.Duration) {
	switch {
	case req.Pending():
		return true, req.Full, 0
	case e.opts.Interval <= 0:
		return false, false, never
	case st.StartedAt.IsZero(), st.Running():
		return true, false, 0
	}
	if d := st.FinishedAt.Add(e.opts.Interval).Sub(e.opts.Now()); d > 0 {
		return false, false, d
	}
	return true, false, 0
}

// look reads what due decides on.
func (e *Engine) look(ctx context.Context, id uint) (State, Request, error) {
	st, err := e.store.SyncState(ctx, id)
	if err != nil {
		return State{}, Request{}, storeErr("read sync state", err)
	}
	req, err := e.store.SyncRequest(ctx, id)
	if err != nil {
		return State{}, Request{}, storeErr("read sync request", err)
	}
	return st, req, nil
}

// check runs a's pass when due says one is due, deciding again under the
// lease: two instances that both see a pass due take turns at the lease,
// and the second finds the first one's pass done. It returns how long to
// wait before the next check.
func (e *Engine) check(ctx context.Context, a *account) time.Duration {
	poll := e.opts.Poll
	// A look without the lease first: most checks find nothing to do and
	// need not write.
	st, req, err := e.look(ctx, a.id)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("sync: cannot read the sync state", "account", a.id, "err", err)
		}
		return poll
	}
	if run, _, wait := e.due(st, req); !run {
		return min(wait, poll)
	}
	if !a.pass.TryLock() {
		// Pass runs here already; the next look sees what it left.
		return poll
	}
	defer a.unlock()
	ran, next := false, poll
	err = e.leased(ctx, a, func(ctx context.Context) error {
		st, req, err := e.look(ctx, a.id)
		if err != nil {
			return err
		}
		run, full, wait := e.due(st, req)
		if !run {
			next = min(wait, poll)
			return nil
		}
		if err := e.consume(ctx, a, req, full); err != nil {
			return err
		}
		ran = true
		_, err = e.runPass(ctx, a, full)
		return err
	})
	switch {
	case ctx.Err() != nil:
	case err == nil:
		if ran {
			// At once: a request made during the pass is due now.
			return 0
		}
	case errors.Is(err, ErrLeaseHeld):
		// Another process runs it; looked at again until it is done or
		// its lease runs out (a dead holder is taken over).
		e.log.Debug("sync: pass skipped", "account", a.id, "reason", err)
	default:
		e.log.Warn("sync: pass failed", "account", a.id, "err", err)
	}
	return next
}

// consume clears the pending request req when a pass (a full one when
// full is set) covers it; the caller holds the lease, so no other process
// takes the same request.
func (e *Engine) consume(ctx context.Context, a *account, req Request, full bool) error {
	if !req.Pending() || (req.Full && !full) {
		return nil
	}
	if err := e.store.ClearSyncRequest(ctx, a.id, req); err != nil {
		return storeErr("clear sync request", err)
	}
	return nil
}

// takeTickets returns and clears a's pending ticket refreshes.
func (a *account) takeTickets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for t := range a.wantTickets {
		out = append(out, t)
	}
	clear(a.wantTickets)
	return out
}

// unlock ends a pass, waking Run's loop for refreshes asked for too late
// for the pass to take them.
func (a *account) unlock() {
	a.pass.Unlock()
	a.mu.Lock()
	left := len(a.wantTickets) > 0
	a.mu.Unlock()
	if left {
		a.signal()
	}
}

func (a *account) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) account(id uint) (*account, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.accounts[id]
	if a == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownAccount, id)
	}
	return a, nil
}

// SyncNow asks for a pass of account id (a full one when full is set) as
// soon as its current pass, if any, ends; requests made meanwhile are
// merged into one. The request is recorded in the store, so it is run
// once across every engine on the store: by this engine's Run at once, or
// by whichever engine runs the account's next pass (one holding the lease
// now, after its pass). It returns ErrUnknownAccount for an account never
// added, or the store's error.
func (e *Engine) SyncNow(id uint, full bool) error {
	a, err := e.account(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.RequestSync(ctx, id, full); err != nil {
		return fmt.Errorf("syncer: account %d: %w", id, storeErr("request sync", err))
	}
	a.signal()
	return nil
}

// RefreshTicket asks Run to read one ticket's notes again (a conversation
// was opened): between two units of a running pass, or at once when none
// runs. It returns ErrUnknownAccount for an account never added.
func (e *Engine) RefreshTicket(id uint, ticketID string) error {
	a, err := e.account(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.wantTickets[ticketID] = true
	a.mu.Unlock()
	a.signal()
	return nil
}

// Pass runs one pass of account id now and returns the state it left: a
// resumption when the last pass was interrupted, the first backfill, a
// full pass when full is set or the last one is older than FullEvery, an
// incremental one otherwise. It returns ErrUnknownAccount, ErrLeaseHeld
// when another process holds the account's lease, ErrPassRunning when this
// engine runs one already, the store's error, or the vendor's
// *providers.Error that stopped the pass (the state then says where; what
// was stored stays stored).
func (e *Engine) Pass(ctx context.Context, id uint, full bool) (State, error) {
	a, err := e.account(id)
	if err != nil {
		return State{}, err
	}
	return e.pass(ctx, a, full)
}

// PassTicket reads every note of one ticket and stores them as the whole
// ticket (notes gone at the vendor are marked deleted), under the
// account's lease; it leaves the account's state and checkpoint alone.
// While this engine runs a pass of the account, the refresh is handed to
// that pass (done between two of its units) and PassTicket returns nil at
// once. It returns the errors Pass does otherwise.
func (e *Engine) PassTicket(ctx context.Context, id uint, ticketID string) error {
	a, err := e.account(id)
	if err != nil {
		return err
	}
	if !a.pass.TryLock() {
		// A pass runs: it takes the refresh between two units, or signals
		// Run's loop when it ends with refreshes left.
		a.mu.Lock()
		a.wantTickets[ticketID] = true
		a.mu.Unlock()
		return nil
	}
	defer a.unlock()
	return e.leased(ctx, a, func(ctx context.Context) error {
		return e.refreshTicket(ctx, a, ticketID)
	})
}

// leased runs f under a's lease, renewed every third of its lifetime; f's
// context is cancelled when a renewal fails. It returns ErrLeaseHeld when
// another owner holds the lease.
func (e *Engine) leased(ctx context.Context, a *account, f func(context.Context) error) error {
	ok, err := e.store.AcquireSyncLease(ctx, a.id, e.opts.Owner, e.opts.LeaseTTL)
	if err != nil {
		return fmt.Errorf("syncer: account %d: acquire lease: %w", a.id, err)
	}
	if !ok {
		return ErrLeaseHeld
	}
	pctx, cancel := context.WithCancelCause(ctx)
	done, renewing := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(renewing)
		t := time.NewTicker(e.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-pctx.Done():
				return
			case <-t.C:
				ok, err := e.store.AcquireSyncLease(pctx, a.id, e.opts.Owner, e.opts.LeaseTTL)
				if err != nil || !ok {
					cancel(errLeaseLost)
					return
				}
			}
		}
	}()
	err = f(pctx)
	close(done)
	// A renewal still in flight would take the lease again after the
	// release below.
	<-renewing
	cancel(nil)
	// The lease goes back even when ctx ended (a shutdown), so the next
	// process need not wait for it to expire.
	if rerr := e.store.ReleaseSyncLease(context.WithoutCancel(ctx), a.id, e.opts.Owner); rerr != nil && err == nil {
		err = fmt.Errorf("syncer: account %d: release lease: %w", a.id, rerr)
	}
	if err != nil && context.Cause(pctx) == errLeaseLost && ctx.Err() == nil {
		err = fmt.Errorf("syncer: account %d: %w", a.id, errLeaseLost)
	}
	return err
}
