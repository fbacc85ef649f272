package models

import (
	"context"
	"fmt"
	"time"
)

// AccountFigures is what the metrics show of one account, read at scrape
// time so every instance on one database reports the same.
type AccountFigures struct {
	ID       uint
	Kind     string
	Disabled bool
	// CreatedAt is when the account was added: an account never synced has
	// been out of date since then.
	CreatedAt time.Time
	// LastOKAt is the end of the last sync pass that succeeded; zero when
	// none has.
	LastOKAt time.Time
	// Notes and Deleted are the archive's live and deleted notes.
	Notes, Deleted int64
}

// AccountFigures returns every account's figures, by id. The queries read
// only small per-account rows (the counts the archive keeps as it writes),
// never the notes themselves. It returns the database's error, or
// ErrInvalid when a stored sync state cannot be read.
func (db *DB) AccountFigures(ctx context.Context) ([]AccountFigures, error) {
	var as []Account
	if err := db.g.WithContext(ctx).Select("id", "kind", "disabled", "created_at").Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("account figures: %w", err)
	}
	states, err := db.SyncStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("account figures: %w", err)
	}
	var counts []struct {
		AccountID      uint
		Notes, Deleted int64
	}
	if err := db.g.WithContext(ctx).Raw("SELECT account_id, notes, deleted FROM archive_counts").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("account figures: %w", err)
	}
	byID := make(map[uint][2]int64, len(counts))
	for _, c := range counts {
		byID[c.AccountID] = [2]int64{c.Notes, c.Deleted}
	}
	out := make([]AccountFigures, len(as))
	for i, a := range as {
		n := byID[a.ID]
		out[i] = AccountFigures{ID: a.ID, Kind: a.Kind, Disabled: a.Disabled, CreatedAt: a.CreatedAt,
			LastOKAt: states[a.ID].LastOKAt, Notes: n[0], Deleted: n[1]}
	}
	return out, nil
}

// AuditRows returns how many rows the audit chain holds, as its head
// records them (no count over the table); 0 for an empty log. It returns
// the database's error, or one wrapping errAuditHeadCorrupt when the head
// cannot be read.
func (db *DB) AuditRows(ctx context.Context) (int64, error) {
	h, _, err := readAuditHead(db.g.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("audit rows: %w", err)
	}
	return h.Rows, nil
}
