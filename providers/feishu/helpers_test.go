package feishu

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
)

// epoch is the simulated "now" of the contract tests.
var epoch = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

// clock is a test clock shared by a client and its simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a simulator, its server and a client pointed at it.
type fixture struct {
	sim    *feishusim.Server
	srv    *httptest.Server
	clock  *clock
	client *Client
	acct   providers.Account
}

// setup starts a simulator with so and a client for it; edit may change
// the account and options before the client is built.
func setup(t *testing.T, so feishusim.Options, edit func(*providers.Account, *providers.Options)) *fixture {
	t.Helper()
	clk := &clock{t: epoch}
	so.Now = clk.Now
	sim := feishusim.New(so)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	acct := sim.Account(srv.URL)
	acct.ID = 7
	opts := providers.Options{Now: clk.Now, RateLimit: 1000, Burst: 100}
	if edit != nil {
		edit(&acct, &opts)
	}
	c, err := New(acct, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{sim: sim, srv: srv, clock: clk, client: c, acct: acct}
}

// requestsTo returns the simulator's requests whose path ends in suffix,
// received after the first skip requests.
func requestsTo(sim *feishusim.Server, method, suffix string, skip int) []feishusim.Request {
	var out []feishusim.Request
	for i, r := range sim.Requests() {
		if i >= skip && r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// logIDs returns every X-Tt-Logid the simulator sent.
func logIDs(sim *feishusim.Server) map[string]bool {
	ids := map[string]bool{}
	for _, r := range sim.Requests() {
		ids[r.LogID] = true
	}
	return ids
}

// wantError checks err is a *providers.Error of kind with code and status.
func wantError(t *testing.T, err error, kind error, code string, status int) *providers.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want kind %v", err, kind)
	}
	pe := providers.AsError(err)
	if pe == nil {
		t.Fatalf("err = %T, want *providers.Error", err)
	}
	if pe.Provider != providers.KindFeishu {
		t.Errorf("Provider = %q, want feishu", pe.Provider)
	}
	if pe.Code != code {
		t.Errorf("Code = %q, want %q", pe.Code, code)
	}
	if pe.Status != status {
		t.Errorf("Status = %d, want %d", pe.Status, status)
	}
	return pe
}

// redirect sends every request to target, recording the host it was for.
type redirect struct {
	target string
	mu     sync.Mutex
	hosts  []string
}

func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	out := req.Clone(req.Context())
	out.URL.Scheme = "http"
	out.URL.Host = strings.TrimPrefix(r.target, "http://")
	out.Host = ""
	return http.DefaultTransport.RoundTrip(out)
}
