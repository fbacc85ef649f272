package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// unitLog records, per sync unit, which run of the test read it: a
// ticket's notes (Alibaba, Feishu) or a window of notes (Sendbird), keyed
// the way each vendor's request names it.
type unitLog struct {
	mu    sync.Mutex
	run   int                    // the run now going: 1 the killed one, 2 the resumed one
	units map[int]map[string]int // run → unit → requests
}

func (l *unitLog) hit(unit string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.units[l.run] == nil {
		l.units[l.run] = map[string]int{}
	}
	l.units[l.run][unit]++
}

func (l *unitLog) next() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.run++
}

func (l *unitLog) of(run int) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.units[run] {
		out[k] = v
	}
	return out
}

// recorded serves h, then logs the unit the request read, if any; unit
// sees the request after h parsed it (Alibaba's form).
func recorded(h http.Handler, l *unitLog, unit func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if u := unit(r); u != "" {
			l.hit(u)
		}
	})
}

// TestSyncKilledMidPassResumesExactly runs `ticketnotes sync --full` as a
// real process (this test binary as the CLI) against simulators served
// here, SIGKILLs it once every account has stored some units and not all,
// then syncs again: the archive is exactly the simulators' notes, and the
// second run read only the units the killed one had not checkpointed. The
// killed process's lease (a short --lease-ttl) runs out instead of
// blocking the second run.
func TestSyncKilledMidPassResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("a real process syncing for several seconds")
	}
	const seed, notes, tickets, days = 11, 2400, 90, 365
	ali := alibabasim.New(alibabasim.Options{Seed: seed, Notes: notes, Tickets: tickets, Days: days})
	sb := sendbirdsim.New(sendbirdsim.Options{Seed: seed, Notes: notes, Tickets: tickets, Days: days})
	fs := feishusim.New(feishusim.Options{Seed: seed, Notes: notes, Tickets: tickets, Days: days})
	logs := []*unitLog{{run: 1, units: map[int]map[string]int{}}, {run: 1, units: map[int]map[string]int{}}, {run: 1, units: map[int]map[string]int{}}}
	aliSrv := httptest.NewServer(recorded(ali, logs[0], func(r *http.Request) string {
		if r.Form.Get("Action") == "ListTicketNotes" {
			return r.Form.Get("TicketId")
		}
		return ""
	}))
	sbSrv := httptest.NewServer(recorded(sb, logs[1], func(r *http.Request) string {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/ticket_notes") {
			q := r.URL.Query()
			return q.Get("start_date") + "…" + q.Get("end_date")
		}
		return ""
	}))
	fsSrv := httptest.NewServer(recorded(fs, logs[2], func(r *http.Request) string {
		if p, ok := strings.CutSuffix(r.URL.Path, "/messages"); ok && r.Method == http.MethodGet {
			return p[strings.LastIndexByte(p, '/')+1:]
		}
		return ""
	}))
	t.Cleanup(func() { aliSrv.Close(); sbSrv.Close(); fsSrv.Close() })

	accts := []providers.Account{ali.Account(aliSrv.URL), sb.Account(sbSrv.URL), fs.Account(fsSrv.URL)}
	ctx := context.Background()
	// Modest rates, so a pass takes seconds and the kill lands inside it.
	dir, db, ids := accountsDir(t, accts, []float64{15, 4, 15})

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(exe, append(append([]string{"-test.run=^TestChildProcess$", "--", "sync", "--full"}, dir.Args()...),
		// Long enough that the lease outlives the checks below and the
		// second run's start on a loaded machine (PostgreSQL's start-up
		// reads the catalog), short enough to wait out.
		"--allow-private-endpoints", "--lease-ttl", "10s")...)
	cmd.Env = []string{"TICKETNOTES_TEST_CHILD=1"}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Kill once every account has checkpointed a unit and none has
	// finished; an account that finished first would prove nothing.
	deadline := time.After(2 * time.Minute)
	for progressed := false; !progressed; {
		select {
		case err := <-exited:
			t.Fatalf("the sync ended before it was killed: %v\n%s", err, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no progress on every account in 2 minutes\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		progressed = true
		for i, id := range ids {
			st, err := db.SyncState(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !st.FinishedAt.IsZero() {
				_ = cmd.Process.Kill()
				t.Fatalf("account %d finished its pass before the others progressed: raise its simulator's size\n%s", i, out.String())
			}
			progressed = progressed && st.Running() && st.Done > 0
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the sync process was not killed: %v", err)
	}
	for _, l := range logs {
		l.next()
	}
	// What the killed pass left: a checkpoint, the units it stored, its
	// lease (expiring by itself).
	killed := make([]syncer.State, len(ids))
	for i, id := range ids {
		st, err := db.SyncState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running() || st.Checkpoint == nil || st.Done == 0 || st.Done >= st.Total || st.Kind != syncer.PassBackfill {
			t.Fatalf("account %d after the kill: %+v, want a backfill stopped mid-way with its checkpoint", i, st)
		}
		killed[i] = st
		t.Logf("account %d killed at %d of %d %s", i, st.Done, st.Total, st.Unit)
	}
	if owner, _, _ := db.SyncLease(ctx, ids[0]); owner == "" {
		t.Error("the killed process held no lease: the test does not show it expiring")
	}

	start := time.Now()
	var out2 bytes.Buffer
	err = run(ctx, append(append([]string{"sync"}, dir.Args()...), "--allow-private-endpoints", "--wait", "30s"), env(),
		strings.NewReader(""), &out2, &out2)
	if err != nil {
		t.Fatalf("sync after the kill: %v\n%s", err, out2.String())
	}
	t.Logf("resumed run took %v:\n%s", time.Since(start).Round(time.Millisecond), out2.String())
	if !strings.Contains(out2.String(), "being synced by another process") {
		t.Errorf("the resumed run did not wait for the dead process's lease:\n%s", out2.String())
	}

	// Exactly the simulators' notes: the (ticket, id) set the simulators
	// hold, each once, live, in one version, with the text and content an
	// uninterrupted sync of the same simulators archives.
	for _, l := range logs {
		l.next()
	}
	refDir, refDB, refIDs := accountsDir(t, accts, []float64{200, 200, 200})
	if err := run(ctx, append(append([]string{"sync"}, refDir.Args()...), "--allow-private-endpoints"), env(),
		strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("reference sync: %v", err)
	}
	var simIDs [3][]string
	for _, n := range ali.Notes() {
		simIDs[0] = append(simIDs[0], n.TicketID+"/"+n.DialogID)
	}
	for _, n := range sb.Notes() {
		simIDs[1] = append(simIDs[1], strconv.FormatInt(n.TicketID, 10)+"/"+strconv.FormatInt(n.ID, 10))
	}
	for _, m := range fs.Messages() {
		simIDs[2] = append(simIDs[2], m.TicketID+"/"+m.ID)
	}
	for i, id := range ids {
		got, ref := archivedNotes(t, db, id), archivedNotes(t, refDB, refIDs[i])
		if len(simIDs[i]) == 0 {
			t.Fatalf("account %d: the simulator holds no notes", i)
		}
		sim := map[string]bool{}
		for _, k := range simIDs[i] {
			sim[k] = true
			g, ok := got[k]
			r := ref[k]
			switch {
			case !ok:
				t.Errorf("account %d: note %s missing", i, k)
			case g.count != 1:
				t.Errorf("account %d: note %s archived %d times", i, k, g.count)
			case g.note.Deleted() || g.note.Version != 1:
				t.Errorf("account %d: note %s deleted %v, version %d", i, k, g.note.Deleted(), g.note.Version)
			case r == nil:
				t.Errorf("account %d: note %s not in the reference archive", i, k)
			case g.note.Body != r.note.Body || g.note.Content != r.note.Content || !g.note.CreatedAt.Equal(r.note.CreatedAt) ||
				g.note.AuthorRole != r.note.AuthorRole:
				t.Errorf("account %d: note %s is %+v, an uninterrupted sync has %+v", i, k, g.note.Note, r.note.Note)
			}
		}
		for k := range got {
			if !sim[k] {
				t.Errorf("account %d: archive holds %s, the simulator does not", i, k)
			}
		}
		if len(ref) != len(sim) {
			t.Errorf("account %d: the reference archive holds %d notes, the simulator %d", i, len(ref), len(sim))
		}
	}

	// Resumed, not redone: the second run read exactly the units the
	// killed one had not checkpointed, and between them the two runs read
	// every unit of the pass.
	for i, id := range ids {
		st, err := db.SyncState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Running() || st.Err != nil || st.Kind != syncer.PassBackfill || st.Checkpoint != nil || st.Done != killed[i].Total {
			t.Errorf("account %d after the resumed run: %+v, want the backfill finished", i, st)
		}
		first, second := logs[i].of(1), logs[i].of(2)
		if got, want := len(second), killed[i].Total-killed[i].Done; got != want {
			t.Errorf("account %d: the resumed run read %d %s, want the %d the killed one had not stored",
				i, got, killed[i].Unit, want)
		}
		all := map[string]bool{}
		for u := range first {
			all[u] = true
		}
		redone := 0
		for u := range second {
			if first[u] > 0 {
				redone++
			}
			all[u] = true
		}
		if len(all) != killed[i].Total {
			t.Errorf("account %d: the two runs read %d distinct %s, the pass has %d", i, len(all), killed[i].Unit, killed[i].Total)
		}
		// Units in flight at the kill (read, not yet checkpointed) are read
		// again: at most one window (they go one at a time), or the
		// Workers reads in flight plus the batch of reads queued behind a
		// slow transaction (StoreBatch at most; under the race detector
		// the store is slow enough for a dozen to queue).
		if inFlight := map[string]int{syncer.UnitWindows: 1, syncer.UnitTickets: syncer.DefaultWorkers + syncer.DefaultStoreBatch}[killed[i].Unit]; redone > inFlight {
			t.Errorf("account %d: %d %s read by both runs, more than were in flight", i, redone, killed[i].Unit)
		}
		t.Logf("account %d: run 1 read %d %s, run 2 read %d (%d of them again)", i, len(first), killed[i].Unit, len(second), redone)
	}
}

// archivedNote is one archived note and how many rows have its key.
type archivedNote struct {
	note  models.ArchivedNote
	count int
}

// archivedNotes returns every note the archive holds for account, deleted
// ones included, keyed ticket/id.
func archivedNotes(t *testing.T, db *models.DB, account uint) map[string]*archivedNote {
	t.Helper()
	out := map[string]*archivedNote{}
	for off := 0; ; off += models.MaxNoteLimit {
		page, total, _, err := db.ListArchivedNotes(context.Background(), models.NoteFilter{Accounts: []uint{account},
			IncludeDeleted: true, Sort: models.SortOldest, Offset: off, Limit: models.MaxNoteLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page {
			k := n.TicketID + "/" + n.ID
			if out[k] == nil {
				out[k] = &archivedNote{note: n}
			}
			out[k].count++
		}
		if len(page) < models.MaxNoteLimit || int64(off+len(page)) >= total {
			return out
		}
	}
}

// accountsDir is a database, keyed as the server keys one, holding accts
// at the given rate limits; it returns where it is, a handle on it and the
// account ids in order.
func accountsDir(t *testing.T, accts []providers.Account, rates []float64) (modelstest.Database, *models.DB, []uint) {
	t.Helper()
	dir := modelstest.New(t)
	db := keyedDB(t, dir)
	t.Cleanup(func() { db.Close() })
	key, err := models.LoadKey("", "", dir.Dir)
	if err != nil {
		t.Fatal(err)
	}
	box, err := models.NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	db.SetSecretBox(box)
	var ids []uint
	for i, a := range accts {
		acct, err := db.CreateAccount(context.Background(), models.AccountInput{Name: a.Name, Kind: string(a.Kind),
			Endpoint: a.Endpoint, Settings: a.Settings, Secrets: a.Secrets, RateLimit: rates[i]})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, acct.ID)
	}
	return dir, db, ids
}

// TestLeaseTTLIsHidden: --lease-ttl is for tests; neither sync's nor
// serve's usage offers it, and it must be positive.
func TestLeaseTTLIsHidden(t *testing.T) {
	t.Parallel()
	for _, cmd := range []struct{ name, shown string }{{"sync", "-wait"}, {"serve", "-sync-interval"}} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{cmd.name, "--help"}, env(), strings.NewReader(""), &out, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), cmd.shown) || strings.Contains(out.String(), "lease-ttl") {
			t.Errorf("%s usage shows --lease-ttl or lost %s:\n%s", cmd.name, cmd.shown, out.String())
		}
		err := run(context.Background(), []string{cmd.name, "--data-dir", t.TempDir(), "--lease-ttl", "0s"}, env(),
			strings.NewReader(""), &out, &out)
		if exitCode(err) != 2 {
			t.Errorf("%s --lease-ttl 0s: %v, want a usage error", cmd.name, err)
		}
	}
	cfg, err := serveConfig([]string{"--lease-ttl", "4s"}, env())
	if err != nil || cfg.LeaseTTL != 4*time.Second {
		t.Errorf("serve --lease-ttl 4s: lease %v, %v", cfg.LeaseTTL, err)
	}
	if cfg, err := serveConfig(nil, env()); err != nil || cfg.LeaseTTL != syncer.DefaultLeaseTTL {
		t.Errorf("serve's default lease: %v, %v; want %v", cfg.LeaseTTL, err, syncer.DefaultLeaseTTL)
	}
}
