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
	// Interval between the end of one scheduled pass and the start of the
	// next; zero schedules nothing (passes run only on demand).
	Interval time.Duration
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
	// Owner names this engine in leases; empty means host, pid and a
	// random suffix.
	Owner string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per pass; nil means slog.Default.
	Logger *slog.Logger
	// OnProgress, when set, is called after every saved state change of a
	// pass (each stored unit), from the pass's goroutine.
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
	wantPass    bool
	wantFull    bool
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
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
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
// returns nil.
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

// loop runs a's scheduled and requested passes until ctx ends.
func (e *Engine) loop(ctx context.Context, a *account) {
	var tick <-chan time.Time
	var timer *time.Timer
	if e.opts.Interval > 0 {
		// The first pass (a backfill, or the resumption of an interrupted
		// pass) starts at once.
		timer = time.NewTimer(0)
		defer timer.Stop()
		tick = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			e.runScheduled(ctx, a, false)
			timer.Reset(e.opts.Interval)
		case <-a.wake:
			pass, full, tickets := a.take()
			if pass {
				e.runScheduled(ctx, a, full)
				// The schedule counts from the last pass, so an on-demand
				// one postpones it; a ticket refresh does not.
				if timer != nil {
					timer.Reset(e.opts.Interval)
				}
			}
			for _, t := range tickets {
				if err := e.PassTicket(ctx, a.id, t); err != nil && ctx.Err() == nil {
					e.log.Warn("sync: ticket refresh failed", "account", a.id, "ticket", t, "err", err)
				}
			}
		}
	}
}

func (e *Engine) runScheduled(ctx context.Context, a *account, full bool) {
	_, err := e.pass(ctx, a, full)
	switch {
	case err == nil, ctx.Err() != nil:
	case errors.Is(err, ErrLeaseHeld), errors.Is(err, ErrPassRunning):
		e.log.Info("sync: pass skipped", "account", a.id, "reason", err)
	default:
		e.log.Warn("sync: pass failed", "account", a.id, "err", err)
	}
}

// take returns and clears a's pending requests.
func (a *account) take() (pass, full bool, tickets []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	pass, full = a.wantPass, a.wantFull
	a.wantPass, a.wantFull = false, false
	for t := range a.wantTickets {
		tickets = append(tickets, t)
	}
	clear(a.wantTickets)
	return pass, full, tickets
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

// SyncNow asks Run for a pass of account id (a full one when full is set)
// as soon as its current pass, if any, ends; requests made meanwhile are
// merged into one. It returns ErrUnknownAccount for an account never added.
func (e *Engine) SyncNow(id uint, full bool) error {
	a, err := e.account(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.wantPass = true
	a.wantFull = a.wantFull || full
	a.mu.Unlock()
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
