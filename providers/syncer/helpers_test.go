package syncer

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/sendbird"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// Account ids of the three simulated accounts.
const (
	aliID uint = 1
	sbID  uint = 2
	fsID  uint = 3
)

var accountIDs = []uint{aliID, sbID, fsID}

// world is the three simulators over real HTTP, a client of each, and a
// fake store.
type world struct {
	ali   *alibabasim.Server
	sb    *sendbirdsim.Server
	fs    *feishusim.Server
	srcs  map[uint]Source
	store *fakeStore
}

type worldOpts struct {
	sim    int // notes per simulator; 0 means the simulators' default
	client providers.Options
}

// fast is a client rate that keeps tests short.
var fast = providers.Options{RateLimit: 500, Burst: 1}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	w := &world{
		ali:   alibabasim.New(alibabasim.Options{Seed: 7, Notes: o.sim}),
		sb:    sendbirdsim.New(sendbirdsim.Options{Seed: 7, Notes: o.sim}),
		fs:    feishusim.New(feishusim.Options{Seed: 7, Notes: o.sim}),
		srcs:  map[uint]Source{},
		store: newFakeStore(),
	}
	aliSrv, sbSrv, fsSrv := httptest.NewServer(w.ali), httptest.NewServer(w.sb), httptest.NewServer(w.fs)
	t.Cleanup(func() { aliSrv.Close(); sbSrv.Close(); fsSrv.Close() })

	acct := w.ali.Account(aliSrv.URL)
	acct.ID = aliID
	ac, err := alibaba.New(acct, o.client)
	if err != nil {
		t.Fatal(err)
	}
	acct = w.sb.Account(sbSrv.URL)
	acct.ID = sbID
	sc, err := sendbird.New(acct, o.client)
	if err != nil {
		t.Fatal(err)
	}
	acct = w.fs.Account(fsSrv.URL)
	acct.ID = fsID
	fc, err := feishu.New(acct, o.client)
	if err != nil {
		t.Fatal(err)
	}
	w.srcs[aliID], w.srcs[sbID], w.srcs[fsID] = ac, sc, fc
	return w
}

// engine returns an engine over w's store with every account added.
func (w *world) engine(t *testing.T, o Options) *Engine {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := New(w.store, o)
	for id, src := range w.srcs {
		if err := e.Add(id, src); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// faults returns the injector of an account's simulator.
func (w *world) faults(id uint) *simfault.Injector {
	switch id {
	case aliID:
		return w.ali.Faults
	case sbID:
		return w.sb.Faults
	}
	return w.fs.Faults
}

// meter returns the request meter of an account's simulator.
func (w *world) meter(id uint) *simfault.Meter {
	switch id {
	case aliID:
		return w.ali.Meter
	case sbID:
		return w.sb.Meter
	}
	return w.fs.Meter
}

// vendorNotes returns the note ids the account's simulator holds.
func (w *world) vendorNotes(id uint) []string {
	var out []string
	switch id {
	case aliID:
		for _, n := range w.ali.Notes() {
			out = append(out, n.DialogID)
		}
	case sbID:
		for _, n := range w.sb.Notes() {
			out = append(out, strconv.FormatInt(n.ID, 10))
		}
	default:
		for _, m := range w.fs.Messages() {
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	return out
}

// checkExact fails unless the archive's live notes of the account are
// exactly the vendor's, each archived once (no second version unless in
// edited).
func (w *world) checkExact(t *testing.T, id uint, edited ...string) {
	t.Helper()
	want := w.vendorNotes(id)
	got := slices.Sorted(maps.Keys(w.store.live(id)))
	if !slices.Equal(got, want) {
		t.Fatalf("account %d: archive holds %d notes, vendor %d; missing %v, extra %v",
			id, len(got), len(want), diff(want, got), diff(got, want))
	}
	for nid, n := range w.store.versions(id) {
		if n != 1 && !slices.Contains(edited, nid) {
			t.Errorf("account %d: note %s has %d versions, want 1", id, nid, n)
		}
	}
}

// diff returns the elements of a not in b.
func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	if len(out) > 5 {
		out = append(out[:5], "…")
	}
	return out
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func name(id uint) string {
	switch id {
	case aliID:
		return "alibaba"
	case sbID:
		return "sendbird"
	}
	return "feishu"
}

func parseQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// The clients are what the engine syncs.
var (
	_ Source       = (*alibaba.Client)(nil)
	_ WindowSource = (*sendbird.Client)(nil)
	_ Source       = (*feishu.Client)(nil)
)
