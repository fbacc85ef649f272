package handlers

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/views"
)

// AccountStore is what account management needs of the database.
type AccountStore interface {
	ListAccounts(ctx context.Context) ([]models.Account, error)
	AccountByID(ctx context.Context, id uint) (*models.Account, error)
	CreateAccount(ctx context.Context, in models.AccountInput) (*models.Account, error)
	UpdateAccount(ctx context.Context, id uint, in models.AccountInput) (*models.Account, error)
	SetAccountDisabled(ctx context.Context, id uint, disabled bool) (*models.Account, error)
	DeleteAccount(ctx context.Context, id uint) error
	AccountSecrets(a *models.Account) (map[string]string, error)
}

// Registry builds provider clients and knows each vendor's fields.
type Registry interface {
	Fields(kind providers.Kind) []providers.Field
	Client(acct providers.Account, version string, opts providers.Options) (providers.Provider, error)
	Forget(id uint)
}

// Clients turns stored accounts into provider clients.
type Clients struct {
	Accounts AccountStore
	Registry Registry
}

// For returns the client of a stored account. It returns ErrInvalid
// (wrapped) when the secrets cannot be opened or the credentials are
// incomplete.
func (cl *Clients) For(a *models.Account) (providers.Provider, error) {
	secrets, err := cl.Accounts.AccountSecrets(a)
	if err != nil {
		return nil, err
	}
	pa := providers.Account{ID: a.ID, Name: a.Name, Kind: providers.Kind(a.Kind), Endpoint: a.Endpoint,
		Settings: a.Settings(), Secrets: secrets}
	opts := providers.Options{RateLimit: a.RateLimit, Timeout: time.Duration(a.TimeoutSeconds) * time.Second}
	return cl.Registry.Client(pa, a.Version(), opts)
}

// Accounts serves the provider account screens (admin only).
type Accounts struct {
	*Base
	clients      *Clients
	allowPrivate bool
	// Sandbox lists the demo's own sandbox accounts, which may keep their
	// simulators' loopback endpoints; nil when not in --demo.
	Sandbox *providers.Sandbox
	// OnChange is called after an account is created, changes or is
	// deleted, so caches and the sync engine follow it.
	OnChange func(id uint)
	// sync takes "Sync now"; store shows freshness and archive counts.
	sync  Syncer
	store SyncStore
}

// NewAccounts returns the account handlers; sync and store may be nil
// (no "Sync now", no freshness).
func NewAccounts(b *Base, clients *Clients, allowPrivate bool, sync Syncer, store SyncStore) *Accounts {
	return &Accounts{Base: b, clients: clients, allowPrivate: allowPrivate, sync: sync, store: store}
}

func accountTarget(id uint) string { return "account:" + strconv.FormatUint(uint64(id), 10) }

// accountAudit is the audited view of an account: settings and which
// secrets are set, never their values.
func accountAudit(a *models.Account) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "kind": a.Kind, "endpoint": a.Endpoint, "disabled": a.Disabled,
		"rate_limit": a.RateLimit, "timeout_seconds": a.TimeoutSeconds, "settings": a.Settings(),
		"secrets_set": strings.Split(a.SecretNames, ",")}
}

func (h *Accounts) changed(id uint) {
	h.clients.Registry.Forget(id)
	if h.OnChange != nil {
		h.OnChange(id)
	}
}

// List shows every account.
func (h *Accounts) List(c *fiber.Ctx) error {
	as, err := h.clients.Accounts.ListAccounts(c.UserContext())
	if err != nil {
		return err
	}
	p := h.Page(c, "accounts.title")
	if c.Query("saved") != "" {
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.saved")}
	}
	if c.Query("deleted") != "" {
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.deleted")}
	}
	syncs, err := h.syncViews(c, as)
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.AccountsPage(p, as, syncs))
}

// NewForm shows the add form for a kind, or without one the kind picker.
// An unknown kind has no form: 404.
func (h *Accounts) NewForm(c *fiber.Ctx) error {
	kind := providers.Kind(c.Query("kind"))
	p := h.Page(c, "accounts.add")
	if kind == "" {
		return Render(c, http.StatusOK, views.AccountKindPicker(p))
	}
	if !kind.Valid() {
		return fiber.ErrNotFound
	}
	f := views.AccountForm{Kind: kind, Fields: h.clients.Registry.Fields(kind), Settings: map[string]string{}}
	return Render(c, http.StatusOK, views.AccountEdit(p, f))
}

// readForm reads and validates an account form for kind. existing is nil
// on create.
func (h *Accounts) readForm(c *fiber.Ctx, kind providers.Kind, existing *models.Account) (models.AccountInput, views.AccountForm, error) {
	fields := h.clients.Registry.Fields(kind)
	in := models.AccountInput{
		Name: c.FormValue("name"), Kind: string(kind), Endpoint: strings.TrimSpace(c.FormValue("endpoint")),
		Disabled: c.FormValue("disabled") != "", Settings: map[string]string{}, Secrets: map[string]string{},
	}
	f := views.AccountForm{Kind: kind, Fields: fields, Name: in.Name, Endpoint: in.Endpoint, Disabled: in.Disabled,
		Settings: in.Settings, Errors: views.FieldErrors{}, Account: existing}
	t := h.T(c)
	if v := strings.TrimSpace(c.FormValue("rate_limit")); v != "" {
		r, ok := parseRate(v)
		if !ok {
			f.Errors["rate_limit"] = t.T("err.rate_limit_range")
		}
		in.RateLimit = r
		f.RateLimit = v
	}
	if v := strings.TrimSpace(c.FormValue("timeout_seconds")); v != "" {
		n, err := strconv.Atoi(v)
		if !timeoutRE.MatchString(v) || err != nil || n > 300 {
			f.Errors["timeout_seconds"] = t.T("err.timeout_range")
		}
		in.TimeoutSeconds = n
		f.Timeout = v
	}
	if m := textError(in.Name, 200); m != "" {
		f.Errors["name"] = t.T(m)
	}
	if m := textError(in.Endpoint, maxSettingRunes); m != "" {
		f.Errors["endpoint"] = t.T(m)
	}
	for _, fd := range fields {
		v := strings.TrimSpace(c.FormValue(fieldInput(fd)))
		if !cleanText(v, false) {
			f.Errors[fieldInput(fd)] = t.T("err.text_invalid")
		} else if len(v) > maxSecretBytes || !fd.Secret && utf8.RuneCountInString(v) > maxSettingRunes {
			f.Errors[fieldInput(fd)] = t.T("err.too_long")
		}
		if fd.Secret {
			in.Secrets[fd.Name] = v
			if fd.Required && v == "" && (existing == nil || !existing.HasSecret(fd.Name)) {
				f.Errors[fieldInput(fd)] = t.T("err.required")
			}
			continue
		}
		in.Settings[fd.Name] = v
		if fd.Required && v == "" {
			f.Errors[fieldInput(fd)] = t.T("err.required")
		}
		if v != "" && len(fd.Choices) > 0 && !contains(fd.Choices, v) {
			f.Errors[fieldInput(fd)] = t.T("err.choice_invalid")
		}
	}
	if in.Endpoint != "" && !f.Errors.Has("endpoint") {
		var id uint // a new account is never a sandbox account
		if existing != nil {
			id = existing.ID
		}
		policy := providers.EndpointPolicy{AllowPrivate: h.allowPrivate, Sandbox: h.Sandbox}
		if err := policy.Check(in.Endpoint, id); err != nil {
			f.Errors["endpoint"] = t.T("err.endpoint_private")
		}
	}
	if strings.TrimSpace(in.Name) == "" {
		f.Errors["name"] = t.T("err.required")
	}
	if len(f.Errors) > 0 {
		return in, f, &models.FieldError{Field: "form", Msg: "err.form_invalid"}
	}
	return in, f, nil
}

// rateRE is a plain decimal rate: no sign, exponent, hex or NaN/Inf, which
// strconv.ParseFloat would all accept (NaN is stored as NULL by SQLite).
var rateRE = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,6})?$`)

// timeoutRE is whole seconds without a sign.
var timeoutRE = regexp.MustCompile(`^[0-9]{1,3}$`)

// parseRate reads a rate limit in requests per second: a plain decimal
// number from 0 to 1000. ok is false for anything else.
func parseRate(v string) (rate float64, ok bool) {
	if !rateRE.MatchString(v) {
		return 0, false
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 || r > 1000 {
		return 0, false
	}
	return r, true
}

func fieldInput(fd providers.Field) string {
	if fd.Secret {
		return "secret." + fd.Name
	}
	return "setting." + fd.Name
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// Create adds an account.
func (h *Accounts) Create(c *fiber.Ctx) error {
	kind := providers.Kind(c.FormValue("kind"))
	if !kind.Valid() {
		_ = h.Record(c, Event{Action: "account.create", Outcome: models.OutcomeError, Message: "unknown kind " + string(kind)})
		return fiber.NewError(http.StatusBadRequest)
	}
	in, f, err := h.readForm(c, kind, nil)
	var a *models.Account
	if err == nil {
		a, err = h.clients.Accounts.CreateAccount(c.UserContext(), in)
	}
	if err != nil {
		_ = h.Record(c, Event{Action: "account.create", Target: "account:new",
			After:   map[string]any{"name": in.Name, "kind": in.Kind, "endpoint": in.Endpoint, "settings": in.Settings},
			Outcome: models.OutcomeError, Message: auditMessage(err)})
		return h.formError(c, f, err)
	}
	h.changed(a.ID)
	if err := h.Record(c, Event{Action: "account.create", Target: accountTarget(a.ID), AccountID: &a.ID, After: accountAudit(a)}); err != nil {
		return err
	}
	return Redirect(c, "/accounts?saved=1")
}

func (h *Accounts) formError(c *fiber.Ctx, f views.AccountForm, err error) error {
	var fe *models.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	if f.Errors == nil {
		f.Errors = views.FieldErrors{}
	}
	if fe.Field != "form" {
		f.Errors[fe.Field] = h.T(c).T(fe.Msg)
	}
	title := "accounts.add"
	if f.Account != nil {
		title = "accounts.edit"
	}
	p := h.Page(c, title)
	p.Flash = &views.Flash{Kind: "bad", Text: p.T.T("err.form_invalid")}
	return Render(c, http.StatusUnprocessableEntity, views.AccountEdit(p, f))
}

// EditForm shows an account's edit form, secrets masked.
func (h *Accounts) EditForm(c *fiber.Ctx) error {
	a, err := h.account(c)
	if err != nil {
		return err
	}
	kind := providers.Kind(a.Kind)
	f := views.AccountForm{Account: a, Kind: kind, Fields: h.clients.Registry.Fields(kind), Name: a.Name, Endpoint: a.Endpoint,
		Disabled: a.Disabled, Settings: a.Settings()}
	if a.RateLimit > 0 {
		f.RateLimit = strconv.FormatFloat(a.RateLimit, 'f', -1, 64)
	}
	if a.TimeoutSeconds > 0 {
		f.Timeout = strconv.Itoa(a.TimeoutSeconds)
	}
	return Render(c, http.StatusOK, views.AccountEdit(h.Page(c, "accounts.edit"), f))
}

func (h *Accounts) account(c *fiber.Ctx) (*models.Account, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.clients.Accounts.AccountByID(c.UserContext(), id)
}

// Update saves an account; blank secrets keep their stored values.
func (h *Accounts) Update(c *fiber.Ctx) error {
	before, err := h.account(c)
	if err != nil {
		return err
	}
	in, f, err := h.readForm(c, providers.Kind(before.Kind), before)
	var a *models.Account
	if err == nil {
		a, err = h.clients.Accounts.UpdateAccount(c.UserContext(), before.ID, in)
	}
	if err != nil {
		_ = h.Record(c, Event{Action: "account.update", Target: accountTarget(before.ID), AccountID: &before.ID,
			Before: accountAudit(before), After: map[string]any{"name": in.Name, "endpoint": in.Endpoint, "settings": in.Settings},
			Outcome: models.OutcomeError, Message: auditMessage(err)})
		return h.formError(c, f, err)
	}
	h.changed(a.ID)
	if err := h.Record(c, Event{Action: "account.update", Target: accountTarget(a.ID), AccountID: &a.ID,
		Before: accountAudit(before), After: accountAudit(a)}); err != nil {
		return err
	}
	return Redirect(c, "/accounts?saved=1")
}

// ToggleDisabled disables an enabled account or enables a disabled one.
func (h *Accounts) ToggleDisabled(c *fiber.Ctx) error {
	before, err := h.account(c)
	if err != nil {
		return err
	}
	a, err := h.clients.Accounts.SetAccountDisabled(c.UserContext(), before.ID, !before.Disabled)
	action := "account.disable"
	if before.Disabled {
		action = "account.enable"
	}
	if err != nil {
		_ = h.Record(c, Event{Action: action, Target: accountTarget(before.ID), AccountID: &before.ID, Outcome: models.OutcomeError, Message: auditMessage(err)})
		return err
	}
	h.changed(a.ID)
	if err := h.Record(c, Event{Action: action, Target: accountTarget(a.ID), AccountID: &a.ID,
		Before: map[string]bool{"disabled": before.Disabled}, After: map[string]bool{"disabled": a.Disabled}}); err != nil {
		return err
	}
	return Redirect(c, "/accounts?saved=1")
}

// Delete removes an account and, with it, its archived tickets, notes and
// sync state (the database cascades; the audit log keeps its rows). The
// sync engine drops it through OnChange; a pass still running cannot write
// for an account that is gone.
func (h *Accounts) Delete(c *fiber.Ctx) error {
	before, err := h.account(c)
	if err != nil {
		return err
	}
	if err := h.clients.Accounts.DeleteAccount(c.UserContext(), before.ID); err != nil {
		_ = h.Record(c, Event{Action: "account.delete", Target: accountTarget(before.ID), AccountID: &before.ID,
			Before: accountAudit(before), Outcome: models.OutcomeError, Message: auditMessage(err)})
		return err
	}
	h.changed(before.ID)
	// Should the id ever come back (a database without AUTOINCREMENT, a
	// restore), the next account must not inherit a sandbox allowance.
	h.Sandbox.Forget(before.ID)
	if err := h.Record(c, Event{Action: "account.delete", Target: accountTarget(before.ID), AccountID: &before.ID, Before: accountAudit(before)}); err != nil {
		return err
	}
	return Redirect(c, "/accounts?deleted=1")
}

// Test performs a real read call with the account's credentials and shows
// the vendor's answer: a partial for htmx, the list page otherwise.
func (h *Accounts) Test(c *fiber.Ctx) error {
	a, err := h.account(c)
	if err != nil {
		return err
	}
	res := views.TestResult{AccountID: a.ID}
	p, err := h.clients.For(a)
	var check providers.CheckResult
	if err == nil {
		ctx, cancel := context.WithTimeout(c.UserContext(), 30*time.Second)
		check, err = p.Check(ctx)
		cancel()
	}
	t := h.T(c)
	ev := Event{Action: "account.test", Target: accountTarget(a.ID), AccountID: &a.ID}
	if err != nil {
		res.Failure = ProviderFailure(t, err)
		ev.Outcome, ev.Message = models.OutcomeError, err.Error()
		if pe := providers.AsError(err); pe != nil {
			ev.VendorReq = pe.RequestID
		}
	} else {
		res.OK, res.Detail, res.RequestID = true, check.Detail, check.RequestID
		ev.VendorReq, ev.Message = check.RequestID, check.Detail
	}
	if err := h.Record(c, ev); err != nil {
		return err
	}
	if IsHTMX(c) {
		return Render(c, http.StatusOK, views.TestResultBox(h.Page(c, "accounts.title"), res))
	}
	as, err := h.clients.Accounts.ListAccounts(c.UserContext())
	if err != nil {
		return err
	}
	syncs, err := h.syncViews(c, as)
	if err != nil {
		return err
	}
	pg := h.Page(c, "accounts.title")
	pg.Path = "/accounts"
	return Render(c, http.StatusOK, views.AccountsPageWithResult(pg, as, syncs, &res))
}

// ProviderFailure describes a provider error safely: the sentinel in the
// viewer's language plus the vendor's HTTP status, code, request id and
// short detail, never its body or message.
func ProviderFailure(t interface{ T(string, ...any) string }, err error) views.ProviderFailure {
	f := views.ProviderFailure{Message: t.T("error.provider")}
	for _, k := range []struct {
		err error
		id  string
	}{
		// A redirect is an ErrInvalid with a better explanation: first.
		{providers.ErrRedirect, "perr.redirect"},
		{context.DeadlineExceeded, "perr.timeout"}, {providers.ErrInvalid, "perr.invalid"}, {providers.ErrUnauthorized, "perr.unauthorized"},
		{providers.ErrForbidden, "perr.forbidden"}, {providers.ErrNotFound, "perr.not_found"},
		{providers.ErrRateLimited, "perr.rate_limited"}, {providers.ErrUnavailable, "perr.unavailable"},
		{providers.ErrUnsupported, "perr.unsupported"},
		{models.ErrInvalid, "perr.secrets"},
	} {
		if errors.Is(err, k.err) {
			f.Message = t.T(k.id)
			break
		}
	}
	if pe := providers.AsError(err); pe != nil {
		f.Code, f.RequestID, f.Status, f.Detail = pe.Code, pe.RequestID, pe.Status, pe.Detail
		// Only a coded answer's message is the vendor's own words; other
		// messages are ours, for the log.
		if pe.Code != "" {
			f.Said = vendorSaid(pe.Message)
		}
	}
	return f
}

// vendorSaid is a vendor's error message fit for one line: printable
// characters only, at most 200 of them.
func vendorSaid(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// passFailure is a failed sync pass explained as ProviderFailure explains
// a vendor error: the pass keeps the vendor's answer by the sentinel's
// text, its code, request id and HTTP status.
func passFailure(t interface{ T(string, ...any) string }, pe *syncer.PassError) views.ProviderFailure {
	e := &providers.Error{Kind: errors.New(pe.Kind), Code: pe.Code, RequestID: pe.RequestID, Status: pe.Status,
		Detail: pe.Detail, Message: pe.VendorMessage}
	for _, k := range []error{providers.ErrInvalid, providers.ErrUnauthorized, providers.ErrForbidden, providers.ErrNotFound,
		providers.ErrRateLimited, providers.ErrUnavailable, providers.ErrUnsupported, providers.ErrRedirect, context.DeadlineExceeded} {
		if k.Error() == pe.Kind {
			e.Kind = k
			break
		}
	}
	f := ProviderFailure(t, e)
	f.Where = pe.Where
	return f
}
