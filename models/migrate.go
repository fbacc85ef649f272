package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// How the schema evolves.
//
// Version 1 is the schema every release before the archive created: gorm's
// AutoMigrate of the application structs (User, StoreEntry, SetupToken,
// Account, AuditEvent, KV). It stays AutoMigrate and runs on every start, so a
// column added to one of those structs still appears without a migration of
// its own; AutoMigrate only adds, never drops, so re-running it is harmless.
// A database that has those tables but no schema_migrations table is simply
// recorded as version 1: AutoMigrate finds nothing to change.
//
// Versions 2 and later are explicit SQL, each applied once, in order, in its
// own transaction that also records it in schema_migrations. Each statement
// is written to be re-runnable (IF NOT EXISTS) so a migration interrupted
// before its record was committed is simply applied again. The SQL is
// portable between SQLite and PostgreSQL except where a migration says
// otherwise (the full-text index is SQLite's FTS4; PostgreSQL gets a GIN
// index over the same tokens column).

// migration is one schema version.
type migration struct {
	ID   int
	Name string
	// Up applies the migration inside tx. pg is true on PostgreSQL.
	Up func(tx *gorm.DB, pg bool) error
}

// migrateLockKey is the PostgreSQL advisory lock ("tnschema") held while
// the schema is brought up to date.
const migrateLockKey int64 = 0x746e736368656d61

// migrations lists every schema version, oldest first; ids only grow.
var migrations = []migration{
	{ID: 1, Name: "base", Up: migrateBase},
	{ID: 2, Name: "archive", Up: migrateArchive},
	{ID: 3, Name: "archive search", Up: migrateSearch},
	{ID: 4, Name: "archive generation", Up: migrateGeneration},
	{ID: 5, Name: "archive hour counts cover", Up: migrateHourCountsCover},
	{ID: 6, Name: "archive search newest first", Up: migrateSearchNewestFirst},
	{ID: 7, Name: "archive firm generation", Up: migrateFirmGeneration},
	{ID: 8, Name: "sync requests", Up: migrateSyncRequests},
	{ID: 9, Name: "archive state indexes", Up: migrateStateIndexes},
	{ID: 10, Name: "archive ticket titles generation", Up: migrateTicketTitleGeneration},
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int { return migrations[len(migrations)-1].ID }

// migrateBase is version 1: the AutoMigrate list in db.go's migrate, run
// inside the version's transaction. The list stays there so that a struct
// added to it needs no change here.
func migrateBase(tx *gorm.DB, _ bool) error {
	return (&DB{g: tx}).migrate(tx.Statement.Context)
}

// migrateSchema brings the schema to SchemaVersion. It returns an error naming
// the migration that failed; nothing of a failed migration is kept.
func (db *DB) migrateSchema(ctx context.Context) error {
	g := db.g.WithContext(ctx)
	pg := db.IsPostgres()
	if pg {
		// Instances starting together on one PostgreSQL database take
		// turns: concurrent CREATE ... IF NOT EXISTS of one table can fail
		// there (both pass the check, one insert into the catalog loses),
		// and the count below locks nothing. A session lock, so it spans
		// every version's transaction; held on one connection of the pool.
		conn, err := db.g.DB()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		c, err := conn.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		// Unlocked on the same connection, before it goes back to the pool.
		defer c.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
	}
	if err := g.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`).Error; err != nil {
		return fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	for _, m := range migrations {
		err := g.Transaction(func(tx *gorm.DB) error {
			// Checked inside the transaction: with SQLite's immediate
			// transactions (and the advisory lock on PostgreSQL) a second
			// process starting at the same time waits and then sees the record.
			var n int64
			if err := tx.Raw("SELECT count(*) FROM schema_migrations WHERE id = ?", m.ID).Scan(&n).Error; err != nil {
				return err
			}
			// Version 1 runs every start (see above); the others once.
			if n > 0 && m.ID != 1 {
				return nil
			}
			if err := m.Up(tx, pg); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// DO NOTHING: the record is once however this was reached.
			return tx.Exec("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
				m.ID, m.Name, time.Now().UTC().UnixNano()).Error
		})
		if err != nil {
			return fmt.Errorf("migrate: %d %s: %w", m.ID, m.Name, err)
		}
	}
	return nil
}

// AppliedMigrations returns the ids of the schema versions recorded in the
// database, oldest first, or the database's error.
func (db *DB) AppliedMigrations(ctx context.Context) ([]int, error) {
	var ids []int
	if err := db.g.WithContext(ctx).Raw("SELECT id FROM schema_migrations ORDER BY id").Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	return ids, nil
}

// execAll runs statements in order. On PostgreSQL the few SQLite spellings
// that differ are rewritten first (see pgSQL).
func execAll(tx *gorm.DB, pg bool, stmts ...string) error {
	for _, s := range stmts {
		if pg {
			s = pgSQL(s)
		}
		if err := tx.Exec(s).Error; err != nil {
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	return nil
}

// pgSQL turns the SQLite column types used by the migrations into
// PostgreSQL's: an auto-numbered key and binary data.
func pgSQL(s string) string {
	return strings.NewReplacer(
		"INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY",
		" BLOB", " BYTEA",
	).Replace(s)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
