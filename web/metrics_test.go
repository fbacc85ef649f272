package web

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ticketnotes/ticketnotes/models"
)

// scrape is one parsed /metrics answer.
type scrape map[string]*dto.MetricFamily

// value sums the samples of family name whose labels include want (a
// histogram counts its observations); 0 when there are none.
func (s scrape) value(name string, want map[string]string) float64 {
	var sum float64
	f := s[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

// parseScrape parses the text format and fails the test on a bad one.
func parseScrape(t testing.TB, body string) scrape {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// scrapeApp reads /metrics from the app with the test token.
func (ts *testServer) scrape() scrape {
	ts.t.Helper()
	resp, body := ts.client().get("/metrics", "Authorization", "Bearer "+metricsToken)
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("/metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		ts.t.Errorf("/metrics Content-Type %q", ct)
	}
	return parseScrape(ts.t, body)
}

func withMetricsToken(c *Config) { c.MetricsToken = metricsToken }

func TestMetricsCountRequestsByRoutePattern(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withMetricsToken)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	const name = "ticketnotes_http_request_duration_seconds"
	notes := map[string]string{"route": "/notes", "method": "GET", "status": "200"}
	ticket := map[string]string{"route": "/tickets/:account/:ticket", "method": "GET", "status": "404"}
	unmatched := map[string]string{"route": "unmatched", "method": "GET", "status": "404"}
	static := map[string]string{"route": "/static", "method": "GET", "status": "200"}

	before := ts.scrape()
	if resp, _ := c.get("/notes"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/notes: %d", resp.StatusCode)
	}
	c.get("/notes?q=abc&page=2")
	c.get("/tickets/9/123")
	c.get("/tickets/9/456")
	c.get("/no/such/page")
	c.get("/static/no-such-file.css")
	if resp, _ := c.get("/static/app.css"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/static/app.css: %d", resp.StatusCode)
	}
	after := ts.scrape()
	for _, tt := range []struct {
		labels map[string]string
		want   float64
	}{{notes, 2}, {ticket, 2}, {unmatched, 2}, {static, 1}} {
		if got := after.value(name, tt.labels) - before.value(name, tt.labels); got != tt.want {
			t.Errorf("%v: %v more requests, want %v", tt.labels, got, tt.want)
		}
	}
	// Only patterns label the series, never a path as asked.
	for _, m := range after[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && (strings.Contains(l.GetValue(), "123") || strings.Contains(l.GetValue(), "such") || strings.Contains(l.GetValue(), ".css")) {
				t.Errorf("route label %q is a raw path", l.GetValue())
			}
		}
	}
	for _, fam := range []string{"go_goroutines", "process_cpu_seconds_total", "ticketnotes_audit_rows_total"} {
		if after[fam] == nil {
			t.Errorf("no %s in /metrics", fam)
		}
	}
}

func TestMetricsAuditRowsFollowTheLog(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withMetricsToken)
	ts.addUser("admin@example.com", models.RoleAdmin)
	before := ts.scrape().value("ticketnotes_audit_rows_total", nil)
	// A wrong token is a refusal, and so an audit row.
	ts.client().get("/metrics", "Authorization", "Bearer wrong-token-0123456789")
	ts.client().login("admin@example.com")
	n, err := ts.db.AuditRows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ts.scrape().value("ticketnotes_audit_rows_total", nil), float64(n); got != want || got <= before {
		t.Errorf("audit rows %v (before %v), want %v", got, before, want)
	}
}

// TestMetricsCountDatabaseStatements: a page served moves the statement
// counter, and the counter never shows more than the database has run.
func TestMetricsCountDatabaseStatements(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, withMetricsToken)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	const name = "ticketnotes_db_statements_total"
	before := ts.scrape().value(name, nil)
	if resp, _ := c.get("/notes"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/notes: %d", resp.StatusCode)
	}
	after := ts.scrape().value(name, nil)
	if ran := float64(ts.db.Statements()); after <= before || after > ran {
		t.Errorf("statements %v → %v, want more, and at most the %v the database ran", before, after, ran)
	}
}

func TestMetricsMoveWithASyncPass(t *testing.T) {
	sd := serveDemo(t, 0, withMetricsToken) // no schedule: the passes below are the only ones
	ctx := context.Background()
	before := sd.scrape()
	for _, id := range sd.ids {
		if _, err := sd.srv.sync.Pass(ctx, id, false); err != nil {
			t.Fatalf("pass of account %d: %v", id, err)
		}
	}
	after := sd.scrape()
	want := sd.simNotes()
	for i, id := range sd.ids {
		a, err := sd.db.AccountByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		acct := map[string]string{"account": strconv.FormatUint(uint64(id), 10), "provider": a.Kind}
		calls := map[string]string{"provider": a.Kind, "outcome": "ok"}
		if b, a := before.value("ticketnotes_vendor_request_duration_seconds", calls), after.value("ticketnotes_vendor_request_duration_seconds", calls); a <= b {
			t.Errorf("%s: vendor calls %v → %v, want more", acct["provider"], b, a)
		}
		live := map[string]string{"account": acct["account"], "state": "live"}
		if b, a := before.value("ticketnotes_archive_notes", live), after.value("ticketnotes_archive_notes", live); b != 0 || a != float64(want[i]) {
			t.Errorf("%s: notes stored %v → %v, want 0 → %d", acct["provider"], b, a, want[i])
		}
		st, err := sd.db.SyncState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := "ticketnotes_sync_last_success_timestamp_seconds"
		if b, a := before.value(last, acct), after.value(last, acct); b != 0 || a != float64(st.LastOKAt.UnixNano())/1e9 {
			t.Errorf("%s: last success %v → %v, want 0 → %v", acct["provider"], b, a, st.LastOKAt)
		}
		if after["ticketnotes_sync_lag_seconds"] == nil || after.value("ticketnotes_sync_lag_seconds", acct) < 0 {
			t.Errorf("%s: no sync lag", acct["provider"])
		}
	}
}

func TestMetricsListenerOfItsOwn(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.srv.ServeMetrics(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("own listener: status %d, want 200", resp.StatusCode)
	}
	// The dashboard's port stays closed: no token is configured.
	if resp, _ := ts.client().get("/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("main port: status %d, want 404", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeMetrics after shutdown: %v", err)
	}
}
