package models_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// testKey is the secret key the test databases' audit chains are keyed
// under.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// openDB opens a fresh database (see modelstest.New), with the audit key
// set, and returns it with where it lives.
func openDB(t testing.TB) (*models.DB, modelstest.Database) {
	t.Helper()
	loc := modelstest.New(t)
	return openDir(t, loc, testKey), loc
}

// openDir opens another handle on the database at loc with the audit key
// derived from key.
func openDir(t testing.TB, loc modelstest.Database, key []byte) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), options(loc))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SetAuditKey(key); err != nil {
		t.Fatalf("set audit key: %v", err)
	}
	return db
}

// options are the models.Options that open the database at loc.
func options(loc modelstest.Database) models.Options {
	return models.Options{DataDir: loc.Dir, URL: loc.URL}
}

// rawDB opens the same database behind the application's back, the way
// someone tampering with the log would.
func rawDB(t *testing.T, loc modelstest.Database) *gorm.DB {
	t.Helper()
	return modelstest.Raw(t, loc)
}

func ptr(v uint) *uint { return &v }

// sampleEvent returns a fully populated event, different for every i.
func sampleEvent(i int) *models.AuditEvent {
	return &models.AuditEvent{
		ActorID:         ptr(uint(i + 6)),
		ActorEmail:      fmt.Sprintf("admin%d@example.com", i),
		ActorRole:       "admin",
		Action:          "note.update",
		Target:          fmt.Sprintf("note:2:100:%d", i),
		AccountID:       ptr(2),
		Before:          fmt.Sprintf(`{"text":"旧的备注 %d"}`, i),
		After:           fmt.Sprintf(`{"text":"新的备注 %d"}`, i),
		Outcome:         models.OutcomeOK,
		Message:         "已保存",
		VendorRequestID: fmt.Sprintf("req-vendor-%d", i),
		IP:              "192.0.2.10",
		UserAgent:       "Mozilla/5.0 (X11; Linux x86_64)",
		RequestID:       fmt.Sprintf("rid-%d", i),
	}
}

// appendN appends n sample events and returns them as stored.
func appendN(t testing.TB, db *models.DB, n int) []*models.AuditEvent {
	t.Helper()
	var out []*models.AuditEvent
	for i := 1; i <= n; i++ {
		e := sampleEvent(i)
		if err := db.AppendAudit(context.Background(), e); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func verify(t *testing.T, db *models.DB) models.VerifyResult {
	t.Helper()
	res, err := db.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func TestAppendAuditBuildsChain(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()

	if got := verify(t, db); !got.OK || got.Rows != 0 {
		t.Fatalf("empty log: got %+v, want OK with 0 rows", got)
	}
	appended := appendN(t, db, 5)

	prev := strings.Repeat("0", 64)
	for i, e := range appended {
		if got, want := e.ID, uint64(i+1); got != want {
			t.Errorf("event %d: ID = %d, want %d", i, got, want)
		}
		if e.PrevHash != prev {
			t.Errorf("event %d: PrevHash = %q, want %q", i, e.PrevHash, prev)
		}
		if len(e.Hash) != 64 {
			t.Errorf("event %d: Hash = %q, want 64 hex digits", i, e.Hash)
		}
		if e.At.Location() != time.UTC || e.At.Nanosecond()%1000 != 0 {
			t.Errorf("event %d: At = %v, want UTC in whole microseconds", i, e.At)
		}
		prev = e.Hash
	}
	if got := verify(t, db); !got.OK || got.Rows != 5 {
		t.Fatalf("verify: got %+v, want OK with 5 rows", got)
	}

	// What comes back is what went in, so hashes recompute on read.
	events, _, err := db.ListAudit(ctx, models.AuditFilter{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	slices.Reverse(events)
	for i, got := range events {
		want := *appended[i]
		if !got.At.Equal(want.At) || got.At.Location() != time.UTC {
			t.Errorf("row %d: At = %v, want %v in UTC", got.ID, got.At, want.At)
		}
		got.At, want.At = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %d:\n got %+v\nwant %+v", got.ID, got, want)
		}
	}
}

func TestAppendAuditRejectsInvalid(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()

	tests := []struct {
		name string
		edit func(e *models.AuditEvent)
	}{
		{"empty action", func(e *models.AuditEvent) { e.Action = "" }},
		{"action without dot", func(e *models.AuditEvent) { e.Action = "login" }},
		{"upper-case action", func(e *models.AuditEvent) { e.Action = "User.Login" }},
		{"action with space", func(e *models.AuditEvent) { e.Action = "user. login" }},
		{"long action", func(e *models.AuditEvent) { e.Action = "a." + strings.Repeat("b", 63) }},
		{"empty outcome", func(e *models.AuditEvent) { e.Outcome = "" }},
		{"unknown outcome", func(e *models.AuditEvent) { e.Outcome = "maybe" }},
		{"before not JSON", func(e *models.AuditEvent) { e.Before = "{" }},
		{"after not JSON", func(e *models.AuditEvent) { e.After = "text" }},
	}
	for _, tt := range tests {
		e := sampleEvent(1)
		tt.edit(e)
		err := db.AppendAudit(ctx, e)
		if !errors.Is(err, models.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
		if e.ID != 0 || e.Hash != "" {
			t.Errorf("%s: event got ID %d hash %q, want none", tt.name, e.ID, e.Hash)
		}
	}
	if err := db.AppendAudit(ctx, nil); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("nil event: err = %v, want ErrInvalid", err)
	}
	if got := verify(t, db); !got.OK || got.Rows != 0 {
		t.Errorf("after rejected appends: got %+v, want OK with 0 rows", got)
	}
}

func TestAppendAuditCleansText(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()

	at := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CST", 8*3600))
	e := sampleEvent(1)
	e.At = at
	e.UserAgent = strings.Repeat("浏", 600)
	e.Message = "bad \xff byte and \x00 nul"
	if err := db.AppendAudit(ctx, e); err != nil {
		t.Fatalf("append: %v", err)
	}
	events, _, err := db.ListAudit(ctx, models.AuditFilter{})
	if err != nil || len(events) != 1 {
		t.Fatalf("list: %d events, %v", len(events), err)
	}
	got := events[0]
	if want := at.UTC().Truncate(time.Microsecond); !got.At.Equal(want) {
		t.Errorf("At = %v, want %v", got.At, want)
	}
	if got, want := got.UserAgent, strings.Repeat("浏", 512); got != want {
		t.Errorf("UserAgent has %d runes, want 512", len([]rune(got)))
	}
	if got, want := got.Message, "bad \uFFFD byte and  nul"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if res := verify(t, db); !res.OK {
		t.Errorf("verify: %+v", res)
	}
}

func TestVerifyAuditCatchesAlteredRow(t *testing.T) {
	t.Parallel()
	const altered = "row 3: hash mismatch (row altered)"
	tests := []struct {
		column string
		value  any
		want   string
	}{
		{"at", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), altered},
		{"at", "not a time", altered},
		// SQLite lets a column hold any type; such a row must be named, not
		// turn Verify into an error.
		{"actor_id", "not a number", "row 3: cannot be read (row altered)"},
		{"actor_id", 99, altered},
		{"actor_id", nil, altered},
		{"actor_email", "someone@example.com", altered},
		{"actor_role", "manager", altered},
		{"action", "note.create", altered},
		{"target", "note:2:100:999", altered},
		{"account_id", 3, altered},
		{"account_id", nil, altered},
		{"before", `{"text":"篡改"}`, altered},
		{"after", "", altered},
		{"outcome", models.OutcomeDenied, altered},
		{"message", "ok", altered},
		{"vendor_request_id", "other", altered},
		{"ip", "198.51.100.1", altered},
		{"user_agent", "curl/8", altered},
		{"request_id", "rid-x", altered},
		{"prev_hash", strings.Repeat("1", 64), altered},
		{"hash", strings.Repeat("a", 64), altered},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.column, tt.value), func(t *testing.T) {
			t.Parallel()
			db, dir := openDB(t)
			appendN(t, db, 5)
			raw := rawDB(t, dir)
			res := raw.Exec("UPDATE audit_events SET "+tt.column+" = ? WHERE id = 3", tt.value)
			if _, isText := tt.value.(string); isText && modelstest.Postgres() && (tt.column == "at" || tt.column == "actor_id") {
				// PostgreSQL's typed columns refuse the value: that
				// tampering cannot happen there.
				if res.Error == nil {
					t.Fatalf("PostgreSQL stored %q in %s", tt.value, tt.column)
				}
				return
			}
			if res.Error != nil || res.RowsAffected != 1 {
				t.Fatalf("tamper: %d rows, %v", res.RowsAffected, res.Error)
			}

			got := verify(t, db)
			if got.OK || got.BadID != 3 || got.Reason != tt.want {
				t.Errorf("got %+v, want BadID 3, Reason %q", got, tt.want)
			}
		})
	}
}

func TestVerifyAuditCatchesRemovedRows(t *testing.T) {
	t.Parallel()
	exec := func(t *testing.T, raw *gorm.DB, sql string, args ...any) {
		t.Helper()
		if err := raw.Exec(sql, args...).Error; err != nil {
			t.Fatalf("tamper %q: %v", sql, err)
		}
	}
	headValue := func(t *testing.T, raw *gorm.DB) string {
		t.Helper()
		var v string
		if err := raw.Raw("SELECT value FROM kvs WHERE key = 'audit.head'").Scan(&v).Error; err != nil || v == "" {
			t.Fatalf("read head: %q, %v", v, err)
		}
		return v
	}

	tests := []struct {
		name       string
		tamper     func(t *testing.T, db *models.DB, raw *gorm.DB)
		wantBadID  uint64
		wantReason string
	}{
		{
			name: "middle row deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events WHERE id = 3")
			},
			wantBadID:  4,
			wantReason: "row 4: previous hash does not match row 2 (a row before it was removed)",
		},
		{
			name: "first row deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events WHERE id = 1")
			},
			wantBadID:  2,
			wantReason: "row 2: previous hash does not match the start of the chain (a row before it was removed)",
		},
		{
			name: "last row deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events WHERE id = 5")
			},
			wantBadID:  5,
			wantReason: "chain ends at row 4 but the head says 5 (last rows removed)",
		},
		{
			name: "last two rows deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events WHERE id >= 4")
			},
			wantBadID:  5,
			wantReason: "chain ends at row 3 but the head says 5 (last rows removed)",
		},
		{
			name: "every row deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events")
			},
			wantBadID:  5,
			wantReason: "the log is empty but the head says 5 (rows removed)",
		},
		{
			name: "last row deleted, then a new append",
			tamper: func(t *testing.T, db *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM audit_events WHERE id = 5")
				appendN(t, db, 1)
			},
			wantBadID:  6,
			wantReason: "row 6: previous hash does not match row 4 (a row before it was removed)",
		},
		{
			name: "last row renumbered",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "UPDATE audit_events SET id = 6 WHERE id = 5")
			},
			wantBadID:  6,
			wantReason: "row 6: not covered by the audit head (added outside the audit log)",
		},
		{
			name: "head rolled back to hide a row",
			tamper: func(t *testing.T, db *models.DB, raw *gorm.DB) {
				old := headValue(t, raw)
				appendN(t, db, 1)
				exec(t, raw, "UPDATE kvs SET value = ? WHERE key = 'audit.head'", old)
			},
			wantBadID:  6,
			wantReason: "row 6: not covered by the audit head (added outside the audit log)",
		},
		{
			name: "head deleted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM kvs WHERE key = 'audit.head'")
			},
			wantBadID:  5,
			wantReason: "the audit head record is missing (it was deleted)",
		},
		{
			name: "head deleted, then a new append",
			tamper: func(t *testing.T, db *models.DB, raw *gorm.DB) {
				exec(t, raw, "DELETE FROM kvs WHERE key = 'audit.head'")
				appendN(t, db, 1)
			},
			wantBadID:  6,
			wantReason: "row 6: starts a new chain after row 5 (the audit head was removed or reset)",
		},
		{
			name: "head corrupted",
			tamper: func(t *testing.T, _ *models.DB, raw *gorm.DB) {
				exec(t, raw, "UPDATE kvs SET value = 'x' WHERE key = 'audit.head'")
			},
			wantBadID:  0,
			wantReason: "the audit head record is corrupt",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, dir := openDB(t)
			appendN(t, db, 5)
			tt.tamper(t, db, rawDB(t, dir))

			got := verify(t, db)
			if got.OK || got.BadID != tt.wantBadID || got.Reason != tt.wantReason {
				t.Errorf("got %+v\nwant BadID %d, Reason %q", got, tt.wantBadID, tt.wantReason)
			}
		})
	}
}

func TestAppendAuditConcurrent(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	// A second handle on the same file stands in for the CLI or another
	// process: it has its own mutex, so only the database orders the two.
	other := openDir(t, dir, testKey)

	const goroutines, each = 50, 4
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		handle := db
		if g%5 == 0 {
			handle = other
		}
		wg.Go(func() {
			for i := range each {
				e := sampleEvent(g*each + i)
				if err := handle.AppendAudit(context.Background(), e); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("append: %v", err)
	}

	got := verify(t, db)
	if want := (models.VerifyResult{Rows: goroutines * each, OK: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("verify: got %+v, want %+v", got, want)
	}
}

// seedFilterLog appends six events an hour apart from base.
func seedFilterLog(t *testing.T, db *models.DB, base time.Time) {
	t.Helper()
	events := []models.AuditEvent{
		{Action: "user.login", ActorEmail: "alice@example.com", Outcome: models.OutcomeOK, Target: "user:1"},
		{Action: "note.create", ActorEmail: "alice@example.com", Outcome: models.OutcomeOK, AccountID: ptr(1), Target: "note:1:10:100"},
		{Action: "note.delete", ActorEmail: "bob@example.com", Outcome: models.OutcomeDenied, AccountID: ptr(1), Target: "note:1:10:101"},
		{Action: "notebook.share", ActorEmail: "bob@example.com", Outcome: models.OutcomeError, AccountID: ptr(2)},
		{Action: "account.update", ActorEmail: "carol@example.com", Outcome: models.OutcomeOK, AccountID: ptr(2), Target: "account:2"},
		{Action: "note.update", ActorEmail: "alice@example.com", Outcome: models.OutcomeError, AccountID: ptr(2), Target: "note:2:20:200"},
	}
	for i := range events {
		events[i].At = base.Add(time.Duration(i) * time.Hour)
		if err := db.AppendAudit(context.Background(), &events[i]); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

func ids(events []models.AuditEvent) []uint64 {
	out := []uint64{}
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func TestListAudit(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	base := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	seedFilterLog(t, db, base)
	shanghai := time.FixedZone("CST", 8*3600)

	tests := []struct {
		name      string
		filter    models.AuditFilter
		wantIDs   []uint64
		wantTotal int64
	}{
		{"everything, newest first", models.AuditFilter{}, []uint64{6, 5, 4, 3, 2, 1}, 6},
		{"from is inclusive", models.AuditFilter{From: base.Add(time.Hour)}, []uint64{6, 5, 4, 3, 2}, 5},
		{"from just after an event", models.AuditFilter{From: base.Add(time.Hour + time.Microsecond)}, []uint64{6, 5, 4, 3}, 4},
		{"to is exclusive", models.AuditFilter{To: base.Add(2 * time.Hour)}, []uint64{2, 1}, 2},
		{"to just after an event", models.AuditFilter{To: base.Add(2*time.Hour + time.Microsecond)}, []uint64{3, 2, 1}, 3},
		{"from equals to", models.AuditFilter{From: base, To: base}, []uint64{}, 0},
		{"range in another time zone", models.AuditFilter{From: base.Add(time.Hour).In(shanghai), To: base.Add(3 * time.Hour).In(shanghai)}, []uint64{3, 2}, 2},
		{"actor", models.AuditFilter{Actor: "alice@example.com"}, []uint64{6, 2, 1}, 3},
		{"actor is exact", models.AuditFilter{Actor: "alice"}, []uint64{}, 0},
		{"action exact", models.AuditFilter{Action: "note.delete"}, []uint64{3}, 1},
		{"action prefix", models.AuditFilter{Action: "note."}, []uint64{6, 3, 2}, 3},
		{"action without dot is exact", models.AuditFilter{Action: "note"}, []uint64{}, 0},
		{"outcome", models.AuditFilter{Outcome: models.OutcomeError}, []uint64{6, 4}, 2},
		{"account", models.AuditFilter{AccountID: ptr(2)}, []uint64{6, 5, 4}, 3},
		{"target", models.AuditFilter{Target: "account:2"}, []uint64{5}, 1},
		{"combined", models.AuditFilter{Actor: "bob@example.com", AccountID: ptr(1)}, []uint64{3}, 1},
		{"first page", models.AuditFilter{Limit: 2}, []uint64{6, 5}, 6},
		{"second page", models.AuditFilter{Limit: 2, Offset: 2}, []uint64{4, 3}, 6},
		{"past the end", models.AuditFilter{Limit: 2, Offset: 6}, []uint64{}, 6},
		{"filtered page", models.AuditFilter{Action: "note.", Limit: 2, Offset: 2}, []uint64{2}, 3},
		{"limit above the maximum", models.AuditFilter{Limit: 10000}, []uint64{6, 5, 4, 3, 2, 1}, 6},
	}
	for _, tt := range tests {
		events, total, err := db.ListAudit(context.Background(), tt.filter)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := ids(events); !slices.Equal(got, tt.wantIDs) || total != tt.wantTotal {
			t.Errorf("%s: got %v total %d, want %v total %d", tt.name, got, total, tt.wantIDs, tt.wantTotal)
		}
	}
}

func TestListAuditRejectsBadFilter(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	now := time.Now()
	tests := []struct {
		name   string
		filter models.AuditFilter
		// eachFails is false where EachAudit ignores the bad field.
		eachFails bool
	}{
		{"negative offset", models.AuditFilter{Offset: -1}, false},
		{"negative limit", models.AuditFilter{Limit: -1}, false},
		{"from after to", models.AuditFilter{From: now, To: now.Add(-time.Second)}, true},
		{"unknown outcome", models.AuditFilter{Outcome: "maybe"}, true},
	}
	for _, tt := range tests {
		if _, _, err := db.ListAudit(context.Background(), tt.filter); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("ListAudit %s: err = %v, want ErrInvalid", tt.name, err)
		}
		err := db.EachAudit(context.Background(), tt.filter, func(*models.AuditEvent) error { return nil })
		if got := errors.Is(err, models.ErrInvalid); got != tt.eachFails {
			t.Errorf("EachAudit %s: err = %v, want ErrInvalid: %v", tt.name, err, tt.eachFails)
		}
	}
}

func TestEachAudit(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	base := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	seedFilterLog(t, db, base)

	collect := func(f models.AuditFilter) []uint64 {
		t.Helper()
		var got []uint64
		err := db.EachAudit(context.Background(), f, func(e *models.AuditEvent) error {
			got = append(got, e.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("each: %v", err)
		}
		return got
	}
	tests := []struct {
		name   string
		filter models.AuditFilter
		want   []uint64
	}{
		{"everything, oldest first", models.AuditFilter{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"offset and limit ignored", models.AuditFilter{Offset: 1, Limit: 1}, []uint64{1, 2, 3, 4, 5, 6}},
		{"action prefix", models.AuditFilter{Action: "note."}, []uint64{2, 3, 6}},
		{"range and account", models.AuditFilter{From: base.Add(time.Hour), To: base.Add(5 * time.Hour), AccountID: ptr(2)}, []uint64{4, 5}},
	}
	for _, tt := range tests {
		if got := collect(tt.filter); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	// The callback's error stops the walk and comes back unchanged.
	stop := errors.New("stop")
	calls := 0
	err := db.EachAudit(context.Background(), models.AuditFilter{}, func(*models.AuditEvent) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Errorf("callback error: got %v after %d calls, want %v after 2", err, calls, stop)
	}
}

func TestEachAuditCrossesBatches(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	// More rows than one batch, so the keyset paging is exercised.
	const n = 1205
	appendN(t, db, n)

	var next uint64 = 1
	err := db.EachAudit(context.Background(), models.AuditFilter{}, func(e *models.AuditEvent) error {
		if e.ID != next {
			return fmt.Errorf("got row %d, want %d", e.ID, next)
		}
		next++
		return nil
	})
	if err != nil || next != n+1 {
		t.Errorf("each: saw %d rows, err %v; want %d rows", next-1, err, n)
	}
	if got := verify(t, db); !got.OK || got.Rows != n {
		t.Errorf("verify: got %+v, want OK with %d rows", got, n)
	}
}

func TestAuditActions(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	got, err := db.AuditActions(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty log: got %v, %v; want none", got, err)
	}
	seedFilterLog(t, db, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	appendN(t, db, 2) // two more "note.update" rows

	got, err = db.AuditActions(context.Background())
	if err != nil {
		t.Fatalf("actions: %v", err)
	}
	want := []string{"account.update", "note.create", "note.delete", "note.update", "notebook.share", "user.login"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	db, _ := openDB(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if err := db.AppendAudit(ctx, sampleEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
}
