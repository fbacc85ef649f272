package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// StoreEntry is one expiring key/value pair: a server-side session or a
// rate-limiter counter. Keys are stored hashed, so a copy of the database
// does not hand out live session ids.
type StoreEntry struct {
	KeyHash   string    `gorm:"primaryKey;size:64"`
	Value     []byte    `gorm:"not null"`
	ExpiresAt time.Time `gorm:"index"` // zero: never
}

// Store is a key/value store with expiry kept in the database, so sessions
// survive restarts and are shared by instances on one database. It has the
// method set of fiber.Storage.
type Store struct {
	db     *DB
	prefix string
}

// Store returns a Store whose keys live under prefix ("session:", ...).
func (db *DB) Store(prefix string) *Store { return &Store{db: db, prefix: prefix} }

func (s *Store) hash(key string) string {
	sum := sha256.Sum256([]byte(s.prefix + key))
	return hex.EncodeToString(sum[:])
}

// Get returns the value for key, or nil when it is missing or expired.
func (s *Store) Get(key string) ([]byte, error) {
	var e StoreEntry
	err := s.db.g.Where("key_hash = ?", s.hash(key)).First(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store get: %w", err)
	}
	if !e.ExpiresAt.IsZero() && time.Now().After(e.ExpiresAt) {
		return nil, nil
	}
	return e.Value, nil
}

// Set stores val under key for exp (0: no expiry).
func (s *Store) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	e := StoreEntry{KeyHash: s.hash(key), Value: val}
	if exp > 0 {
		e.ExpiresAt = time.Now().Add(exp).UTC()
	}
	err := s.db.g.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key_hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "expires_at"}),
	}).Create(&e).Error
	if err != nil {
		return fmt.Errorf("store set: %w", err)
	}
	return nil
}

// Delete removes key.
func (s *Store) Delete(key string) error {
	if err := s.db.g.Where("key_hash = ?", s.hash(key)).Delete(&StoreEntry{}).Error; err != nil {
		return fmt.Errorf("store delete: %w", err)
	}
	return nil
}

// Reset removes every entry of every prefix. Fiber calls it only on demand.
func (s *Store) Reset() error {
	return s.db.g.Where("1 = 1").Delete(&StoreEntry{}).Error
}

// Close does nothing: the database outlives the store.
func (s *Store) Close() error { return nil }

// CountStoreEntries returns how many sessions and counters are stored,
// expired ones included (tests watch it for write amplification).
func (db *DB) CountStoreEntries(ctx context.Context) (int64, error) {
	var n int64
	if err := db.g.WithContext(ctx).Model(&StoreEntry{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count store entries: %w", err)
	}
	return n, nil
}

// SweepExpired deletes expired entries and returns how many went.
func (db *DB) SweepExpired(ctx context.Context) (int64, error) {
	res := db.g.WithContext(ctx).Where("expires_at > ? AND expires_at < ?", time.Time{}, time.Now().UTC()).Delete(&StoreEntry{})
	if res.Error != nil {
		return 0, fmt.Errorf("sweep expired: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Claim stores key once: it returns true for the first caller and false for
// every later one until the entry expires. Double-submitted forms use it so
// a create happens once.
func (s *Store) Claim(ctx context.Context, key string, exp time.Duration) (bool, error) {
	e := StoreEntry{KeyHash: s.hash(key), Value: []byte{1}, ExpiresAt: time.Now().Add(exp).UTC()}
	// An expired claim may be taken again: clear it first.
	if err := s.db.g.WithContext(ctx).Where("key_hash = ? AND expires_at < ?", e.KeyHash, time.Now().UTC()).
		Delete(&StoreEntry{}).Error; err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}
	res := s.db.g.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
	if res.Error != nil {
		return false, fmt.Errorf("claim: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}
