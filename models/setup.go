package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SetupTTL is how long a first-run setup link stays valid.
const SetupTTL = 30 * time.Minute

// SetupToken is a one-time token that creates the first admin. Only its
// hash is stored.
type SetupToken struct {
	ID        uint      `gorm:"primaryKey"`
	TokenHash string    `gorm:"uniqueIndex;size:64;not null"`
	ExpiresAt time.Time `gorm:"not null"`
	UsedAt    *time.Time
	CreatedAt time.Time
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// RandomToken returns n random bytes, hex encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// CreateSetupToken returns a new setup token valid for ttl and revokes every
// earlier one, so only the newest link printed works. It returns an error
// when the database cannot be written.
func (db *DB) CreateSetupToken(ctx context.Context, ttl time.Duration) (string, error) {
	tok := RandomToken(24)
	now := time.Now().UTC()
	st := SetupToken{TokenHash: hashToken(tok), ExpiresAt: now.Add(ttl)}
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A revoked token reads as used: checkSetup refuses it as expired.
		if err := tx.Model(&SetupToken{}).Where("used_at IS NULL").Update("used_at", now).Error; err != nil {
			return err
		}
		return tx.Create(&st).Error
	})
	if err != nil {
		return "", fmt.Errorf("create setup token: %w", err)
	}
	return tok, nil
}

// CheckSetupToken returns nil when tok can still create the first admin,
// ErrExpired when it is used, expired or unknown, and ErrConflict when users
// already exist.
func (db *DB) CheckSetupToken(ctx context.Context, tok string) error {
	return checkSetup(db.g.WithContext(ctx), tok, nil)
}

func checkSetup(tx *gorm.DB, tok string, out *SetupToken) error {
	var n int64
	if err := tx.Model(&User{}).Count(&n).Error; err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("setup: users exist: %w", ErrConflict)
	}
	var st SetupToken
	if err := tx.Where("token_hash = ?", hashToken(tok)).First(&st).Error; err != nil {
		return fmt.Errorf("setup token: %w", ErrExpired)
	}
	if st.UsedAt != nil || time.Now().After(st.ExpiresAt) {
		return fmt.Errorf("setup token: %w", ErrExpired)
	}
	if out != nil {
		*out = st
	}
	return nil
}

// SetupFirstAdmin uses tok once to create the first admin. It returns
// ErrExpired or ErrConflict as CheckSetupToken does, and a *FieldError for
// bad input (the token stays usable then).
func (db *DB) SetupFirstAdmin(ctx context.Context, tok string, in NewUser) (*User, error) {
	in.Role = RoleAdmin
	var u *User
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var st SetupToken
		if err := checkSetup(tx, tok, &st); err != nil {
			return err
		}
		var err error
		if u, err = createUser(tx, in); err != nil {
			return err
		}
		now := time.Now().UTC()
		res := tx.Model(&SetupToken{}).Where("id = ? AND used_at IS NULL", st.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("setup token: %w", ErrExpired)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
