// Package handlers turns HTTP requests into calls on the models and provider
// clients and renders views. Each area is a struct built by a New function
// with its dependencies; the interfaces here are only what handlers call.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// Auditor appends to the audit log.
type Auditor interface {
	AppendAudit(ctx context.Context, e *models.AuditEvent) error
}

// Locals keys set by the web middleware.
const (
	localUser      = "tn.user"
	localT         = "tn.t"
	localZone      = "tn.zone"
	localCSRF      = "tn.csrf"
	localRequestID = "requestid"
	localLogger    = "tn.log"
)

// Base is what every handler shares: the audit log, the logger and the
// catalog.
type Base struct {
	Audit   Auditor
	Log     *slog.Logger
	Catalog *i18n.Catalog
	Demo    bool
	// Refusals, when set, bounds the denied attempts each client writes.
	Refusals *Refusals
	// syncer is the sync engine (Notes.SetSyncer); nil until set. It sits
	// here only so handlers/sync.go can set it without the notes struct;
	// a Notes field of the same name takes its place.
	syncer Syncer
}

// SetViewer stores the signed-in user for the request.
func SetViewer(c *fiber.Ctx, u *models.User) { c.Locals(localUser, u) }

// Viewer returns the signed-in user, or nil.
func Viewer(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(localUser).(*models.User)
	return u
}

// SetLocale stores the request's translator and time zone.
func SetLocale(c *fiber.Ctx, t *i18n.T, zone *time.Location) {
	c.Locals(localT, t)
	c.Locals(localZone, zone)
}

// SetLogger stores the request's logger (with its request id).
func SetLogger(c *fiber.Ctx, l *slog.Logger) { c.Locals(localLogger, l) }

// Logger returns the request's logger.
func (b *Base) Logger(c *fiber.Ctx) *slog.Logger {
	if l, ok := c.Locals(localLogger).(*slog.Logger); ok {
		return l
	}
	return b.Log
}

// RequestID returns the request's id.
func RequestID(c *fiber.Ctx) string {
	s, _ := c.Locals(localRequestID).(string)
	return s
}

// T returns the request's translator.
func (b *Base) T(c *fiber.Ctx) *i18n.T {
	if t, ok := c.Locals(localT).(*i18n.T); ok {
		return t
	}
	return b.Catalog.Localizer(i18n.Match("", c.Get(fiber.HeaderAcceptLanguage)))
}

// Zone returns the viewer's time zone.
func Zone(c *fiber.Ctx) *time.Location {
	if z, ok := c.Locals(localZone).(*time.Location); ok && z != nil {
		return z
	}
	return time.Local
}

// Page builds the shell view-model for a page titled by a message id.
func (b *Base) Page(c *fiber.Ctx, title string) views.Page {
	csrf, _ := c.Locals(localCSRF).(string)
	return views.Page{
		T:         b.T(c),
		Title:     title,
		User:      Viewer(c),
		CSRF:      csrf,
		Path:      c.Path(),
		Zone:      Zone(c),
		RequestID: RequestID(c),
		Demo:      b.Demo,
	}
}

// Render writes a component as HTML with status.
func Render(c *fiber.Ctx, status int, comp templ.Component) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// IsHTMX reports whether the request came from htmx (and wants a partial).
func IsHTMX(c *fiber.Ctx) bool {
	return c.Get("HX-Request") == "true" && c.Get("HX-History-Restore-Request") != "true"
}

// Redirect sends the browser to path after a POST: 303 for plain forms,
// HX-Redirect for htmx.
func Redirect(c *fiber.Ctx, path string) error {
	if IsHTMX(c) {
		c.Set("HX-Redirect", path)
		return c.SendStatus(http.StatusNoContent)
	}
	return c.Redirect(path, http.StatusSeeOther)
}

// Event is an audit entry under construction.
type Event struct {
	Action    string
	Target    string
	AccountID *uint
	Before    any // marshalled to JSON; nil for none
	After     any
	Outcome   string
	Message   string
	VendorReq string
	// AttemptID is the attempt row (from Attempt) this event is the
	// outcome of; 0 for an event that stands alone.
	AttemptID uint64
	// Actor overrides the viewer (sign-in attempts before a session).
	ActorEmail string
	ActorID    *uint
	ActorRole  string
}

// Record appends ev to the audit log with the request's actor, IP, user
// agent and request id. A denied attempt past its client's share of full
// rows is counted into a later summary row instead (see Refusals). It
// returns an error when the log cannot be written; callers making a change
// must then not report success.
func (b *Base) Record(c *fiber.Ctx, ev Event) error {
	if ev.Outcome == models.OutcomeDenied && b.Refusals != nil {
		full := b.Refusals.admit(c, ev.Action, time.Now())
		// A client back after its window retires it: its count is due now.
		ctx := context.WithoutCancel(c.UserContext())
		if err := b.writeRefusals(ctx, b.Refusals.take(time.Now(), false, false)); err != nil {
			b.Logger(c).Error("audit append failed", "action", RefusalsAction, "err", err)
		}
		if !full {
			return nil
		}
	}
	_, err := b.record(c, ev)
	return err
}

// Attempt records that the change ev describes is about to be sent to a
// vendor, before the call, and returns the row's id for the outcome's
// Event.AttemptID: if the process ends during the call, the attempt stays
// in the log with its outcome unknown. It returns an error when the log
// cannot be written; the caller must then not make the call.
func (b *Base) Attempt(c *fiber.Ctx, ev Event) (uint64, error) {
	ev.Outcome, ev.AttemptID = models.OutcomeAttempt, 0
	e, err := b.record(c, ev)
	if err != nil {
		return 0, err
	}
	return e.ID, nil
}

// record appends ev and returns the row as written.
func (b *Base) record(c *fiber.Ctx, ev Event) (*models.AuditEvent, error) {
	e := &models.AuditEvent{
		Action: ev.Action, Target: ev.Target, AccountID: ev.AccountID,
		Before: jsonText(ev.Before), After: jsonText(ev.After),
		Outcome: ev.Outcome, Message: ev.Message, VendorRequestID: ev.VendorReq,
		IP: ClientIP(c), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 512), RequestID: RequestID(c),
		ActorEmail: ev.ActorEmail, ActorID: ev.ActorID, ActorRole: ev.ActorRole,
	}
	if ev.AttemptID != 0 {
		id := ev.AttemptID
		e.AttemptID = &id
	}
	if u := Viewer(c); u != nil && e.ActorEmail == "" {
		id := u.ID
		e.ActorID, e.ActorEmail, e.ActorRole = &id, u.Email, u.Role
	}
	if e.Outcome == "" {
		e.Outcome = models.OutcomeOK
	}
	// A client that disconnects must not cancel the record of its attempt.
	if err := b.Audit.AppendAudit(context.WithoutCancel(c.UserContext()), e); err != nil {
		b.Logger(c).Error("audit append failed", "action", ev.Action, "err", err)
		return nil, err
	}
	return e, nil
}

// Deny records a refused change and answers 403.
func (b *Base) Deny(c *fiber.Ctx, action, reason string) error {
	_ = b.Record(c, Event{Action: action, Target: c.Method() + " " + c.Path(), Outcome: models.OutcomeDenied, Message: reason})
	return fiber.NewError(http.StatusForbidden, b.T(c).T("error.forbidden"))
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// fieldErrors turns a validation error into translated per-field messages;
// ok is false when err is not a field error.
func (b *Base) fieldErrors(c *fiber.Ctx, err error) (views.FieldErrors, bool) {
	var fe *models.FieldError
	if !errors.As(err, &fe) {
		return nil, false
	}
	return views.FieldErrors{fe.Field: b.T(c).T(fe.Msg)}, true
}

// paramID reads a numeric route parameter; one that is not an id
// (parseID) is a 404, as is an unknown one, later.
func paramID(c *fiber.Ctx, name string) (uint, error) {
	id, ok := parseID(c.Params(name))
	if !ok {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// Status maps an error to an HTTP status and a message id that is safe to
// show. Unknown errors are internal and their text is never shown.
func Status(err error) (int, string) {
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		switch fe.Code {
		case http.StatusNotFound:
			return fe.Code, "error.not_found"
		case http.StatusForbidden:
			return fe.Code, "error.forbidden"
		case http.StatusTooManyRequests:
			return fe.Code, "error.rate_limited"
		case http.StatusRequestEntityTooLarge:
			return fe.Code, "error.too_large"
		case http.StatusMethodNotAllowed:
			return fe.Code, "error.not_found"
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return fe.Code, "error.bad_request"
		}
		return fe.Code, "error.internal"
	case errors.Is(err, models.ErrNotFound), errors.Is(err, providers.ErrNotFound):
		return http.StatusNotFound, "error.not_found"
	case errors.Is(err, models.ErrInvalid), errors.Is(err, providers.ErrInvalid):
		return http.StatusBadRequest, "error.bad_request"
	case errors.Is(err, models.ErrConflict):
		return http.StatusConflict, "error.conflict"
	case errors.Is(err, providers.ErrUnsupported):
		return http.StatusBadRequest, "error.unsupported"
	case errors.Is(err, providers.ErrUnauthorized), errors.Is(err, providers.ErrForbidden),
		errors.Is(err, providers.ErrRateLimited), errors.Is(err, providers.ErrUnavailable):
		return http.StatusBadGateway, "error.provider"
	}
	return http.StatusInternalServerError, "error.internal"
}

// HandleError is the app's error handler: a full error page, or for htmx an
// alert partial retargeted to the page's #alerts slot. Internal errors are
// logged with the request id; their text never reaches the browser.
func (b *Base) HandleError(c *fiber.Ctx, err error) error {
	status, msgID := Status(err)
	msg := b.T(c).T(msgID)
	var fe *fiber.Error
	if errors.As(err, &fe) && status == http.StatusForbidden && fe.Message != "" {
		msg = fe.Message
	}
	if status >= 500 {
		b.Logger(c).Error("request failed", "status", status, "err", err)
	}
	if IsHTMX(c) {
		c.Set("HX-Retarget", "#alerts")
		c.Set("HX-Reswap", "innerHTML")
		return Render(c, status, views.ErrorAlert(msg, RequestID(c)))
	}
	p := b.Page(c, "error.title")
	return Render(c, status, views.ErrorPage(p, status, msg))
}
