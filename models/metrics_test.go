package models_test

import (
	"context"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

func TestAccountFigures(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	synced := newAccount(t, db, string(providers.KindSendbird))
	fresh := newAccount(t, db, string(providers.KindFeishu))
	// Two notes, then the ticket again without the second: one live, one
	// deleted.
	storeTicket(t, db, synced, "1", note("1", "a", "first", day(1)), note("1", "b", "second", day(2)))
	storeTicket(t, db, synced, "1", note("1", "a", "first", day(1)))
	if err := db.SaveSyncState(ctx, synced, syncer.State{LastOKAt: day(21)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.AccountFigures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d accounts, want 2", len(got))
	}
	a, b := got[0], got[1]
	if a.ID != synced || a.Kind != "sendbird" || a.Notes != 1 || a.Deleted != 1 || !a.LastOKAt.Equal(day(21)) || a.CreatedAt.IsZero() {
		t.Errorf("synced account: %+v", a)
	}
	if b.ID != fresh || b.Kind != "feishu" || b.Notes != 0 || b.Deleted != 0 || !b.LastOKAt.IsZero() {
		t.Errorf("account never synced: %+v", b)
	}
}

func TestAuditRowsFollowsTheChain(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	if n, err := db.AuditRows(ctx); err != nil || n != 0 {
		t.Fatalf("empty log: %d rows, %v", n, err)
	}
	appendN(t, db, 3)
	n, err := db.AuditRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(3); got != want {
		t.Errorf("rows %d, want %d", got, want)
	}
}
