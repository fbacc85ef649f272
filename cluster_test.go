package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/web"
)

// needPostgres skips a test of two instances on one database unless the
// suite runs on PostgreSQL, the database several instances share.
func needPostgres(t *testing.T) {
	t.Helper()
	if !modelstest.Postgres() {
		t.Skip("two instances share a PostgreSQL database: set " + modelstest.EnvURL + " (CI's PostgreSQL run does)")
	}
}

// instance is one server of a cluster: its own connection pool, engine and
// listener, on a database it shares with the others.
type instance struct {
	srv  *web.Server
	db   *models.DB
	base string
}

// startInstance serves the dashboard over loc's database on a loopback
// port, as `ticketnotes serve` does, until the test ends; syncInterval is
// its --sync-interval (0: no schedule).
func startInstance(t *testing.T, loc modelstest.Database, syncInterval time.Duration) *instance {
	t.Helper()
	db, err := models.Open(context.Background(), options(loc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := web.Config{DataDir: loc.Dir, DatabaseURL: loc.URL, LoginPerMinute: 1000, AllowPrivateEndpoints: true,
		SyncInterval: syncInterval}
	srv, err := web.New(cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &instance{srv: srv, db: db, base: "http://" + ln.Addr().String()}
}

// browser keeps cookies (host-wide, as behind a load balancer the
// instances are one site) and the last CSRF token seen. Its methods return
// errors rather than failing the test, so goroutines may use it.
type browser struct {
	mu   sync.Mutex
	hc   *http.Client
	csrf string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{hc: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	csrfField      = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	formTokenField = regexp.MustCompile(`name="form_token" value="([^"]+)"`)
)

// do sends a request (a form when form is not nil, with the CSRF token)
// and returns the status and body.
func (b *browser) do(method, u string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		b.mu.Lock()
		if form.Get("_csrf") == "" {
			form.Set("_csrf", b.csrf)
		}
		b.mu.Unlock()
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(raw); m != nil {
		b.mu.Lock()
		b.csrf = string(m[1])
		b.mu.Unlock()
	}
	return resp.StatusCode, string(raw), err
}

// must is do for the test's goroutine: it fails the test unless the
// answer has status want.
func (b *browser) must(t *testing.T, want int, method, u string, form url.Values) string {
	t.Helper()
	status, body, err := b.do(method, u, form)
	if err != nil || status != want {
		t.Fatalf("%s %s: %d, %v; want %d\n%.400s", method, u, status, err, want, body)
	}
	return body
}

// signIn signs in through inst's form.
func (b *browser) signIn(t *testing.T, inst *instance, email string) {
	t.Helper()
	b.must(t, http.StatusOK, http.MethodGet, inst.base+"/login", nil)
	b.must(t, http.StatusSeeOther, http.MethodPost, inst.base+"/login", url.Values{"email": {email}, "password": {"password-123"}})
	b.must(t, http.StatusOK, http.MethodGet, inst.base+"/preferences", nil)
}

// clusterDB is a keyed database holding accts (at rate 200/s) and an
// admin, ada@example.com.
func clusterDB(t *testing.T, accts ...providers.Account) (modelstest.Database, *models.DB, []uint) {
	t.Helper()
	rates := make([]float64, len(accts))
	for i := range rates {
		rates[i] = 200
	}
	loc, db, ids := accountsDir(t, accts, rates)
	if _, err := db.CreateUser(context.Background(), models.NewUser{Email: "ada@example.com", Name: "Ada", Role: "admin",
		Password: "password-123"}); err != nil {
		t.Fatal(err)
	}
	return loc, db, ids
}

// A session made on one instance is accepted by the other (sessions live
// in the database, so no sticky sessions), and signing out on the other
// ends it on both.
func TestTwoInstancesShareSessions(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	loc, _, _ := clusterDB(t)
	a, b := startInstance(t, loc, 0), startInstance(t, loc, 0)
	br := newBrowser(t)
	br.signIn(t, a, "ada@example.com")
	if body := br.must(t, http.StatusOK, http.MethodGet, b.base+"/preferences", nil); !strings.Contains(body, "Ada") {
		t.Errorf("instance b's preferences page does not show the session's user:\n%.400s", body)
	}
	br.must(t, http.StatusSeeOther, http.MethodPost, b.base+"/logout", url.Values{})
	if status, _, err := br.do(http.MethodGet, a.base+"/preferences", nil); err != nil || status != http.StatusSeeOther {
		t.Errorf("instance a after signing out on b: %d, %v; want a redirect to sign in", status, err)
	}
}

// Admins adding notes through both instances at once leave one audit
// chain, which `audit verify` accepts, with every write in it.
func TestTwoInstancesKeepOneAuditChain(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	sim := sendbirdsim.New(sendbirdsim.Options{Seed: 5, Notes: 40, Tickets: 8, Days: 30})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	loc, db, ids := clusterDB(t, sim.Account(simSrv.URL))
	insts := []*instance{startInstance(t, loc, 0), startInstance(t, loc, 0)}
	ticket := strconv.FormatInt(sim.Tickets()[0].ID, 10)
	before := sim.NoteCount()
	const each = 6
	var wg sync.WaitGroup
	errs := make(chan error, len(insts)*each)
	for i, inst := range insts {
		br := newBrowser(t)
		br.signIn(t, inst, "ada@example.com")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range each {
				status, page, err := br.do(http.MethodGet, inst.base+"/notes", nil)
				m := formTokenField.FindStringSubmatch(page)
				if err != nil || status != http.StatusOK || m == nil {
					errs <- fmt.Errorf("instance %d: notes page %d, %v, form token %v", i, status, err, m != nil)
					return
				}
				status, _, err = br.do(http.MethodPost, inst.base+"/notes", url.Values{"account": {strconv.FormatUint(uint64(ids[0]), 10)},
					"ticket": {ticket}, "body": {fmt.Sprintf("from instance %d, note %d", i, n)}, "form_token": {m[1]}})
				if err != nil || status != http.StatusSeeOther {
					errs <- fmt.Errorf("instance %d: add note %d: %d, %v", i, n, status, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := sim.NoteCount(); got != before+len(insts)*each {
		t.Errorf("the vendor holds %d notes, want %d", got, before+len(insts)*each)
	}
	evs, _, err := db.ListAudit(context.Background(), models.AuditFilter{Action: "note.create", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range evs {
		if e.Outcome == models.OutcomeOK {
			ok++
		}
	}
	if ok != len(insts)*each {
		t.Errorf("%d note.create rows ok, want %d", ok, len(insts)*each)
	}
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"audit", "verify"}, loc.Args()...), env(), strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "audit log intact") {
		t.Errorf("audit verify said: %s", out.String())
	}
}

// passCounter serves an Alibaba simulator and notes when each pass of it
// began: a pass lists the tickets from page 1 once.
type passCounter struct {
	mu     sync.Mutex
	starts []time.Time
}

func (c *passCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Form.Get("Action") == "ListTickets" && r.Form.Get("PageNumber") == "1" {
			c.mu.Lock()
			c.starts = append(c.starts, time.Now())
			c.mu.Unlock()
		}
	})
}

func (c *passCounter) passes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.starts...)
}

// Two instances scheduling the same accounts make one pass per interval
// between them, as the simulator counts passes: each pass begins at least
// an interval after the one before began, and the count fits one per
// interval.
func TestTwoInstancesOnePassPerInterval(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	var accts []providers.Account
	counts := make([]*passCounter, 2)
	for i := range counts {
		sim := alibabasim.New(alibabasim.Options{Seed: int64(3 + i), Notes: 120, Tickets: 12, Days: 30})
		counts[i] = &passCounter{}
		simSrv := httptest.NewServer(counts[i].wrap(sim))
		t.Cleanup(simSrv.Close)
		a := sim.Account(simSrv.URL)
		a.Name = fmt.Sprintf("%s %d", a.Name, i)
		accts = append(accts, a)
	}
	loc, _, _ := clusterDB(t, accts...)
	const interval = 2 * time.Second
	start := time.Now()
	startInstance(t, loc, interval)
	startInstance(t, loc, interval)
	time.Sleep(6*interval + interval/2)
	elapsed := time.Since(start)
	for n, count := range counts {
		passes := count.passes()
		if len(passes) < 3 {
			t.Fatalf("account %d: %d passes in %v, want the backfill and scheduled ones", n, len(passes), elapsed)
		}
		for i := 1; i < len(passes); i++ {
			if gap := passes[i].Sub(passes[i-1]); gap < interval {
				t.Errorf("account %d: pass %d began %v after pass %d, want at least the interval %v", n, i, gap, i-1, interval)
			}
		}
		if most := int(elapsed/interval) + 1; len(passes) > most {
			t.Errorf("account %d: %d passes in %v: more than one per %v", n, len(passes), elapsed, interval)
		}
		t.Logf("account %d: %d passes in %v", n, len(passes), elapsed)
	}
}

// "Sync now" pressed on one instance runs exactly once across both; pressed
// on the other while that pass runs, it runs once more after it, not twice.
func TestTwoInstancesSyncNowRunsOnce(t *testing.T) {
	needPostgres(t)
	t.Parallel()
	sim := alibabasim.New(alibabasim.Options{Seed: 4, Notes: 200, Tickets: 30, Days: 30})
	// Slow enough that the second press lands inside the pass.
	sim.Faults.SetLatency(150 * time.Millisecond)
	var count passCounter
	simSrv := httptest.NewServer(count.wrap(sim))
	t.Cleanup(simSrv.Close)
	loc, db, ids := clusterDB(t, sim.Account(simSrv.URL))
	a, b := startInstance(t, loc, 0), startInstance(t, loc, 0)
	br := newBrowser(t)
	br.signIn(t, a, "ada@example.com")
	syncPath := "/accounts/" + strconv.FormatUint(uint64(ids[0]), 10) + "/sync"
	ctx := context.Background()
	// settled waits until n passes began and the last has ended, then one
	// poll of both engines more, and returns the passes counted.
	settled := func(n int) []time.Time {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			st, err := db.SyncState(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(count.passes()) >= n && !st.Running() && !st.FinishedAt.IsZero() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d passes, state %+v; want %d ended", len(count.passes()), st, n)
			}
		}
		time.Sleep(6 * time.Second) // more than a poll (5s)
		return count.passes()
	}
	br.must(t, http.StatusOK, http.MethodGet, a.base+"/accounts", nil)
	br.must(t, http.StatusSeeOther, http.MethodPost, a.base+syncPath, url.Values{"back": {"/accounts"}})
	if got := settled(1); len(got) != 1 {
		t.Fatalf("one press on instance a: %d passes, want 1", len(got))
	}
	// Pressed on a, then on b (twice) while a's pass runs: one more pass.
	br.must(t, http.StatusSeeOther, http.MethodPost, a.base+syncPath, url.Values{"back": {"/accounts"}})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, _ := db.SyncState(ctx, ids[0])
		if len(count.passes()) == 2 && st.Running() && st.Done > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second pass did not start")
		}
	}
	br.must(t, http.StatusOK, http.MethodGet, b.base+"/accounts", nil)
	for range 2 {
		br.must(t, http.StatusSeeOther, http.MethodPost, b.base+syncPath, url.Values{"back": {"/accounts"}})
	}
	if got := settled(3); len(got) != 3 {
		t.Fatalf("a press on a, then two on b during its pass: %d passes in all, want 3", len(got))
	}
	if req, err := db.SyncRequest(ctx, ids[0]); err != nil || req.Pending() {
		t.Errorf("request left pending: %+v, %v", req, err)
	}
}

// The instance running a pass, a real process, is SIGKILLed mid-pass: a
// `ticketnotes sync`, or a server whose schedule started the account's
// first pass. A server instance scheduling the same account takes the
// pass over once the dead process's lease runs out (within one lease
// period and a poll), resumes it, and the archive ends with exactly the
// vendor's notes.
func TestTwoInstancesLeaseHolderKilledIsTakenOver(t *testing.T) {
	needPostgres(t)
	if testing.Short() {
		t.Skip("a real process syncing for seconds")
	}
	t.Parallel()
	for _, holder := range []struct {
		name string
		args []string
	}{
		{"sync", []string{"sync", "--full"}},
		{"server", []string{"serve", "--addr", "127.0.0.1:0", "--sync-interval", "1h"}},
	} {
		t.Run(holder.name, func(t *testing.T) {
			t.Parallel()
			leaseHolderKilled(t, holder.args)
		})
	}
}

// leaseHolderKilled runs `ticketnotes args…` over a new account, kills it
// mid-pass and checks the takeover (TestTwoInstancesLeaseHolderKilledIsTakenOver).
func leaseHolderKilled(t *testing.T, args []string) {
	sim := alibabasim.New(alibabasim.Options{Seed: 9, Notes: 1500, Tickets: 80, Days: 120})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	loc, db, ids := accountsDir(t, []providers.Account{sim.Account(simSrv.URL)}, []float64{15})
	ctx := context.Background()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const leaseTTL = 4 * time.Second
	var out bytes.Buffer
	cmd := exec.Command(exe, append(append(append([]string{"-test.run=^TestChildProcess$", "--"}, args...), loc.Args()...),
		"--allow-private-endpoints", "--lease-ttl", leaseTTL.String())...)
	cmd.Env = []string{"TICKETNOTES_TEST_CHILD=1"}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		st, err := db.SyncState(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if st.Running() && st.Done > 5 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the process ended before it was killed: %v\n%s", err, out.String())
		default:
		}
		if !st.FinishedAt.IsZero() || time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no pass to kill mid-way: %+v\n%s", st, out.String())
		}
	}
	dead, _, _ := db.SyncLease(ctx, ids[0])
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	killedAt := time.Now()
	killed, _ := db.SyncState(ctx, ids[0])
	if dead == "" || !killed.Running() {
		t.Fatalf("after the kill: lease %q, state %+v; want the lease held and the pass running", dead, killed)
	}
	startInstance(t, loc, time.Hour)
	// The server's engine takes the lease once the dead one's runs out.
	var tookOver time.Duration
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		owner, _, err := db.SyncLease(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if owner != "" && owner != dead {
			tookOver = time.Since(killedAt)
			break
		}
		if st, _ := db.SyncState(ctx, ids[0]); !st.Running() {
			tookOver = time.Since(killedAt)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nobody took the pass over")
		}
	}
	// One lease period, a poll of the engine (5s) and room for a loaded
	// machine.
	if limit := leaseTTL + 5*time.Second + 3*time.Second; tookOver > limit {
		t.Errorf("taken over %v after the kill, want within %v", tookOver, limit)
	}
	var st = killed
	for deadline := time.Now().Add(2 * time.Minute); st.Running(); time.Sleep(50 * time.Millisecond) {
		if st, err = db.SyncState(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the taken-over pass did not end: %+v", st)
		}
	}
	if st.Err != nil || st.Kind != killed.Kind || !st.StartedAt.Equal(killed.StartedAt) || st.Done != killed.Total {
		t.Errorf("state after the takeover %+v, want the killed %s pass resumed and finished", st, killed.Kind)
	}
	t.Logf("killed at %d of %d %s, taken over %v later", killed.Done, killed.Total, killed.Unit, tookOver.Round(time.Millisecond))
	got := archivedNotes(t, db, ids[0])
	want := map[string]bool{}
	for _, n := range sim.Notes() {
		k := n.TicketID + "/" + n.DialogID
		want[k] = true
		switch g := got[k]; {
		case g == nil:
			t.Errorf("note %s missing", k)
		case g.count != 1 || g.note.Deleted() || g.note.Version != 1:
			t.Errorf("note %s: %d rows, deleted %v, version %d", k, g.count, g.note.Deleted(), g.note.Version)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("the archive holds %s, the vendor does not", k)
		}
	}
}
