// Package models is the only package that touches the database. Every
// function takes a context first; errors unwrap to the sentinels in
// errors.go.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
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
	// cache keeps recent searches' matches and counts (see searchCache).
	cache *genCache[cachedSearch]
	// pages keeps the notes pages last read (see NotesPage).
	pages *genCache[NotesPage]
	// reads queues the archive's list and search reads (see readGate).
	reads readGate
	// statements counts the SQL statements run through g (see Statements).
	statements atomic.Uint64
	// planTimeout bounds a PostgreSQL search's first plan (see rankHits).
	planTimeout time.Duration
	// pageLag is how far behind a running sync pass a kept notes page
	// may be served (see NotesPage); 0 turns that off.
	pageLag time.Duration
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
		path := filepath.Join(opts.DataDir, SQLiteFile)
		if err := ownerOnly(path); err != nil {
			return nil, err
		}
		// WAL lets readers run beside the single writer; the busy timeout
		// makes a second process (the CLI) wait instead of failing.
		dsn := "file:" + path +
			"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
		dial = sqlite.New(sqlite.Config{DriverName: sqliteDriver, DSN: dsn})
	}
	g, err := gorm.Open(dial, &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		TranslateError: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// database/sql keeps 2 idle connections by default: with more
	// concurrent requests than that, every extra one opens a connection.
	// On SQLite a new connection re-reads the schema and starts with a
	// cold page cache; on PostgreSQL it is a new server process (measured:
	// 550 connections for 640 page views at 16 clients, the p50 69 ms).
	sqlDB.SetMaxIdleConns(idleConns)
	if dial.Name() != "sqlite" {
		// A burst's connections are server processes: give them back
		// once the burst is long over.
		sqlDB.SetConnMaxIdleTime(pgConnMaxIdle)
	}
	db := &DB{g: g, cache: newSearchCache(), pages: newGenCache[NotesPage](pageCacheEntries), reads: newReadGate(), pageLag: defaultPageLag,
		planTimeout: pgPlanTimeout}
	if err := db.countStatements(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.migrateSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Statements returns how many SQL statements this handle has run since it
// was opened: every query, insert, update, delete and raw statement, not a
// transaction's BEGIN and COMMIT. On PostgreSQL each is a round trip, so a
// page's count is what its latency over the network grows with; the
// metrics show it, and tests bound it.
func (db *DB) Statements() uint64 { return db.statements.Load() }

// countStatements makes every statement g runs count in db.statements.
func (db *DB) countStatements() error {
	count := func(*gorm.DB) { db.statements.Add(1) }
	cb := db.g.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("ticketnotes:count", count),
		cb.Query().After("gorm:query").Register("ticketnotes:count", count),
		cb.Update().After("gorm:update").Register("ticketnotes:count", count),
		cb.Delete().After("gorm:delete").Register("ticketnotes:count", count),
		cb.Row().After("gorm:row").Register("ticketnotes:count", count),
		cb.Raw().After("gorm:raw").Register("ticketnotes:count", count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// idleConns is how many connections stay open between requests: enough
// for 16 concurrent page views without reconnecting.
const idleConns = 16

// pgConnMaxIdle is how long an idle PostgreSQL connection is kept.
const pgConnMaxIdle = 5 * time.Minute

// sqlitePragmas run on every new SQLite connection (the DSN cannot say
// them). The page cache (cache_size, in KiB when negative) is per
// connection and outside Go's heap, so with 16 connections it stays at
// SQLite's usual 2 MiB; pages beyond it come from the OS page cache, which
// is not the process's memory. No mmap: mapped pages count in the
// process's RSS (measured: a 2 GiB map took the server past 280 MB during
// a million-note backfill) and the reads were no faster for it (see
// BENCHMARKS.md, "Archive"). temp_store keeps a search's sorter in memory.
var sqlitePragmas = []string{
	"PRAGMA mmap_size = 0",
	"PRAGMA cache_size = -2048",
	"PRAGMA temp_store = MEMORY",
}

// sqliteDriver is the database/sql name of the SQLite driver with
// sqlitePragmas.
const sqliteDriver = "sqlite3_ticketnotes"

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range sqlitePragmas {
			if _, err := c.Exec(p, nil); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	}})
}

// IsPostgres reports whether the database is PostgreSQL.
func (db *DB) IsPostgres() bool { return db.g.Dialector.Name() == "postgres" }

// byteOrder is col for an ORDER BY that sorts text byte by byte, as SQLite
// does: on PostgreSQL the database's collation (often a language's, where
// "_ops" < "Alpha" < "alpha") would order lists differently.
func (db *DB) byteOrder(col string) string {
	if db.IsPostgres() {
		return col + ` COLLATE "C"`
	}
	return col
}

// Close closes the database.
func (db *DB) Close() error {
	// A page read in the background (see NotesPage) ends first.
	db.pages.drain()
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

// ownerOnly makes the SQLite database at path readable by its owner only:
// it creates the file with mode 0600 when it is missing, and tightens an
// existing database and its -wal, -shm and -journal files to 0600. SQLite
// gives the files it creates beside a database that database's mode, so
// they follow. It returns an error when a file cannot be created or
// changed.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			err = os.Chmod(p, 0o600)
		}
		if err != nil {
			return fmt.Errorf("database file mode: %w", err)
		}
	}
	return nil
}

// Backup writes a consistent copy of a SQLite database to path while the
// server runs, readable by its owner only (mode 0600). It returns
// ErrConflict when path exists and ErrInvalid on PostgreSQL (use pg_dump
// there).
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.IsPostgres() {
		return fmt.Errorf("backup: use pg_dump for PostgreSQL: %w", ErrInvalid)
	}
	// Created empty first, with its mode: VACUUM INTO fills an empty file
	// and keeps its permissions. O_EXCL also makes the existence check and
	// the creation one step.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("backup: %s already exists: %w", path, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := db.g.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
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
