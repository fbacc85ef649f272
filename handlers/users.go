package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views"
)

// UserAdmin is what user management needs.
type UserAdmin interface {
	ListUsers(ctx context.Context) ([]models.User, error)
	UserByID(ctx context.Context, id uint) (*models.User, error)
	CreateUser(ctx context.Context, in models.NewUser) (*models.User, error)
	UpdateUser(ctx context.Context, id uint, in models.UserUpdate) (*models.User, error)
	SetPassword(ctx context.Context, id uint, pw string) error
}

// Users serves the user management screens (admin only).
type Users struct {
	*Base
	users    UserAdmin
	sessions *session.Store
}

// NewUsers returns the user handlers; sessions is the session store, which a
// password reset of the viewer's own account updates.
func NewUsers(b *Base, users UserAdmin, sessions *session.Store) *Users {
	return &Users{Base: b, users: users, sessions: sessions}
}

func userTarget(id uint) string { return "user:" + strconv.FormatUint(uint64(id), 10) }

// userAudit is the audited view of a user: never the password hash.
func userAudit(u *models.User) map[string]any {
	return map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "disabled": u.Disabled}
}

// auditMessage is the text kept in the audit log for a failed attempt.
func auditMessage(err error) string {
	var fe *models.FieldError
	if errors.As(err, &fe) {
		return "invalid " + fe.Field + ": " + fe.Msg
	}
	return err.Error()
}

// uncleanField returns a *models.FieldError for the first of the (name,
// value) pairs whose value holds control characters or invalid UTF-8, or
// nil. Lengths and formats are the models' to check.
func uncleanField(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if !cleanText(pairs[i+1], false) {
			return &models.FieldError{Field: pairs[i], Msg: "err.text_invalid"}
		}
	}
	return nil
}

// List shows every user.
func (h *Users) List(c *fiber.Ctx) error {
	us, err := h.users.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	p := h.Page(c, "users.title")
	if c.Query("saved") != "" {
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.saved")}
	}
	return Render(c, http.StatusOK, views.UsersPage(p, us))
}

// NewForm shows the add-user form.
func (h *Users) NewForm(c *fiber.Ctx) error {
	return Render(c, http.StatusOK, views.UserNew(h.Page(c, "users.add"), views.UserForm{Role: models.RoleManager}))
}

// Create adds a user.
func (h *Users) Create(c *fiber.Ctx) error {
	in := models.NewUser{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role"), Password: c.FormValue("password")}
	err := uncleanField("email", in.Email, "name", in.Name, "password", in.Password)
	var u *models.User
	if err == nil {
		u, err = h.users.CreateUser(c.UserContext(), in)
	}
	if err != nil {
		_ = h.Record(c, Event{Action: "user.create", Target: "user:" + in.Email,
			After: map[string]any{"email": in.Email, "name": in.Name, "role": in.Role}, Outcome: models.OutcomeError, Message: auditMessage(err)})
		if errs, ok := h.fieldErrors(c, err); ok {
			f := views.UserForm{Email: in.Email, Name: in.Name, Role: in.Role, Errors: errs}
			return Render(c, http.StatusUnprocessableEntity, views.UserNew(h.Page(c, "users.add"), f))
		}
		return err
	}
	if err := h.Record(c, Event{Action: "user.create", Target: userTarget(u.ID), After: userAudit(u)}); err != nil {
		return err
	}
	return Redirect(c, "/users?saved=1")
}

// EditForm shows a user's edit form.
func (h *Users) EditForm(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.users.UserByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	f := views.UserForm{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled}
	return Render(c, http.StatusOK, views.UserEdit(h.Page(c, "users.edit"), f))
}

// Update changes a user's name, role or disabled flag.
func (h *Users) Update(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	before, err := h.users.UserByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	in := models.UserUpdate{Name: c.FormValue("name"), Role: c.FormValue("role"), Disabled: c.FormValue("disabled") != ""}
	err = uncleanField("name", in.Name)
	var u *models.User
	if err == nil {
		u, err = h.users.UpdateUser(c.UserContext(), id, in)
	}
	if err != nil {
		_ = h.Record(c, Event{Action: "user.update", Target: userTarget(id), Before: userAudit(before),
			After: map[string]any{"name": in.Name, "role": in.Role, "disabled": in.Disabled}, Outcome: models.OutcomeError, Message: auditMessage(err)})
		if errs, ok := h.fieldErrors(c, err); ok {
			f := views.UserForm{ID: id, Email: before.Email, Name: in.Name, Role: in.Role, Disabled: in.Disabled, Errors: errs}
			return Render(c, http.StatusUnprocessableEntity, views.UserEdit(h.Page(c, "users.edit"), f))
		}
		return err
	}
	if err := h.Record(c, Event{Action: "user.update", Target: userTarget(id), Before: userAudit(before), After: userAudit(u)}); err != nil {
		return err
	}
	return Redirect(c, "/users?saved=1")
}

// SetPassword replaces a user's password, which ends every session of that
// user but the viewer's own (an admin resetting their own password stays
// signed in here, with a new CSRF token).
func (h *Users) SetPassword(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	u, err := h.users.UserByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	pw := c.FormValue("password")
	err = uncleanField("password", pw)
	if err == nil {
		err = h.users.SetPassword(c.UserContext(), id, pw)
	}
	if err != nil {
		_ = h.Record(c, Event{Action: "user.password", Target: userTarget(id), Outcome: models.OutcomeError, Message: auditMessage(err)})
		if errs, ok := h.fieldErrors(c, err); ok {
			f := views.UserForm{ID: id, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled, Errors: errs}
			return Render(c, http.StatusUnprocessableEntity, views.UserEdit(h.Page(c, "users.edit"), f))
		}
		return err
	}
	if err := h.Record(c, Event{Action: "user.password", Target: userTarget(id)}); err != nil {
		return err
	}
	if v := Viewer(c); v != nil && v.ID == id {
		if err := h.keepSession(c, id); err != nil {
			return err
		}
	}
	return Redirect(c, "/users?saved=1")
}

// keepSession moves the viewer's session to user id's new session epoch.
func (h *Users) keepSession(c *fiber.Ctx, id uint) error {
	u, err := h.users.UserByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	sess, err := h.sessions.Get(c)
	if err != nil {
		return err
	}
	// A new id too: the old one was in use while the old password was.
	if err := sess.Regenerate(); err != nil {
		return err
	}
	return signIn(c, sess, u)
}
