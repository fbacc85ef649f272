package models

import (
	"context"
	"fmt"
	"time"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"gorm.io/gorm"
)

// migrateSyncRequests is version 8: the pending "sync now" of each
// account, in the database rather than in one instance's memory, so the
// instance that runs the account's next pass runs it, once. seq grows
// with every request merged into the pending one; want_full is 0 or 1
// (an integer: the same spelling on both databases).
func migrateSyncRequests(tx *gorm.DB, pg bool) error {
	return execAll(tx, pg,
		`CREATE TABLE IF NOT EXISTS sync_requests (
			account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
			seq BIGINT NOT NULL,
			want_full INTEGER NOT NULL DEFAULT 0,
			requested_at BIGINT NOT NULL
		)`,
	)
}

// RequestSync records a pass of the account asked for (a full one when
// full is set), merged into the pending request if there is one: one
// upsert, so requests made on two instances at once both count. It
// returns ErrNotFound when the account does not exist, or the database's
// error.
func (db *DB) RequestSync(ctx context.Context, account uint, full bool) error {
	f := 0
	if full {
		f = 1
	}
	err := db.g.WithContext(ctx).Exec(`INSERT INTO sync_requests (account_id, seq, want_full, requested_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET seq = sync_requests.seq + 1,
			want_full = CASE WHEN excluded.want_full = 1 THEN 1 ELSE sync_requests.want_full END`,
		account, f, time.Now().UTC().UnixNano()).Error
	if err != nil {
		return dbErr(err, "request sync")
	}
	return nil
}

// SyncRequest returns the account's pending request; the zero Request when
// none is. It returns the database's error.
func (db *DB) SyncRequest(ctx context.Context, account uint) (syncer.Request, error) {
	var rows []struct {
		Seq         int64
		WantFull    int
		RequestedAt int64
	}
	if err := db.g.WithContext(ctx).Raw("SELECT seq, want_full, requested_at FROM sync_requests WHERE account_id = ?", account).
		Scan(&rows).Error; err != nil {
		return syncer.Request{}, fmt.Errorf("sync request: %w", err)
	}
	if len(rows) == 0 {
		return syncer.Request{}, nil
	}
	r := rows[0]
	return syncer.Request{Seq: r.Seq, Full: r.WantFull == 1, At: time.Unix(0, r.RequestedAt).UTC()}, nil
}

// ClearSyncRequest deletes the account's pending request if it is still
// req (same seq): a request merged in since stays pending. It returns the
// database's error.
func (db *DB) ClearSyncRequest(ctx context.Context, account uint, req syncer.Request) error {
	if err := db.g.WithContext(ctx).Exec("DELETE FROM sync_requests WHERE account_id = ? AND seq = ?", account, req.Seq).
		Error; err != nil {
		return fmt.Errorf("clear sync request: %w", err)
	}
	return nil
}
