package syncer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// fakeStore is an in-memory Store with the semantics Store's doc comments
// state: versions on change, deletion (text kept) of what a complete scope
// lacks, NotesReadAt on a complete whole-ticket batch, leases with expiry.
type fakeStore struct {
	mu      sync.Mutex
	now     func() time.Time
	states  map[uint]State
	leases  map[uint]lease
	reqs    map[uint]Request
	tickets map[uint]map[string]*fakeTicket
	notes   map[uint]map[string]*fakeNote
	// byTicket indexes notes by ticket, so a one-ticket scope is not a scan.
	byTicket map[uint]map[string]map[string]*fakeNote
	// crashAfter, when > 0, lets that many more StoreNotes or
	// StoreTicketNotes calls succeed; after them every call fails, as if
	// the process had died.
	crashAfter int
	crashed    bool
	// storeCalls counts StoreNotes and StoreTicketNotes calls.
	storeCalls int
	// writes counts write transactions: every call that changes the store.
	writes int
	// batches counts StoreTicketNotes calls and batched their items.
	batches, batched int
	// writeDelay, when set, is how long each write takes, as a busy
	// database's would.
	writeDelay time.Duration
	// maxBatch is the most notes one StoreNotes call was given.
	maxBatch int
	// failNotes, when set, fails StoreNotes for the account.
	failNotes map[uint]error
}

type lease struct {
	owner string
	until time.Time
}

type fakeTicket struct {
	t           providers.Ticket
	seenAt      time.Time
	notesReadAt time.Time
}

type fakeNote struct {
	versions  []providers.Note // oldest first; the last is current
	deleted   bool
	deletedAt time.Time
	lastSeen  time.Time
}

func (n *fakeNote) current() providers.Note { return n.versions[len(n.versions)-1] }

var errCrashed = errors.New("fake store: process gone")

func newFakeStore() *fakeStore {
	return &fakeStore{
		now:       time.Now,
		states:    map[uint]State{},
		leases:    map[uint]lease{},
		reqs:      map[uint]Request{},
		tickets:   map[uint]map[string]*fakeTicket{},
		notes:     map[uint]map[string]*fakeNote{},
		byTicket:  map[uint]map[string]map[string]*fakeNote{},
		failNotes: map[uint]error{},
	}
}

func (s *fakeStore) dead() error {
	if s.crashed {
		return errCrashed
	}
	return nil
}

func (s *fakeStore) SyncState(ctx context.Context, account uint) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return State{}, err
	}
	st := s.states[account]
	st.Checkpoint = slices.Clone(st.Checkpoint)
	return st, nil
}

func (s *fakeStore) SaveSyncState(ctx context.Context, account uint, st State) error {
	s.write()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return err
	}
	s.writes++
	st.Checkpoint = slices.Clone(st.Checkpoint)
	s.states[account] = st
	return nil
}

// write waits writeDelay, outside the lock as a database's other
// connections would not wait for it.
func (s *fakeStore) write() {
	s.mu.Lock()
	d := s.writeDelay
	s.mu.Unlock()
	time.Sleep(d)
}

func (s *fakeStore) AcquireSyncLease(ctx context.Context, account uint, owner string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return false, err
	}
	now := s.now()
	l, held := s.leases[account]
	if held && l.owner != owner && now.Before(l.until) {
		return false, nil
	}
	s.leases[account] = lease{owner: owner, until: now.Add(ttl)}
	return true, nil
}

func (s *fakeStore) ReleaseSyncLease(ctx context.Context, account uint, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return err
	}
	if l, ok := s.leases[account]; ok && l.owner == owner {
		delete(s.leases, account)
	}
	return nil
}

func (s *fakeStore) RequestSync(ctx context.Context, account uint, full bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return err
	}
	r := s.reqs[account]
	if !r.Pending() {
		r.At = s.now()
	}
	r.Seq++
	r.Full = r.Full || full
	s.reqs[account] = r
	return nil
}

func (s *fakeStore) SyncRequest(ctx context.Context, account uint) (Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return Request{}, err
	}
	return s.reqs[account], nil
}

func (s *fakeStore) ClearSyncRequest(ctx context.Context, account uint, req Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return err
	}
	if s.reqs[account].Seq == req.Seq {
		delete(s.reqs, account)
	}
	return nil
}

func (s *fakeStore) StoreTickets(ctx context.Context, account uint, tickets []providers.Ticket, seenAt time.Time) error {
	s.write()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return err
	}
	s.writes++
	s.storeTickets(account, tickets, seenAt)
	return nil
}

// storeTickets is StoreTickets; callers hold s.mu.
func (s *fakeStore) storeTickets(account uint, tickets []providers.Ticket, seenAt time.Time) {
	m := s.tickets[account]
	if m == nil {
		m = map[string]*fakeTicket{}
		s.tickets[account] = m
	}
	for _, t := range tickets {
		ft := m[t.ID]
		if ft == nil {
			ft = &fakeTicket{}
			m[t.ID] = ft
		}
		ft.t, ft.seenAt = t, seenAt
	}
}

func (s *fakeStore) TicketMarks(ctx context.Context, account uint) (map[string]TicketMark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dead(); err != nil {
		return nil, err
	}
	out := map[string]TicketMark{}
	for id, ft := range s.tickets[account] {
		out[id] = TicketMark{ID: id, UpdatedAt: ft.t.UpdatedAt, Closed: ft.t.Closed, NotesReadAt: ft.notesReadAt}
	}
	for _, n := range s.notes[account] {
		c := n.current()
		m, ok := out[c.TicketID]
		if !ok {
			// Notes of a ticket never listed still make it known.
			m = TicketMark{ID: c.TicketID}
		}
		if c.CreatedAt.After(m.NewestNote) {
			m.NewestNote = c.CreatedAt
		}
		out[c.TicketID] = m
	}
	return out, nil
}

// sameNote reports whether two readings of a note say the same.
func sameNote(a, b providers.Note) bool {
	return a.TicketID == b.TicketID && a.Body == b.Body && a.Content == b.Content && a.ContentType == b.ContentType &&
		a.AuthorName == b.AuthorName && a.AuthorRole == b.AuthorRole && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.CreatedAt.Equal(b.CreatedAt) && slices.Equal(a.Attachments, b.Attachments)
}

func (s *fakeStore) StoreNotes(ctx context.Context, account uint, scope Scope, notes []providers.Note, seenAt time.Time) (Applied, error) {
	s.write()
	s.mu.Lock()
	defer s.mu.Unlock()
	last, err := s.storeCall(account)
	if err != nil {
		return Applied{}, err
	}
	s.crashed = last // after this call, which succeeds
	return s.storeNotes(account, scope, notes, seenAt), nil
}

func (s *fakeStore) StoreTicketNotes(ctx context.Context, account uint, batch []TicketNotes, st State, seenAt time.Time) error {
	s.write()
	s.mu.Lock()
	defer s.mu.Unlock()
	last, err := s.storeCall(account)
	if err != nil {
		return err
	}
	s.crashed = last // after this call, which succeeds
	s.batches++
	s.batched += len(batch)
	for _, it := range batch {
		s.storeNotes(account, it.Scope, it.Notes, seenAt)
		if it.Ticket.ID != "" {
			s.storeTickets(account, []providers.Ticket{it.Ticket}, seenAt)
		}
	}
	st.Checkpoint = slices.Clone(st.Checkpoint)
	s.states[account] = st
	return nil
}

// storeCall admits one StoreNotes or StoreTicketNotes call, or fails it as
// a dead process or a failing account would, and reports whether it is the
// last one crashAfter lets succeed; callers hold s.mu.
func (s *fakeStore) storeCall(account uint) (last bool, err error) {
	if err := s.dead(); err != nil {
		return false, err
	}
	if err := s.failNotes[account]; err != nil {
		return false, err
	}
	if s.crashAfter > 0 {
		s.crashAfter--
		last = s.crashAfter == 0
	}
	s.storeCalls++
	s.writes++
	return last, nil
}

// storeNotes is StoreNotes; callers hold s.mu.
func (s *fakeStore) storeNotes(account uint, scope Scope, notes []providers.Note, seenAt time.Time) Applied {
	s.maxBatch = max(s.maxBatch, len(notes))
	m := s.notes[account]
	if m == nil {
		m = map[string]*fakeNote{}
		s.notes[account] = m
	}
	var ap Applied
	inBatch := map[string]bool{}
	for _, n := range notes {
		if inBatch[n.ID] {
			continue
		}
		inBatch[n.ID] = true
		fn := m[n.ID]
		switch {
		case fn == nil:
			fn = &fakeNote{versions: []providers.Note{n}, lastSeen: seenAt}
			m[n.ID] = fn
			s.index(account, n.TicketID, n.ID, fn)
			ap.Added++
		case fn.deleted || !sameNote(fn.current(), n):
			fn.versions = append(fn.versions, n)
			fn.deleted, fn.deletedAt, fn.lastSeen = false, time.Time{}, seenAt
			ap.Updated++
		default:
			fn.lastSeen = seenAt
			ap.Unchanged++
		}
	}
	if scope.Complete {
		candidates := m
		if scope.TicketID != "" {
			candidates = s.byTicket[account][scope.TicketID]
		}
		for id, fn := range candidates {
			if !inBatch[id] && !fn.deleted && scope.Contains(fn.current()) {
				fn.deleted, fn.deletedAt = true, seenAt
				ap.Deleted++
			}
		}
		if scope.TicketID != "" && scope.From.IsZero() && scope.To.IsZero() {
			tm := s.tickets[account]
			if tm == nil {
				tm = map[string]*fakeTicket{}
				s.tickets[account] = tm
			}
			ft := tm[scope.TicketID]
			if ft == nil {
				ft = &fakeTicket{t: providers.Ticket{ID: scope.TicketID}}
				tm[scope.TicketID] = ft
			}
			ft.notesReadAt = seenAt
		}
	}
	return ap
}

// index files a new note under its ticket; callers hold s.mu.
func (s *fakeStore) index(account uint, ticket, id string, fn *fakeNote) {
	bt := s.byTicket[account]
	if bt == nil {
		bt = map[string]map[string]*fakeNote{}
		s.byTicket[account] = bt
	}
	if bt[ticket] == nil {
		bt[ticket] = map[string]*fakeNote{}
	}
	bt[ticket][id] = fn
}

// live returns the account's current, not deleted notes by id.
func (s *fakeStore) live(account uint) map[string]providers.Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]providers.Note{}
	for id, n := range s.notes[account] {
		if !n.deleted {
			out[id] = n.current()
		}
	}
	return out
}

// note returns one archived note's record.
func (s *fakeStore) note(account uint, id string) (fakeNote, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[account][id]
	if !ok {
		return fakeNote{}, false
	}
	return fakeNote{versions: slices.Clone(n.versions), deleted: n.deleted, deletedAt: n.deletedAt}, true
}

// versions counts every archived note's versions.
func (s *fakeStore) versions(account uint) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id, n := range s.notes[account] {
		out[id] = len(n.versions)
	}
	return out
}

func (s *fakeStore) state(account uint) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.states[account]
}

var _ Store = (*fakeStore)(nil)
