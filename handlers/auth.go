package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// UserStore is what sign-in, setup and preferences need of the users.
type UserStore interface {
	Authenticate(ctx context.Context, email, password string) (*models.User, error)
	UserByID(ctx context.Context, id uint) (*models.User, error)
	CheckSetupToken(ctx context.Context, tok string) error
	SetupFirstAdmin(ctx context.Context, tok string, in models.NewUser) (*models.User, error)
	SetPreferences(ctx context.Context, id uint, lang, zone string) error
}

// Session keys.
const (
	// SessionUserKey holds the signed-in user's id.
	SessionUserKey = "uid"
	// SessionCSRFKey holds the session's CSRF token.
	SessionCSRFKey = "csrf"
	// SessionEpochKey holds the user's SessionEpoch at sign-in.
	SessionEpochKey = "epoch"
	// SessionSeenKey holds when the session was last saved (Unix seconds),
	// so an active session is extended about once a minute, not per request.
	SessionSeenKey = "seen"
)

// SetCSRF stores the request's CSRF token for the page to carry.
func SetCSRF(c *fiber.Ctx, tok string) { c.Locals(localCSRF, tok) }

// CSRF returns the request's CSRF token, or "" when it has no session.
func CSRF(c *fiber.Ctx) string {
	tok, _ := c.Locals(localCSRF).(string)
	return tok
}

// Auth serves sign-in, sign-out, first-run setup and preferences.
type Auth struct {
	*Base
	users    UserStore
	sessions *session.Store
}

// NewAuth returns the auth handlers.
func NewAuth(b *Base, users UserStore, sessions *session.Store) *Auth {
	return &Auth{Base: b, users: users, sessions: sessions}
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(u.Path, "/login") || strings.Contains(next, "\\") {
		return "/"
	}
	return u.RequestURI()
}

// LoginPage shows the sign-in form; a signed-in user goes home.
func (h *Auth) LoginPage(c *fiber.Ctx) error {
	if Viewer(c) != nil {
		return c.Redirect("/", http.StatusSeeOther)
	}
	if err := h.formSession(c); err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Login(h.Page(c, "login.title"), views.LoginForm{Next: c.Query("next")}))
}

// Login checks the credentials, starts a new session and audits the attempt.
func (h *Auth) Login(c *fiber.Ctx) error {
	email := strings.ToLower(strings.TrimSpace(c.FormValue("email")))
	next := c.FormValue("next")
	u, err := h.users.Authenticate(c.UserContext(), email, c.FormValue("password"))
	if err != nil {
		if !errors.Is(err, models.ErrUnauthorized) {
			return err
		}
		_ = h.Record(c, Event{Action: "user.login", Target: "user:" + email, ActorEmail: email,
			Outcome: models.OutcomeDenied, Message: "wrong email or password, or user disabled"})
		f := views.LoginForm{Email: email, Error: h.T(c).T("login.failed"), Next: next}
		return Render(c, http.StatusUnauthorized, views.Login(h.Page(c, "login.title"), f))
	}
	if err := h.startSession(c, u); err != nil {
		return err
	}
	SetViewer(c, u)
	if err := h.Record(c, Event{Action: "user.login", Target: userTarget(u.ID)}); err != nil {
		return err
	}
	return c.Redirect(safeNext(next), http.StatusSeeOther)
}

// formSession starts an anonymous session with a CSRF token for a form an
// anonymous visitor submits (sign-in, setup). Only these pages write a
// session before sign-in; every other anonymous request writes nothing.
func (h *Auth) formSession(c *fiber.Ctx) error {
	if CSRF(c) != "" {
		return nil
	}
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	return saveWithNewToken(c, sess)
}

// startSession signs u in under a new session id and a new CSRF token, so
// an id or token planted before sign-in is useless.
func (h *Auth) startSession(c *fiber.Ctx, u *models.User) error {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	if err := sess.Regenerate(); err != nil {
		return err
	}
	return signIn(c, sess, u)
}

// signIn stores u, their session epoch and a fresh CSRF token in sess and
// saves it; sess must not be used afterwards.
func signIn(c *fiber.Ctx, sess *session.Session, u *models.User) error {
	sess.Set(SessionUserKey, u.ID)
	sess.Set(SessionEpochKey, u.SessionEpoch)
	return saveWithNewToken(c, sess)
}

// saveWithNewToken gives sess a fresh CSRF token, marks it seen now, saves
// it and hands the token to the page being rendered.
func saveWithNewToken(c *fiber.Ctx, sess *session.Session) error {
	tok := models.RandomToken(32)
	sess.Set(SessionCSRFKey, tok)
	sess.Set(SessionSeenKey, time.Now().Unix())
	if err := sess.Save(); err != nil {
		return err
	}
	SetCSRF(c, tok)
	return nil
}

// Logout ends the session.
func (h *Auth) Logout(c *fiber.Ctx) error {
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	if u := Viewer(c); u != nil {
		if err := h.Record(c, Event{Action: "user.logout", Target: userTarget(u.ID)}); err != nil {
			return err
		}
	}
	if err := sess.Destroy(); err != nil {
		return err
	}
	return Redirect(c, "/login")
}

// SetupPage shows the first-admin form for a valid one-time link.
func (h *Auth) SetupPage(c *fiber.Ctx) error {
	tok := c.Query("token")
	if err := h.users.CheckSetupToken(c.UserContext(), tok); err != nil {
		if errors.Is(err, models.ErrExpired) || errors.Is(err, models.ErrConflict) {
			return Render(c, http.StatusGone, views.SetupExpired(h.Page(c, "setup.title")))
		}
		return err
	}
	if err := h.formSession(c); err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.Setup(h.Page(c, "setup.title"), views.SetupForm{Token: tok}))
}

// Setup creates the first admin and signs them in.
func (h *Auth) Setup(c *fiber.Ctx) error {
	tok := c.FormValue("token")
	in := models.NewUser{Email: c.FormValue("email"), Name: c.FormValue("name"), Password: c.FormValue("password")}
	u, err := h.users.SetupFirstAdmin(c.UserContext(), tok, in)
	if err != nil {
		outcome := models.OutcomeError
		if errors.Is(err, models.ErrExpired) || errors.Is(err, models.ErrConflict) {
			outcome = models.OutcomeDenied
		}
		_ = h.Record(c, Event{Action: "user.setup", Target: "user:" + strings.ToLower(in.Email), ActorEmail: strings.ToLower(in.Email),
			Outcome: outcome, Message: auditMessage(err)})
		if errs, ok := h.fieldErrors(c, err); ok {
			f := views.SetupForm{Token: tok, Email: in.Email, Name: in.Name, Errors: errs}
			return Render(c, http.StatusUnprocessableEntity, views.Setup(h.Page(c, "setup.title"), f))
		}
		if outcome == models.OutcomeDenied {
			return Render(c, http.StatusGone, views.SetupExpired(h.Page(c, "setup.title")))
		}
		return err
	}
	SetViewer(c, u)
	if err := h.Record(c, Event{Action: "user.setup", Target: userTarget(u.ID), After: userAudit(u)}); err != nil {
		return err
	}
	if err := h.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect("/", http.StatusSeeOther)
}

// PreferencesPage shows the language and time-zone form.
func (h *Auth) PreferencesPage(c *fiber.Ctx) error {
	u := Viewer(c)
	f := views.PrefsForm{Lang: u.Lang, Zone: u.TimeZone, Zones: commonZones}
	return Render(c, http.StatusOK, views.Preferences(h.Page(c, "prefs.title"), f))
}

// SavePreferences stores the viewer's language and time zone.
func (h *Auth) SavePreferences(c *fiber.Ctx) error {
	u := Viewer(c)
	lang := c.FormValue("lang")
	if lang != "" {
		lang = i18n.Match(lang, "")
	}
	zone := strings.TrimSpace(c.FormValue("timezone"))
	before := map[string]string{"lang": u.Lang, "timezone": u.TimeZone}
	after := map[string]string{"lang": lang, "timezone": zone}
	if err := h.users.SetPreferences(c.UserContext(), u.ID, lang, zone); err != nil {
		_ = h.Record(c, Event{Action: "user.preferences", Target: userTarget(u.ID), Before: before, After: after,
			Outcome: models.OutcomeError, Message: auditMessage(err)})
		if errs, ok := h.fieldErrors(c, err); ok {
			f := views.PrefsForm{Lang: lang, Zone: zone, Zones: commonZones, Errors: errs}
			return Render(c, http.StatusUnprocessableEntity, views.Preferences(h.Page(c, "prefs.title"), f))
		}
		return err
	}
	if err := h.Record(c, Event{Action: "user.preferences", Target: userTarget(u.ID), Before: before, After: after}); err != nil {
		return err
	}
	return Redirect(c, "/preferences?saved=1")
}

// Home sends the viewer to the notes workspace.
func (h *Auth) Home(c *fiber.Ctx) error {
	return c.Redirect("/notes", http.StatusSeeOther)
}

// commonZones are offered in the time-zone picker; any IANA name is accepted.
var commonZones = []string{
	"UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul",
	"Asia/Kolkata", "Asia/Dubai", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
	"America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney",
}

// LoadZone returns the location for a stored zone name, or fallback.
func LoadZone(name string, fallback *time.Location) *time.Location {
	if name == "" {
		return fallback
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return fallback
}
