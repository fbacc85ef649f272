package models_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"gorm.io/gorm"
)

// schemaOf returns the database's tables, indexes and triggers by name with
// their SQL.
func schemaOf(t *testing.T, g *gorm.DB) map[string]string {
	t.Helper()
	var rows []struct {
		Name string
		SQL  string
	}
	if err := g.Raw("SELECT name, COALESCE(sql, '') AS sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range rows {
		m[r.Name] = r.SQL
	}
	return m
}

func allVersions() []int {
	var ids []int
	for i := 1; i <= models.SchemaVersion(); i++ {
		ids = append(ids, i)
	}
	return ids
}

func TestMigrateFromEmpty(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	ctx := context.Background()
	got, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := allVersions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("applied = %v, want %v", got, want)
	}
	schema := schemaOf(t, rawDB(t, dir))
	for _, name := range []string{"users", "accounts", "archive_tickets", "archive_notes", "note_versions",
		"sync_states", "archive_counts", "archive_fts", "archive_notes_created", "archive_notes_fts_ai"} {
		if _, ok := schema[name]; !ok {
			t.Errorf("no %s after migrating an empty database", name)
		}
	}
	// The search index hands over matches newest first (version 6).
	if !strings.Contains(schema["archive_fts"], "order=DESC") {
		t.Errorf("archive_fts = %s, want order=DESC", schema["archive_fts"])
	}
	// Opening again applies nothing new and changes nothing.
	db.Close()
	db2, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	if again := schemaOf(t, rawDB(t, dir)); !reflect.DeepEqual(again, schema) {
		t.Errorf("schema changed on reopen")
	}
}

// TestMigrateFromV1 builds a database from the schema main created before
// versioned migrations (testdata/schema-v1.sql), with rows, and opens it.
func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	raw := rawDB(t, dir)
	ddl, err := os.ReadFile(filepath.Join("testdata", "schema-v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(string(ddl), ";\n") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if s := strings.TrimSpace(strings.Join(lines, "\n")); s != "" {
			if err := raw.Exec(s).Error; err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	for _, q := range []string{
		`INSERT INTO users (email, name, role, password_hash, disabled, created_at, updated_at) VALUES ('ada@example.com', 'Ada', 'admin', 'x', 0, '2025-01-02 03:04:05+00:00', '2025-01-02 03:04:05+00:00')`,
		`INSERT INTO accounts (name, kind, endpoint, disabled, settings, secrets, secret_names, created_at, updated_at) VALUES ('Aliyun prod', 'alibaba', '', 0, '{"region":"cn-hangzhou"}', '', '', '2025-01-02 03:04:05+00:00', '2025-01-02 03:04:05+00:00')`,
		`INSERT INTO kvs (key, value) VALUES ('audit.head', 'abc')`,
	} {
		if err := raw.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	before := schemaOf(t, raw)

	ctx := context.Background()
	db, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("open v1 database: %v", err)
	}
	defer db.Close()
	got, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := allVersions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("applied = %v, want %v", got, want)
	}
	after := schemaOf(t, raw)
	if !strings.Contains(after["archive_fts"], "order=DESC") {
		t.Errorf("archive_fts = %s, want order=DESC", after["archive_fts"])
	}
	for name, sql := range before {
		if after[name] != sql {
			t.Errorf("v1 object %s changed:\n got %s\nwant %s", name, after[name], sql)
		}
	}
	accs, err := db.ListAccounts(ctx)
	if err != nil || len(accs) != 1 || accs[0].Name != "Aliyun prod" || accs[0].Settings()["region"] != "cn-hangzhou" {
		t.Fatalf("accounts after migration = %+v, %v", accs, err)
	}
	u, err := db.UserByEmail(ctx, "ada@example.com")
	if err != nil || u.Name != "Ada" {
		t.Fatalf("user after migration = %+v, %v", u, err)
	}
	// The old account gets an archive like a new one.
	tickets, notes, err := db.ArchiveCounts(ctx, accs[0].ID)
	if err != nil || tickets != 0 || notes != 0 {
		t.Fatalf("archive counts = %d, %d, %v", tickets, notes, err)
	}
}

// TestMigrateReapplies forgets the archive migrations and opens again: each
// statement is re-runnable, and the data stays.
func TestMigrateReapplies(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "sendbird")
	storeTicket(t, db, acc, "7", note("7", "1", "还在吗", day(1)))
	db.Close()
	if err := rawDB(t, dir).Exec("DELETE FROM schema_migrations WHERE id > 1").Error; err != nil {
		t.Fatal(err)
	}
	db2, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	got, _ := db2.AppliedMigrations(ctx)
	if want := allVersions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("applied = %v, want %v", got, want)
	}
	notes, total, _, err := db2.ListArchivedNotes(ctx, models.NoteFilter{Query: "还在"})
	if err != nil || total != 1 || len(notes) != 1 {
		t.Fatalf("search after re-migration = %d notes, total %d, %v", len(notes), total, err)
	}
}
