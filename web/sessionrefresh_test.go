package web

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/ticketnotes/ticketnotes/handlers"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// slowStorage is a session storage whose writes take a while, as a
// database's do behind its one writer, and which counts them.
type slowStorage struct {
	mu   sync.Mutex
	m    map[string][]byte
	sets atomic.Int64
}

func (s *slowStorage) Get(k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *slowStorage) Set(k string, v []byte, _ time.Duration) error {
	s.sets.Add(1)
	time.Sleep(30 * time.Millisecond) // the writer's queue: the burst's other requests arrive meanwhile
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}

func (s *slowStorage) Delete(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

func (s *slowStorage) Reset() error { return nil }
func (s *slowStorage) Close() error { return nil }

// A burst of requests on a session that is due for its refresh saves it
// once, not once per request (each save is a write transaction, and the
// burst's last request waited for all of them).
func TestSessionRefreshOncePerBurst(t *testing.T) {
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	st := &slowStorage{m: map[string][]byte{}}
	store := session.New(session.Config{Storage: st, Expiration: time.Hour})
	app := fiber.New()
	app.Get("/seed", func(c *fiber.Ctx) error {
		sess, err := store.Get(c)
		if err != nil {
			return err
		}
		sess.Set(handlers.SessionCSRFKey, "token")
		sess.Set(handlers.SessionSeenKey, time.Now().Add(-2*sessionRefresh).Unix())
		return sess.Save()
	})
	app.Use(loadViewer(store, nil, cat, time.UTC))
	app.Get("/page", func(c *fiber.Ctx) error { return c.SendString(handlers.CSRF(c)) })

	res, err := app.Test(httptest.NewRequest(http.MethodGet, "/seed", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookie from /seed")
	}
	before := st.sets.Load()

	const burst = 16
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "/page", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			res, err := app.Test(req, -1)
			if err == nil && res.StatusCode != http.StatusOK {
				err = fiber.NewError(res.StatusCode, "status")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if saves := st.sets.Load() - before; saves != 1 {
		t.Fatalf("%d requests saved the session %d times, want once", burst, saves)
	}
}

// The gate hands a session's save to one caller a period, again after the
// period, and again at once when the save failed.
func TestRefreshGate(t *testing.T) {
	g := newRefreshGate(time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	if !g.claim("a", t0) || g.claim("a", t0.Add(time.Second)) {
		t.Fatal("want the first claim of a period only")
	}
	if !g.claim("b", t0) {
		t.Fatal("another session has its own period")
	}
	if !g.claim("a", t0.Add(time.Minute)) {
		t.Fatal("a new period, a new claim")
	}
	g.forget("a")
	if !g.claim("a", t0.Add(time.Minute+time.Second)) {
		t.Fatal("a failed save is claimed again")
	}
	for i := range refreshGateMax {
		g.claim("s"+strconv.Itoa(i), t0)
	}
	g.claim("late", t0.Add(2*time.Minute))
	if len(g.last) > 2 {
		t.Fatalf("gate holds %d sessions after the period, want the old ones dropped", len(g.last))
	}
}
