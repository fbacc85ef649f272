package web

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/ticketnotes/ticketnotes/handlers"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/static"
	"github.com/ticketnotes/ticketnotes/views/i18n"
	"github.com/ticketnotes/ticketnotes/web/metrics"
)

// csp allows only this origin's scripts and styles: no inline code at all.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries.
func securityHeaders(secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		setSecurityHeaders(c, secure)
		return c.Next()
	}
}

// setSecurityHeaders sets the CSP, nosniff and the other headers of every
// response; the error handler calls it too, for the answers the server
// gives before any middleware runs (413, 431).
func setSecurityHeaders(c *fiber.Ctx, secure bool) {
	c.Set("Content-Security-Policy", csp)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Cross-Origin-Opener-Policy", "same-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if secure {
		c.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// compression compresses response bodies with brotli or gzip, whichever the
// request accepts (brotli first). It runs after the handler and changes only
// the body and Content-Encoding/Vary, so the CSP, Content-Disposition and
// htmx headers pass through. Bodies under 200 bytes, types that are not
// text-like and errors (the app's error handler renders those later) are
// sent as they are. An event stream is never compressed: a compressor may
// hold back events until it has a block to write. The notes pages come
// gzipped from their handler, their kept rows compressed once (see
// handlers.renderKept); this leaves them alone.
//
// Pages carry the CSRF token next to reflected query text, the setting a
// BREACH attack on compressed HTTPS needs. The session cookie is SameSite
// Lax, so cross-site requests other than top-level navigations carry no
// session; masking the token anew in each response would close the rest.
func compression() fiber.Handler {
	return compress.New(compress.Config{
		// Fastest: on the notes page (78 kB of HTML) it costs half the
		// CPU of the default level for 17 % more bytes (10.8 kB, not 9.2).
		Level: compress.LevelBestSpeed,
		Next: func(c *fiber.Ctx) bool {
			return strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream")
		},
	})
}

// Cache lifetimes of the static files.
const (
	// cacheImmutable is for a content-hashed name: its bytes never change.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cachePlain is for the plain name, kept for links from outside the
	// app; its bytes change with each release, so it is revalidated soon.
	cachePlain = "public, max-age=300"
)

// staticFiles serves the embedded files under static.Prefix: the current
// content-hashed name with a year-long immutable cache, the plain name with
// a short one. Any other path (a stale or made-up hash) goes on to the
// app's 404, which is not cacheable.
func staticFiles() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Method() != http.MethodGet && c.Method() != http.MethodHead {
			return c.Next()
		}
		a, hashed := static.Lookup(strings.TrimPrefix(c.Path(), static.Prefix))
		if a == nil {
			return c.Next()
		}
		cc := cachePlain
		if hashed {
			cc = cacheImmutable
		}
		c.Set(fiber.HeaderCacheControl, cc)
		c.Set(fiber.HeaderContentType, a.ContentType)
		c.Set(fiber.HeaderETag, a.ETag)
		// Also on uncompressed answers, so a shared cache never hands a
		// stored uncompressed copy to a client that asked for brotli.
		c.Vary(fiber.HeaderAcceptEncoding)
		if etagMatches(c.Get(fiber.HeaderIfNoneMatch), a.ETag) {
			c.Status(http.StatusNotModified)
			return nil
		}
		return c.Send(a.Body)
	}
}

// etagMatches is the weak comparison of If-None-Match (a list of tags, or
// "*") with the weak tag etag.
func etagMatches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// noStore keeps every other response — pages, partials, exports, errors —
// out of browser and proxy caches: they show one signed-in user's data, or
// carry a CSRF token. A handler may still set its own Cache-Control.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// clientIP works out the request's client address once: the socket peer,
// unless the peer is a trusted proxy; then X-Forwarded-For is read from the
// right (the hop the proxy itself appended) and the first address that is
// not a trusted proxy is the client. Hops further left were written by the
// client and may be forged, so they count only behind trusted proxies.
func clientIP(trusted []netip.Prefix) fiber.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(c *fiber.Ctx) error {
		peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
		handlers.SetClientIP(c, forwardedClient(peer.Unmap(), c.Request().Header.PeekAll(fiber.HeaderXForwardedFor), isTrusted).String())
		return c.Next()
	}
}

// forwardedClient returns the client behind peer given the X-Forwarded-For
// header lines xff (a list of hops, nearest last).
func forwardedClient(peer netip.Addr, xff [][]byte, trusted func(netip.Addr) bool) netip.Addr {
	client := peer
	if !trusted(peer) {
		return client
	}
	var hops []string
	for _, line := range xff {
		hops = append(hops, strings.Split(string(line), ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop that is not an address cannot be followed further:
			// the last trusted hop saw the connection from client.
			return client
		}
		client = a.Unmap().WithZone("")
		if !trusted(client) {
			return client
		}
	}
	return client
}

// requestLogger gives the request a logger carrying its id and logs one
// line when it ends.
func requestLogger(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		l := log.With("request_id", handlers.RequestID(c))
		handlers.SetLogger(c, l)
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			// The error handler runs after this returns; log its status.
			status, _ = handlers.Status(err)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if strings.HasPrefix(c.Path(), "/static/") && status < 400 {
			level = slog.LevelDebug
		}
		l.Log(c.UserContext(), level, "request", "method", c.Method(), "path", c.Path(), "status", status,
			"duration_ms", time.Since(start).Milliseconds(), "ip", handlers.ClientIP(c))
		return err
	}
}

// httpMetrics records each request's route pattern, method, status and
// duration. The pattern, not the path, keeps the series few: a request no
// route answered is "unmatched", a static file is its middleware's prefix.
func httpMetrics(m *metrics.Metrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			// The error handler runs after this returns; count its status.
			status, _ = handlers.Status(err)
		}
		m.ObserveHTTP(routeLabel(c), c.Method(), status, time.Since(start))
		return err
	}
}

// localUnmatched marks a request that reached the app's last handler, the
// 404 for any path no route has.
const localUnmatched = "tn.unmatched"

// notFound is the app's last handler.
func notFound(c *fiber.Ctx) error {
	c.Locals(localUnmatched, true)
	return fiber.ErrNotFound
}

// routeLabel is the pattern of the route that answered c.
func routeLabel(c *fiber.Ctx) string {
	r := c.Route()
	// Fiber's stand-in when no route ran carries the raw path; the last
	// handler's route is "/" like the home page's, so it marks itself.
	if unmatched, _ := c.Locals(localUnmatched).(bool); unmatched || r == nil || len(r.Handlers) == 0 {
		return "unmatched"
	}
	return r.Path
}

// sessionRefresh is how often an active session is saved to extend it: a
// save per request would write the database on every page view.
const sessionRefresh = time.Minute

// refreshGate lets one request per session and period save the session.
// A page's requests come in bursts (the page, its htmx partials, a tab's
// polling): once a period every request of a burst found the session due
// and each saved it, a write transaction apiece queued on the one
// database writer, and the burst's last request waited for all of them.
// Per process: on several instances a session is saved at most once a
// period by each, which is still few.
type refreshGate struct {
	period time.Duration
	mu     sync.Mutex
	last   map[string]time.Time // session id -> when this process last saved it
}

// refreshGateMax is how many sessions the gate remembers before it drops
// those saved more than a period ago.
const refreshGateMax = 4096

func newRefreshGate(period time.Duration) *refreshGate {
	return &refreshGate{period: period, last: map[string]time.Time{}}
}

// claim reports whether the caller is to save session id now: true for
// the first caller of a period, false for every other caller until it
// ends.
func (g *refreshGate) claim(id string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.last[id]; ok && now.Sub(t) < g.period {
		return false
	}
	if len(g.last) >= refreshGateMax {
		for k, t := range g.last {
			if now.Sub(t) >= g.period {
				delete(g.last, k)
			}
		}
	}
	g.last[id] = now
	return true
}

// forget gives up id's claim (its save failed): the next request saves.
func (g *refreshGate) forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.last, id)
}

// loadViewer reads the session, loads the signed-in user (a disabled or
// deleted user's session, or one signed in before a password reset, is
// ended), exposes the session's CSRF token and picks language and time zone.
// It writes nothing for a request without a session.
func loadViewer(store *session.Store, users handlers.UserStore, cat *i18n.Catalog, serverZone *time.Location) fiber.Handler {
	gate := newRefreshGate(sessionRefresh)
	return func(c *fiber.Ctx) error {
		sess, err := store.Get(c)
		if err != nil {
			return err
		}
		var u *models.User
		tok, _ := sess.Get(handlers.SessionCSRFKey).(string)
		if id, ok := sess.Get(handlers.SessionUserKey).(uint); ok {
			epoch, _ := sess.Get(handlers.SessionEpochKey).(int64)
			u, err = users.UserByID(c.UserContext(), id)
			if err != nil || u.Disabled || u.SessionEpoch != epoch {
				u, tok = nil, ""
				if err := sess.Destroy(); err != nil {
					return err
				}
			}
		}
		if tok != "" {
			handlers.SetCSRF(c, tok)
			seen, _ := sess.Get(handlers.SessionSeenKey).(int64)
			if now := time.Now(); now.Sub(time.Unix(seen, 0)) > sessionRefresh && gate.claim(sess.ID(), now) {
				sess.Set(handlers.SessionSeenKey, now.Unix())
				if err := sess.Save(); err != nil {
					gate.forget(sess.ID())
					return err
				}
			}
		}
		lang, zone := "", ""
		if u != nil {
			handlers.SetViewer(c, u)
			lang, zone = u.Lang, u.TimeZone
		}
		handlers.SetLocale(c, cat.Localizer(i18n.Match(lang, c.Get(fiber.HeaderAcceptLanguage))),
			handlers.LoadZone(zone, serverZone))
		return c.Next()
	}
}

// csrfProtect refuses a change (any method but GET, HEAD and OPTIONS) whose
// token, from the X-CSRF-Token header or the _csrf field of the body, is not
// the session's. A request without a session has no token and is refused.
func csrfProtect(refuse fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return c.Next()
		}
		want, sent := handlers.CSRF(c), csrfFromHeaderOrForm(c)
		if want == "" || sent == "" || subtle.ConstantTimeCompare([]byte(want), []byte(sent)) != 1 {
			return refuse(c)
		}
		return c.Next()
	}
}

// csrfFromHeaderOrForm takes the token from the X-CSRF-Token header (htmx)
// or the _csrf field of a form body (plain forms, which work without
// JavaScript). Never from the query string: a URL lands in logs, history
// and Referer headers.
func csrfFromHeaderOrForm(c *fiber.Ctx) string {
	if t := c.Get("X-CSRF-Token"); t != "" {
		return t
	}
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		if f, err := c.MultipartForm(); err == nil && len(f.Value["_csrf"]) > 0 {
			return f.Value["_csrf"][0]
		}
		return ""
	}
	return string(c.Request().PostArgs().Peek("_csrf"))
}

// Access says who may call a route.
type Access int

// Access levels.
const (
	Public  Access = iota // anyone, signed in or not
	Member                // any signed-in user
	Auditor               // admins and managers
	Admin                 // admins only
	// Bearer is for machines: no session counts, the handler checks a
	// bearer token itself (and is 404 when none is configured).
	Bearer
)

func (a Access) String() string {
	return [...]string{"public", "member", "auditor", "admin", "bearer"}[a]
}

// guard enforces a route's access level: no session sends a page to
// sign-in (401 for htmx and non-GET); the wrong role gets 403, and a refused
// change is audited.
func guard(base *handlers.Base, r Route) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if r.Access == Public || r.Access == Bearer {
			return c.Next()
		}
		u := handlers.Viewer(c)
		if u == nil {
			if (c.Method() == http.MethodGet || c.Method() == http.MethodHead) && !handlers.IsHTMX(c) {
				return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
			}
			if handlers.IsHTMX(c) {
				c.Set("HX-Redirect", "/login")
			}
			return fiber.NewError(http.StatusUnauthorized)
		}
		allowed := r.Access == Member ||
			(r.Access == Auditor && (u.Role == models.RoleAdmin || u.Role == models.RoleManager)) ||
			(r.Access == Admin && u.Role == models.RoleAdmin)
		if allowed {
			return c.Next()
		}
		if r.Method != http.MethodGet {
			return base.Deny(c, r.Action, "role "+u.Role+" may not "+r.Action)
		}
		return fiber.NewError(http.StatusForbidden, base.T(c).T("error.forbidden"))
	}
}
