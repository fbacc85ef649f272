package models_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// TestMigrateSyncRequestsFromV7 opens a database as version 7 left it
// (no sync_requests table, a pass's state and lease stored): version 8
// adds the table, the state and lease stay, and requests work.
func TestMigrateSyncRequestsFromV7(t *testing.T) {
	t.Parallel()
	db, loc := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "alibaba")
	st := syncer.State{Kind: syncer.PassIncremental, StartedAt: time.Unix(1700000000, 0).UTC(), FinishedAt: time.Unix(1700000060, 0).UTC(),
		Done: 3, Total: 3, Unit: syncer.UnitTickets}
	if err := db.SaveSyncState(ctx, acc, st); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.AcquireSyncLease(ctx, acc, "other-instance", time.Hour); err != nil || !ok {
		t.Fatalf("lease: %v, %v", ok, err)
	}
	db.Close()
	raw := rawDB(t, loc)
	for _, q := range []string{"DROP TABLE sync_requests", "DELETE FROM schema_migrations WHERE id = 8"} {
		if err := raw.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	db2 := openDir(t, loc, testKey)
	got, err := db2.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := allVersions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("applied = %v, want %v", got, want)
	}
	if again, err := db2.SyncState(ctx, acc); err != nil || !again.StartedAt.Equal(st.StartedAt) || again.Done != 3 {
		t.Errorf("state after migrating = %+v, %v; want %+v", again, err, st)
	}
	if owner, _, err := db2.SyncLease(ctx, acc); err != nil || owner != "other-instance" {
		t.Errorf("lease after migrating = %q, %v", owner, err)
	}
	if err := db2.RequestSync(ctx, acc, true); err != nil {
		t.Fatal(err)
	}
	if r, err := db2.SyncRequest(ctx, acc); err != nil || !r.Pending() || !r.Full {
		t.Errorf("request after migrating = %+v, %v", r, err)
	}
}

// A request for an account that does not exist is ErrNotFound, and a
// deleted account's request goes with it.
func TestSyncRequestFollowsTheAccount(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	if err := db.RequestSync(ctx, 999, false); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("request for no account: %v, want ErrNotFound", err)
	}
	acc := newAccount(t, db, "feishu")
	if err := db.RequestSync(ctx, acc, false); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	if r, err := db.SyncRequest(ctx, acc); err != nil || r.Pending() {
		t.Errorf("request of a deleted account = %+v, %v", r, err)
	}
}
