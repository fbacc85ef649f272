package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
)

const localIP = "tn.ip"

// SetClientIP stores the request's client address, worked out once by the
// web middleware from the socket and the trusted proxies.
func SetClientIP(c *fiber.Ctx, ip string) { c.Locals(localIP, ip) }

// ClientIP returns the request's client address: what SetClientIP stored,
// or else the socket's peer. Limits and the audit log use it, never
// c.IP(), so both agree on who a client is.
func ClientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(localIP).(string); ok && ip != "" {
		return ip
	}
	return c.IP()
}

// CounterStore keeps expiring counters; models.Store is one, so the counts
// are shared by every instance on the database.
type CounterStore interface {
	Get(key string) ([]byte, error)
	Set(key string, val []byte, exp time.Duration) error
}

// FailureLimit refuses a request once Key has failed Max times within a
// window. Only failures count (an answer of 400 or more, other than 429):
// a correct sign-in never uses up the limit, however many run at once.
//
// Attempts with the same key run one at a time in this instance, so the
// count each one checks already holds every earlier failure: concurrent
// wrong guesses cannot all pass a check made before any of them failed.
type FailureLimit struct {
	Store  CounterStore
	Max    int
	Window time.Duration
	// Key names who is limited ("ip:…", "email:…").
	Key func(c *fiber.Ctx) string
	// Reached answers a refused request.
	Reached fiber.Handler

	locks keyLocks
}

// Handler returns the middleware. A counter that cannot be read or written
// fails the request (the limit is never silently skipped).
func (l *FailureLimit) Handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := l.Key(c)
		defer l.locks.lock(key)()
		n, end, err := l.read(key)
		if err != nil {
			return err
		}
		if n >= l.Max {
			return l.Reached(c)
		}
		herr := c.Next()
		status := c.Response().StatusCode()
		if herr != nil {
			status, _ = Status(herr)
		}
		if status >= http.StatusBadRequest && status != http.StatusTooManyRequests {
			if err := l.write(key, n+1, end); err != nil {
				return err
			}
		}
		return herr
	}
}

// read returns key's failures in the current window and when it ends.
func (l *FailureLimit) read(key string) (int, time.Time, error) {
	now := time.Now()
	b, err := l.Store.Get(key)
	if err != nil || b == nil {
		return 0, now.Add(l.Window), err
	}
	count, endS, _ := strings.Cut(string(b), " ")
	n, err1 := strconv.Atoi(count)
	endUnix, err2 := strconv.ParseInt(endS, 10, 64)
	end := time.Unix(endUnix, 0)
	if err1 != nil || err2 != nil || !end.After(now) {
		return 0, now.Add(l.Window), nil
	}
	return n, end, nil
}

// write stores n failures for a window ending at end.
func (l *FailureLimit) write(key string, n int, end time.Time) error {
	exp := time.Until(end)
	if exp < time.Second {
		exp = time.Second
	}
	return l.Store.Set(key, []byte(fmt.Sprintf("%d %d", n, end.Unix())), exp)
}

// keyLocks is a mutex per key, dropped when no one holds or waits for it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyLocks) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// RefusalsAction is the audit action of a row counting refusals that were
// not written one by one.
const RefusalsAction = "request.refusals"

// Refusals bounds how many denied attempts one client writes to the audit
// log: in each window, the first PerWindow refusals from a client (an IP
// without a session, or a signed-in user) are written in full and the rest
// are counted into one row ("N refusals from IP X in the last minute"),
// written when the window is over. Every refusal is accounted for, but an
// anonymous client can no longer append without bound.
type Refusals struct {
	// PerWindow is how many full rows an anonymous client writes per window;
	// a signed-in user gets PerWindowUser.
	PerWindow, PerWindowUser int
	Window                   time.Duration
	// MaxClients bounds the clients tracked at once; beyond it, refusals
	// from new clients are counted together under "other IPs".
	MaxClients int

	mu      sync.Mutex
	clients map[string]*refusalWindow
	due     []*refusalWindow
}

type refusalWindow struct {
	start   time.Time
	written int
	held    map[string]int // action → refusals counted, not written
	total   int
	ip      string // the client's address, or "" for the overflow bucket
	// actor is a copy of the signed-in user's identity, if any: the
	// request's user value is not kept past the request.
	actor *models.User
}

const overflowClient = "other"

// admit reports whether a refusal by the request's client is written in
// full; otherwise it is counted.
func (r *Refusals) admit(c *fiber.Ctx, action string, now time.Time) bool {
	ip, u := ClientIP(c), Viewer(c)
	key, limit := "ip:"+ip, r.PerWindow
	if u != nil {
		key, limit = "user:"+strconv.FormatUint(uint64(u.ID), 10), r.PerWindowUser
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.clients == nil {
		r.clients = map[string]*refusalWindow{}
	}
	w := r.clients[key]
	if w != nil && now.Sub(w.start) >= r.Window {
		r.retire(key, w)
		w = nil
	}
	if w == nil {
		if len(r.clients) >= r.MaxClients {
			key, limit = overflowClient, 0
			if w = r.clients[key]; w == nil {
				w = &refusalWindow{start: now, held: map[string]int{}}
				r.clients[key] = w
			}
		} else {
			w = &refusalWindow{start: now, held: map[string]int{}, ip: ip}
			if u != nil {
				w.actor = &models.User{ID: u.ID, Email: u.Email, Role: u.Role}
			}
			r.clients[key] = w
		}
	}
	if w.written < limit {
		w.written++
		return true
	}
	w.held[action]++
	w.total++
	return false
}

// retire moves a window out of the table, onto the due list when it holds
// counted refusals. r.mu must be held.
func (r *Refusals) retire(key string, w *refusalWindow) {
	delete(r.clients, key)
	if w.total > 0 {
		r.due = append(r.due, w)
	}
}

// take returns the windows whose counts are due. With scan, those over by
// now (or all of them, with all: at shutdown) are retired first; without,
// only windows already retired are returned, which costs nothing per
// request.
func (r *Refusals) take(now time.Time, scan, all bool) []*refusalWindow {
	r.mu.Lock()
	defer r.mu.Unlock()
	if scan {
		for k, w := range r.clients {
			if all || now.Sub(w.start) >= r.Window {
				r.retire(k, w)
			}
		}
	}
	due := r.due
	r.due = nil
	return due
}

// FlushRefusals writes a row for every window of counted refusals that is
// over (every window when all is true). It returns the first error of the
// audit log; the counts that could not be written are kept for next time.
func (b *Base) FlushRefusals(ctx context.Context, all bool) error {
	if b.Refusals == nil {
		return nil
	}
	return b.writeRefusals(ctx, b.Refusals.take(time.Now(), true, all))
}

// writeRefusals appends the rows of due; what cannot be written is kept.
func (b *Base) writeRefusals(ctx context.Context, due []*refusalWindow) error {
	for i, w := range due {
		if err := b.Audit.AppendAudit(ctx, w.event()); err != nil {
			b.Refusals.mu.Lock()
			b.Refusals.due = append(b.Refusals.due, due[i:]...)
			b.Refusals.mu.Unlock()
			return err
		}
	}
	return nil
}

// event is the audit row of a window's counted refusals.
func (w *refusalWindow) event() *models.AuditEvent {
	from := "IP " + w.ip
	if w.ip == "" {
		from = "other IPs"
	}
	e := &models.AuditEvent{
		Action: RefusalsAction, Target: "refusals", Outcome: models.OutcomeDenied, IP: w.ip,
		Message: fmt.Sprintf("%d refusals from %s in the last minute", w.total, from),
		After:   jsonText(map[string]any{"actions": w.held, "since": w.start.UTC().Format(time.RFC3339)}),
	}
	if w.actor != nil {
		id := w.actor.ID
		e.ActorID, e.ActorEmail, e.ActorRole = &id, w.actor.Email, w.actor.Role
	}
	return e
}
