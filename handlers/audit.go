package handlers

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views"
)

// AuditStore is what the audit screens need.
type AuditStore interface {
	ListAudit(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, int64, error)
	EachAudit(ctx context.Context, f models.AuditFilter, fn func(*models.AuditEvent) error) error
	AuditActions(ctx context.Context) ([]string, error)
	VerifyAudit(ctx context.Context) (models.VerifyResult, error)
	AttemptOutcomes(ctx context.Context, ids []uint64) (map[uint64]models.AuditEvent, error)
	ListAccounts(ctx context.Context) ([]models.Account, error)
	ListUsers(ctx context.Context) ([]models.User, error)
}

// Audit serves the audit log (admins and managers).
type Audit struct {
	*Base
	store AuditStore
}

// NewAudit returns the audit handlers.
func NewAudit(b *Base, store AuditStore) *Audit { return &Audit{Base: b, store: store} }

const auditPageSize = 50

// filter reads the audit filter from the query; errs holds bad fields.
func (h *Audit) filter(c *fiber.Ctx) (models.AuditFilter, views.AuditQuery, views.FieldErrors) {
	q := views.AuditQuery{From: c.Query("from"), To: c.Query("to"), Actor: strings.TrimSpace(c.Query("actor")),
		Action: c.Query("action"), Outcome: c.Query("outcome"), Account: c.Query("account")}
	errs := views.FieldErrors{}
	t := h.T(c)
	f := models.AuditFilter{Actor: strings.ToLower(q.Actor), Action: q.Action, Outcome: q.Outcome}
	from, to, bad := DayRange(q.From, q.To, Zone(c))
	if bad != "" {
		errs[bad] = t.T("err.date_invalid")
	}
	f.From, f.To = from, to
	if m := textError(q.Actor, maxFilterRunes); m != "" {
		errs["actor"] = t.T(m)
	}
	if m := textError(q.Action, maxFilterRunes); m != "" {
		errs["action"] = t.T(m)
	}
	// Any well-formed id is a filter: the rows of a deleted account stay
	// in the log and can still be looked up by its id.
	if q.Account != "" {
		if id, ok := parseID(q.Account); ok {
			f.AccountID = &id
		} else {
			errs["account"] = t.T("err.choice_invalid")
		}
	}
	if q.Outcome != "" && q.Outcome != models.OutcomeOK && q.Outcome != models.OutcomeDenied && q.Outcome != models.OutcomeError &&
		q.Outcome != models.OutcomeAttempt {
		errs["outcome"] = t.T("err.choice_invalid")
	}
	var ok bool
	if q.Page, ok = parsePage(c.Query("page")); !ok {
		q.Page, q.PageText = 1, c.Query("page")
		errs["page"] = t.T("err.page_invalid")
	}
	f.Offset, f.Limit = (q.Page-1)*auditPageSize, auditPageSize
	return f, q, errs
}

// List shows the audit log, filtered and paged; htmx gets the results
// partial only.
func (h *Audit) List(c *fiber.Ctx) error {
	f, q, errs := h.filter(c)
	p := h.Page(c, "audit.title")
	data := views.AuditData{Query: q, Errors: errs, PageSize: auditPageSize}
	var err error
	if len(errs) == 0 {
		if data.Events, data.Total, err = h.store.ListAudit(c.UserContext(), f); err != nil {
			return err
		}
		// Attempts say how they ended, or that nobody knows.
		var attempts []uint64
		for _, e := range data.Events {
			if e.Outcome == models.OutcomeAttempt {
				attempts = append(attempts, e.ID)
			}
		}
		if data.Outcomes, err = h.store.AttemptOutcomes(c.UserContext(), attempts); err != nil {
			return err
		}
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	// Both the page and the swap name the accounts and users the entries
	// point at.
	if data.Accounts, err = h.store.ListAccounts(c.UserContext()); err != nil {
		return err
	}
	if data.Users, err = h.store.ListUsers(c.UserContext()); err != nil {
		return err
	}
	if IsHTMX(c) && c.Get("HX-Target") == "audit-results" {
		return Render(c, status, views.AuditResults(p, data))
	}
	if data.Actions, err = h.store.AuditActions(c.UserContext()); err != nil {
		return err
	}
	data.Quick = QuickRanges(time.Now(), Zone(c))
	return Render(c, status, views.AuditPage(p, data))
}

// Export streams the filtered log as CSV or JSONL.
func (h *Audit) Export(c *fiber.Ctx) error {
	f, _, errs := h.filter(c)
	if len(errs) > 0 {
		return fiber.NewError(http.StatusUnprocessableEntity)
	}
	format := c.Params("format")
	var mk func(w *bufio.Writer) models.AuditWriter
	switch format {
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		mk = func(w *bufio.Writer) models.AuditWriter { return models.NewAuditCSVWriter(w) }
	case "jsonl":
		c.Set(fiber.HeaderContentType, "application/x-ndjson; charset=utf-8")
		mk = func(w *bufio.Writer) models.AuditWriter { return models.NewAuditJSONLWriter(w) }
	default:
		return fiber.ErrNotFound
	}
	name := "ticketnotes-audit-" + time.Now().UTC().Format("20060102-150405") + "." + format
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	ctx := c.UserContext()
	// Written into the response buffer: a failure half way still returns an
	// error page instead of a silently cut file.
	w := bufio.NewWriter(c.Response().BodyWriter())
	aw := mk(w)
	if err := h.store.EachAudit(ctx, f, aw.Write); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	return w.Flush()
}

// Verify checks the hash chain and shows the result: a page, or the
// banner alone for the audit page's htmx swap. A broken chain or another
// key answers 409.
func (h *Audit) Verify(c *fiber.Ctx) error {
	res, err := h.store.VerifyAudit(c.UserContext())
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !res.OK {
		status = http.StatusConflict
	}
	if IsHTMX(c) && c.Get("HX-Target") == "audit-verify" {
		return Render(c, status, views.AuditVerifyBanner(h.Page(c, "audit.verify_title"), res))
	}
	return Render(c, status, views.AuditVerify(h.Page(c, "audit.verify_title"), res))
}
