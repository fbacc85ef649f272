package models_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// wantPrivate fails the test unless path exists with mode 0600.
func wantPrivate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("%s: mode %#o, want 0600", filepath.Base(path), got)
	}
}

// TestDatabaseAndBackupFilesAreOwnerOnly: the database, its WAL and
// shared-memory files and a backup hold every secret's ciphertext and the
// audit log; none is readable by other users, whatever the umask lets
// SQLite create.
func TestDatabaseAndBackupFilesAreOwnerOnly(t *testing.T) {
	db, dir := openDB(t)
	ctx := context.Background()
	if _, err := db.CreateUser(ctx, models.NewUser{Email: "a@example.com", Role: models.RoleAdmin, Password: "password-123"}); err != nil {
		t.Fatal(err)
	}
	if modelstest.Postgres() {
		// The server owns its files; a backup is pg_dump's job, and the
		// command says so instead of writing anything.
		out := filepath.Join(t.TempDir(), models.SQLiteFile)
		if err := db.Backup(ctx, out); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("backup on PostgreSQL: %v, want ErrInvalid", err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backup on PostgreSQL left %s (%v)", out, err)
		}
		return
	}
	base := dir.SQLitePath()
	for _, p := range []string{base, base + "-wal", base + "-shm"} {
		wantPrivate(t, p)
	}
	out := filepath.Join(t.TempDir(), models.SQLiteFile)
	if err := db.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	wantPrivate(t, out)
	if err := db.Backup(ctx, out); !errors.Is(err, models.ErrConflict) {
		t.Errorf("backup over an existing file: %v, want ErrConflict", err)
	}
	// The copy is a working database.
	copyDB, err := models.Open(ctx, models.Options{DataDir: filepath.Dir(out)})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if n, err := copyDB.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("backup holds %d users (%v), want 1", n, err)
	}
}

// TestOpenTightensAnExistingDatabase: a database created by an earlier
// version with mode 0644 is made owner-only when opened.
func TestOpenTightensAnExistingDatabase(t *testing.T) {
	if modelstest.Postgres() {
		t.Skip("sqlite only: the modes of the database file; PostgreSQL's files are the server's")
	}
	dir := t.TempDir()
	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	base := filepath.Join(dir, models.SQLiteFile)
	for _, p := range []string{base, base + "-wal", base + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	db, err = models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantPrivate(t, base)
	for _, p := range []string{base + "-wal", base + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			wantPrivate(t, p)
		}
	}
}

// TestStatementsCountsEachStatement: a query, a raw read and an insert
// count once each; the insert's transaction (BEGIN, COMMIT) does not.
func TestStatementsCountsEachStatement(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	for _, tt := range []struct {
		what string
		run  func() error
	}{
		{"list accounts (query)", func() error { _, err := db.ListAccounts(ctx); return err }},
		{"sync states (raw read)", func() error { _, err := db.SyncStates(ctx); return err }},
		{"create user (insert in a transaction)", func() error {
			_, err := db.CreateUser(ctx, models.NewUser{Email: "s@example.com", Role: models.RoleAdmin, Password: "password-123"})
			return err
		}},
	} {
		before := db.Statements()
		if err := tt.run(); err != nil {
			t.Fatalf("%s: %v", tt.what, err)
		}
		if got := db.Statements() - before; got != 1 {
			t.Errorf("%s: %d statements, want 1", tt.what, got)
		}
	}
}
