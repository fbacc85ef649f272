package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Roles a user can have.
const (
	RoleAdmin   = "admin"
	RoleManager = "manager"
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// User is a person who signs in.
type User struct {
	ID           uint   `gorm:"primaryKey"`
	Email        string `gorm:"uniqueIndex;size:320;not null"`
	Name         string `gorm:"size:200"`
	Role         string `gorm:"size:20;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	Disabled     bool   `gorm:"not null;default:false"`
	// Lang is a BCP 47 tag ("en", "zh-Hans"); empty follows the browser.
	Lang string `gorm:"size:20"`
	// TimeZone is an IANA zone name; empty means the server's zone.
	TimeZone string `gorm:"size:64"`
	// SessionEpoch moves with every password reset; a session records the
	// epoch it signed in under and ends when the two differ.
	SessionEpoch int64 `gorm:"not null;default:0"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
}

// IsAdmin reports whether u may change things.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// NewUser is the input for creating a user.
type NewUser struct {
	Email    string
	Name     string
	Role     string
	Password string
}

// normalizeEmail lower-cases and trims an address and checks its form.
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 320 {
		return "", &FieldError{Field: "email", Msg: "err.email_invalid"}
	}
	return s, nil
}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleManager }

// CheckPassword returns a *FieldError when pw is not acceptable.
func CheckPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen {
		return &FieldError{Field: "password", Msg: "err.password_short"}
	}
	// bcrypt ignores everything past 72 bytes; refuse rather than truncate.
	if len(pw) > 72 {
		return &FieldError{Field: "password", Msg: "err.password_long"}
	}
	return nil
}

func (in NewUser) validate() (NewUser, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return in, err
	}
	in.Email = email
	in.Name = strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(in.Name) > 200 {
		return in, &FieldError{Field: "name", Msg: "err.too_long"}
	}
	if !ValidRole(in.Role) {
		return in, &FieldError{Field: "role", Msg: "err.role_invalid"}
	}
	return in, CheckPassword(in.Password)
}

// bcryptCost is a variable so tests can lower it.
var bcryptCost = bcrypt.DefaultCost

// SetBcryptCostForTests lowers the hashing cost to keep test suites quick.
// It must not be called by the server.
func SetBcryptCostForTests() { bcryptCost = bcrypt.MinCost }

func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CreateUser validates in and stores a new user. It returns a *FieldError
// (ErrInvalid) for bad input and ErrConflict when the email is taken.
func (db *DB) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	return createUser(db.g.WithContext(ctx), in)
}

func createUser(tx *gorm.DB, in NewUser) (*User, error) {
	in, err := in.validate()
	if err != nil {
		return nil, err
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{Email: in.Email, Name: in.Name, Role: in.Role, PasswordHash: hash}
	if err := tx.Create(u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, &conflictField{FieldError{Field: "email", Msg: "err.email_taken"}}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// conflictField is a field error that matches ErrConflict.
type conflictField struct{ FieldError }

func (e *conflictField) Unwrap() []error { return []error{&e.FieldError, ErrConflict} }

// dummyHash is compared against when an email is unknown, so a sign-in takes
// as long for a missing user as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("ticketnotes-dummy-password"), bcrypt.DefaultCost)

// Authenticate returns the enabled user with this email and password, or
// ErrUnauthorized. It records the sign-in time.
func (db *DB) Authenticate(ctx context.Context, email, password string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var u User
	err := db.g.WithContext(ctx).Where("email = ?", email).First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || u.Disabled {
		return nil, ErrUnauthorized
	}
	now := time.Now().UTC()
	u.LastLoginAt = &now
	if err := db.g.WithContext(ctx).Model(&u).UpdateColumn("last_login_at", now).Error; err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return &u, nil
}

// UserByID returns the user or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id uint) (*User, error) {
	var u User
	if err := db.g.WithContext(ctx).First(&u, id).Error; err != nil {
		return nil, notFound(err, "user")
	}
	return &u, nil
}

// UserByEmail returns the user or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := db.g.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).First(&u).Error
	if err != nil {
		return nil, notFound(err, "user")
	}
	return &u, nil
}

// ListUsers returns every user ordered by email.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	var us []User
	if err := db.g.WithContext(ctx).Order(db.byteOrder("email")).Find(&us).Error; err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// CountUsers returns how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := db.g.WithContext(ctx).Model(&User{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// UserUpdate is what an admin may change on a user.
type UserUpdate struct {
	Name     string
	Role     string
	Disabled bool
}

// UpdateUser changes a user's name, role and disabled flag. It returns a
// *FieldError when the change would leave no enabled admin.
func (db *DB) UpdateUser(ctx context.Context, id uint, in UserUpdate) (*User, error) {
	var out *User
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u User
		if err := tx.First(&u, id).Error; err != nil {
			return notFound(err, "user")
		}
		in.Name = strings.TrimSpace(in.Name)
		if utf8.RuneCountInString(in.Name) > 200 {
			return &FieldError{Field: "name", Msg: "err.too_long"}
		}
		if !ValidRole(in.Role) {
			return &FieldError{Field: "role", Msg: "err.role_invalid"}
		}
		if u.Role == RoleAdmin && !u.Disabled && (in.Role != RoleAdmin || in.Disabled) {
			var admins int64
			if err := tx.Model(&User{}).Where("role = ? AND disabled = ?", RoleAdmin, false).Count(&admins).Error; err != nil {
				return err
			}
			if admins <= 1 {
				return &FieldError{Field: "role", Msg: "err.last_admin"}
			}
		}
		u.Name, u.Role, u.Disabled = in.Name, in.Role, in.Disabled
		if err := tx.Save(&u).Error; err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		out = &u
		return nil
	})
	return out, err
}

// SetPreferences stores a user's language and time zone. It returns a
// *FieldError for an unknown zone.
func (db *DB) SetPreferences(ctx context.Context, id uint, lang, zone string) error {
	if zone != "" {
		if _, err := time.LoadLocation(zone); err != nil {
			return &FieldError{Field: "timezone", Msg: "err.timezone_invalid"}
		}
	}
	if len(lang) > 20 {
		return &FieldError{Field: "lang", Msg: "err.too_long"}
	}
	res := db.g.WithContext(ctx).Model(&User{}).Where("id = ?", id).
		Updates(map[string]any{"lang": lang, "time_zone": zone})
	if res.Error != nil {
		return fmt.Errorf("set preferences: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set preferences: %w", ErrNotFound)
	}
	return nil
}

// SetPassword replaces a user's password and moves their session epoch,
// which ends every session signed in before. It returns a *FieldError for a
// weak password and ErrNotFound for an unknown user.
func (db *DB) SetPassword(ctx context.Context, id uint, pw string) error {
	if err := CheckPassword(pw); err != nil {
		return err
	}
	hash, err := hashPassword(pw)
	if err != nil {
		return err
	}
	res := db.g.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(map[string]any{
		"password_hash": hash, "session_epoch": gorm.Expr("session_epoch + 1"),
	})
	if res.Error != nil {
		return fmt.Errorf("set password: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("set password: %w", ErrNotFound)
	}
	return nil
}
