// Package metrics keeps the server's Prometheus metrics on a registry of
// its own (never the process-wide default one): HTTP requests by route,
// vendor calls and rate-limit waits as they happen, and per account and
// audit figures read from the database at scrape time, so every instance
// sharing one database reports the same figures.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
)

// Source is what the scrape-time figures are read from; *models.DB is one.
type Source interface {
	AccountFigures(ctx context.Context) ([]models.AccountFigures, error)
	AuditRows(ctx context.Context) (int64, error)
	// Statements is how many SQL statements this instance has run.
	Statements() uint64
}

// Metrics is the server's registry with the series it records. It is safe
// for concurrent use and implements providers.Observer.
type Metrics struct {
	reg         *prometheus.Registry
	log         *slog.Logger
	http        *prometheus.HistogramVec
	vendor      *prometheus.HistogramVec
	waits       *prometheus.CounterVec
	waitSeconds *prometheus.CounterVec
}

var _ providers.Observer = (*Metrics)(nil)

// readTimeout bounds the database reads of one scrape: a scrape that
// cannot read them in time still answers, without those series.
const readTimeout = 5 * time.Second

// New returns the metrics with the Go runtime and process collectors and
// the figures read from src at each scrape; log receives scrape errors.
func New(src Source, log *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: log,
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ticketnotes_http_request_duration_seconds",
			Help:    "HTTP requests served, by route pattern, method and status, and how long each took.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		vendor: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ticketnotes_vendor_request_duration_seconds",
			Help:    "Vendor API calls, by provider, operation and outcome, and how long each took (retries and rate-limit waits included).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider", "operation", "outcome"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketnotes_vendor_ratelimit_waits_total",
			Help: "Vendor call attempts held back by their account's rate limit.",
		}, []string{"provider"}),
		waitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ticketnotes_vendor_ratelimit_wait_seconds_total",
			Help: "Time vendor call attempts spent waiting for their account's rate limit.",
		}, []string{"provider"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.http, m.vendor, m.waits, m.waitSeconds,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "ticketnotes_db_statements_total",
			Help: "SQL statements this instance ran on the database (not counting BEGIN and COMMIT); on PostgreSQL each is a round trip.",
		}, func() float64 { return float64(src.Statements()) }),
		&figures{src: src, now: time.Now},
	)
	return m
}

// ObserveHTTP records one request served: route is the route's pattern
// (never the raw URL, so the series stay few).
func (m *Metrics) ObserveHTTP(route, method string, status int, took time.Duration) {
	m.http.WithLabelValues(route, method, strconv.Itoa(status)).Observe(took.Seconds())
}

// VendorCall records one vendor call (providers.Observer).
func (m *Metrics) VendorCall(provider providers.Kind, op, outcome string, took time.Duration) {
	m.vendor.WithLabelValues(string(provider), op, outcome).Observe(took.Seconds())
}

// RateLimitWait records one attempt held back by the rate limit
// (providers.Observer).
func (m *Metrics) RateLimitWait(provider providers.Kind, waited time.Duration) {
	m.waits.WithLabelValues(string(provider)).Inc()
	m.waitSeconds.WithLabelValues(string(provider)).Add(waited.Seconds())
}

// Gatherer returns the registry, for tests and other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus text format (or what the
// scraper negotiates); compress lets it gzip the answer itself, which a
// server that already compresses its responses turns off. A series that
// cannot be read is left out and logged; the rest is still served.
func (m *Metrics) Handler(compress bool) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:           errorLog{m.log},
		ErrorHandling:      promhttp.ContinueOnError,
		DisableCompression: !compress,
		// Scrapes read the database; two at once are plenty. No Timeout:
		// its http.TimeoutHandler would watch the request's context, which
		// behind Fiber's adaptor is fasthttp's and not safe to watch; the
		// database reads have their own limit (readTimeout).
		MaxRequestsInFlight: 2,
	})
}

// errorLog lets promhttp log through slog.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	if l.log != nil {
		l.log.Warn("metrics scrape", "err", v)
	}
}

// Descriptions of the figures read at scrape time.
var (
	notesDesc = prometheus.NewDesc("ticketnotes_archive_notes",
		"Notes stored in the account's archive, live or deleted at the vendor.",
		[]string{"account", "provider", "state"}, nil)
	lastOKDesc = prometheus.NewDesc("ticketnotes_sync_last_success_timestamp_seconds",
		"When the enabled account's last successful sync pass ended (Unix seconds); 0 when none has.",
		[]string{"account", "provider"}, nil)
	lagDesc = prometheus.NewDesc("ticketnotes_sync_lag_seconds",
		"Seconds since the enabled account's last successful sync pass ended (since it was added, when none has).",
		[]string{"account", "provider"}, nil)
	auditDesc = prometheus.NewDesc("ticketnotes_audit_rows_total",
		"Rows in the audit log's chain.", nil, nil)
)

// figures is the collector of what is read from the database at scrape
// time.
type figures struct {
	src Source
	now func() time.Time
}

func (f *figures) Describe(ch chan<- *prometheus.Desc) {
	ch <- notesDesc
	ch <- lastOKDesc
	ch <- lagDesc
	ch <- auditDesc
}

func (f *figures) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if n, err := f.src.AuditRows(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(auditDesc, err)
	} else {
		ch <- prometheus.MustNewConstMetric(auditDesc, prometheus.CounterValue, float64(n))
	}
	as, err := f.src.AccountFigures(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(notesDesc, err)
		return
	}
	now := f.now()
	for _, a := range as {
		id := strconv.FormatUint(uint64(a.ID), 10)
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.GaugeValue, float64(a.Notes), id, a.Kind, "live")
		ch <- prometheus.MustNewConstMetric(notesDesc, prometheus.GaugeValue, float64(a.Deleted), id, a.Kind, "deleted")
		if a.Disabled {
			// Not synced, so not late: no freshness series to alert on.
			continue
		}
		var last float64
		since := a.CreatedAt
		if !a.LastOKAt.IsZero() {
			last = float64(a.LastOKAt.UnixNano()) / 1e9
			since = a.LastOKAt
		}
		ch <- prometheus.MustNewConstMetric(lastOKDesc, prometheus.GaugeValue, last, id, a.Kind)
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, max(0, now.Sub(since).Seconds()), id, a.Kind)
	}
}
