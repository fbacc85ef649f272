// Package web wires the dashboard together: configuration, middleware, the
// route table and the Fiber app.
package web

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config is the server's configuration, parsed once in main from flags and
// TICKETNOTES_* environment variables.
type Config struct {
	Addr                  string
	DataDir               string
	DatabaseURL           string
	Demo                  bool
	LogLevel              slog.Level
	AllowPrivateEndpoints bool
	SecretKey             string
	SecretKeyFile         string
	// SecureCookies marks cookies Secure; on by default unless the server
	// listens on loopback over plain HTTP.
	SecureCookies bool
	// TrustedProxies are the proxies whose X-Forwarded-For is believed:
	// when the socket peer is in one of them, the client is the nearest
	// hop of X-Forwarded-For that is not. Empty: the socket peer is the
	// client, whatever the header says.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long an idle session lasts.
	SessionTTL time.Duration
	// LoginPerMinute limits failed sign-ins per IP and per email, per
	// LoginWindow (a minute unless set; tests that count to the limit on a
	// busy machine widen it).
	LoginPerMinute int
	LoginWindow    time.Duration
	// SyncInterval is the time between an account's scheduled sync
	// passes; zero schedules none (passes run only on "Sync now" and
	// `ticketnotes sync`). The command line's default is 5 minutes.
	SyncInterval time.Duration
	// SyncFullEvery is how old an account's last full pass may get before
	// the next pass is a full one; zero means the engine's 24 hours.
	SyncFullEvery time.Duration
	// LeaseTTL is how long this instance's lease on an account's pass
	// lasts unless renewed; zero means the engine's default (a minute).
	// Another instance takes a dead one's accounts over once it runs out.
	LeaseTTL time.Duration
	// DemoScale seeds the demo simulators with about this many notes in
	// all; zero keeps the small default demo.
	DemoScale int
	// MetricsAddr, when set, is where ServeMetrics is meant to listen:
	// /metrics on a listener of its own, without authentication, so it
	// belongs on an address only the scraper reaches.
	MetricsAddr string
	// MetricsToken, when set, serves /metrics on the dashboard's port to
	// requests carrying it as a bearer token. With neither set the metrics
	// are off, and /metrics is 404.
	MetricsToken string
}

// MetricsOn reports whether the metrics are recorded and served somewhere.
func (c *Config) MetricsOn() bool { return c.MetricsAddr != "" || c.MetricsToken != "" }

// Defaults fills zero fields with defaults.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LoginPerMinute == 0 {
		c.LoginPerMinute = 10
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = time.Minute
	}
}
