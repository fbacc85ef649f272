package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// SyncState returns the account's sync state; the zero State when no pass
// has run. It returns the database's error, or ErrInvalid when the stored
// state cannot be read.
func (db *DB) SyncState(ctx context.Context, account uint) (syncer.State, error) {
	var raw []string
	if err := db.g.WithContext(ctx).Raw("SELECT state FROM sync_states WHERE account_id = ?", account).
		Scan(&raw).Error; err != nil {
		return syncer.State{}, fmt.Errorf("sync state: %w", err)
	}
	if len(raw) == 0 {
		return syncer.State{}, nil
	}
	return decodeState(account, raw[0])
}

// decodeState reads a stored state. A nil Checkpoint is stored as JSON null
// and must come back nil, not as the bytes "null".
func decodeState(account uint, raw string) (syncer.State, error) {
	var st syncer.State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return syncer.State{}, fmt.Errorf("sync state of account %d: %v: %w", account, err, ErrInvalid)
	}
	if string(st.Checkpoint) == "null" {
		st.Checkpoint = nil
	}
	return st, nil
}

// SyncStates returns every account's sync state keyed by account id, for
// pages that show each account's freshness. It returns the database's
// error, or ErrInvalid when a stored state cannot be read.
func (db *DB) SyncStates(ctx context.Context) (map[uint]syncer.State, error) {
	var rows []struct {
		AccountID uint
		State     string
	}
	if err := db.g.WithContext(ctx).Raw("SELECT account_id, state FROM sync_states").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("sync states: %w", err)
	}
	out := make(map[uint]syncer.State, len(rows))
	for _, r := range rows {
		st, err := decodeState(r.AccountID, r.State)
		if err != nil {
			return nil, err
		}
		out[r.AccountID] = st
	}
	return out, nil
}

// AccountsAndStates returns the accounts as ListAccounts orders them and
// their sync states keyed by account id (an account with no pass run has
// none), read in one statement: the notes page shows both, and on
// PostgreSQL each statement is a round trip. It returns the database's
// error, or ErrInvalid when a stored state cannot be read.
func (db *DB) AccountsAndStates(ctx context.Context) ([]Account, map[uint]syncer.State, error) {
	var rows []struct {
		Account
		SyncState *string
	}
	err := db.g.WithContext(ctx).Table("accounts").
		Select("accounts.*, sync_states.state AS sync_state").
		Joins("LEFT JOIN sync_states ON sync_states.account_id = accounts.id").
		Order(db.byteOrder("accounts.name") + ", accounts.id").Scan(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("accounts and sync states: %w", err)
	}
	as := make([]Account, len(rows))
	states := make(map[uint]syncer.State, len(rows))
	for i, r := range rows {
		as[i] = r.Account
		if r.SyncState == nil {
			continue
		}
		st, err := decodeState(r.ID, *r.SyncState)
		if err != nil {
			return nil, nil, err
		}
		states[r.ID] = st
	}
	return as, states, nil
}

// SaveSyncState replaces the account's state; the lease is left alone. It
// returns ErrNotFound when the account does not exist, or the database's
// error.
func (db *DB) SaveSyncState(ctx context.Context, account uint, st syncer.State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save sync state: %w", err)
	}
	err = db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return saveState(tx, account, st.Running(), b)
	})
	if err != nil {
		return dbErr(err, "save sync state")
	}
	return nil
}

// saveState is SaveSyncState inside tx, with the state already encoded.
func saveState(tx *gorm.DB, account uint, running bool, state []byte) error {
	// A pass that ended (done or failed) has stored all it will: the next
	// page shows it exactly (see migrateFirmGeneration).
	if !running {
		if err := bumpFirm(tx); err != nil {
			return err
		}
	}
	return tx.Exec(`INSERT INTO sync_states (account_id, state) VALUES (?, ?)
		ON CONFLICT (account_id) DO UPDATE SET state = excluded.state`, account, string(state)).Error
}

// AcquireSyncLease takes the account's lease for owner until now+ttl when
// nobody holds it, it has expired, or owner holds it already (a renewal),
// and reports whether owner holds it now. It is the one place that decides
// who runs an account's pass: a single conditional upsert, so two processes
// on one database (the server and `ticketnotes sync`) cannot both win. It
// returns ErrInvalid for an empty owner, ErrNotFound when the account does
// not exist, or the database's error.
func (db *DB) AcquireSyncLease(ctx context.Context, account uint, owner string, ttl time.Duration) (bool, error) {
	if owner == "" {
		return false, fmt.Errorf("acquire sync lease: empty owner: %w", ErrInvalid)
	}
	now := time.Now().UTC()
	res := db.g.WithContext(ctx).Exec(`INSERT INTO sync_states (account_id, lease_owner, lease_until) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
		WHERE sync_states.lease_until < ? OR sync_states.lease_owner = ?`,
		account, owner, now.Add(ttl).UnixNano(), now.UnixNano(), owner)
	if res.Error != nil {
		return false, dbErr(res.Error, "acquire sync lease")
	}
	return res.RowsAffected == 1, nil
}

// ReleaseSyncLease gives up owner's lease on the account; releasing a lease
// owner does not hold changes nothing and is not an error. It returns the
// database's error.
func (db *DB) ReleaseSyncLease(ctx context.Context, account uint, owner string) error {
	err := db.g.WithContext(ctx).Exec(`UPDATE sync_states SET lease_owner = '', lease_until = 0
		WHERE account_id = ? AND lease_owner = ?`, account, owner).Error
	if err != nil {
		return fmt.Errorf("release sync lease: %w", err)
	}
	return nil
}

// SyncLease returns who holds the account's lease and until when; an empty
// owner when nobody does. It returns the database's error.
func (db *DB) SyncLease(ctx context.Context, account uint) (owner string, until time.Time, err error) {
	var rows []struct {
		LeaseOwner string
		LeaseUntil int64
	}
	if err := db.g.WithContext(ctx).Raw("SELECT lease_owner, lease_until FROM sync_states WHERE account_id = ?", account).
		Scan(&rows).Error; err != nil {
		return "", time.Time{}, fmt.Errorf("sync lease: %w", err)
	}
	if len(rows) == 0 || rows[0].LeaseOwner == "" || rows[0].LeaseUntil < time.Now().UnixNano() {
		return "", time.Time{}, nil
	}
	return rows[0].LeaseOwner, time.Unix(0, rows[0].LeaseUntil).UTC(), nil
}
