package models_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"gorm.io/gorm"
)

// schemaOf returns the database's tables, indexes and triggers by name with
// their SQL (on PostgreSQL: a table's columns and types, an index's
// definition, a trigger's).
func schemaOf(t *testing.T, g *gorm.DB) map[string]string {
	t.Helper()
	var rows []struct {
		Name string
		SQL  string
	}
	q := "SELECT name, COALESCE(sql, '') AS sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
	if modelstest.Postgres() {
		q = `SELECT table_name AS name, string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
				COALESCE(column_default, ''), ', ' ORDER BY ordinal_position) AS sql
			FROM information_schema.columns WHERE table_schema = current_schema() GROUP BY table_name
			UNION ALL SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal`
	}
	if err := g.Raw(q).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range rows {
		m[r.Name] = r.SQL
	}
	return m
}

// wantSearchIndex checks the full-text index is the one version 6 left:
// on SQLite it hands over matches newest first (order=DESC); on PostgreSQL
// it is a GIN index over the stored tokens as they are.
func wantSearchIndex(t *testing.T, schema map[string]string) {
	t.Helper()
	if modelstest.Postgres() {
		if def := schema["archive_notes_tokens"]; !strings.Contains(def, "USING gin") || !strings.Contains(def, "array_to_tsvector") {
			t.Errorf("archive_notes_tokens = %s, want a GIN index over array_to_tsvector(tokens)", def)
		}
		return
	}
	if !strings.Contains(schema["archive_fts"], "order=DESC") {
		t.Errorf("archive_fts = %s, want order=DESC", schema["archive_fts"])
	}
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
	names := []string{"users", "accounts", "archive_tickets", "archive_notes", "note_versions",
		"sync_states", "sync_requests", "archive_counts", "archive_notes_created"}
	if modelstest.Postgres() {
		// The search index is a GIN index over the notes' tokens.
		names = append(names, "archive_notes_tokens")
	} else {
		names = append(names, "archive_fts", "archive_notes_fts_ai")
	}
	for _, name := range names {
		if _, ok := schema[name]; !ok {
			t.Errorf("no %s after migrating an empty database", name)
		}
	}
	wantSearchIndex(t, schema)
	// Opening again applies nothing new and changes nothing.
	db.Close()
	db2, err := models.Open(ctx, options(dir))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	if again := schemaOf(t, rawDB(t, dir)); !reflect.DeepEqual(again, schema) {
		t.Errorf("schema changed on reopen")
	}
}

// TestMigrateFromV1 builds a database from the schema main created before
// versioned migrations, with rows, and opens it. On SQLite that schema is
// testdata/schema-v1.sql, as those releases left it; on PostgreSQL it is
// what they made there, gorm's AutoMigrate of the base structs and no
// schema_migrations table.
func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	dir := modelstest.New(t)
	raw := rawDB(t, dir)
	if modelstest.Postgres() {
		if err := raw.AutoMigrate(&models.User{}, &models.StoreEntry{}, &models.SetupToken{}, &models.Account{},
			&models.AuditEvent{}, &models.KV{}); err != nil {
			t.Fatal(err)
		}
	} else {
		v1SQLite(t, raw)
	}
	// FALSE, not 0: PostgreSQL's booleans take no integers.
	for _, q := range []string{
		`INSERT INTO users (email, name, role, password_hash, disabled, created_at, updated_at) VALUES ('ada@example.com', 'Ada', 'admin', 'x', FALSE, '2025-01-02 03:04:05+00:00', '2025-01-02 03:04:05+00:00')`,
		`INSERT INTO accounts (name, kind, endpoint, disabled, settings, secrets, secret_names, created_at, updated_at) VALUES ('Aliyun prod', 'alibaba', '', FALSE, '{"region":"cn-hangzhou"}', '', '', '2025-01-02 03:04:05+00:00', '2025-01-02 03:04:05+00:00')`,
		`INSERT INTO kvs (key, value) VALUES ('audit.head', 'abc')`,
	} {
		if err := raw.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	before := schemaOf(t, raw)

	ctx := context.Background()
	db, err := models.Open(ctx, options(dir))
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
	wantSearchIndex(t, after)
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

// v1SQLite runs testdata/schema-v1.sql, the SQLite schema of the releases
// before versioned migrations.
func v1SQLite(t *testing.T, raw *gorm.DB) {
	t.Helper()
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
	db2, err := models.Open(ctx, options(dir))
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

// TestMigrateConcurrentOpens starts several processes' worth of handles on
// one new database at once, as instances behind a load balancer do: each
// opens, and every version is recorded once.
func TestMigrateConcurrentOpens(t *testing.T) {
	t.Parallel()
	loc := modelstest.New(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			db, err := models.Open(ctx, options(loc))
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
	}
	db := openDir(t, loc, testKey)
	got, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := allVersions(); !reflect.DeepEqual(got, want) {
		t.Fatalf("applied = %v, want %v", got, want)
	}
}
