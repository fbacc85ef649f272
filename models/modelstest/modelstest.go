// Package modelstest gives every test that opens a database a fresh one of
// its own: SQLite in the test's temp dir by default, or a new PostgreSQL
// database when TICKETNOTES_TEST_DATABASE_URL names a server, so the same
// suite runs on both. It does not import models (the models package's own
// internal tests use it too).
package modelstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// EnvURL names the environment variable holding the PostgreSQL URL the
// tests create their databases on (its role needs CREATEDB). Unset or empty
// means SQLite.
const EnvURL = "TICKETNOTES_TEST_DATABASE_URL"

// sqliteFile mirrors models.SQLiteFile (this package cannot import models).
const sqliteFile = "ticketnotes.db"

// Database is where one test's database lives: Dir is always a fresh temp
// dir (the data dir: the SQLite file, the secret key); URL is a PostgreSQL
// URL of a database made for this test, or empty on SQLite.
type Database struct {
	Dir string
	URL string
}

// Postgres reports whether the tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvURL) != "" }

// New returns a fresh database location for t. On PostgreSQL it creates a
// database with a unique name and drops it when the test ends (its
// connections closed by force, so a child process that still holds one
// cannot keep it). It fails the test when the server cannot be reached or
// the database cannot be created.
func New(t testing.TB) Database {
	t.Helper()
	d := Database{Dir: t.TempDir()}
	if !Postgres() {
		return d
	}
	admin, err := adminDB()
	if err != nil {
		t.Fatalf("modelstest: %s: %v", EnvURL, err)
	}
	// Unique across packages tested in parallel; unquoted, so lower case.
	name := "tn_test_" + strings.ToLower(rand.Text())
	if err := create(admin, name); err != nil {
		t.Fatalf("modelstest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(admin, name); err != nil {
			t.Errorf("modelstest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(os.Getenv(EnvURL), name)
	if err != nil {
		t.Fatalf("modelstest: %s: %v", EnvURL, err)
	}
	d.URL = u
	return d
}

// Args returns the command-line flags that point the binary at d:
// --data-dir, and --database-url on PostgreSQL.
func (d Database) Args() []string {
	if d.URL == "" {
		return []string{"--data-dir", d.Dir}
	}
	return []string{"--data-dir", d.Dir, "--database-url", d.URL}
}

// SQLitePath is the SQLite file in d's data dir (which exists only on
// SQLite).
func (d Database) SQLitePath() string { return filepath.Join(d.Dir, sqliteFile) }

// Raw opens d behind the application's back, the way someone tampering
// with the data (or an older release) would; it is closed when the test
// ends. It fails the test when the database cannot be opened.
func Raw(t testing.TB, d Database) *gorm.DB {
	t.Helper()
	var dial gorm.Dialector
	if d.URL != "" {
		dial = postgres.Open(d.URL)
	} else {
		dial = sqlite.Open("file:" + d.SQLitePath() + "?_busy_timeout=10000")
	}
	g, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("modelstest: open raw: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := g.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return g
}

// linguistic is how a test database is created where the server can: with
// ICU's root collation, so text sorts by language rules (a < B < b) as on
// most production servers, not byte by byte as SQLite and the C locale do;
// a query whose order depends on the collation shows here.
const linguistic = " TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'und'"

var plainOnly atomic.Bool

// create creates database name, with the linguistic collation unless the
// server lacks ICU (then with its default).
func create(admin *gorm.DB, name string) error {
	if !plainOnly.Load() {
		err := admin.Exec("CREATE DATABASE " + name + linguistic).Error
		if err == nil {
			return nil
		}
		var n int64
		if admin.Raw("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'").Scan(&n).Error != nil || n > 0 {
			return err
		}
		plainOnly.Store(true)
	}
	return admin.Exec("CREATE DATABASE " + name + " TEMPLATE template0").Error
}

// drop drops database name. A plain DROP waits for an autovacuum worker
// to leave (it signals it); WITH (FORCE) also ends sessions left open by a
// child process the test killed, but refuses when one of those is an
// autovacuum worker (not ours to terminate), so each is tried in turn, a
// few times.
func drop(admin *gorm.DB, name string) error {
	var err error
	for range 5 {
		for _, q := range []string{"DROP DATABASE IF EXISTS " + name, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"} {
			if err = admin.Exec(q).Error; err == nil {
				return nil
			}
		}
	}
	return err
}

var (
	adminOnce sync.Once
	admin     *gorm.DB
	adminErr  error
)

// adminDB is one connection pool per test binary to the server named by
// EnvURL, for CREATE and DROP DATABASE.
func adminDB() (*gorm.DB, error) {
	adminOnce.Do(func() {
		admin, adminErr = gorm.Open(postgres.Open(os.Getenv(EnvURL)), &gorm.Config{Logger: logger.Discard})
		if adminErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sqlDB, err := admin.DB()
		if err == nil {
			err = sqlDB.PingContext(ctx)
		}
		adminErr = err
	})
	return admin, adminErr
}

// withDatabase returns raw (a postgres:// URL) naming database name.
func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("want a postgres:// URL, got scheme %q", u.Scheme)
	}
	u.Path = "/" + name
	// A dbname parameter would win over the path.
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String(), nil
}
