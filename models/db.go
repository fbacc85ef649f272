// Package models is the only package that touches the database. Every
// function takes a context first; errors unwrap to the sentinels in
// errors.go.
package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the application's database handle.
type DB struct {
	g *gorm.DB
	// auditMu serialises audit appends inside this process; the database
	// transaction (and on PostgreSQL an advisory lock) does it across
	// processes.
	auditMu sync.Mutex
	// box seals account secrets; nil until SetSecretBox is called.
	box *SecretBox
	// auditKey keys the audit chain; nil until SetAuditKey is called.
	auditKey *auditKey
}

// Options say where the database is.
type Options struct {
	// URL is a PostgreSQL URL ("postgres://..."); empty means SQLite in DataDir.
	URL string
	// DataDir holds ticketnotes.db for SQLite.
	DataDir string
}

// SQLiteFile is the database file name inside the data dir.
const SQLiteFile = "ticketnotes.db"

// Open opens the database and runs migrations. It returns an error when the
// data dir cannot be created or the database cannot be opened or migrated.
func Open(ctx context.Context, opts Options) (*DB, error) {
	var dial gorm.Dialector
	if strings.HasPrefix(opts.URL, "postgres://") || strings.HasPrefix(opts.URL, "postgresql://") {
		dial = postgres.Open(opts.URL)
	} else if opts.URL != "" {
		return nil, fmt.Errorf("database url: only postgres:// is supported, or leave it empty for SQLite: %w", ErrInvalid)
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		// WAL lets readers run beside the single writer; the busy timeout
		// makes a second process (the CLI) wait instead of failing.
		dsn := "file:" + filepath.Join(opts.DataDir, SQLiteFile) +
			"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
		dial = sqlite.Open(dsn)
	}
	g, err := gorm.Open(dial, &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		TranslateError: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db := &DB{g: g}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// IsPostgres reports whether the database is PostgreSQL.
func (db *DB) IsPostgres() bool { return db.g.Dialector.Name() == "postgres" }

// Close closes the database.
func (db *DB) Close() error {
	sqlDB, err := db.g.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping returns an error when the database does not answer.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.g.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Backup writes a consistent copy of a SQLite database to path while the
// server runs. It returns ErrInvalid on PostgreSQL (use pg_dump there).
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.IsPostgres() {
		return fmt.Errorf("backup: use pg_dump for PostgreSQL: %w", ErrInvalid)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s already exists: %w", path, ErrConflict)
	}
	return db.g.WithContext(ctx).Exec("VACUUM INTO ?", path).Error
}

// migrate creates or updates the schema.
func (db *DB) migrate(ctx context.Context) error {
	err := db.g.WithContext(ctx).AutoMigrate(
		&User{}, &StoreEntry{}, &SetupToken{}, &Account{}, &AuditEvent{}, &KV{},
	)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// notFound turns gorm's record-not-found into ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}
