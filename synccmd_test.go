package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers/sandbox"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// syncFixture is a database whose three accounts point at running
// simulators, as the demo's do.
type syncFixture struct {
	loc   modelstest.Database
	db    *models.DB
	sb    *sandbox.Sandbox
	ids   []uint // Alibaba, Sendbird, Feishu
	names []string
}

func newSyncFixture(t *testing.T) *syncFixture {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Options{Seed: 7, Now: time.Now, NotesPerVendor: 40, TicketsPerVendor: 8, Days: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	loc := modelstest.New(t)
	db := keyedDB(t, loc)
	t.Cleanup(func() { db.Close() })
	key, err := models.LoadKey("", "", loc.Dir)
	if err != nil {
		t.Fatal(err)
	}
	box, err := models.NewSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	db.SetSecretBox(box)
	f := &syncFixture{loc: loc, db: db, sb: sb}
	for _, pa := range sb.Accounts {
		a, err := db.CreateAccount(context.Background(), models.AccountInput{Name: pa.Name, Kind: string(pa.Kind),
			Endpoint: pa.Endpoint, Settings: pa.Settings, Secrets: pa.Secrets, RateLimit: 200})
		if err != nil {
			t.Fatal(err)
		}
		f.ids, f.names = append(f.ids, a.ID), append(f.names, a.Name)
	}
	return f
}

// simNotes is how many notes each simulator holds, in the order of ids.
func (f *syncFixture) simNotes() []int {
	return []int{f.sb.Alibaba.NoteCount(), f.sb.Sendbird.NoteCount(), f.sb.Feishu.NoteCount()}
}

func (f *syncFixture) archived(t *testing.T, i int) int64 {
	t.Helper()
	_, n, err := f.db.ArchiveCounts(context.Background(), f.ids[i])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sync runs `ticketnotes sync` on the fixture's database.
func (f *syncFixture) sync(args ...string) (string, error) {
	var out bytes.Buffer
	err := f.syncTo(&out, args...)
	return out.String(), err
}

// syncTo runs `ticketnotes sync` on the fixture's database, writing its
// output to out.
func (f *syncFixture) syncTo(out io.Writer, args ...string) error {
	args = append(append(append([]string{"sync"}, f.loc.Args()...), "--allow-private-endpoints"), args...)
	return run(context.Background(), args, env(), strings.NewReader(""), out, out)
}

// watchWriter keeps what is written and closes seen once it holds want.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func newWatchWriter(want string) *watchWriter {
	return &watchWriter{want: want, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	n, err := w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestSyncStoresExactlyTheSimulatorsNotes(t *testing.T) {
	f := newSyncFixture(t)
	out, err := f.sync()
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	for i, want := range f.simNotes() {
		if got := f.archived(t, i); got != int64(want) {
			t.Errorf("%s: archived %d notes, the simulator holds %d", f.names[i], got, want)
		}
	}
	// Not a terminal: plain lines, one outcome per account, no escapes.
	if strings.Contains(out, "\x1b[") {
		t.Errorf("terminal escapes in plain output:\n%q", out)
	}
	for _, name := range f.names {
		if !strings.Contains(out, name+": ") || !strings.Contains(out, "done (backfill)") {
			t.Errorf("no progress line for %s:\n%s", name, out)
		}
	}
	if !strings.Contains(out, f.names[0]+": 8/8 tickets, done (backfill)") {
		t.Errorf("no ticket count for %s:\n%s", f.names[0], out)
	}
	rows, _, err := f.db.ListAudit(context.Background(), models.AuditFilter{Action: "account.sync", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Outcome != models.OutcomeOK || rows[0].ActorEmail != "cli" {
		t.Errorf("audit rows %+v, want 3 ok rows by the cli", rows)
	}
	// A second pass (incremental) changes nothing.
	if out, err := f.sync(); err != nil {
		t.Fatalf("second sync: %v\n%s", err, out)
	} else if !strings.Contains(out, "done (incremental)") {
		t.Errorf("second pass was not incremental:\n%s", out)
	}
	for i, want := range f.simNotes() {
		if got := f.archived(t, i); got != int64(want) {
			t.Errorf("%s after a second pass: archived %d notes, the simulator holds %d", f.names[i], got, want)
		}
	}
}

func TestSyncFailureIsNamedAndExitsNonZero(t *testing.T) {
	f := newSyncFixture(t)
	f.sb.Feishu.Faults.Arm(simfault.ServerError, -1)
	out, err := f.sync()
	if err == nil {
		t.Fatalf("sync with a failing account succeeded:\n%s", out)
	}
	if exitCode(err) == 0 || !errors.Is(err, errSyncFailed) {
		t.Errorf("exit code %d for %v", exitCode(err), err)
	}
	msg := err.Error()
	if !strings.Contains(msg, f.names[2]) || !strings.Contains(msg, "account "+strconv.Itoa(int(f.ids[2]))) || !strings.Contains(msg, "HTTP 500") {
		t.Errorf("error does not name the failing account with its HTTP status: %q", msg)
	}
	if strings.Contains(msg, f.names[0]) || strings.Contains(msg, f.names[1]) {
		t.Errorf("error names an account that synced: %q", msg)
	}
	// The others synced in full all the same.
	notes := f.simNotes()
	for i := range 2 {
		if got := f.archived(t, i); got != int64(notes[i]) {
			t.Errorf("%s: archived %d of %d notes beside the failing account", f.names[i], got, notes[i])
		}
	}
	rows, _, _ := f.db.ListAudit(context.Background(), models.AuditFilter{Action: "account.sync", Outcome: models.OutcomeError, Limit: 10})
	if len(rows) != 1 || rows[0].AccountID == nil || *rows[0].AccountID != f.ids[2] {
		t.Errorf("error audit rows %+v, want one for account %d", rows, f.ids[2])
	}
}

func TestSyncAccountFlagRestricts(t *testing.T) {
	f := newSyncFixture(t)
	out, err := f.sync("--account", strconv.Itoa(int(f.ids[1])))
	if err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	if got, want := f.archived(t, 1), int64(f.sb.Sendbird.NoteCount()); got != want {
		t.Errorf("chosen account archived %d of %d notes", got, want)
	}
	for _, i := range []int{0, 2} {
		if got := f.archived(t, i); got != 0 {
			t.Errorf("%s was not chosen but archived %d notes", f.names[i], got)
		}
	}
	if strings.Contains(out, f.names[0]) || strings.Contains(out, f.names[2]) {
		t.Errorf("output mentions accounts not chosen:\n%s", out)
	}
	if _, err := f.sync("--account", "999"); err == nil || !strings.Contains(err.Error(), "no account 999") {
		t.Errorf("unknown account: %v", err)
	}
}

// TestSyncWaitsForTheLeaseHolder holds an account's lease as a server
// would: without waiting the command fails naming it; with a wait it runs
// once the lease is free.
func TestSyncWaitsForTheLeaseHolder(t *testing.T) {
	f := newSyncFixture(t)
	ctx := context.Background()
	id := f.ids[0]
	if ok, err := f.db.AcquireSyncLease(ctx, id, "the-server", time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	args := []string{"--account", strconv.Itoa(int(id))}
	_, err := f.sync(append(args, "--wait", "0")...)
	if err == nil || !strings.Contains(err.Error(), "another process") || !strings.Contains(err.Error(), "the-server") {
		t.Fatalf("sync beside a held lease: %v", err)
	}
	// The lease goes once the command says it waits for it (a fixed
	// delay would race the command's start on a loaded machine). If it
	// never says so, the lease stays and the wait runs out: a failure.
	w := newWatchWriter("being synced by another process")
	released := make(chan struct{})
	go func() {
		defer close(released)
		<-w.seen
		_ = f.db.ReleaseSyncLease(ctx, id, "the-server")
	}()
	err = f.syncTo(w, append(args, "--wait", "1m")...)
	out := w.String()
	if err != nil {
		t.Fatalf("sync waiting for the lease: %v\n%s", err, out)
	}
	<-released
	if got, want := f.archived(t, 0), int64(f.sb.Alibaba.NoteCount()); got != want {
		t.Errorf("archived %d of %d notes after the wait", got, want)
	}
}

// TestProgressBarsRedrawInPlace drives the terminal drawer: each redraw
// moves up over the block drawn before and draws every account's bar.
func TestProgressBarsRedrawInPlace(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, []models.Account{{ID: 1, Name: "alibaba-prod"}, {ID: 2, Name: "feishu"}})
	p.tty = true
	p.update(1, syncer.State{Done: 120, Total: 340, Unit: "tickets"})
	p.finish(2, syncer.State{Kind: syncer.PassBackfill, Done: 4, Total: 4, Unit: "windows"}, nil)
	p.close()
	s := out.String()
	if !strings.Contains(s, "alibaba-prod") || !strings.Contains(s, "120/340 tickets") || !strings.Contains(s, "["+strings.Repeat("#", 10)+strings.Repeat("-", 20)+"]") {
		t.Errorf("no bar for alibaba-prod at 120/340:\n%q", s)
	}
	if !strings.Contains(s, "4/4 windows  done (backfill)") {
		t.Errorf("feishu's end not drawn:\n%q", s)
	}
	if !strings.Contains(s, "\x1b[2A") {
		t.Errorf("later draws do not move up over the block:\n%q", s)
	}
}

func TestSyncFlagsFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	cfg, err := serveConfig(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SyncInterval != 5*time.Minute || cfg.SyncFullEvery != 24*time.Hour || cfg.DemoScale != 0 {
		t.Errorf("defaults: interval %v, full every %v, demo scale %d", cfg.SyncInterval, cfg.SyncFullEvery, cfg.DemoScale)
	}
	cfg, err = serveConfig([]string{"--sync-interval", "0", "--demo-scale", "1000000"}, env("TICKETNOTES_SYNC_FULL_EVERY", "6h"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SyncInterval != 0 || cfg.SyncFullEvery != 6*time.Hour || cfg.DemoScale != 1000000 {
		t.Errorf("set: interval %v, full every %v, demo scale %d", cfg.SyncInterval, cfg.SyncFullEvery, cfg.DemoScale)
	}
	for _, args := range [][]string{{"--sync-interval", "-1s"}, {"--sync-full-every", "-1h"}, {"--demo-scale", "-5"}} {
		if _, err := serveConfig(args, env()); exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
