package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/ticketnotes/ticketnotes/handlers"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// idList is a repeatable, comma-separable --account flag.
type idList []uint

func (l *idList) String() string {
	s := make([]string, len(*l))
	for i, id := range *l {
		s[i] = strconv.FormatUint(uint64(id), 10)
	}
	return strings.Join(s, ",")
}

func (l *idList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not an account id", f)
		}
		*l = append(*l, uint(n))
	}
	return nil
}

// leaseRetry is how often a pass held off by another process's lease is
// tried again.
const leaseRetry = time.Second

// syncCmd runs "sync": one pass of each chosen enabled account, all at
// once, beside a running server if need be. The lease in the database
// decides who runs an account's pass; while another process (the server)
// holds it, the command waits for that pass to end, up to --wait, then
// runs its own. Progress is a bar per account on a terminal and plain
// lines otherwise. It returns an error naming every account that failed,
// with the vendor's code, request id and HTTP status.
func syncCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sync")
	var (
		d            dbFlags
		ids          idList
		full         bool
		wait         time.Duration
		fullEvery    time.Duration
		allowPrivate bool
		leaseTTL     time.Duration
	)
	d.register(fs)
	fs.Var(&ids, "account", "sync only this account id (repeat or comma-separate for more); default: every enabled account")
	fs.BoolVar(&full, "full", false, "reread every ticket, catching edits and deletions on old ones")
	fs.DurationVar(&wait, "wait", 10*time.Minute, "how long to wait for a pass another process (the server) is running; 0 fails at once")
	fs.DurationVar(&fullEvery, "sync-full-every", syncer.DefaultFullEvery, "as the server's: a pass is full when the last full one is older")
	fs.BoolVar(&allowPrivate, "allow-private-endpoints", false, "as the server's: let account endpoints be loopback or private addresses")
	// Hidden: a test kills the command mid-pass and must not wait a whole
	// default lease for the next run.
	fs.DurationVar(&leaseTTL, "lease-ttl", syncer.DefaultLeaseTTL, "how long this command's lease on an account lasts unless renewed")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if wait < 0 || fullEvery < 0 || leaseTTL <= 0 {
		return usageError(flagUsage(fs), "--wait and --sync-full-every cannot be negative, --lease-ttl must be positive")
	}
	db, err := openDB(ctx, d.databaseURL, d.dataDir, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	// Each pass is audited, and the accounts' secrets open, under the
	// server's key.
	if err := keyAudit(ctx, db, getenv, d.dataDir, true); err != nil {
		return err
	}
	key, err := models.LoadKey(getenv("TICKETNOTES_SECRET_KEY"), getenv("TICKETNOTES_SECRET_KEY_FILE"), d.dataDir)
	if err != nil {
		return err
	}
	box, err := models.NewSecretBox(key)
	if err != nil {
		return err
	}
	db.SetSecretBox(box)
	accts, err := chooseAccounts(ctx, db, ids)
	if err != nil {
		return err
	}
	if len(accts) == 0 {
		fmt.Fprintln(stdout, "no enabled accounts to sync")
		return nil
	}

	prog := newProgress(stdout, accts)
	eng := syncer.New(db, syncer.Options{FullEvery: fullEvery, LeaseTTL: leaseTTL, OnProgress: prog.update,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	clients := &handlers.Clients{Accounts: db, Registry: registry.New(allowPrivate)}
	results := make([]syncResult, len(accts))
	var wg sync.WaitGroup
	for i := range accts {
		a := &accts[i]
		results[i].acct = a
		p, err := clients.For(a)
		if err == nil {
			err = eng.Add(a.ID, p)
		}
		if err != nil {
			results[i].err = err
			prog.finish(a.ID, syncer.State{}, err)
			continue
		}
		wg.Add(1)
		go func(r *syncResult) {
			defer wg.Done()
			r.st, r.err = passWhenFree(ctx, eng, db, a, full, wait, prog)
			prog.finish(a.ID, r.st, r.err)
		}(&results[i])
	}
	wg.Wait()
	prog.close()

	var failed []string
	for _, r := range results {
		if err := auditPass(ctx, db, r, full); err != nil {
			return err
		}
		if r.err != nil {
			failed = append(failed, r.acct.Name+" (account "+strconv.FormatUint(uint64(r.acct.ID), 10)+"): "+failureLine(r.st, r.err))
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return &cliError{msg: "sync failed for " + failed[0], err: errSyncFailed}
	}
	return &cliError{msg: fmt.Sprintf("sync failed for %d accounts:\n  %s", len(failed), strings.Join(failed, "\n  ")), err: errSyncFailed}
}

// errSyncFailed is what a sync command's error unwraps to when an
// account's pass failed.
var errSyncFailed = errors.New("sync failed")

// chooseAccounts returns the enabled accounts to sync: those named by ids,
// or every enabled one. It returns an error naming an id that does not
// exist or is disabled.
func chooseAccounts(ctx context.Context, db *models.DB, ids idList) ([]models.Account, error) {
	if len(ids) == 0 {
		all, err := db.ListAccounts(ctx)
		if err != nil {
			return nil, err
		}
		var out []models.Account
		for _, a := range all {
			if !a.Disabled {
				out = append(out, a)
			}
		}
		return out, nil
	}
	var out []models.Account
	seen := map[uint]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		a, err := db.AccountByID(ctx, id)
		if errors.Is(err, models.ErrNotFound) {
			return nil, &cliError{msg: fmt.Sprintf("no account %d", id), err: err}
		}
		if err != nil {
			return nil, err
		}
		if a.Disabled {
			return nil, &cliError{msg: fmt.Sprintf("account %d (%s) is disabled; enable it to sync it", id, a.Name)}
		}
		out = append(out, *a)
	}
	return out, nil
}

// syncResult is how one account's pass ended.
type syncResult struct {
	acct *models.Account
	st   syncer.State
	err  error
}

// passWhenFree runs one pass of a, waiting while another process holds
// its lease, for up to wait. It returns the pass's state and error, or
// syncer.ErrLeaseHeld (wrapped, naming the holder) when the wait ran out.
func passWhenFree(ctx context.Context, eng *syncer.Engine, db *models.DB, a *models.Account, full bool, wait time.Duration,
	prog *progress) (syncer.State, error) {
	deadline := time.Now().Add(wait)
	told := false
	for {
		st, err := eng.Pass(ctx, a.ID, full)
		if !errors.Is(err, syncer.ErrLeaseHeld) {
			return st, err
		}
		owner, _, _ := db.SyncLease(ctx, a.ID)
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%w (%s); waited %v", syncer.ErrLeaseHeld, owner, wait)
		}
		if !told {
			prog.note(a.ID, fmt.Sprintf("being synced by another process (%s, the server?); waiting up to %v", owner, wait))
			told = true
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(min(leaseRetry, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// failureLine is a failed pass in one line: the vendor's failure kind,
// code, request id and HTTP status, and where the pass stopped.
func failureLine(st syncer.State, err error) string {
	pe := st.Err
	if pe == nil {
		if ve := providers.AsError(err); ve != nil {
			pe = &syncer.PassError{Kind: ve.Kind.Error(), Code: ve.Code, RequestID: ve.RequestID, Status: ve.Status}
		} else {
			return err.Error()
		}
	}
	parts := []string{pe.Kind}
	if pe.Code != "" {
		parts = append(parts, "code "+pe.Code)
	}
	if pe.RequestID != "" {
		parts = append(parts, "request id "+pe.RequestID)
	}
	if pe.Status != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(pe.Status))
	}
	if pe.Where != "" {
		parts = append(parts, "stopped at "+pe.Where)
	}
	return strings.Join(parts, " · ")
}

// auditPass records one account's pass as account.sync by the cli.
func auditPass(ctx context.Context, db *models.DB, r syncResult, full bool) error {
	ev := &models.AuditEvent{Action: "account.sync", ActorEmail: "cli", Target: "account:" + strconv.FormatUint(uint64(r.acct.ID), 10),
		AccountID: &r.acct.ID, Outcome: models.OutcomeOK, UserAgent: "ticketnotes cli",
		After: fmt.Sprintf(`{"full":%t,"kind":%q,"done":%d,"total":%d,"unit":%q}`, full, r.st.Kind, r.st.Done, r.st.Total, r.st.Unit)}
	if r.err != nil {
		ev.Outcome, ev.Message = models.OutcomeError, failureLine(r.st, r.err)
		if r.st.Err != nil {
			ev.VendorRequestID = r.st.Err.RequestID
		}
	}
	return db.AppendAudit(context.WithoutCancel(ctx), ev)
}

// progress draws each account's pass: on a terminal one bar per account,
// redrawn in place; otherwise plain lines ("alibaba-prod: 120/340
// tickets"), at most one a second per account besides the last.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	order []uint
	rows  map[uint]*progressRow
	drawn int // lines of the block drawn so far (terminal)
	last  time.Time
}

type progressRow struct {
	name        string
	done, total int
	unit        string
	text        string // a note, or the final outcome
	printed     time.Time
	finished    bool
}

func newProgress(w io.Writer, accts []models.Account) *progress {
	p := &progress{w: w, rows: map[uint]*progressRow{}}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	for _, a := range accts {
		p.order = append(p.order, a.ID)
		p.rows[a.ID] = &progressRow{name: a.Name}
	}
	return p
}

// update is the engine's OnProgress.
func (p *progress) update(id uint, st syncer.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rows[id]
	if r == nil || r.finished {
		return
	}
	r.done, r.total, r.unit, r.text = st.Done, st.Total, st.Unit, ""
	if p.tty {
		if time.Since(p.last) >= 100*time.Millisecond {
			p.redraw()
		}
		return
	}
	if r.total > 0 && time.Since(r.printed) >= time.Second {
		r.printed = time.Now()
		fmt.Fprintf(p.w, "%s: %s\n", r.name, counts(r))
	}
}

// note shows a message beside an account (waiting for a lease).
func (p *progress) note(id uint, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rows[id]
	r.text = text
	if p.tty {
		p.redraw()
		return
	}
	fmt.Fprintf(p.w, "%s: %s\n", r.name, text)
}

// finish shows how an account's pass ended.
func (p *progress) finish(id uint, st syncer.State, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rows[id]
	r.finished = true
	if st.Total > 0 {
		r.done, r.total, r.unit = st.Done, st.Total, st.Unit
	}
	if err != nil {
		r.text = "failed: " + failureLine(st, err)
	} else {
		r.text = "done (" + st.Kind + ")"
	}
	if p.tty {
		p.redraw()
		return
	}
	if r.total > 0 {
		fmt.Fprintf(p.w, "%s: %s, %s\n", r.name, counts(r), r.text)
	} else {
		fmt.Fprintf(p.w, "%s: %s\n", r.name, r.text)
	}
}

// close ends the terminal block.
func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.redraw()
	}
}

func counts(r *progressRow) string {
	unit := r.unit
	if unit == "" {
		unit = "tickets"
	}
	return fmt.Sprintf("%d/%d %s", r.done, r.total, unit)
}

// redraw draws every account's line again over the block drawn before;
// p.mu is held.
func (p *progress) redraw() {
	p.last = time.Now()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.order {
		r := p.rows[id]
		b.WriteString("\r\x1b[K")
		fmt.Fprintf(&b, "%-20.20s %s", r.name, bar(r.done, r.total, 30))
		if r.total > 0 {
			b.WriteString(" " + counts(r))
		}
		if r.text != "" {
			b.WriteString("  " + r.text)
		}
		b.WriteString("\n")
	}
	p.drawn = len(p.order)
	_, _ = io.WriteString(p.w, b.String())
}

// bar is a width-wide bar of done out of total; empty while total is
// unknown.
func bar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = min(width, done*width/total)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}
