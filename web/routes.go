package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Route is one entry of the route table: who may call it and, for a change,
// the audit action recorded when it is refused.
type Route struct {
	Method  string
	Path    string
	Access  Access
	Action  string // audit action; empty for reads
	Handler fiber.Handler
	// Before runs ahead of the handler, after the access check (rate limits).
	Before []fiber.Handler
}

// Changes reports whether the route changes state.
func (r Route) Changes() bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// routes is every route of the dashboard, top to bottom. Tests walk this
// table, so a new route is checked for auth, roles and CSRF automatically.
func (s *Server) routes() []Route {
	h := s.h
	get, post := http.MethodGet, http.MethodPost
	return []Route{
		{Method: get, Path: "/healthz", Access: Public, Handler: h.health.Check},
		{Method: get, Path: "/metrics", Access: Bearer, Handler: h.metrics.Scrape},
		{Method: get, Path: "/login", Access: Public, Handler: h.auth.LoginPage},
		{Method: post, Path: "/login", Access: Public, Action: "user.login", Handler: h.auth.Login, Before: s.loginLimits},
		{Method: get, Path: "/setup", Access: Public, Handler: h.auth.SetupPage},
		{Method: post, Path: "/setup", Access: Public, Action: "user.setup", Handler: h.auth.Setup, Before: s.loginLimits[:1]},
		{Method: post, Path: "/logout", Access: Member, Action: "user.logout", Handler: h.auth.Logout},

		{Method: get, Path: "/", Access: Member, Handler: h.auth.Home},
		{Method: get, Path: "/preferences", Access: Member, Handler: h.auth.PreferencesPage},
		{Method: post, Path: "/preferences", Access: Member, Action: "user.preferences", Handler: h.auth.SavePreferences},

		{Method: get, Path: "/notes", Access: Member, Handler: h.notes.List},
		{Method: get, Path: "/notes/export.:format", Access: Member, Handler: h.notes.ExportNotes},
		{Method: get, Path: "/notes/statuses", Access: Member, Handler: h.notes.Statuses},
		{Method: post, Path: "/notes", Access: Admin, Action: "note.create", Handler: h.notes.Create},
		{Method: get, Path: "/notes/:account/:ticket/:note", Access: Member, Handler: h.notes.Show},
		{Method: get, Path: "/notes/:account/:ticket/:note/edit", Access: Admin, Handler: h.notes.EditForm},
		{Method: post, Path: "/notes/:account/:ticket/:note", Access: Admin, Action: "note.update", Handler: h.notes.Update},
		{Method: get, Path: "/notes/:account/:ticket/:note/delete", Access: Admin, Handler: h.notes.DeleteConfirm},
		{Method: post, Path: "/notes/:account/:ticket/:note/delete", Access: Admin, Action: "note.delete", Handler: h.notes.Delete},
		{Method: get, Path: "/notes/:account/:ticket/:note/history", Access: Member, Handler: h.notes.NoteHistory},
		{Method: get, Path: "/tickets/:account/:ticket", Access: Member, Handler: h.notes.Conversation},
		{Method: get, Path: "/tickets/:account/:ticket/print", Access: Member, Handler: h.notes.Conversation},
		{Method: get, Path: "/tickets/:account/:ticket/timeline", Access: Member, Handler: h.notes.Timeline},
		{Method: get, Path: "/tickets/:account/:ticket/export.:format", Access: Member, Handler: h.notes.ExportConversation},

		{Method: get, Path: "/accounts", Access: Admin, Handler: h.accounts.List},
		{Method: get, Path: "/accounts/new", Access: Admin, Handler: h.accounts.NewForm},
		{Method: post, Path: "/accounts", Access: Admin, Action: "account.create", Handler: h.accounts.Create},
		{Method: get, Path: "/accounts/:id/edit", Access: Admin, Handler: h.accounts.EditForm},
		{Method: post, Path: "/accounts/:id", Access: Admin, Action: "account.update", Handler: h.accounts.Update},
		{Method: post, Path: "/accounts/:id/disable", Access: Admin, Action: "account.disable", Handler: h.accounts.ToggleDisabled},
		{Method: post, Path: "/accounts/:id/delete", Access: Admin, Action: "account.delete", Handler: h.accounts.Delete},
		{Method: post, Path: "/accounts/:id/test", Access: Admin, Action: "account.test", Handler: h.accounts.Test},
		{Method: get, Path: "/accounts/:id/sync", Access: Admin, Handler: h.accounts.SyncStatus},
		{Method: post, Path: "/accounts/:id/sync", Access: Admin, Action: "account.sync", Handler: h.accounts.Sync},

		{Method: get, Path: "/users", Access: Admin, Handler: h.users.List},
		{Method: get, Path: "/users/new", Access: Admin, Handler: h.users.NewForm},
		{Method: post, Path: "/users", Access: Admin, Action: "user.create", Handler: h.users.Create},
		{Method: get, Path: "/users/:id/edit", Access: Admin, Handler: h.users.EditForm},
		{Method: post, Path: "/users/:id", Access: Admin, Action: "user.update", Handler: h.users.Update},
		{Method: post, Path: "/users/:id/password", Access: Admin, Action: "user.password", Handler: h.users.SetPassword},

		{Method: get, Path: "/audit", Access: Auditor, Handler: h.audit.List},
		{Method: get, Path: "/audit/export.:format", Access: Auditor, Handler: h.audit.Export},
		{Method: get, Path: "/audit/verify", Access: Auditor, Handler: h.audit.Verify},
	}
}
