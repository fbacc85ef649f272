package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// The load run's shape. A bounded run: it stops by itself after loadFor.
const (
	loadClients = 50
	loadWriters = 10 // of the clients, the admins that also write
)

// loadFor is how long the mixed load runs: 30 s, or TICKETNOTES_LOAD_SECONDS.
func loadFor(t *testing.T) time.Duration {
	if v := os.Getenv("TICKETNOTES_LOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TICKETNOTES_LOAD_SECONDS=%q", v)
		}
		return time.Duration(n) * time.Second
	}
	return 30 * time.Second
}

// binary is the real ticketnotes binary, built once for the load tests.
func binary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ticketnotes")
	cmd := exec.Command("go", "build", "-o", out, "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// proc is a running server process.
type proc struct {
	cmd  *exec.Cmd
	base string
	done chan error
	out  *lockedBuffer
}

// startProc runs the binary in demo mode on the database at loc and waits
// for /healthz.
func startProc(t *testing.T, bin string, loc modelstest.Database) *proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &proc{base: "http://" + addr, done: make(chan error, 1), out: &lockedBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"--demo", "--addr", addr, "--log-level", "warn"}, loc.Args()...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("the server exited before it was healthy: %v\n%s", err, p.out.tail(4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200\n%s", p.out.tail(4000))
		}
	}
}

// peakRSS is the process's peak resident set in KiB (VmHWM).
func (p *proc) peakRSS() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// stop ends the server with SIGTERM and waits.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("the server did not stop on SIGTERM\n%s", p.out.tail(2000))
	}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// user is one signed-in browser of the load run.
type user struct {
	base string
	http *http.Client
	csrf string
}

func (p *proc) signIn(email string) (*user, error) {
	jar, _ := cookiejar.New(nil)
	u := &user{base: p.base, http: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if _, _, err := u.get("/login"); err != nil {
		return nil, err
	}
	resp, _, err := u.post("/login", url.Values{"email": {email}, "password": {"demo-password-1"}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in %s: HTTP %d", email, resp.StatusCode)
	}
	if _, _, err := u.get("/preferences"); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *user) do(req *http.Request) (*http.Response, string, error) {
	resp, err := u.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp, string(b), err
}

func (u *user) get(path string) (*http.Response, string, error) {
	req, _ := http.NewRequest(http.MethodGet, u.base+path, nil)
	return u.do(req)
}

func (u *user) post(path string, form url.Values) (*http.Response, string, error) {
	form.Set("_csrf", u.csrf)
	req, _ := http.NewRequest(http.MethodPost, u.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

// stats collects latencies and outcomes per operation.
type stats struct {
	mu      sync.Mutex
	lat     map[string][]time.Duration
	fivexx  map[string]int
	wrong   []string
	acked   []string // X-Request-ID of every acknowledged write
	errs    []string
	unacked int
}

func newStats() *stats {
	return &stats{lat: map[string][]time.Duration{}, fivexx: map[string]int{}}
}

func (s *stats) add(op string, d time.Duration, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[op] = append(s.lat[op], d)
	if status >= 500 {
		s.fivexx[op]++
	}
}

func (s *stats) note(list *[]string, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*list) < 20 {
		*list = append(*list, fmt.Sprintf(format, args...))
	}
}

// report logs p50 / p99 and counts per operation.
func (s *stats) report(t *testing.T, elapsed time.Duration) {
	t.Helper()
	ops := make([]string, 0, len(s.lat))
	total := 0
	for op, l := range s.lat {
		ops = append(ops, op)
		total += len(l)
	}
	slices.Sort(ops)
	for _, op := range ops {
		l := slices.Clone(s.lat[op])
		slices.Sort(l)
		q := func(f float64) time.Duration { return l[min(len(l)-1, int(f*float64(len(l))))] }
		t.Logf("%-16s %6d requests  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  5xx %d", op, len(l),
			ms(q(0.50)), ms(q(0.99)), ms(l[len(l)-1]), s.fivexx[op])
	}
	t.Logf("%d requests in %s: %.0f req/s", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ticketIDs reads the Sendbird and Alibaba ticket ids the notes page shows,
// waiting for the server's first sync to fill the archive.
func ticketIDs(t *testing.T, u *user) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, body, err := u.get("/notes")
		if err != nil {
			t.Fatal(err)
		}
		d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		d.Find(`[data-testid=note]`).Each(func(_ int, s *goquery.Selection) {
			a, tk := s.AttrOr("data-account-id", ""), s.AttrOr("data-ticket-id", "")
			if tk != "" && !slices.Contains(out[a], tk) {
				out[a] = append(out[a], tk)
			}
		})
		if len(out[sendbirdID]) >= 3 && len(out[alibabaID]) >= 3 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("too few tickets on /notes after the first sync: %v", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// conversation reads one ticket's page and reports notes of another ticket.
func loadConversation(s *stats, u *user, account, ticket string) (noteIDs []string) {
	start := time.Now()
	resp, body, err := u.get("/tickets/" + account + "/" + url.PathEscape(ticket))
	if err != nil {
		s.note(&s.errs, "conversation %s/%s: %v", account, ticket, err)
		return nil
	}
	s.add("conversation", time.Since(start), resp.StatusCode)
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return nil
	}
	d.Find(`[data-testid=note]`).Each(func(_ int, n *goquery.Selection) {
		if got := n.AttrOr("data-ticket-id", ""); got != ticket || n.AttrOr("data-account-id", "") != account {
			s.note(&s.wrong, "ticket %s/%s page shows a note of %s/%s", account, ticket, n.AttrOr("data-account-id", ""), got)
		}
		noteIDs = append(noteIDs, n.AttrOr("data-note-id", ""))
	})
	return noteIDs
}

// exportTicket downloads a ticket's CSV and reports rows of another ticket.
func exportTicket(s *stats, u *user, account, ticket string) {
	start := time.Now()
	resp, body, err := u.get("/tickets/" + account + "/" + url.PathEscape(ticket) + "/export.csv")
	if err != nil {
		s.note(&s.errs, "export %s/%s: %v", account, ticket, err)
		return
	}
	s.add("export.csv", time.Since(start), resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) == 0 {
		s.note(&s.wrong, "ticket %s/%s export does not parse: %v", account, ticket, err)
		return
	}
	col := slices.Index(rows[0], "ticket_id")
	for _, r := range rows[1:] {
		if col < 0 || r[col] != ticket {
			s.note(&s.wrong, "ticket %s/%s export has a row of ticket %v", account, ticket, r)
			return
		}
	}
}

// write adds a note to a Sendbird ticket, or edits one, and records the
// request id of every acknowledged write.
func write(s *stats, u *user, ticket string, notes []string, n int) {
	op, path, form := "note.create", "/notes", url.Values{"account": {sendbirdID}, "ticket": {ticket},
		"body": {fmt.Sprintf("load note %d", n)}}
	if len(notes) > 0 && n%2 == 1 {
		op, path, form = "note.update", "/notes/"+sendbirdID+"/"+ticket+"/"+url.PathEscape(notes[n%len(notes)]), url.Values{"body": {fmt.Sprintf("load edit %d", n)}}
	} else {
		_, page, err := u.get("/notes?account=" + sendbirdID + "&ticket=" + ticket)
		if err != nil {
			s.note(&s.errs, "add form: %v", err)
			return
		}
		m := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			s.note(&s.errs, "no form token on the notes page")
			return
		}
		form.Set("form_token", m[1])
	}
	start := time.Now()
	resp, _, err := u.post(path, form)
	if err != nil {
		s.mu.Lock()
		s.unacked++
		s.mu.Unlock()
		return
	}
	s.add(op, time.Since(start), resp.StatusCode)
	if resp.StatusCode == http.StatusSeeOther {
		s.mu.Lock()
		s.acked = append(s.acked, op+" "+resp.Header.Get("X-Request-ID"))
		s.mu.Unlock()
	} else if resp.StatusCode < 500 {
		s.note(&s.errs, "%s %s: HTTP %d", op, path, resp.StatusCode)
	}
}

// runClients runs n signed-in clients doing the mixed load until ctx ends.
func runClients(ctx context.Context, t *testing.T, p *proc, s *stats, tickets map[string][]string, writersOnly bool) {
	t.Helper()
	n, writers := loadClients, loadWriters
	if writersOnly {
		n = writers
	}
	users := make([]*user, n)
	for i := range users {
		email := "manager@demo.ticketnotes.test"
		if i < writers {
			email = "admin@demo.ticketnotes.test"
		}
		u, err := p.signIn(email)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		users[i] = u
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for n := 0; ctx.Err() == nil; n++ {
				acct := []string{sendbirdID, alibabaID}[r.IntN(2)]
				ticket := tickets[acct][r.IntN(len(tickets[acct]))]
				switch op := r.IntN(10); {
				case i < writers && (writersOnly || op < 3):
					sb := tickets[sendbirdID][r.IntN(len(tickets[sendbirdID]))]
					write(s, u, sb, loadConversation(s, u, sendbirdID, sb), n)
				case op < 5:
					loadConversation(s, u, acct, ticket)
				case op < 7:
					exportTicket(s, u, acct, ticket)
				default:
					start := time.Now()
					q := []string{"/notes", "/notes?account=" + acct + "&ticket=" + ticket, "/notes?role=agent", "/notes?page=2"}[r.IntN(4)]
					resp, _, err := u.get(q)
					if err != nil {
						if ctx.Err() == nil {
							s.note(&s.errs, "%s: %v", q, err)
						}
						continue
					}
					s.add("notes", time.Since(start), resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
}

// auditOutcomes counts, per request id, the audit rows that record an
// outcome (ok, error, denied) of a change. On SQLite it first checks the
// file is intact (the server was killed while writing it); a PostgreSQL
// server was not, and keeps its files intact itself.
func auditOutcomes(t *testing.T, loc modelstest.Database) map[string]int {
	t.Helper()
	raw := modelstest.Raw(t, loc)
	if loc.URL == "" {
		var check string
		if err := raw.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
			t.Errorf("PRAGMA integrity_check: %q %v", check, err)
		}
	}
	var rows []struct {
		RequestID string
		Action    string
	}
	if err := raw.Raw(`SELECT request_id, action FROM audit_events WHERE outcome IN ('ok','error','denied') AND action LIKE 'note.%'`).
		Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Action+" "+r.RequestID]++
	}
	return out
}

// verifyAudit runs `ticketnotes audit verify` on the database at loc.
func verifyAudit(t *testing.T, bin string, loc modelstest.Database) {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"audit", "verify"}, loc.Args()...)...).CombinedOutput()
	if err != nil {
		t.Errorf("audit verify: %v\n%s", err, out)
	} else {
		t.Logf("audit verify: %s", strings.TrimSpace(string(out)))
	}
}

// checkAcked fails unless every acknowledged write has exactly one outcome.
func checkAcked(t *testing.T, acked []string, outcomes map[string]int) {
	t.Helper()
	missing, doubled := 0, 0
	for _, a := range acked {
		switch outcomes[a] {
		case 1:
		case 0:
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged write %s has no audit outcome", a)
			}
		default:
			doubled++
			if doubled <= 5 {
				t.Errorf("acknowledged write %s has %d audit outcomes", a, outcomes[a])
			}
		}
	}
	t.Logf("%d acknowledged writes, %d without an outcome, %d with more than one", len(acked), missing, doubled)
}

// TestLoadMixedClients runs 50 signed-in clients for 30 s against the real
// binary, mixing reads, exports and writes, and fails on any wrong page (a
// note or export row of another ticket), any 5xx, or an acknowledged write
// without exactly one audit outcome. It logs p50/p99 per operation and the
// peak RSS; BENCHMARKS.md records them.
func TestLoadMixedClients(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s load run")
	}
	bin := binary(t)
	dir := modelstest.New(t)
	p := startProc(t, bin, dir)
	admin, err := p.signIn("admin@demo.ticketnotes.test")
	if err != nil {
		t.Fatal(err)
	}
	tickets := ticketIDs(t, admin)
	s := newStats()
	ctx, cancel := context.WithTimeout(context.Background(), loadFor(t))
	defer cancel()
	start := time.Now()
	runClients(ctx, t, p, s, tickets, false)
	elapsed := time.Since(start)
	s.report(t, elapsed)
	t.Logf("peak RSS %d MiB", p.peakRSS()/1024)
	for op, n := range s.fivexx {
		t.Errorf("%d × 5xx on %s", n, op)
	}
	for _, w := range s.wrong {
		t.Errorf("wrong page: %s", w)
	}
	for _, e := range s.errs {
		t.Errorf("client: %s", e)
	}
	p.stop(t)
	checkAcked(t, s.acked, auditOutcomes(t, dir))
	verifyAudit(t, bin, dir)
}

// TestSIGKILLDuringWrites kills the server in a burst of writes, starts it
// again on the same data, and checks the database is intact, the audit
// chain verifies and every write the server acknowledged before it died
// has exactly one audit outcome.
func TestSIGKILLDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server")
	}
	bin := binary(t)
	dir := modelstest.New(t)
	p := startProc(t, bin, dir)
	admin, err := p.signIn("admin@demo.ticketnotes.test")
	if err != nil {
		t.Fatal(err)
	}
	tickets := ticketIDs(t, admin)
	s := newStats()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runClients(ctx, t, p, s, tickets, true) }()
	// Kill once writes are flowing.
	for deadline := time.Now().Add(30 * time.Second); ; {
		s.mu.Lock()
		n := len(s.acked)
		s.mu.Unlock()
		if n >= 20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = <-p.done
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the server was not killed: %v", err)
	}
	cancel()
	<-done
	s.mu.Lock()
	acked := slices.Clone(s.acked)
	s.mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("killed after %d acknowledged writes (%d requests cut off)", len(acked), s.unacked)

	q := startProc(t, bin, dir)
	if _, err := q.signIn("admin@demo.ticketnotes.test"); err != nil {
		t.Errorf("after the restart: %v", err)
	}
	q.stop(t)
	checkAcked(t, acked, auditOutcomes(t, dir))
	verifyAudit(t, bin, dir)
	if b, err := json.Marshal(s.fivexx); err == nil && len(s.fivexx) > 0 {
		t.Logf("5xx before the kill: %s", b)
	}
}
