package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/views"
)

// FormTokens makes a submitted form act once.
type FormTokens interface {
	Claim(ctx context.Context, key string, exp time.Duration) (bool, error)
}

// History reads a note's past changes from the audit log.
type History interface {
	ListAudit(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, int64, error)
	// ActorsOf returns who last made action on each target, successfully.
	ActorsOf(ctx context.Context, action string, targets []string) (map[string]models.Actor, error)
}

// Archive is the local archive the pages read and the writes go through
// to. Its methods return models.ErrNotFound for what it does not hold and
// the database's error otherwise.
type Archive interface {
	ListArchivedNotes(ctx context.Context, f models.NoteFilter) ([]models.ArchivedNote, int64, bool, error)
	NotesPage(ctx context.Context, f models.NoteFilter) (models.NotesPage, error)
	TicketNotes(ctx context.Context, account uint, ticket string) ([]models.ArchivedNote, error)
	ArchivedNoteByID(ctx context.Context, account uint, ticket, note string) (*models.ArchivedNote, error)
	ArchivedTicket(ctx context.Context, account uint, ticket string) (*models.ArchivedTicket, error)
	TicketTitles(ctx context.Context, refs []models.TicketRef) (map[models.TicketRef]string, error)
	NoteVersions(ctx context.Context, account uint, ticket, note string) ([]models.NoteVersion, error)
	ArchiveNoteWritten(ctx context.Context, account uint, note providers.Note, actor string) error
	ArchiveNoteDeleted(ctx context.Context, account uint, ticket, noteID, actor string, at time.Time) error
	SyncState(ctx context.Context, account uint) (syncer.State, error)
	// AccountsAndStates returns every account, ordered as ListAccounts
	// orders them, and their sync states, in one read.
	AccountsAndStates(ctx context.Context) ([]models.Account, map[uint]syncer.State, error)
}

// Notes serves the notes workspace, the conversation view and note edits.
// Pages read the archive only; writes go to the vendor, then the archive.
type Notes struct {
	*Base
	clients *Clients
	archive Archive
	tokens  FormTokens
	history History
	syncer  Syncer // nil: no engine (conversations are not refreshed)
	now     func() time.Time
	// rendered keeps the rendered rows and histogram of recent pages.
	rendered *renderCache
}

// NewNotes returns the notes handlers.
func NewNotes(b *Base, clients *Clients, archive Archive, tokens FormTokens, history History) *Notes {
	return &Notes{Base: b, clients: clients, archive: archive, tokens: tokens, history: history, now: time.Now,
		rendered: newRenderCache(renderCacheEntries, renderMaxAge)}
}

// Paging and input limits.
const (
	notesPageSize  = 50
	maxNoteRunes   = 10000
	formTokenTTL   = 24 * time.Hour
	defaultDaySpan = 30
)

// ticketIDRE is what a ticket (or note) id may look like at any of the
// vendors. It starts with a letter or digit, so "." and ".." — which would
// walk up the vendor's URL path — are never one.
var ticketIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$`)

// source is a usable account: its row, client and capabilities. Building
// a client calls no vendor.
type source struct {
	acct     *models.Account
	provider providers.Provider
	caps     providers.Capabilities
	err      error // the client could not be built
}

// sources builds clients for accounts; failures are kept per account.
func (h *Notes) sources(accts []models.Account) []source {
	out := make([]source, 0, len(accts))
	for i := range accts {
		a := &accts[i]
		s := source{acct: a}
		p, err := h.clients.For(a)
		if err != nil {
			s.err = err
		} else {
			s.provider, s.caps = p, p.Capabilities()
		}
		out = append(out, s)
	}
	return out
}

// queryValues copies the request's query string, so nothing parsed from it
// aliases the request's buffers.
func queryValues(c *fiber.Ctx) url.Values {
	v := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, val []byte) { v.Add(string(k), string(val)) })
	return v
}

// parseQuery reads and validates the notes filters in v; errs holds bad
// fields.
func (h *Notes) parseQuery(c *fiber.Ctx, v url.Values) (views.NotesQuery, models.NoteFilter, views.FieldErrors) {
	t := h.T(c)
	q := views.NotesQuery{Ticket: strings.TrimSpace(v.Get("ticket")), From: v.Get("from"), To: v.Get("to"),
		Role: v.Get("role"), Text: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort")}
	for _, s := range v["account"] {
		if s != "" && !slices.Contains(q.Accounts, s) {
			q.Accounts = append(q.Accounts, s)
		}
	}
	errs := views.FieldErrors{}
	var ok bool
	if q.Page, ok = parsePage(v.Get("page")); !ok {
		q.Page, q.PageText = 1, v.Get("page")
		errs["page"] = t.T("err.page_invalid")
	}
	loc := Zone(c)
	if q.From == "" && q.To == "" {
		today := h.now().In(loc)
		q.From = today.AddDate(0, 0, -(defaultDaySpan - 1)).Format(time.DateOnly)
		q.To = today.Format(time.DateOnly)
	}
	from, to, bad := DayRange(q.From, q.To, loc)
	if bad != "" {
		errs[bad] = t.T("err.date_invalid")
	}
	switch q.Sort {
	case "", models.SortNewest, models.SortOldest, models.SortRelevance:
	default:
		errs["sort"] = t.T("err.choice_invalid")
	}
	if q.Ticket != "" && !ticketIDRE.MatchString(q.Ticket) {
		errs["ticket"] = t.T("err.ticket_invalid")
	}
	switch providers.Role(q.Role) {
	case "", providers.RoleAgent, providers.RoleCustomer, providers.RoleSystem:
	default:
		errs["role"] = t.T("err.choice_invalid")
	}
	if m := textError(q.Text, maxFilterRunes); m != "" {
		errs["q"] = t.T(m)
	}
	f := models.NoteFilter{TicketID: q.Ticket, From: from, To: to, Role: providers.Role(q.Role), Query: q.Text,
		Sort: q.Sort, Offset: (q.Page - 1) * notesPageSize, Limit: notesPageSize}
	for _, a := range q.Accounts {
		id, ok := parseID(a)
		if !ok {
			errs["account"] = t.T("err.choice_invalid")
			continue
		}
		f.Accounts = append(f.Accounts, id)
	}
	q.States = parseStates(v["state"], errs, t)
	f.States, f.Zone = q.States, loc
	return q, f, errs
}

// List is the notes workspace: filters, per-account outcomes and merged,
// paged results. htmx requests aimed at #notes-results get that partial.
func (h *Notes) List(c *fiber.Ctx) error {
	d, status, err := h.load(c, true)
	if err != nil {
		return err
	}
	p := h.Page(c, "notes.title")
	d.Quick = QuickRanges(h.now(), Zone(c))
	var kept *keptResults
	if status == http.StatusOK {
		if kept, err = h.renderResults(c, p, &d); err != nil {
			return err
		}
	}
	if IsHTMX(c) && c.Get("HX-Target") == "notes-results" {
		return renderKept(c, status, kept, d, func(d views.NotesData) templ.Component { return views.NotesResultsSwap(p, d) })
	}
	switch {
	case c.Query("added") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.note_added")}
	case c.Query("deleted") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.note_deleted")}
	case c.Query("saved") != "":
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.saved")}
	}
	d.AddOpen = c.Query("add") != ""
	return renderKept(c, status, kept, d, func(d views.NotesData) templ.Component { return views.NotesPage(p, d) })
}

// Statuses is the accounts' counts and freshness for the list's filter,
// the partial the notes page polls while a pass runs.
func (h *Notes) Statuses(c *fiber.Ctx) error {
	d, status, err := h.load(c, true)
	if err != nil {
		return err
	}
	return Render(c, status, views.NotesCounts(h.Page(c, "notes.title"), d, false))
}

// renderResults puts the rendered histogram and rows of d's page into
// d.Rendered: kept from an earlier request when one showed the same read
// of the same page the same way, else decorated (titles and who added
// each note), rendered and kept. It returns what is kept, nil when the
// page is not (a read the archive does not keep).
func (h *Notes) renderResults(c *fiber.Ctx, p views.Page, d *views.NotesData) (*keptResults, error) {
	if d.Read == 0 {
		return nil, h.decorate(c, d.Notes, true)
	}
	r, err := h.rendered.do(renderKey(p, *d), func() (*keptResults, error) {
		if err := h.decorate(c, d.Notes, true); err != nil {
			return nil, err
		}
		return renderParts(c.UserContext(), views.RangeView(p, *d), views.NotesRows(p, *d))
	})
	if err != nil {
		return nil, err
	}
	d.Rendered = r.text
	return r, nil
}

// decorate adds to each note what the page of notes does not hold: the
// user who added it here and, when titled, its ticket's title.
func (h *Notes) decorate(c *fiber.Ctx, items []views.NoteItem, titled bool) error {
	if titled {
		if err := h.titles(c.UserContext(), items); err != nil {
			return err
		}
	}
	return h.attribute(c, items)
}

// load runs the query of the request. paged cuts the notes to one page.
// status is 200, 422 for invalid filters, or 404 when the filter names an
// account that does not exist or is disabled.
func (h *Notes) load(c *fiber.Ctx, paged bool) (d views.NotesData, status int, err error) {
	return h.loadQuery(c, queryValues(c), paged)
}

// loadQuery runs the notes query v (a list's query string); status as for
// load.
func (h *Notes) loadQuery(c *fiber.Ctx, v url.Values, paged bool) (views.NotesData, int, error) {
	q, f, errs := h.parseQuery(c, v)
	d := views.NotesData{Query: q, Errors: errs, PageSize: notesPageSize, FormToken: models.RandomToken(16)}
	// The accounts and every one's sync state in one read: a page shows
	// up to all of them, and on PostgreSQL each statement is a round trip.
	all, states, err := h.archive.AccountsAndStates(c.UserContext())
	if err != nil {
		return d, 0, err
	}
	admin := Viewer(c).IsAdmin()
	var enabled []models.Account
	for _, a := range all {
		if !a.Disabled {
			enabled = append(enabled, a)
		}
	}
	srcs := h.sources(enabled)
	for _, s := range srcs {
		id := strconv.FormatUint(uint64(s.acct.ID), 10)
		d.Accounts = append(d.Accounts, views.AccountChoice{ID: id, Name: s.acct.Name, Kind: providers.Kind(s.acct.Kind),
			Selected: slices.Contains(q.Accounts, id), Caps: s.caps})
		if admin && s.err == nil && s.caps.Add != providers.AddNone {
			d.AddAccounts = append(d.AddAccounts, views.AccountChoice{ID: id, Name: s.acct.Name, Kind: providers.Kind(s.acct.Kind), Caps: s.caps})
		}
	}
	// An account filter naming no enabled account is a page that does not
	// exist, not an empty result.
	unknown := false
	for _, a := range q.Accounts {
		if !errs.Has("account") && !slices.ContainsFunc(d.Accounts, func(ch views.AccountChoice) bool { return ch.ID == a }) {
			errs["account"], unknown = h.T(c).T("err.account_unknown"), true
		}
	}
	switch {
	case unknown:
		return d, http.StatusNotFound, nil
	case len(errs) > 0:
		return d, http.StatusUnprocessableEntity, nil
	}
	var chosen []source
	for _, s := range srcs {
		if len(q.Accounts) == 0 || slices.Contains(q.Accounts, strconv.FormatUint(uint64(s.acct.ID), 10)) {
			chosen = append(chosen, s)
			if len(q.Accounts) == 0 {
				f.Accounts = append(f.Accounts, s.acct.ID)
			}
		}
	}
	if len(chosen) == 0 {
		return d, http.StatusOK, nil
	}
	ctx := c.UserContext()
	f.WithoutRaw = paged // only the JSON export shows the vendor's JSON
	page, err := h.archive.NotesPage(ctx, f)
	if err != nil {
		return d, 0, err
	}
	notes, counts := page.Notes, page.ByAccount
	d.Total, d.Capped, d.Read = int(page.Total), page.Capped, page.Read
	d.RangeCounts, d.Facets = page.Range, page.Facets
	// An export is every matching note, read a batch at a time.
	for all := f; !paged && len(notes) < d.Total; {
		all.Offset, all.Limit = len(notes), models.MaxNoteLimit
		more, _, _, err := h.archive.ListArchivedNotes(ctx, all)
		if err != nil {
			return d, 0, err
		}
		if len(more) == 0 {
			break
		}
		notes = append(notes, more...)
	}
	caps := map[uint]providers.Capabilities{}
	names := map[uint]string{}
	for _, s := range chosen {
		caps[s.acct.ID], names[s.acct.ID] = s.caps, s.acct.Name
		d.Statuses = append(d.Statuses, h.accountStatus(c, s, counts[s.acct.ID], states[s.acct.ID]))
	}
	back := q.URL("/notes", q.Page)
	for i, n := range notes {
		it := h.archivedItem(n, names[n.AccountID], caps[n.AccountID], admin, views.ModeList, back)
		it.Search = q.Text
		if i < len(page.Marks) {
			it.Marks = page.Marks[i]
		}
		d.Notes = append(d.Notes, it)
	}
	return d, http.StatusOK, nil
}

// titles puts each note's ticket title beside it, read for the whole page
// in one query.
func (h *Notes) titles(ctx context.Context, items []views.NoteItem) error {
	if len(items) == 0 {
		return nil
	}
	refs := make([]models.TicketRef, len(items))
	for i, it := range items {
		refs[i] = models.TicketRef{Account: it.Note.AccountID, Ticket: it.Note.TicketID}
	}
	titles, err := h.archive.TicketTitles(ctx, refs)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].TicketTitle = titles[refs[i]]
	}
	return nil
}

// accountStatus is one account's line beside the results: how many of the
// matching notes are its (n), and how fresh its archive is (sync, the zero
// State when no pass has run).
func (h *Notes) accountStatus(c *fiber.Ctx, s source, n int64, sync syncer.State) views.AccountStatus {
	st := views.AccountStatus{ID: s.acct.ID, Name: s.acct.Name, Kind: providers.Kind(s.acct.Kind), Caps: s.caps}
	if s.err != nil {
		st.Failure = ProviderFailure(h.T(c), s.err)
		return st
	}
	st.Count, st.Sync = int(n), sync
	st.OK = sync.Err == nil
	if sync.Err != nil {
		st.Failure = passFailure(h.T(c), sync.Err)
	}
	return st
}

// archivedItem is the view of an archived note, marked deleted when the
// vendor no longer has it.
func (h *Notes) archivedItem(n models.ArchivedNote, account string, caps providers.Capabilities, admin bool, mode, back string) views.NoteItem {
	it := h.item(n.Note, account, caps, admin, mode, back)
	it.Version = n.Version
	if n.Deleted() {
		it.Deleted = &views.Deletion{By: n.DeletedBy, At: n.DeletedAt}
		it.CanEdit, it.CanDelete = false, false
	}
	return it
}

// attribute names the user who added each note through this dashboard,
// from the audit rows of those adds.
func (h *Notes) attribute(c *fiber.Ctx, items []views.NoteItem) error {
	if len(items) == 0 {
		return nil
	}
	targets := make([]string, len(items))
	for i, it := range items {
		targets[i] = noteTarget(it.Note.AccountID, it.Note.TicketID, it.Note.ID)
	}
	by, err := h.history.ActorsOf(c.UserContext(), "note.create", targets)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].AddedBy = by[targets[i]].Name
	}
	return nil
}

// item is the view of one note, with the controls the viewer may use.
func (h *Notes) item(n providers.Note, account string, caps providers.Capabilities, admin bool, mode, back string) views.NoteItem {
	return views.NoteItem{Note: n, AccountName: account, CanEdit: admin && caps.Edit, CanDelete: admin && caps.Delete,
		Mode: mode, Back: back}
}

// pathParam returns a route parameter unescaped (ids may hold any byte).
func pathParam(c *fiber.Ctx, name string) (string, error) {
	v, err := url.PathUnescape(c.Params(name))
	if err != nil || v == "" || len(v) > 256 {
		return "", fiber.ErrNotFound
	}
	return v, nil
}

// vendorID returns a ticket or note id from the path. An id no vendor could
// have (ticketIDRE) names nothing: 404, without asking the vendor, whose
// refusal would otherwise show as a 502.
func vendorID(c *fiber.Ctx, name string) (string, error) {
	v, err := pathParam(c, name)
	if err != nil || !ticketIDRE.MatchString(v) {
		return "", fiber.ErrNotFound
	}
	return v, nil
}

// noteRef is the account, ticket and note a request names.
type noteRef struct {
	src    source
	ticket string
	note   string
}

func (r noteRef) target() string { return noteTarget(r.src.acct.ID, r.ticket, r.note) }

// noteTarget is a note's audit target.
func noteTarget(account uint, ticket, note string) string {
	return "note:" + strconv.FormatUint(uint64(account), 10) + ":" + ticket + ":" + note
}

// account loads the account in the path and its client. A disabled or
// unknown account is not found.
func (h *Notes) account(c *fiber.Ctx) (source, error) {
	id, err := paramID(c, "account")
	if err != nil {
		return source{}, err
	}
	a, err := h.clients.Accounts.AccountByID(c.UserContext(), id)
	if err != nil {
		return source{}, err
	}
	if a.Disabled {
		return source{}, fiber.ErrNotFound
	}
	s := h.sources([]models.Account{*a})[0]
	return s, nil
}

func (h *Notes) ref(c *fiber.Ctx, withNote bool) (noteRef, error) {
	s, err := h.account(c)
	if err != nil {
		return noteRef{}, err
	}
	r := noteRef{src: s}
	if r.ticket, err = vendorID(c, "ticket"); err != nil {
		return r, err
	}
	if withNote {
		if r.note, err = vendorID(c, "note"); err != nil {
			return r, err
		}
	}
	return r, nil
}

// safeBack keeps a return address on this site.
func safeBack(back, fallback string) string {
	if b := safeNext(back); b != "/" {
		return b
	}
	return fallback
}

// checkBody validates a note's text; it returns a message id or "".
// NUL and other control characters are refused rather than stripped, so
// what the vendor stores is exactly what the admin saw in the form.
func checkBody(body string) string {
	switch n := utf8.RuneCountInString(strings.TrimSpace(body)); {
	case !cleanText(body, true):
		return "err.text_invalid"
	case n == 0:
		return "err.required"
	case n > maxNoteRunes:
		return "err.note_too_long"
	}
	return ""
}

// Create adds a note to a ticket. A one-time form token makes a double
// submit create one note.
func (h *Notes) Create(c *fiber.Ctx) error {
	t := h.T(c)
	in := views.AddForm{Account: c.FormValue("account"), Ticket: strings.TrimSpace(c.FormValue("ticket")),
		Body: c.FormValue("body"), Back: c.FormValue("back"), Errors: views.FieldErrors{}}
	ev := Event{Action: "note.create", Target: "note:" + in.Account + ":" + in.Ticket + ":new",
		After: map[string]string{"account": in.Account, "ticket": in.Ticket, "text": in.Body}}
	id, _ := parseID(in.Account)
	var s source
	var a *models.Account
	var err error
	if id > 0 {
		a, err = h.clients.Accounts.AccountByID(c.UserContext(), id)
	}
	if id == 0 || errors.Is(err, models.ErrNotFound) || (a != nil && a.Disabled) {
		in.Errors["account"] = t.T("err.choice_invalid")
	} else if err != nil {
		return err
	} else {
		s = h.sources([]models.Account{*a})[0]
		ev.AccountID = &a.ID
		if s.err == nil && s.caps.Add == providers.AddNone {
			in.Errors["account"] = t.T("err.cannot_add")
		}
	}
	if !ticketIDRE.MatchString(in.Ticket) {
		in.Errors["ticket"] = t.T("err.ticket_invalid")
	}
	if m := checkBody(in.Body); m != "" {
		in.Errors["body"] = t.T(m)
	}
	if len(in.Errors) > 0 {
		ev.Outcome, ev.Message = models.OutcomeError, "invalid input"
		_ = h.Record(c, ev)
		return h.addFormError(c, in, http.StatusUnprocessableEntity, nil)
	}
	token := c.FormValue("form_token")
	if len(token) > maxFormToken {
		token = "" // not one of ours; and never a key this long
	}
	first, err := h.tokens.Claim(c.UserContext(), "note-create:"+token, formTokenTTL)
	if err != nil {
		return err
	}
	if !first || token == "" {
		ev.Outcome, ev.Message = models.OutcomeDenied, "form already submitted"
		if err := h.Record(c, ev); err != nil {
			return err
		}
		return h.addFormError(c, in, http.StatusConflict, &views.Flash{Kind: "warn", Text: t.T("notes.already_submitted")})
	}
	if s.err != nil {
		h.fail(c, ev, models.OutcomeError, s.err)
		f := ProviderFailure(t, s.err)
		return h.addFormError(c, in, http.StatusBadGateway, &views.Flash{Kind: "bad", Text: f.Message})
	}
	// The attempt is in the log before the vendor sees the call, so a crash
	// during it leaves an attempt with its outcome unknown, not a silent
	// change.
	if ev.AttemptID, err = h.Attempt(c, ev); err != nil {
		return err
	}
	n, rcpt, err := s.provider.AddNote(c.UserContext(), in.Ticket, strings.TrimSpace(in.Body))
	if err != nil {
		h.fail(c, ev, models.OutcomeError, err)
		f := ProviderFailure(t, err)
		return h.addFormError(c, in, http.StatusBadGateway, &views.Flash{Kind: "bad", Text: views.FailureLine(t, f)})
	}
	ref := noteRef{src: s, ticket: in.Ticket, note: n.ID}
	ev.Target = ref.target()
	ev.After = noteAudit(n)
	ev.VendorReq = rcpt.RequestID
	if err := h.Record(c, ev); err != nil {
		return err
	}
	h.writeThrough(c, a.ID, n)
	return Redirect(c, views.TicketPath(a.ID, in.Ticket)+"?added=1")
}

// addFormError shows the notes page again with the add form's errors.
func (h *Notes) addFormError(c *fiber.Ctx, in views.AddForm, status int, flash *views.Flash) error {
	d, _, err := h.load(c, true)
	if err != nil {
		return err
	}
	if err := h.decorate(c, d.Notes, true); err != nil {
		return err
	}
	d.Add = in
	p := h.Page(c, "notes.title")
	p.Path = "/notes"
	p.Flash = flash
	if flash == nil {
		p.Flash = &views.Flash{Kind: "bad", Text: p.T.T("err.form_invalid")}
	}
	d.Quick = QuickRanges(h.now(), Zone(c))
	return Render(c, status, views.NotesPage(p, d))
}

// noteAudit is the audited view of a note: enough to restore its text.
func noteAudit(n providers.Note) map[string]any {
	return map[string]any{"id": n.ID, "ticket": n.TicketID, "author": n.AuthorName, "created_at": n.CreatedAt, "text": n.Body}
}

// fail records a failed change attempt with the vendor's request id.
func (h *Notes) fail(c *fiber.Ctx, ev Event, outcome string, err error) {
	ev.Outcome, ev.Message = outcome, err.Error()
	if pe := providers.AsError(err); pe != nil {
		ev.VendorReq = pe.RequestID
	}
	_ = h.Record(c, ev)
}

// before loads the note a change names and puts it in ev.Before. A change
// the provider cannot make is refused (400, message id msgID) and audited
// as denied.
func (h *Notes) before(c *fiber.Ctx, r noteRef, ev *Event, allowed bool, msgID string) (providers.Note, error) {
	if r.src.err == nil && !allowed {
		h.fail(c, *ev, models.OutcomeDenied, errors.New("the provider does not support this"))
		return providers.Note{}, fiber.NewError(http.StatusBadRequest, h.T(c).T(msgID))
	}
	n, err := h.find(c, r)
	if err != nil {
		h.fail(c, *ev, models.OutcomeError, err)
		return n, err
	}
	ev.Before = noteAudit(n)
	return n, nil
}

// find returns the note a request names, or ErrNotFound.
func (h *Notes) find(c *fiber.Ctx, r noteRef) (providers.Note, error) {
	if r.src.err != nil {
		return providers.Note{}, r.src.err
	}
	n, err := h.archive.ArchivedNoteByID(c.UserContext(), r.src.acct.ID, r.ticket, r.note)
	if errors.Is(err, models.ErrNotFound) || (err == nil && n.Deleted()) {
		return providers.Note{}, fiber.ErrNotFound
	}
	if err != nil {
		return providers.Note{}, err
	}
	return n.Note, nil
}

// writeThrough puts a note the vendor just stored into the archive, so the
// pages show it at once. The vendor has the change and the audit log its
// outcome; if the archive write fails the next sync pass brings the note,
// so it is logged, not reported as a failed change.
func (h *Notes) writeThrough(c *fiber.Ctx, account uint, n providers.Note) {
	if n.ID == "" {
		return // the vendor did not say which note it made; the next pass finds it
	}
	n.AccountID = account
	if err := h.archive.ArchiveNoteWritten(context.WithoutCancel(c.UserContext()), account, n, actorName(c)); err != nil {
		h.Logger(c).Error("archive write-through failed", "account", account, "ticket", n.TicketID, "note", n.ID, "err", err)
	}
}

// actorName is how the archive names the viewer as the author of a change.
func actorName(c *fiber.Ctx) string {
	u := Viewer(c)
	if u == nil {
		return ""
	}
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

func (h *Notes) mode(c *fiber.Ctx) string {
	if c.Query("mode", c.FormValue("mode")) == views.ModeTimeline {
		return views.ModeTimeline
	}
	return views.ModeList
}

// Show renders one note (used to cancel an inline edit); a full request
// goes to the conversation.
func (h *Notes) Show(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	if !IsHTMX(c) {
		return c.Redirect(views.TicketPath(r.src.acct.ID, r.ticket), http.StatusSeeOther)
	}
	n, err := h.find(c, r)
	if err != nil {
		return err
	}
	items := []views.NoteItem{h.item(n, r.src.acct.Name, r.src.caps, Viewer(c).IsAdmin(), h.mode(c), c.Query("back"))}
	if err := h.attribute(c, items); err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.NoteView(h.Page(c, "notes.title"), items[0]))
}

// EditForm turns a note into its edit form: a partial for htmx, a page
// otherwise.
func (h *Notes) EditForm(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	if !r.src.caps.Edit {
		return fiber.NewError(http.StatusBadRequest, h.T(c).T("notes.cannot_edit"))
	}
	n, err := h.find(c, r)
	if err != nil {
		return err
	}
	it := h.item(n, r.src.acct.Name, r.src.caps, true, h.mode(c), safeBack(c.Query("back"), views.TicketPath(r.src.acct.ID, r.ticket)))
	f := views.EditForm{Item: it, Body: n.Body, Errors: views.FieldErrors{}}
	p := h.Page(c, "notes.edit")
	if IsHTMX(c) {
		return Render(c, http.StatusOK, views.NoteEditForm(p, f))
	}
	return Render(c, http.StatusOK, views.NoteEditPage(p, f))
}

// Update replaces a note's text and audits before and after.
func (h *Notes) Update(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	t := h.T(c)
	body := c.FormValue("body")
	ev := Event{Action: "note.update", Target: r.target(), AccountID: &r.src.acct.ID, After: map[string]string{"text": body}}
	before, err := h.before(c, r, &ev, r.src.caps.Edit, "notes.cannot_edit")
	if err != nil {
		return err
	}
	it := h.item(before, r.src.acct.Name, r.src.caps, true, h.mode(c), safeBack(c.FormValue("back"), views.TicketPath(r.src.acct.ID, r.ticket)))
	if m := checkBody(body); m != "" {
		h.fail(c, ev, models.OutcomeError, errors.New("invalid input"))
		return h.editError(c, views.EditForm{Item: it, Body: body, Errors: views.FieldErrors{"body": t.T(m)}}, http.StatusUnprocessableEntity)
	}
	if ev.AttemptID, err = h.Attempt(c, ev); err != nil {
		return err
	}
	n, rcpt, err := r.src.provider.UpdateNote(c.UserContext(), r.ticket, r.note, strings.TrimSpace(body))
	if err != nil {
		h.fail(c, ev, models.OutcomeError, err)
		f := ProviderFailure(t, err)
		return h.editError(c, views.EditForm{Item: it, Body: body, Failure: &f}, http.StatusBadGateway)
	}
	ev.After = noteAudit(n)
	ev.VendorReq = rcpt.RequestID
	if err := h.Record(c, ev); err != nil {
		return err
	}
	h.writeThrough(c, r.src.acct.ID, n)
	if IsHTMX(c) {
		it.Note = n
		if an, err := h.archive.ArchivedNoteByID(c.UserContext(), r.src.acct.ID, r.ticket, r.note); err == nil {
			it.Note, it.Version = an.Note, an.Version
		}
		items := []views.NoteItem{it}
		if err := h.attribute(c, items); err != nil {
			return err
		}
		return Render(c, http.StatusOK, views.NoteView(h.Page(c, "notes.title"), items[0]))
	}
	return c.Redirect(it.Back, http.StatusSeeOther)
}

func (h *Notes) editError(c *fiber.Ctx, f views.EditForm, status int) error {
	p := h.Page(c, "notes.edit")
	if IsHTMX(c) {
		return Render(c, status, views.NoteEditForm(p, f))
	}
	return Render(c, status, views.NoteEditPage(p, f))
}

// DeleteConfirm asks before deleting, for browsers without JavaScript.
func (h *Notes) DeleteConfirm(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	if !r.src.caps.Delete {
		return fiber.NewError(http.StatusBadRequest, h.T(c).T("notes.cannot_delete"))
	}
	n, err := h.find(c, r)
	if err != nil {
		return err
	}
	it := h.item(n, r.src.acct.Name, r.src.caps, true, views.ModeList, safeBack(c.Query("back"), views.TicketPath(r.src.acct.ID, r.ticket)))
	return Render(c, http.StatusOK, views.NoteDeletePage(h.Page(c, "notes.delete"), it))
}

// Delete deletes a note; its text survives in the audit log.
func (h *Notes) Delete(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	ev := Event{Action: "note.delete", Target: r.target(), AccountID: &r.src.acct.ID}
	n, err := h.before(c, r, &ev, r.src.caps.Delete, "notes.cannot_delete")
	if err != nil {
		return err
	}
	if ev.AttemptID, err = h.Attempt(c, ev); err != nil {
		return err
	}
	rcpt, err := r.src.provider.DeleteNote(c.UserContext(), r.ticket, r.note)
	if err != nil {
		h.fail(c, ev, models.OutcomeError, err)
		return err
	}
	ev.VendorReq = rcpt.RequestID
	if err := h.Record(c, ev); err != nil {
		return err
	}
	if err := h.archive.ArchiveNoteDeleted(context.WithoutCancel(c.UserContext()), r.src.acct.ID, r.ticket, r.note, actorName(c), h.now().UTC()); err != nil {
		h.Logger(c).Error("archive write-through failed", "account", r.src.acct.ID, "ticket", r.ticket, "note", r.note, "err", err)
	}
	back := safeBack(c.FormValue("back"), views.TicketPath(r.src.acct.ID, r.ticket))
	if IsHTMX(c) {
		return h.deleted(c, r, n, back)
	}
	return c.Redirect(back, http.StatusSeeOther)
}

// deleted answers an htmx delete: the note in place, marked deleted (who,
// when, its history), and, when it was deleted from a notes list, that
// list's counts as they are now.
func (h *Notes) deleted(c *fiber.Ctx, r noteRef, n providers.Note, back string) error {
	p := h.Page(c, "notes.title")
	it := h.item(n, r.src.acct.Name, r.src.caps, false, h.mode(c), back)
	if err := h.attribute(c, []views.NoteItem{it}); err != nil {
		return err
	}
	u := Viewer(c)
	by := u.Name
	if by == "" {
		by = u.Email
	}
	it.Deleted = &views.Deletion{By: by, At: h.now().UTC()}
	parts := []templ.Component{views.NoteView(p, it)}
	if bu, err := url.Parse(back); err == nil && it.Mode == views.ModeList && bu.Path == "/notes" {
		d, _, err := h.loadQuery(c, bu.Query(), true)
		if err != nil {
			return err
		}
		if len(d.Errors) == 0 {
			parts = append(parts, views.NotesCountsOOB(p, d))
		}
	}
	return Render(c, http.StatusOK, templ.Join(parts...))
}

// NoteHistory lists a note's changes from the audit log.
func (h *Notes) NoteHistory(c *fiber.Ctx) error {
	r, err := h.ref(c, true)
	if err != nil {
		return err
	}
	evs, _, err := h.history.ListAudit(c.UserContext(), models.AuditFilter{Target: r.target(), Limit: 500})
	if err != nil {
		return err
	}
	versions, err := h.archive.NoteVersions(c.UserContext(), r.src.acct.ID, r.ticket, r.note)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	d := views.HistoryData{AccountID: r.src.acct.ID, AccountName: r.src.acct.Name, Ticket: r.ticket, Note: r.note,
		Events: oneEntryPerChange(evs), Versions: versions}
	return Render(c, http.StatusOK, views.NoteHistoryPage(h.Page(c, "notes.history"), d))
}

// oneEntryPerChange drops the attempts whose outcome is among evs, so each
// change shows once, with its outcome; an attempt left has no outcome. An
// outcome is newer than its attempt and has the same target, so a page of
// a target's rows, newest first, holds the outcome of every attempt on it.
func oneEntryPerChange(evs []models.AuditEvent) []models.AuditEvent {
	answered := map[uint64]bool{}
	for _, e := range evs {
		if e.AttemptID != nil {
			answered[*e.AttemptID] = true
		}
	}
	out := make([]models.AuditEvent, 0, len(evs))
	for _, e := range evs {
		if e.Outcome == models.OutcomeAttempt && answered[e.ID] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Conversation shows one ticket as a timeline.
func (h *Notes) Conversation(c *fiber.Ctx) error {
	d, status, err := h.conversation(c)
	if err != nil {
		return err
	}
	focus(c, &d)
	p := h.Page(c, "conversation.title")
	if c.Query("added") != "" {
		p.Flash = &views.Flash{Kind: "ok", Text: p.T.T("flash.note_added")}
	}
	if strings.HasSuffix(c.Path(), "/print") {
		for i := range d.Notes {
			d.Notes[i].CanEdit, d.Notes[i].CanDelete = false, false
		}
		return Render(c, status, views.ConversationPrint(p, d))
	}
	if d.Failure == nil {
		h.refresh(c, d.AccountID, d.Ticket)
	}
	return Render(c, status, views.ConversationPage(p, d))
}

// Timeline is the conversation's timeline alone: the page loads it once
// more shortly after opening, when the refresh it queued has had time to
// bring what changed at the vendor.
func (h *Notes) Timeline(c *fiber.Ctx) error {
	d, status, err := h.conversation(c)
	if err != nil {
		return err
	}
	focus(c, &d)
	return Render(c, status, views.Timeline(h.Page(c, "conversation.title"), d, false))
}

// conversation loads the ticket of the path from the archive. status is
// 200, or 404 when the archive has neither the ticket nor a note of it.
func (h *Notes) conversation(c *fiber.Ctx) (d views.ConversationData, status int, err error) {
	r, err := h.ref(c, false)
	if err != nil {
		return views.ConversationData{}, 0, err
	}
	d = views.ConversationData{AccountID: r.src.acct.ID, AccountName: r.src.acct.Name, Kind: providers.Kind(r.src.acct.Kind),
		Ticket: r.ticket, Caps: r.src.caps, FormToken: models.RandomToken(16)}
	admin := Viewer(c).IsAdmin()
	d.CanAdd = admin && r.src.caps.Add != providers.AddNone
	ctx := c.UserContext()
	// The archive stays readable whatever the vendor does; the page says
	// why it may be stale.
	if r.src.err != nil {
		d.Failure = ptr(ProviderFailure(h.T(c), r.src.err))
	} else if st, err := h.archive.SyncState(ctx, r.src.acct.ID); err != nil {
		return d, 0, err
	} else if st.Err != nil {
		d.Failure = ptr(passFailure(h.T(c), st.Err))
	}
	if t, err := h.archive.ArchivedTicket(ctx, r.src.acct.ID, r.ticket); err == nil {
		d.Title, d.Status, d.Closed = t.Title, t.Status, t.Closed
	} else if !errors.Is(err, models.ErrNotFound) {
		return d, 0, err
	} else {
		d.Unknown = true
	}
	notes, err := h.archive.TicketNotes(ctx, r.src.acct.ID, r.ticket)
	if err != nil {
		return d, 0, err
	}
	// The archive has never seen the ticket: nothing to show, but a
	// refresh is queued, so a ticket that does exist appears shortly.
	status = http.StatusOK
	if d.Unknown && len(notes) == 0 {
		status = http.StatusNotFound
	}
	back := c.OriginalURL()
	for _, n := range notes {
		d.Notes = append(d.Notes, h.archivedItem(n, r.src.acct.Name, r.src.caps, admin, views.ModeTimeline, back))
	}
	return d, status, h.attribute(c, d.Notes)
}

// refresh queues a sync of one ticket, so what changed at the vendor since
// the last pass arrives while the conversation is open. It never waits on
// the vendor; a refresh that cannot be queued is only logged.
func (h *Notes) refresh(c *fiber.Ctx, account uint, ticket string) {
	if h.syncer == nil {
		return
	}
	if err := h.syncer.RefreshTicket(account, ticket); err != nil {
		h.Logger(c).Warn("ticket refresh not queued", "account", account, "ticket", ticket, "err", err)
	}
}

func ptr[T any](v T) *T { return &v }
