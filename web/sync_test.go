package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// servedDemo is a test server with the demo's sandbox accounts, serving
// (and so syncing) until the test ends.
type servedDemo struct {
	*testServer
	demo *Demo
	ids  []uint // Alibaba, Sendbird, Feishu
}

func serveDemo(t *testing.T, interval time.Duration, mod ...func(*Config)) *servedDemo {
	t.Helper()
	ts := newTestServer(t, append([]func(*Config){func(c *Config) { c.SyncInterval = interval }}, mod...)...)
	ts.addUser("admin@example.com", models.RoleAdmin)
	ts.addUser("manager@example.com", models.RoleManager)
	ctx, cancel := context.WithCancel(context.Background())
	demo, err := ts.srv.StartDemo(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sd := &servedDemo{testServer: ts, demo: demo}
	for _, pa := range demo.Sandbox.Accounts {
		sd.ids = append(sd.ids, sd.accountID(pa.Name+demoSuffix))
	}
	return sd
}

func (sd *servedDemo) accountID(name string) uint {
	sd.t.Helper()
	as, err := sd.db.ListAccounts(context.Background())
	if err != nil {
		sd.t.Fatal(err)
	}
	for _, a := range as {
		if a.Name == name {
			return a.ID
		}
	}
	sd.t.Fatalf("no account %q", name)
	return 0
}

// simNotes is how many notes each simulator holds, in the order of ids.
func (sd *servedDemo) simNotes() []int {
	sb := sd.demo.Sandbox
	return []int{sb.Alibaba.NoteCount(), sb.Sendbird.NoteCount(), sb.Feishu.NoteCount()}
}

func (sd *servedDemo) archived(id uint) (tickets, notes int64) {
	sd.t.Helper()
	tk, n, err := sd.db.ArchiveCounts(context.Background(), id)
	if err != nil {
		sd.t.Fatal(err)
	}
	return tk, n
}

// waitArchived polls until every account's archive holds its simulator's
// notes; the deadline is generous and only bounds a hang.
func (sd *servedDemo) waitArchived(which ...int) {
	sd.t.Helper()
	want := sd.simNotes()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var behind []string
		for _, i := range which {
			if _, n := sd.archived(sd.ids[i]); n != int64(want[i]) {
				behind = append(behind, fmt.Sprintf("account %d: %d of %d notes", sd.ids[i], n, want[i]))
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			sd.t.Fatalf("archive never caught up: %s", strings.Join(behind, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServerSyncsEnabledAccountsAndFollowsThem(t *testing.T) {
	sd := serveDemo(t, 200*time.Millisecond)
	sd.waitArchived(0, 1, 2)
	ctx := context.Background()
	admin := sd.client()
	admin.login("admin@example.com")

	// The accounts page says how fresh each is, and what deleting takes.
	_, body := admin.get("/accounts")
	tk, n := sd.archived(sd.ids[1])
	if want := fmt.Sprintf("Its %d tickets and %d archived notes are deleted here; the audit log keeps what it recorded.", tk, n); !strings.Contains(body, want) {
		t.Errorf("accounts page lacks the delete confirmation %q", want)
	}
	if !strings.Contains(body, "synced") {
		t.Errorf("accounts page shows no freshness")
	}

	// Disabled: no more passes, the archive kept.
	ali := sd.ids[0]
	if resp, _ := admin.post("/accounts/"+strconv.Itoa(int(ali))+"/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if err := sd.srv.sync.SyncNow(ali, false); !errors.Is(err, syncer.ErrUnknownAccount) {
		t.Errorf("a disabled account is still synced: SyncNow = %v", err)
	}
	kept := sd.simNotes()[0]
	tickets := sd.demo.Sandbox.Alibaba.TicketIDs()
	if _, err := sd.demo.Sandbox.Alibaba.PutNote(tickets[0], "written while disabled", time.Now()); err != nil {
		t.Fatal(err)
	}
	// Let any pass that was already running end, then count.
	time.Sleep(500 * time.Millisecond)
	calls := sd.demo.Sandbox.Alibaba.Meter.Stats().Requests
	time.Sleep(5 * 200 * time.Millisecond)
	if got := sd.demo.Sandbox.Alibaba.Meter.Stats().Requests; got != calls {
		t.Errorf("the vendor got %d requests after the account was disabled", got-calls)
	}
	if _, n := sd.archived(ali); n != int64(kept) {
		t.Errorf("disabled account's archive: %d notes, want the %d synced before", n, kept)
	}
	// Enabled again: it is synced again, the new note included.
	admin.get("/accounts")
	admin.post("/accounts/"+strconv.Itoa(int(ali))+"/disable", nil)
	sd.waitArchived(0)

	// Deleted: its archive goes with it, the audit log stays.
	sb := sd.ids[1]
	if resp, _ := admin.post("/accounts/"+strconv.Itoa(int(sb))+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if err := sd.srv.sync.SyncNow(sb, false); !errors.Is(err, syncer.ErrUnknownAccount) {
		t.Errorf("a deleted account is still synced: SyncNow = %v", err)
	}
	if tk, n := sd.archived(sb); tk != 0 || n != 0 {
		t.Errorf("deleted account's archive holds %d tickets and %d notes", tk, n)
	}
	if st, err := sd.db.SyncState(ctx, sb); err != nil || st.Kind != "" {
		t.Errorf("deleted account's sync state %+v, %v", st, err)
	}
	if len(sd.auditRows("account.delete")) != 1 {
		t.Error("the delete was not audited")
	}
}

func TestSyncNowRunsAPassAndIsAudited(t *testing.T) {
	sd := serveDemo(t, 0) // no schedule: only Sync now passes
	time.Sleep(300 * time.Millisecond)
	for i, id := range sd.ids {
		if _, n := sd.archived(id); n != 0 {
			t.Fatalf("account %d synced %d notes without a schedule or a request (index %d)", id, n, i)
		}
	}
	feishu := sd.ids[2]
	path := "/accounts/" + strconv.Itoa(int(feishu)) + "/sync"

	// A manager is refused and audited, and so is a request without the token.
	mgr := sd.client()
	mgr.login("manager@example.com")
	if resp, _ := mgr.post(path, nil, "HX-Request", "true"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("manager: %d, want 403", resp.StatusCode)
	}
	admin := sd.client()
	admin.login("admin@example.com")
	if resp, _ := admin.do(http.MethodPost, path, url.Values{"_csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged token: %d, want 403", resp.StatusCode)
	}
	if rows := sd.auditRows("account.sync"); len(rows) != 1 || rows[0].Outcome != models.OutcomeDenied {
		t.Errorf("manager's attempt: audit rows %+v", rows)
	}
	time.Sleep(300 * time.Millisecond)
	if _, n := sd.archived(feishu); n != 0 {
		t.Fatalf("refused requests synced %d notes", n)
	}

	// htmx: 204 and the event the pages re-poll on; the pass then runs.
	resp, _ := admin.post(path, url.Values{"full": {"1"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("HX-Trigger") != "sync-started" {
		t.Fatalf("htmx Sync now: %d, HX-Trigger %q", resp.StatusCode, resp.Header.Get("HX-Trigger"))
	}
	sd.waitArchived(2)
	rows := sd.auditRows("account.sync")
	if len(rows) != 2 || rows[0].Outcome != models.OutcomeOK || rows[0].ActorEmail != "admin@example.com" ||
		rows[0].AccountID == nil || *rows[0].AccountID != feishu || !strings.Contains(rows[0].After, `"full":true`) {
		t.Errorf("Sync now audit rows: %+v", rows)
	}
	// The freshness line (polled by the page) says it synced, once the pass
	// has saved its end: the last ticket's notes are archived just before.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body := admin.get(path)
		if strings.Contains(body, `data-syncing="false"`) {
			if !strings.Contains(body, "synced") {
				t.Errorf("freshness after the pass:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pass never ended; freshness:\n%s", body)
		}
	}

	// A plain form goes back where it came from, never off the site.
	resp, _ = admin.post(path, url.Values{"back": {"/notes?account=3"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/notes?account=3" {
		t.Errorf("plain Sync now: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = admin.post(path, url.Values{"back": {"//evil.example/"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Errorf("off-site back: %d to %q", resp.StatusCode, loc)
	}

	// A disabled account is not synced: 409, audited as an error.
	ali := sd.ids[0]
	admin.post("/accounts/"+strconv.Itoa(int(ali))+"/disable", nil)
	admin.get("/accounts")
	if resp, _ := admin.post("/accounts/"+strconv.Itoa(int(ali))+"/sync", nil, "HX-Request", "true"); resp.StatusCode != http.StatusConflict {
		t.Errorf("Sync now of a disabled account: %d, want 409", resp.StatusCode)
	}
	if rows := sd.auditRows("account.sync"); rows[0].Outcome != models.OutcomeError || *rows[0].AccountID != ali {
		t.Errorf("refused Sync now not audited as an error: %+v", rows[0])
	}
}

// TestFailedPassShowsOnTheAccountsPage: a pass the vendor fails is shown
// with the vendor's HTTP status and request id, while the other accounts
// sync.
func TestFailedPassShowsOnTheAccountsPage(t *testing.T) {
	sd := serveDemo(t, 0)
	sd.demo.Sandbox.Feishu.Faults.Arm(simfault.ServerError, -1)
	admin := sd.client()
	admin.login("admin@example.com")
	for _, id := range sd.ids {
		if resp, _ := admin.post("/accounts/"+strconv.Itoa(int(id))+"/sync", nil, "HX-Request", "true"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("Sync now of %d: %d", id, resp.StatusCode)
		}
	}
	sd.waitArchived(0, 1)
	feishu := sd.ids[2]
	deadline := time.Now().Add(60 * time.Second)
	var st syncer.State
	for {
		var err error
		if st, err = sd.db.SyncState(context.Background(), feishu); err != nil {
			t.Fatal(err)
		}
		if st.Err != nil && !st.Running() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failing pass never ended: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, body := admin.get("/accounts")
	line := body[strings.Index(body, `id="sync-`+strconv.Itoa(int(feishu))+`"`):]
	line = line[:strings.Index(line, "</td>")]
	for _, want := range []string{"last sync failed", "HTTP 500", "request id " + st.Err.RequestID, `data-testid="sync-failure"`} {
		if !strings.Contains(line, want) {
			t.Errorf("Feishu's freshness lacks %q:\n%s", want, line)
		}
	}
	if st.Err.RequestID == "" {
		t.Error("the pass kept no request id")
	}
}

func TestDemoScaleSeedsAboutNNotes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ scale, min, max int }{{0, 360, 360}, {3000, 3000, 3003}} {
		ts := newTestServer(t, func(c *Config) { c.DemoScale = tc.scale })
		ctx, cancel := context.WithCancel(context.Background())
		demo, err := ts.srv.StartDemo(ctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		sb := demo.Sandbox
		n := sb.Alibaba.NoteCount() + sb.Sendbird.NoteCount() + sb.Feishu.NoteCount()
		cancel()
		if n < tc.min || n > tc.max {
			t.Errorf("--demo-scale %d: the simulators hold %d notes, want %d to %d", tc.scale, n, tc.min, tc.max)
		}
	}
}
