package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/ticketnotes/ticketnotes/handlers"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/static"
	"github.com/ticketnotes/ticketnotes/views/i18n"
	"github.com/ticketnotes/ticketnotes/web/metrics"
)

// Version is the build's version, shown by /healthz.
var Version = "dev"

// Server is the assembled dashboard.
type Server struct {
	cfg         Config
	db          *models.DB
	log         *slog.Logger
	app         *fiber.App
	sessions    *session.Store
	base        *handlers.Base
	loginLimits []fiber.Handler
	sandbox     *providers.Sandbox
	clients     *handlers.Clients
	// sync keeps every enabled account's archive current while Serve runs.
	sync *syncer.Engine
	// metrics records and serves the Prometheus series; nil when off.
	metrics *metrics.Metrics
	h       struct {
		health   *handlers.Health
		auth     *handlers.Auth
		accounts *handlers.Accounts
		users    *handlers.Users
		audit    *handlers.Audit
		notes    *handlers.Notes
		metrics  *handlers.Metrics
	}
	// Routes is the route table as mounted.
	Routes []Route
}

// New assembles the app on an open database. It returns an error when the
// catalog or the secret key cannot be loaded.
func New(cfg Config, db *models.DB, log *slog.Logger) (*Server, error) {
	cfg.Defaults()
	cat, err := i18n.New()
	if err != nil {
		return nil, err
	}
	key, err := models.LoadKey(cfg.SecretKey, cfg.SecretKeyFile, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	box, err := models.NewSecretBox(key)
	if err != nil {
		return nil, err
	}
	db.SetSecretBox(box)
	if err := db.SetAuditKey(key); err != nil {
		return nil, err
	}
	// A database from before the keyed chain is keyed once, here; the rows
	// before stay verifiable behind the first keyed row.
	unkeyed, err := db.UpgradeAudit(context.Background())
	if err != nil {
		return nil, err
	}
	if unkeyed > 0 {
		log.Warn("audit log keyed: rows before were written without the audit key", "unkeyed_rows", unkeyed)
	}

	s := &Server{cfg: cfg, db: db, log: log}
	s.sessions = session.New(session.Config{
		Storage:        db.Store("session:"),
		Expiration:     cfg.SessionTTL,
		KeyLookup:      "cookie:tn_session",
		CookieHTTPOnly: true,
		CookieSecure:   cfg.SecureCookies,
		CookieSameSite: "Lax",
	})
	s.base = &handlers.Base{Audit: db, Log: log, Catalog: cat, Demo: cfg.Demo, Refusals: &handlers.Refusals{
		PerWindow: refusalRowsPerWindow, PerWindowUser: refusalRowsPerWindowUser, Window: time.Minute, MaxClients: 10000,
	}}
	// --demo's sandbox accounts may reach their simulators on loopback; the
	// list lives in memory, so no account an admin adds is ever on it.
	s.sandbox = &providers.Sandbox{}
	reg := registry.New(cfg.AllowPrivateEndpoints)
	reg.Sandbox = s.sandbox
	var scrape http.Handler
	if cfg.MetricsOn() {
		s.metrics = metrics.New(db, log)
		// Set only when on: a nil *Metrics in the interface would not be nil.
		reg.Observer = s.metrics
		// The app's compression middleware compresses the answer.
		scrape = s.metrics.Handler(false)
	}
	clients := &handlers.Clients{Accounts: db, Registry: reg}
	s.clients = clients
	s.sync = syncer.New(db, syncer.Options{Interval: cfg.SyncInterval, FullEvery: cfg.SyncFullEvery, LeaseTTL: cfg.LeaseTTL, Logger: log})
	s.h.health = handlers.NewHealth(db, Version)
	s.h.auth = handlers.NewAuth(s.base, db, s.sessions)
	s.h.accounts = handlers.NewAccounts(s.base, clients, cfg.AllowPrivateEndpoints, s.sync, db)
	s.h.accounts.Sandbox = s.sandbox
	s.h.users = handlers.NewUsers(s.base, db, s.sessions)
	s.h.audit = handlers.NewAudit(s.base, db)
	s.h.notes = handlers.NewNotes(s.base, clients, db, db.Store("form:"), db)
	s.h.notes.SetSyncer(s.sync)
	s.h.metrics = handlers.NewMetrics(s.base, cfg.MetricsToken, scrape)
	// The engine follows the accounts: a new or changed enabled account is
	// synced with its new client, a disabled or deleted one no more.
	s.h.accounts.OnChange = func(id uint) { s.track(context.Background(), id) }
	// Every enabled account is known to the engine from the start, so
	// "Sync now" is taken before Serve runs it (the request waits).
	if err := s.trackAll(context.Background()); err != nil {
		return nil, err
	}
	s.loginLimits = s.newLoginLimits()

	s.app = fiber.New(fiber.Config{
		AppName: "ticketnotes",
		// The one app-wide rule for request memory: every string Fiber
		// hands out (Params, Query, FormValue, headers, cookies) is a copy.
		// Without it they point into fasthttp's reused buffers and change
		// under later requests once kept, for example as cache keys.
		Immutable:             true,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		BodyLimit:             1 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          90 * time.Second,
		IdleTimeout:           120 * time.Second,
		// Fiber's own proxy handling stays off: c.IP() is the socket peer,
		// and the client address is worked out once, in clientIP.
	})
	s.mount(cat)
	return s, nil
}

// handleError is the app's error handler. The server answers some errors
// (413 body too large, 431 headers too large) before any middleware ran, so
// the headers every response carries are set here too; an error page is
// never cached.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	setSecurityHeaders(c, s.cfg.SecureCookies)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.base.HandleError(c, err)
}

// How many denied attempts a client writes in full per minute before the
// rest are counted into one row: an anonymous IP, and a signed-in user.
const (
	refusalRowsPerWindow     = 10
	refusalRowsPerWindowUser = 60
)

// mount installs the middleware and the route table.
func (s *Server) mount(cat *i18n.Catalog) {
	app := s.app
	if s.metrics != nil {
		// Outermost, so a request that panics is counted as the 500 the
		// recover middleware below turns it into.
		app.Use(httpMetrics(s.metrics))
	}
	app.Use(recover.New())
	app.Use(clientIP(s.cfg.TrustedProxies))
	app.Use(requestid.New(requestid.Config{ContextKey: "requestid"}))
	app.Use(requestLogger(s.log))
	app.Use(securityHeaders(s.cfg.SecureCookies))
	app.Use(compression())
	app.Use(strings.TrimSuffix(static.Prefix, "/"), staticFiles())
	app.Use(noStore)
	app.Use(loadViewer(s.sessions, s.db, cat, time.Local))
	app.Use(csrfProtect(func(c *fiber.Ctx) error {
		_ = s.base.Record(c, handlers.Event{Action: "request.csrf", Target: c.Method() + " " + c.Path(),
			Outcome: models.OutcomeDenied, Message: "missing or invalid CSRF token"})
		return fiber.NewError(http.StatusForbidden, s.base.T(c).T("error.csrf"))
	}))
	s.Routes = s.routes()
	for _, r := range s.Routes {
		hs := append([]fiber.Handler{guard(s.base, r)}, r.Before...)
		app.Add(r.Method, r.Path, append(hs, r.Handler)...)
		// app.Get would also answer HEAD; app.Add does not. HEAD runs the
		// GET handler and fasthttp drops the body.
		if r.Method == http.MethodGet {
			app.Add(http.MethodHead, r.Path, append(hs, r.Handler)...)
		}
	}
	app.Use(notFound)
}

// newLoginLimits limits sign-in failures per IP and per email (half as many
// per email); the counts live in the database so every instance shares
// them. Only failures count.
func (s *Server) newLoginLimits() []fiber.Handler {
	store := s.db.Store("limit:")
	reached := func(c *fiber.Ctx) error {
		email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
		_ = s.base.Record(c, handlers.Event{Action: "user.login", Target: "user:" + email, ActorEmail: email,
			Outcome: models.OutcomeDenied, Message: "rate limited"})
		return fiber.NewError(http.StatusTooManyRequests)
	}
	perIP := &handlers.FailureLimit{
		Store: store, Max: s.cfg.LoginPerMinute, Window: s.cfg.LoginWindow, Reached: reached,
		Key: func(c *fiber.Ctx) string { return "ip:" + handlers.ClientIP(c) },
	}
	perEmail := &handlers.FailureLimit{
		Store: store, Max: s.cfg.LoginPerMinute / 2, Window: s.cfg.LoginWindow, Reached: reached,
		Key: func(c *fiber.Ctx) string {
			return "email:" + strings.ToLower(strings.TrimSpace(c.FormValue("email")))
		},
	}
	return []fiber.Handler{perIP.Handler(), perEmail.Handler()}
}

// flushRefusals writes the rows counting refusals whose minute is over (all
// of them with all, at shutdown).
func (s *Server) flushRefusals(ctx context.Context, all bool) error {
	return s.base.FlushRefusals(ctx, all)
}

// App returns the Fiber app, for tests (app.Test) and serving.
func (s *Server) App() *fiber.App { return s.app }

// SetupLink returns a one-time first-run link when no user exists yet, or "".
func (s *Server) SetupLink(ctx context.Context, baseURL string) (string, error) {
	n, err := s.db.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	tok, err := s.db.CreateSetupToken(ctx, models.SetupTTL)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(baseURL, "/") + "/setup?token=" + url.QueryEscape(tok), nil
}

// track brings the engine in step with account id: an enabled account is
// added with a freshly built client (replacing the one before), a disabled
// or missing one is removed (a deleted account's archive goes with its row;
// a disabled one's stays). A client that cannot be built leaves the
// account out, logged.
func (s *Server) track(ctx context.Context, id uint) {
	a, err := s.db.AccountByID(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.sync.Remove(id)
		return
	case err != nil:
		s.log.Warn("sync: read account", "account", id, "err", err)
		return
	}
	if err := s.trackAccount(a); err != nil {
		s.log.Warn("sync: account left out", "account", id, "err", err)
	}
}

// trackAccount adds a to the engine when enabled and removes it otherwise.
// It returns why an enabled account's client cannot be synced.
func (s *Server) trackAccount(a *models.Account) error {
	if a.Disabled {
		s.sync.Remove(a.ID)
		return nil
	}
	p, err := s.clients.For(a)
	if err != nil {
		s.sync.Remove(a.ID)
		return err
	}
	if err := s.sync.Add(a.ID, p); err != nil {
		s.sync.Remove(a.ID)
		return err
	}
	return nil
}

// trackAll adds every enabled account to the engine. An account whose
// client cannot be built is logged and left out; it returns only the
// database's error.
func (s *Server) trackAll(ctx context.Context) error {
	as, err := s.db.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for i := range as {
		if err := s.trackAccount(&as[i]); err != nil {
			s.log.Warn("sync: account left out", "account", as[i].ID, "err", err)
		}
	}
	return nil
}

// Serve listens on ln until ctx ends, then shuts down gracefully, letting
// requests in flight finish for up to 10 seconds. The sync engine runs as
// long: passes cut short by the shutdown keep their checkpoints.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go s.sweep(ctx)
	syncCtx, stopSync := context.WithCancel(context.WithoutCancel(ctx))
	synced := make(chan struct{})
	go func() {
		defer close(synced)
		_ = s.sync.Run(syncCtx)
	}()
	// The engine stops on every return, listener failure included.
	defer func() { stopSync(); <-synced }()
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := s.app.ShutdownWithTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Counted refusals are written before the process goes.
	if err := s.flushRefusals(context.WithoutCancel(ctx), true); err != nil {
		s.log.Warn("write counted refusals", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// ServeMetrics serves /metrics, without authentication, on ln (the
// --metrics-addr listener) until ctx ends. It returns an error when the
// metrics are off or the listener fails.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	if s.metrics == nil {
		ln.Close()
		return errors.New("serve metrics: metrics are off")
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler(true))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve metrics: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// sweep writes counted refusals every minute and deletes expired sessions
// and counters every few minutes.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	minute := time.NewTicker(time.Minute)
	defer minute.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-minute.C:
			if err := s.flushRefusals(ctx, false); err != nil {
				s.log.Warn("write counted refusals", "err", err)
			}
		case <-t.C:
			if n, err := s.db.SweepExpired(ctx); err != nil {
				s.log.Warn("sweep expired sessions", "err", err)
			} else if n > 0 {
				s.log.Debug("swept expired sessions", "count", n)
			}
		}
	}
}
