package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/views"
)

// Syncer is the sync engine as the handlers use it: requests only, never a
// pass run in a request. Both methods return syncer.ErrUnknownAccount for
// an account the engine does not sync (deleted or disabled).
type Syncer interface {
	// SyncNow asks for a pass of the account (a full one when full is set)
	// and returns at once.
	SyncNow(id uint, full bool) error
	// RefreshTicket asks for one ticket's notes to be read again and
	// returns at once.
	RefreshTicket(id uint, ticket string) error
}

// SyncStore is what the accounts page reads of the archive: each account's
// sync state and how much its archive holds. Its methods return the
// database's error.
type SyncStore interface {
	SyncStates(ctx context.Context) (map[uint]syncer.State, error)
	ArchiveCounts(ctx context.Context, account uint) (tickets, notes int64, err error)
}

// SetSyncer hands the notes handlers the sync engine, so opening a
// conversation can queue a refresh of its ticket.
func (h *Notes) SetSyncer(s Syncer) { h.syncer = s }

// Sync asks the engine for a pass of the account ("Sync now"; form field
// full=1 for a full pass) and audits the request as account.sync. htmx gets
// 204 with the sync-started event, so pages re-poll their freshness; a
// plain form is sent back to its page (form field back). A disabled or
// unknown-to-the-engine account answers 409, a missing one 404.
func (h *Accounts) Sync(c *fiber.Ctx) error {
	a, err := h.account(c)
	if err != nil {
		return err
	}
	full := c.FormValue("full") == "1"
	ev := Event{Action: "account.sync", Target: accountTarget(a.ID), AccountID: &a.ID, After: map[string]bool{"full": full}}
	switch {
	case a.Disabled:
		err = errors.New("account is disabled")
	case h.sync == nil:
		err = errors.New("no sync engine")
	default:
		err = h.sync.SyncNow(a.ID, full)
	}
	if err != nil {
		ev.Outcome, ev.Message = models.OutcomeError, err.Error()
		if rerr := h.Record(c, ev); rerr != nil {
			return rerr
		}
		return fiber.NewError(http.StatusConflict, h.T(c).T("accounts.sync_refused"))
	}
	if err := h.Record(c, ev); err != nil {
		return err
	}
	if IsHTMX(c) {
		c.Set("HX-Trigger", "sync-started")
		return c.SendStatus(http.StatusNoContent)
	}
	back := "/accounts"
	if v := c.FormValue("back"); v != "" {
		back = safeNext(v)
	}
	return c.Redirect(back, http.StatusSeeOther)
}

// SyncStatus is one account's freshness line, which the accounts page
// polls while a pass runs and after "Sync now".
func (h *Accounts) SyncStatus(c *fiber.Ctx) error {
	a, err := h.account(c)
	if err != nil {
		return err
	}
	syncs, err := h.syncViews(c, []models.Account{*a})
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.AccountSyncLine(h.Page(c, "accounts.title"), *a, syncs[a.ID]))
}

// syncViews reads each account's sync state and archive counts. Without a
// store (tests of other screens) every account shows as never synced.
func (h *Accounts) syncViews(c *fiber.Ctx, as []models.Account) (map[uint]views.AccountSync, error) {
	out := make(map[uint]views.AccountSync, len(as))
	if h.store == nil {
		return out, nil
	}
	ctx := c.UserContext()
	states, err := h.store.SyncStates(ctx)
	if err != nil {
		return nil, err
	}
	t := h.T(c)
	for _, a := range as {
		v := views.AccountSync{State: states[a.ID]}
		if v.Tickets, v.Notes, err = h.store.ArchiveCounts(ctx, a.ID); err != nil {
			return nil, err
		}
		if pe := v.State.Err; pe != nil {
			v.Failure, v.Where = passFailure(t, pe), pe.Where
		}
		out[a.ID] = v
	}
	return out, nil
}
