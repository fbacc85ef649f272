package models

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Account is a connected provider account. Settings are plain JSON; secrets
// are one AES-GCM sealed JSON object bound to the account id.
type Account struct {
	ID       uint   `gorm:"primaryKey"`
	Name     string `gorm:"size:200;not null"`
	Kind     string `gorm:"size:20;not null;index"`
	Endpoint string `gorm:"size:500"`
	Disabled bool   `gorm:"not null;default:false"`
	// RateLimit is requests per second; 0 means the vendor default.
	RateLimit float64
	// TimeoutSeconds bounds one vendor call; 0 means the default.
	TimeoutSeconds int
	SettingsJSON   string `gorm:"column:settings;not null;default:'{}'"`
	SecretsSealed  string `gorm:"column:secrets;not null;default:''"`
	// SecretNames lists which secrets are set (names only), so pages can
	// show "set" without decrypting.
	SecretNames string `gorm:"size:500"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Settings returns the account's non-secret settings.
func (a *Account) Settings() map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(a.SettingsJSON), &m)
	return m
}

// HasSecret reports whether the named secret is set.
func (a *Account) HasSecret(name string) bool {
	for _, n := range strings.Split(a.SecretNames, ",") {
		if n == name {
			return true
		}
	}
	return false
}

// Version identifies this state of the account, so caches of built clients
// notice edits.
func (a *Account) Version() string {
	return strconv.FormatUint(uint64(a.ID), 10) + "@" + strconv.FormatInt(a.UpdatedAt.UnixNano(), 10)
}

// AccountInput is what an admin submits for an account. A secret left empty
// on update keeps the stored value.
type AccountInput struct {
	Name           string
	Kind           string
	Endpoint       string
	Disabled       bool
	RateLimit      float64
	TimeoutSeconds int
	Settings       map[string]string
	Secrets        map[string]string
}

func (in *AccountInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return &FieldError{Field: "name", Msg: "err.required"}
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return &FieldError{Field: "name", Msg: "err.too_long"}
	}
	// Written so NaN fails too: SQLite would store it as NULL.
	if !(in.RateLimit >= 0 && in.RateLimit <= 1000) {
		return &FieldError{Field: "rate_limit", Msg: "err.rate_limit_range"}
	}
	if in.TimeoutSeconds < 0 || in.TimeoutSeconds > 300 {
		return &FieldError{Field: "timeout_seconds", Msg: "err.timeout_range"}
	}
	return nil
}

func accountAAD(id uint) []byte { return []byte("account:" + strconv.FormatUint(uint64(id), 10)) }

// seal merges in.Secrets over the current secrets and seals the result.
func (db *DB) seal(a *Account, secrets map[string]string) error {
	if db.box == nil {
		return fmt.Errorf("seal secrets: no secret key configured: %w", ErrInvalid)
	}
	cur := map[string]string{}
	if a.SecretsSealed != "" {
		var err error
		if cur, err = db.openSecrets(a); err != nil {
			return err
		}
	}
	for k, v := range secrets {
		if v != "" {
			cur[k] = v
		}
	}
	names := make([]string, 0, len(cur))
	for k := range cur {
		names = append(names, k)
	}
	sort.Strings(names)
	b, _ := json.Marshal(cur)
	a.SecretsSealed = db.box.Seal(b, accountAAD(a.ID))
	a.SecretNames = strings.Join(names, ",")
	return nil
}

func (db *DB) openSecrets(a *Account) (map[string]string, error) {
	if db.box == nil {
		return nil, fmt.Errorf("open secrets: no secret key configured: %w", ErrInvalid)
	}
	m := map[string]string{}
	if a.SecretsSealed == "" {
		return m, nil
	}
	pt, err := db.box.Open(a.SecretsSealed, accountAAD(a.ID))
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", a.ID, err)
	}
	if err := json.Unmarshal(pt, &m); err != nil {
		return nil, fmt.Errorf("account %d: secrets: %w", a.ID, ErrInvalid)
	}
	return m, nil
}

// AccountSecrets decrypts an account's secrets. It returns ErrInvalid when
// they cannot be opened with the configured key.
func (db *DB) AccountSecrets(a *Account) (map[string]string, error) { return db.openSecrets(a) }

// CreateAccount stores a new account. The caller has validated the
// vendor-specific fields; this checks the common ones (*FieldError).
func (db *DB) CreateAccount(ctx context.Context, in AccountInput) (*Account, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	settings, _ := json.Marshal(nonNil(in.Settings))
	a := &Account{Name: in.Name, Kind: in.Kind, Endpoint: in.Endpoint, Disabled: in.Disabled,
		RateLimit: in.RateLimit, TimeoutSeconds: in.TimeoutSeconds, SettingsJSON: string(settings)}
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The id is part of the secrets' associated data, so insert first.
		if err := tx.Create(a).Error; err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		if err := db.seal(a, in.Secrets); err != nil {
			return err
		}
		return tx.Model(a).Updates(map[string]any{"secrets": a.SecretsSealed, "secret_names": a.SecretNames}).Error
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// UpdateAccount changes an account; Kind cannot change. Empty secrets keep
// their stored values. It returns ErrNotFound or a *FieldError.
func (db *DB) UpdateAccount(ctx context.Context, id uint, in AccountInput) (*Account, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var a Account
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&a, id).Error; err != nil {
			return notFound(err, "account")
		}
		settings, _ := json.Marshal(nonNil(in.Settings))
		a.Name, a.Endpoint, a.Disabled = in.Name, in.Endpoint, in.Disabled
		a.RateLimit, a.TimeoutSeconds, a.SettingsJSON = in.RateLimit, in.TimeoutSeconds, string(settings)
		if err := db.seal(&a, in.Secrets); err != nil {
			return err
		}
		if err := tx.Save(&a).Error; err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// SetAccountDisabled enables or disables an account.
func (db *DB) SetAccountDisabled(ctx context.Context, id uint, disabled bool) (*Account, error) {
	a, err := db.AccountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	a.Disabled = disabled
	if err := db.g.WithContext(ctx).Save(a).Error; err != nil {
		return nil, fmt.Errorf("disable account: %w", err)
	}
	return a, nil
}

// DeleteAccount deletes an account. It returns ErrNotFound when it is gone.
func (db *DB) DeleteAccount(ctx context.Context, id uint) error {
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Its archived notes go with it (a cascade): pages show that at once.
		if err := bumpFirm(tx); err != nil {
			return err
		}
		res := tx.Delete(&Account{}, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// AccountByID returns the account or ErrNotFound.
func (db *DB) AccountByID(ctx context.Context, id uint) (*Account, error) {
	var a Account
	if err := db.g.WithContext(ctx).First(&a, id).Error; err != nil {
		return nil, notFound(err, "account")
	}
	return &a, nil
}

// ListAccounts returns every account ordered by name.
func (db *DB) ListAccounts(ctx context.Context) ([]Account, error) {
	var as []Account
	if err := db.g.WithContext(ctx).Order(db.byteOrder("name") + ", id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return as, nil
}
