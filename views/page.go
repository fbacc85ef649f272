// Package views renders the dashboard's pages with templ. Pages are exported
// components taking plain view-model structs; templates make no database or
// provider calls.
package views

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// Page is what the shell of every page needs.
type Page struct {
	T         *i18n.T
	Title     string // message id
	User      *models.User
	CSRF      string
	Path      string
	Zone      *time.Location
	Flash     *Flash
	RequestID string
	Demo      bool
}

// Flash is a one-line message shown at the top of a page.
type Flash struct {
	Kind string // "ok", "bad", "warn", "info"
	Text string // already translated
}

// Location returns the viewer's zone, UTC when unset.
func (p Page) Location() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// FormatTime shows t in the viewer's zone.
func (p Page) FormatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(p.Location()).Format("2006-01-02 15:04:05")
}

// ISOTime is t for a <time datetime> attribute.
func ISOTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// IsAdmin reports whether the viewer is an admin.
func (p Page) IsAdmin() bool { return p.User != nil && p.User.IsAdmin() }

// CanReadAudit reports whether the viewer may open the audit log.
func (p Page) CanReadAudit() bool {
	return p.User != nil && (p.User.Role == models.RoleAdmin || p.User.Role == models.RoleManager)
}

// Current returns "page" when path is the current section, for aria-current.
func (p Page) Current(path string) string {
	if p.Path == path || strings.HasPrefix(p.Path, path+"/") {
		return "page"
	}
	return ""
}

// csrfHeaders is the hx-headers value that makes htmx send the CSRF token
// with every request, swaps included.
func csrfHeaders(token string) string {
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": token})
	return string(b)
}

// htmxConfig turns off htmx's injected indicator style and eval so the CSP
// can forbid inline styles and scripts.
// Error responses are swapped too, so validation messages and alerts show.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"[45]..","swap":true,"error":true}]}`

// FieldErrors maps an input's name to the translated error shown beside it.
type FieldErrors map[string]string

// Has reports whether name has an error.
func (f FieldErrors) Has(name string) bool { _, ok := f[name]; return ok }

// Invalid is the aria-invalid value for name.
func (f FieldErrors) Invalid(name string) string {
	if f.Has(name) {
		return "true"
	}
	return "false"
}

// Describe is the aria-describedby attribute of the input with element id
// id for the field name: the hint ids given, and id+"-error" only while that
// error is shown, so it never points at an element that is not there.
func (f FieldErrors) Describe(name, id string, hints ...string) templ.Attributes {
	ids := hints
	if f.Has(name) {
		ids = append(ids[:len(ids):len(ids)], id+"-error")
	}
	if len(ids) == 0 {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-describedby": strings.Join(ids, " ")}
}

// hintIf is []string{id} when a hint with that id is shown, else nil.
func hintIf(shown bool, id string) []string {
	if shown {
		return []string{id}
	}
	return nil
}

// Ago is t relative to now in the viewer's words ("3 min ago").
func (p Page) Ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return p.T.T("ago.now")
	case d < time.Hour:
		return p.T.N("ago.minutes", int(d/time.Minute))
	case d < 24*time.Hour:
		return p.T.N("ago.hours", int(d/time.Hour))
	}
	return p.T.N("ago.days", int(d/(24*time.Hour)))
}

// shortcut is one key of the keyboard overlay: the key as printed on the
// keycap and the message id of what it does.
type shortcut struct{ key, what string }

// shortcuts are the keys static/app.js handles, in the overlay's order.
var shortcuts = []shortcut{
	{"j", "keys.next"},
	{"k", "keys.prev"},
	{"Enter", "keys.open_note"},
	{"e", "keys.edit"},
	{"/", "keys.search"},
	{"Esc", "keys.escape"},
	{"?", "keys.help"},
}
