package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

const day = 24 * time.Hour

// Units of State.Unit.
const (
	UnitTickets = "tickets"
	UnitWindows = "windows"
)

// checkpoint is State.Checkpoint: enough to resume a pass where it
// stopped. A window pass keeps its plan (From, To, Days) and the next
// window; a ticket pass keeps the last ticket stored, in plan order.
type checkpoint struct {
	Kind  string    `json:"kind"`
	Start time.Time `json:"start"`
	// Window passes: windows of Days days from To back to From, newest
	// first; Next is the first not yet stored.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	Days int       `json:"days,omitempty"`
	Next int       `json:"next,omitempty"`
	// Ticket passes: the last ticket stored, in compareIDs order.
	Cursor string `json:"cursor,omitempty"`
}

// run is one pass in progress.
type run struct {
	e     *Engine
	a     *account
	st    State
	cp    checkpoint
	where string
}

// pass runs one pass of a under its lease.
func (e *Engine) pass(ctx context.Context, a *account, full bool) (State, error) {
	if !a.pass.TryLock() {
		return State{}, ErrPassRunning
	}
	defer a.unlock()
	var st State
	err := e.leased(ctx, a, func(ctx context.Context) error {
		// A "sync now" pending from before this pass is covered by it.
		req, err := e.store.SyncRequest(ctx, a.id)
		if err != nil {
			return storeErr("read sync request", err)
		}
		if err := e.consume(ctx, a, req, full); err != nil {
			return err
		}
		st, err = e.runPass(ctx, a, full)
		return err
	})
	return st, err
}

func (e *Engine) runPass(ctx context.Context, a *account, full bool) (State, error) {
	st, err := e.store.SyncState(ctx, a.id)
	if err != nil {
		return State{}, storeErr("read sync state", err)
	}
	prevStart := st.StartedAt
	var cp checkpoint
	resumed := len(st.Checkpoint) > 0 && json.Unmarshal(st.Checkpoint, &cp) == nil && cp.Kind != "" && !cp.Start.IsZero()
	if resumed && full && cp.Kind == PassIncremental {
		// A full pass was asked for: it covers what the interrupted
		// incremental one would have.
		resumed = false
	}
	if !resumed {
		kind := PassIncremental
		switch {
		case st.LastFullAt.IsZero():
			kind = PassBackfill
		case full || e.opts.Now().Sub(st.LastFullAt) >= e.opts.FullEvery:
			kind = PassFull
		}
		cp = checkpoint{Kind: kind, Start: e.opts.Now()}
	}
	st.Kind, st.StartedAt, st.FinishedAt, st.Err = cp.Kind, cp.Start, time.Time{}, nil
	r := &run{e: e, a: a, st: st, cp: cp}
	if err := r.save(ctx); err != nil {
		return r.st, err
	}
	if ws, ok := a.src.(WindowSource); ok {
		err = r.byWindows(ctx, ws, prevStart)
	} else {
		err = r.byTickets(ctx)
	}
	return r.finish(ctx, err)
}

// save stores the state with the current checkpoint.
func (r *run) save(ctx context.Context) error {
	b, err := json.Marshal(r.cp)
	if err != nil {
		return fmt.Errorf("syncer: encode checkpoint: %w", err)
	}
	r.st.Checkpoint = b
	if err := r.e.store.SaveSyncState(ctx, r.a.id, r.st); err != nil {
		return storeErr("save sync state", err)
	}
	if f := r.e.opts.OnProgress; f != nil {
		f(r.a.id, r.st)
	}
	return nil
}

// finish records how the pass ended: on success the checkpoint goes and
// the pass's end is the last good one; on failure the checkpoint stays, so
// the next pass resumes, and the error says where it stopped.
func (r *run) finish(ctx context.Context, err error) (State, error) {
	now := r.e.opts.Now()
	r.st.FinishedAt = now
	if err == nil {
		r.st.LastOKAt = now
		if r.cp.Kind != PassIncremental {
			r.st.LastFullAt = now
		}
		r.st.Err = nil
		r.st.Checkpoint = nil
		if serr := r.e.store.SaveSyncState(ctx, r.a.id, r.st); serr != nil {
			return r.st, storeErr("save sync state", serr)
		}
		if f := r.e.opts.OnProgress; f != nil {
			f(r.a.id, r.st)
		}
		r.e.log.Info("sync: pass done", "account", r.a.id, "kind", r.cp.Kind, "done", r.st.Done, "unit", r.st.Unit)
		return r.st, nil
	}
	r.st.Err = passError(err, r.where, now)
	switch {
	case context.Cause(ctx) == errLeaseLost:
		r.st.Err.Kind = "lease lost"
	case ctx.Err() != nil:
		// Cancelled from outside (shutdown, Remove): not the vendor's
		// fault, whatever the interrupted call reported.
		r.st.Err.Kind = "interrupted"
	}
	// Recorded even when ctx ended (a shutdown), so the page can say the
	// pass stopped and where.
	b, _ := json.Marshal(r.cp)
	r.st.Checkpoint = b
	if serr := r.e.store.SaveSyncState(context.WithoutCancel(ctx), r.a.id, r.st); serr != nil {
		return r.st, errors.Join(err, storeErr("save sync state", serr))
	}
	if f := r.e.opts.OnProgress; f != nil {
		f(r.a.id, r.st)
	}
	return r.st, err
}

// storeError is a failure of the archive, not of the vendor.
type storeError struct{ err error }

func (e *storeError) Error() string { return "syncer: archive: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func storeErr(op string, err error) error {
	return &storeError{fmt.Errorf("%s: %w", op, err)}
}

// passError describes why a pass stopped.
func passError(err error, where string, at time.Time) *PassError {
	pe := &PassError{Where: where, At: at, Message: err.Error()}
	var se *storeError
	switch ve := providers.AsError(err); {
	case ve != nil:
		pe.Kind, pe.Code, pe.RequestID, pe.Status, pe.Detail = ve.Kind.Error(), ve.Code, ve.RequestID, ve.Status, ve.Detail
		if ve.Code != "" {
			pe.VendorMessage = ve.Message
		}
	case errors.As(err, &se):
		pe.Kind = "archive error"
	case errors.Is(err, errLeaseLost):
		pe.Kind = "lease lost"
	case errors.Is(err, context.Canceled):
		pe.Kind = "interrupted"
	default:
		pe.Kind = "error"
	}
	return pe
}

// between runs the ticket refreshes requested while the pass runs, so an
// opened conversation does not wait for the whole pass.
func (r *run) between(ctx context.Context) {
	for _, t := range r.a.takeTickets() {
		if err := r.e.refreshTicket(ctx, r.a, t); err != nil && ctx.Err() == nil {
			r.e.log.Warn("sync: ticket refresh failed", "account", r.a.id, "ticket", t, "err", err)
		}
	}
}

// refreshTicket stores every note of one ticket as the whole ticket.
func (e *Engine) refreshTicket(ctx context.Context, a *account, ticketID string) error {
	notes, from, err := a.src.SyncTicketNotes(ctx, ticketID, time.Time{})
	if err != nil {
		return err
	}
	_, err = e.store.StoreNotes(ctx, a.id, Scope{TicketID: ticketID, From: from, Complete: true}, notes, e.opts.Now())
	if err != nil {
		return storeErr("store notes of ticket "+ticketID, err)
	}
	return nil
}

// utcDay is t's UTC midnight.
func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// byWindows reads notes by creation windows across tickets (Sendbird): the
// windows of the plan, newest first, each stored as complete so notes gone
// from it are marked deleted. A backfill or full pass lists the tickets
// first (titles, statuses, the oldest creation day) and covers every day
// since the oldest ticket; an incremental one covers the days since the
// last pass began, less Overlap, and lists tickets only when a note names
// one never listed. Edits and deletions of older notes wait for the full
// pass.
func (r *run) byWindows(ctx context.Context, src WindowSource, prevStart time.Time) error {
	incremental := r.cp.Kind == PassIncremental && !prevStart.IsZero()
	var tickets []providers.Ticket
	if !incremental {
		if err := r.listTickets(ctx, src, &tickets); err != nil {
			return err
		}
	}
	if r.cp.To.IsZero() {
		to := utcDay(r.cp.Start).Add(day)
		from := to.Add(-day)
		if incremental {
			from = utcDay(prevStart.Add(-r.e.opts.Overlap))
		} else {
			for _, t := range tickets {
				if !t.CreatedAt.IsZero() && t.CreatedAt.Before(from) {
					from = utcDay(t.CreatedAt)
				}
			}
		}
		days := int(min(r.e.opts.Window, src.MaxWindow()) / day)
		r.cp.From, r.cp.To, r.cp.Days = from, to, max(days, 1)
	}
	// The windows ahead hold the pass's memory; of the listing only the
	// ids stay, for gone.
	listed := ticketIDs(tickets)
	tickets = nil
	n := r.cp.windows()
	r.st.Unit, r.st.Total, r.st.Done = UnitWindows, n, r.cp.Next
	if err := r.save(ctx); err != nil {
		return err
	}
	var newTicket bool
	var marks map[string]TicketMark
	if incremental {
		var err error
		if marks, err = r.e.store.TicketMarks(ctx, r.a.id); err != nil {
			return storeErr("read ticket marks", err)
		}
	}
	for i := r.cp.Next; i < n; i++ {
		from, to := r.cp.window(i)
		r.where = fmt.Sprintf("window %s…%s", from.Format(time.DateOnly), to.Add(-day).Format(time.DateOnly))
		notes, err := src.SyncWindow(ctx, from, to)
		if err != nil {
			return err
		}
		for _, note := range notes {
			if _, ok := marks[note.TicketID]; incremental && !ok {
				newTicket = true
			}
		}
		if _, err := r.e.store.StoreNotes(ctx, r.a.id, Scope{From: from, To: to, Complete: true}, notes, r.e.opts.Now()); err != nil {
			return storeErr("store notes", err)
		}
		r.cp.Next, r.st.Done = i+1, i+1
		if err := r.save(ctx); err != nil {
			return err
		}
		r.between(ctx)
	}
	if newTicket {
		// A note of a ticket never listed: list them for its title and
		// status. Otherwise an incremental pass leaves the list (one call
		// per 500 tickets) to the full pass.
		return r.listTickets(ctx, src, &tickets)
	}
	if r.cp.Kind != PassIncremental {
		return r.gone(ctx, listed)
	}
	return nil
}

// listTickets reads and stores every ticket into *out.
func (r *run) listTickets(ctx context.Context, src Source, out *[]providers.Ticket) error {
	r.where = "ticket list"
	tickets, err := src.SyncTickets(ctx)
	if err != nil {
		return err
	}
	if err := r.e.store.StoreTickets(ctx, r.a.id, tickets, r.e.opts.Now()); err != nil {
		return storeErr("store tickets", err)
	}
	*out = tickets
	return nil
}

// windows counts the windows of the plan.
func (cp checkpoint) windows() int {
	span := int(cp.To.Sub(cp.From) / day)
	return (span + cp.Days - 1) / cp.Days
}

// window returns the i-th window of the plan, newest first.
func (cp checkpoint) window(i int) (from, to time.Time) {
	to = cp.To.AddDate(0, 0, -i*cp.Days)
	from = to.AddDate(0, 0, -cp.Days)
	if from.Before(cp.From) {
		from = cp.From
	}
	return from, to
}

// ticketIDs returns the set of the tickets' ids: what gone needs of a
// listing, a fraction of its memory.
func ticketIDs(tickets []providers.Ticket) map[string]bool {
	ids := make(map[string]bool, len(tickets))
	for _, t := range tickets {
		ids[t.ID] = true
	}
	return ids
}

// gone marks deleted the notes of archived tickets the vendor no longer
// lists, after a full pass listed them all. A listing can miss a ticket
// (its pages shifted while read), so each is read once more: only a ticket
// the vendor says is not found loses its notes; one still there has them
// stored. An empty listing proves nothing and deletes nothing.
func (r *run) gone(ctx context.Context, listed map[string]bool) error {
	if len(listed) == 0 {
		return nil
	}
	r.where = "ticket list"
	marks, err := r.e.store.TicketMarks(ctx, r.a.id)
	if err != nil {
		return storeErr("read ticket marks", err)
	}
	for id := range marks {
		if listed[id] {
			continue
		}
		r.where = "ticket " + id
		notes, from, err := r.a.src.SyncTicketNotes(ctx, id, time.Time{})
		switch {
		case errors.Is(err, providers.ErrNotFound):
			notes, from = nil, time.Time{}
		case err != nil:
			return err
		}
		if _, err := r.e.store.StoreNotes(ctx, r.a.id, Scope{TicketID: id, From: from, Complete: true}, notes, r.e.opts.Now()); err != nil {
			return storeErr("store notes of ticket "+id, err)
		}
	}
	return nil
}

// job is one ticket to read, by its index in the listing: since zero
// reads it whole. (An index, not a copy: a plan can hold every one of an
// account's tens of thousands of tickets.)
type job struct {
	i     int
	since time.Time
}

// result is a job's answer.
type result struct {
	notes []providers.Note
	from  time.Time
	err   error
}

// byTickets reads notes ticket by ticket (Alibaba, Feishu): every ticket
// listed, then the notes of those that may have changed. A backfill or
// full pass reads every ticket whole; an incremental one reads only new
// tickets, open ones and those whose update time or closed state moved,
// from their newest archived note on where the vendor filters by time.
// Reads run concurrently (Workers, paced by the client's rate limiter) and
// are stored in plan order, so the checkpoint is the last ticket stored.
func (r *run) byTickets(ctx context.Context) error {
	r.where = "ticket list"
	tickets, err := r.a.src.SyncTickets(ctx)
	if err != nil {
		return err
	}
	marks, err := r.e.store.TicketMarks(ctx, r.a.id)
	if err != nil {
		return storeErr("read ticket marks", err)
	}
	slices.SortFunc(tickets, func(a, b providers.Ticket) int { return compareIDs(a.ID, b.ID) })
	var plan []job
	var unchanged []providers.Ticket
	done := 0
	for i, t := range tickets {
		m, known := marks[t.ID]
		same := known && m.UpdatedAt.Equal(t.UpdatedAt) && m.Closed == t.Closed
		switch {
		case r.cp.Cursor != "" && compareIDs(t.ID, r.cp.Cursor) <= 0 && same:
			// Stored by this pass before it was interrupted.
			done++
		case r.cp.Kind != PassIncremental, !known, m.NotesReadAt.IsZero() && m.NewestNote.IsZero():
			plan = append(plan, job{i: i})
		case !t.Closed || !same:
			plan = append(plan, job{i: i, since: m.NewestNote})
		default:
			unchanged = append(unchanged, t)
		}
	}
	// Tickets read below are stored only after their notes, so an update
	// time never looks seen before the notes behind it are.
	if len(unchanged) > 0 {
		if err := r.e.store.StoreTickets(ctx, r.a.id, unchanged, r.e.opts.Now()); err != nil {
			return storeErr("store tickets", err)
		}
	}
	r.st.Unit, r.st.Total, r.st.Done = UnitTickets, done+len(plan), done
	if err := r.save(ctx); err != nil {
		return err
	}

	fctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Answers come back in plan order through pending, which holds one
	// channel per read in flight (at most Workers), not one per ticket.
	pending := make(chan chan result, r.e.opts.Workers)
	slots := make(chan struct{}, r.e.opts.Workers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(pending)
		for _, j := range plan {
			select {
			case slots <- struct{}{}:
			case <-fctx.Done():
				return
			}
			answer := make(chan result, 1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				notes, from, err := r.a.src.SyncTicketNotes(fctx, tickets[j.i].ID, j.since)
				answer <- result{notes, from, err}
			}()
			// Never blocks for long: pending has room for every slot.
			select {
			case pending <- answer:
			case <-fctx.Done():
				return
			}
		}
	}()
	// Reads are stored in batches (see DefaultStoreBatch): a batch is
	// stored when it is full or when the next answer is not in yet, so a
	// read waits in memory only while the database is behind.
	b := ticketBatch{r: r}
	for _, j := range plan {
		if err := ctx.Err(); err != nil {
			// Answers may all be in; a cancelled pass still stops here.
			return err
		}
		var answer chan result
		select {
		case answer = <-pending:
		default:
			if err := b.flush(ctx); err != nil {
				return err
			}
			answer = <-pending
		}
		if answer == nil {
			// The reader stopped: ctx ended.
			return ctx.Err()
		}
		var res result
		select {
		case res = <-answer:
		default:
			if err := b.flush(ctx); err != nil {
				return err
			}
			select {
			case res = <-answer:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		<-slots
		t := &tickets[j.i]
		switch {
		case errors.Is(res.err, providers.ErrNotFound):
			// Gone between listing and reading; a full pass settles it.
			b.skip(t.ID)
		case res.err != nil:
			// What was read before it is kept; the error says where the
			// pass stopped.
			if err := b.flush(ctx); err != nil {
				return errors.Join(res.err, err)
			}
			r.where = "ticket " + t.ID
			return res.err
		default:
			b.add(TicketNotes{Ticket: *t, Scope: Scope{TicketID: t.ID, From: res.from, Complete: true}, Notes: res.notes})
		}
		if b.full() {
			if err := b.flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	if r.cp.Kind != PassIncremental {
		return r.gone(ctx, ticketIDs(tickets))
	}
	return nil
}

// ticketBatch is the ticket reads of a pass not stored yet, and the
// checkpoint that follows them.
type ticketBatch struct {
	r     *run
	items []TicketNotes
	notes int
	// last is the last ticket of the batch in plan order (stored or
	// skipped); done counts them.
	last string
	done int
}

func (b *ticketBatch) add(it TicketNotes) {
	b.items = append(b.items, it)
	b.notes += len(it.Notes)
	b.last, b.done = it.Ticket.ID, b.done+1
}

// skip moves the checkpoint past a ticket with nothing to store.
func (b *ticketBatch) skip(id string) { b.last, b.done = id, b.done+1 }

func (b *ticketBatch) full() bool {
	return len(b.items) >= b.r.e.opts.StoreBatch || b.notes >= storeBatchNotes
}

// flush stores the batch and the checkpoint after it in one transaction;
// the run's state moves only once they are stored, so a failed flush
// leaves the checkpoint before the batch.
func (b *ticketBatch) flush(ctx context.Context) error {
	if b.done == 0 {
		return nil
	}
	r := b.r
	cp := r.cp
	cp.Cursor = b.last
	st := r.st
	st.Done += b.done
	enc, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("syncer: encode checkpoint: %w", err)
	}
	st.Checkpoint = enc
	switch n := len(b.items); {
	case n == 1:
		r.where = "ticket " + b.last
	case n > 1:
		r.where = "tickets " + b.items[0].Ticket.ID + "…" + b.last
	}
	if err := r.e.store.StoreTicketNotes(ctx, r.a.id, b.items, st, r.e.opts.Now()); err != nil {
		return storeErr(fmt.Sprintf("store the notes of %d tickets up to %s", len(b.items), b.last), err)
	}
	r.cp, r.st = cp, st
	clear(b.items) // let the notes go before the next batch fills
	b.items, b.notes, b.done = b.items[:0], 0, 0
	if f := r.e.opts.OnProgress; f != nil {
		f(r.a.id, r.st)
	}
	r.between(ctx)
	return nil
}

// compareIDs orders ticket ids: shorter first (numeric ids by value), then
// byte order. Any total order does for the checkpoint; this one is stable
// across listings.
func compareIDs(a, b string) int {
	if c := len(a) - len(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}
