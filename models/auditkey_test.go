package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"encoding/json"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"testing"

	"gorm.io/gorm"
)

// headJSON reads the audit head as a map, the way someone editing the
// database would.
func headJSON(t *testing.T, raw *gorm.DB) map[string]any {
	t.Helper()
	var v string
	if err := raw.Raw("SELECT value FROM kvs WHERE key = 'audit.head'").Scan(&v).Error; err != nil || v == "" {
		t.Fatalf("read head: %q, %v", v, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		t.Fatalf("head %q: %v", v, err)
	}
	return m
}

func setHeadJSON(t *testing.T, raw *gorm.DB, m map[string]any) {
	t.Helper()
	b, _ := json.Marshal(m)
	if err := raw.Exec("UPDATE kvs SET value = ? WHERE key = 'audit.head'", string(b)).Error; err != nil {
		t.Fatalf("write head: %v", err)
	}
}

func TestVerifyAuditCatchesTruncationWithRewrittenHead(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	appendN(t, db, 5)
	raw := rawDB(t, dir)
	// Cut rows 4 and 5 and point the head at row 3: no hashing needed.
	var hash3 string
	if err := raw.Raw("SELECT hash FROM audit_events WHERE id = 3").Scan(&hash3).Error; err != nil {
		t.Fatal(err)
	}
	if err := raw.Exec("DELETE FROM audit_events WHERE id > 3").Error; err != nil {
		t.Fatal(err)
	}
	h := headJSON(t, raw)
	h["id"], h["hash"], h["rows"] = 3, hash3, 3
	setHeadJSON(t, raw, h)

	got := verify(t, db)
	if want := "the audit head record was altered (its MAC does not match)"; got.OK || got.BadID != 3 || got.Reason != want {
		t.Fatalf("verify after cutting the last rows and rewriting the head: %+v, want BadID 3, Reason %q", got, want)
	}
}

// v1Hash is the hash the code before the keyed chain wrote: plain SHA-256
// over netstrings. Anyone can compute it, which is the point of the tests
// that use it.
func v1Hash(e *models.AuditEvent) string {
	var b []byte
	field := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
		b = append(b, ',')
	}
	opt := func(p *uint) string {
		if p == nil {
			return ""
		}
		return strconv.FormatUint(uint64(*p), 10)
	}
	field("ticketnotes-audit-v1")
	field(strconv.FormatUint(e.ID, 10))
	field(e.At.UTC().Format(time.RFC3339Nano))
	field(opt(e.ActorID))
	field(e.ActorEmail)
	field(e.ActorRole)
	field(e.Action)
	field(e.Target)
	field(opt(e.AccountID))
	field(e.Before)
	field(e.After)
	field(e.Outcome)
	field(e.Message)
	field(e.VendorRequestID)
	field(e.IP)
	field(e.UserAgent)
	field(e.RequestID)
	field(e.PrevHash)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// forge inserts e after the row with hash prev as the code before the keyed
// chain would have, and points the head at it.
func forge(t *testing.T, raw *gorm.DB, e *models.AuditEvent, prev string, rows int64) {
	t.Helper()
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.PrevHash = prev
	e.Hash = v1Hash(e)
	if err := raw.Create(e).Error; err != nil {
		t.Fatalf("insert forged row: %v", err)
	}
	b, _ := json.Marshal(map[string]any{"id": e.ID, "hash": e.Hash, "rows": rows})
	if err := raw.Exec("INSERT INTO kvs (key, value) VALUES ('audit.head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", string(b)).Error; err != nil {
		t.Fatalf("write head: %v", err)
	}
}

func TestVerifyAuditCatchesForgedPlainRow(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	appended := appendN(t, db, 3)
	raw := rawDB(t, dir)
	e := sampleEvent(9)
	e.ID, e.At = 4, time.Now()
	forge(t, raw, e, appended[2].Hash, 4)

	got := verify(t, db)
	want := "row 4: hashed without the audit key after the chain was keyed at row 1 (forged or downgraded)"
	if got.OK || got.BadID != 4 || got.Reason != want {
		t.Fatalf("verify after appending a row hashed with plain SHA-256: %+v, want BadID 4, Reason %q", got, want)
	}
}

// rows reads the whole log as stored.
func rows(t *testing.T, raw *gorm.DB) []*models.AuditEvent {
	t.Helper()
	var out []*models.AuditEvent
	if err := raw.Order("id").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// rehashPlain rewrites every row from id on with plain SHA-256 links, as an
// attacker without the key would, and points an unkeyed head at the end.
func rehashPlain(t *testing.T, raw *gorm.DB, from uint64, edit func(*models.AuditEvent)) {
	t.Helper()
	all := rows(t, raw)
	prev := strings.Repeat("0", 64)
	for _, e := range all {
		if e.ID >= from {
			if edit != nil {
				edit(e)
			}
			e.AttemptID = nil
			e.PrevHash = prev
			e.Hash = v1Hash(e)
			if err := raw.Save(e).Error; err != nil {
				t.Fatal(err)
			}
		}
		prev = e.Hash
	}
	last := all[len(all)-1]
	setHeadJSON(t, raw, map[string]any{"id": last.ID, "hash": last.Hash, "rows": len(all)})
}

func TestVerifyAuditCatchesRewrittenMiddleRow(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	appendN(t, db, 5)
	// Row 3 changed and every row from it re-linked with plain hashes.
	rehashPlain(t, rawDB(t, dir), 3, func(e *models.AuditEvent) {
		if e.ID == 3 {
			e.After = `{"text":"篡改"}`
		}
	})
	got := verify(t, db)
	want := "row 3: hashed without the audit key after the chain was keyed at row 1 (forged or downgraded)"
	if got.OK || got.BadID != 3 || got.Reason != want {
		t.Errorf("got %+v\nwant BadID 3, Reason %q", got, want)
	}
}

func TestVerifyAuditCatchesDowngrade(t *testing.T) {
	t.Parallel()
	const unkeyedHead = "the audit head is not keyed (the chain was downgraded, or no server with the audit key has opened this database since the upgrade)"
	tests := []struct {
		name   string
		tamper func(t *testing.T, raw *gorm.DB)
	}{
		{"whole chain rehashed without the key", func(t *testing.T, raw *gorm.DB) { rehashPlain(t, raw, 1, nil) }},
		{"head replaced by an unkeyed one", func(t *testing.T, raw *gorm.DB) {
			h := headJSON(t, raw)
			delete(h, "kid")
			delete(h, "mac")
			setHeadJSON(t, raw, h)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, dir := openDB(t)
			appendN(t, db, 4)
			tt.tamper(t, rawDB(t, dir))
			got := verify(t, db)
			if got.OK || got.BadID != 4 || got.Reason != unkeyedHead {
				t.Errorf("verify: got %+v\nwant BadID 4, Reason %q", got, unkeyedHead)
			}
			// Appending must not vouch for the downgraded chain.
			err := db.AppendAudit(context.Background(), sampleEvent(7))
			if !errors.Is(err, models.ErrAuditNotKeyed) {
				t.Errorf("append onto the downgraded chain: %v, want ErrAuditNotKeyed", err)
			}
		})
	}
}

func TestAuditWrongKey(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	appendN(t, db, 3)
	other := openDir(t, dir, []byte("another key, also 32 bytes long!"))

	got := verify(t, other)
	want := "the audit key does not match: is TICKETNOTES_SECRET_KEY the one the server uses?"
	if got.OK || !got.WrongKey || got.Reason != want {
		t.Errorf("verify under another key: got %+v, want WrongKey and Reason %q", got, want)
	}
	if err := other.AppendAudit(context.Background(), sampleEvent(4)); !errors.Is(err, models.ErrAuditKey) {
		t.Errorf("append under another key: %v, want ErrAuditKey", err)
	}
	if _, err := other.UpgradeAudit(context.Background()); !errors.Is(err, models.ErrAuditKey) {
		t.Errorf("upgrade under another key: %v, want ErrAuditKey", err)
	}
	if got := verify(t, db); !got.OK || got.Rows != 3 {
		t.Errorf("verify under the right key after the refused append: %+v", got)
	}
}

func TestAuditNeedsKey(t *testing.T) {
	t.Parallel()
	dir := modelstest.New(t)
	db, err := models.Open(context.Background(), options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AppendAudit(context.Background(), sampleEvent(1)); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("append with no key: %v, want ErrInvalid", err)
	}
	if _, err := db.VerifyAudit(context.Background()); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("verify with no key: %v, want ErrInvalid", err)
	}
	if err := db.SetAuditKey([]byte("short")); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("short key: %v, want ErrInvalid", err)
	}
}

// legacyAuditEvent is the audit table as the code before the keyed chain
// created it (no attempt_id).
type legacyAuditEvent struct {
	ID              uint64    `gorm:"primaryKey"`
	At              time.Time `gorm:"index;not null"`
	ActorID         *uint     `gorm:"index"`
	ActorEmail      string    `gorm:"index;size:320"`
	ActorRole       string    `gorm:"size:20"`
	Action          string    `gorm:"index;size:64;not null"`
	Target          string    `gorm:"size:255;index"`
	AccountID       *uint     `gorm:"index"`
	Before          string
	After           string
	Outcome         string `gorm:"index;size:16;not null"`
	Message         string
	VendorRequestID string `gorm:"size:128"`
	IP              string `gorm:"size:64"`
	UserAgent       string `gorm:"size:512"`
	RequestID       string `gorm:"size:64;index"`
	PrevHash        string `gorm:"size:64;not null"`
	Hash            string `gorm:"size:64;uniqueIndex;not null"`
}

func (legacyAuditEvent) TableName() string { return "audit_events" }

// legacyKV is the KV table of the code before the keyed chain.
type legacyKV struct {
	Key   string `gorm:"primaryKey;size:100"`
	Value string
}

func (legacyKV) TableName() string { return "kvs" }

// legacyDB writes n rows the way the code before the keyed chain did, in
// that code's schema, and returns where the database is.
func legacyDB(t *testing.T, n int) modelstest.Database {
	t.Helper()
	dir := modelstest.New(t)
	raw := rawDB(t, dir)
	if err := raw.AutoMigrate(&legacyAuditEvent{}, &legacyKV{}); err != nil {
		t.Fatal(err)
	}
	prev := strings.Repeat("0", 64)
	for i := 1; i <= n; i++ {
		e := sampleEvent(i)
		e.ID, e.At = uint64(i), time.Date(2025, 1, 1, 0, 0, i, 123456000, time.UTC)
		e.PrevHash = prev
		e.Hash = v1Hash(e)
		le := legacyAuditEvent{ID: e.ID, At: e.At, ActorID: e.ActorID, ActorEmail: e.ActorEmail, ActorRole: e.ActorRole,
			Action: e.Action, Target: e.Target, AccountID: e.AccountID, Before: e.Before, After: e.After, Outcome: e.Outcome,
			Message: e.Message, VendorRequestID: e.VendorRequestID, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID,
			PrevHash: e.PrevHash, Hash: e.Hash}
		if err := raw.Create(&le).Error; err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	b, _ := json.Marshal(map[string]any{"id": n, "hash": prev, "rows": n})
	if err := raw.Create(&legacyKV{Key: "audit.head", Value: string(b)}).Error; err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := raw.DB(); err == nil {
		sqlDB.Close()
	}
	return dir
}

func TestUpgradeAuditFromUnkeyedDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := legacyDB(t, 3)
	db := openDir(t, dir, testKey)

	// Until the upgrade the head is unkeyed: reported, and not appended to.
	if got := verify(t, db); got.OK || got.BadID != 3 || !strings.Contains(got.Reason, "head is not keyed") {
		t.Errorf("verify before the upgrade: %+v, want the unkeyed head reported", got)
	}
	if err := db.AppendAudit(ctx, sampleEvent(4)); !errors.Is(err, models.ErrAuditNotKeyed) {
		t.Errorf("append before the upgrade: %v, want ErrAuditNotKeyed", err)
	}

	n, err := db.UpgradeAudit(ctx)
	if err != nil || n != 3 {
		t.Fatalf("upgrade: %d unkeyed rows, %v; want 3", n, err)
	}
	if n, err := db.UpgradeAudit(ctx); err != nil || n != 0 {
		t.Errorf("second upgrade: %d, %v; want nothing to do", n, err)
	}
	appendN(t, db, 2)
	got := verify(t, db)
	if want := (models.VerifyResult{Rows: 6, OK: true, Unkeyed: 3}); !reflect.DeepEqual(got, want) {
		t.Fatalf("verify after the upgrade: got %+v, want %+v", got, want)
	}
	keyRows, _, err := db.ListAudit(ctx, models.AuditFilter{Action: "audit.key"})
	if err != nil || len(keyRows) != 1 || keyRows[0].ID != 4 {
		t.Fatalf("audit.key rows: %+v, %v; want row 4", keyRows, err)
	}

	// The unkeyed rows are vouched for by the first keyed row: changing
	// one, even with every plain hash recomputed, breaks the link to it.
	raw := rawDB(t, dir)
	if err := raw.Exec("UPDATE audit_events SET message = 'x' WHERE id = 2").Error; err != nil {
		t.Fatal(err)
	}
	if got := verify(t, db); got.OK || got.BadID != 2 || got.Reason != "row 2: hash mismatch (row altered)" {
		t.Errorf("unkeyed row altered: %+v", got)
	}
	all := rows(t, raw)
	prev := strings.Repeat("0", 64)
	for _, e := range all[:3] {
		e.PrevHash = prev
		e.Hash = v1Hash(e)
		if err := raw.Save(e).Error; err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	want := "row 4: previous hash does not match row 3 (the chain was broken here)"
	if got := verify(t, db); got.OK || got.BadID != 4 || got.Reason != want {
		t.Errorf("unkeyed row altered and re-hashed: %+v, want BadID 4, Reason %q", got, want)
	}
}

func TestUpgradeAuditConcurrent(t *testing.T) {
	t.Parallel()
	dir := legacyDB(t, 2)
	handles := []*models.DB{openDir(t, dir, testKey), openDir(t, dir, testKey)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for i := range 6 {
		wg.Go(func() {
			n, err := handles[i%2].UpgradeAudit(context.Background())
			if err != nil {
				t.Errorf("upgrade: %v", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 2 {
		t.Errorf("upgrades reported %d unkeyed rows in all, want 2 (one upgrade)", total)
	}
	if got := verify(t, handles[0]); !got.OK || got.Rows != 3 || got.Unkeyed != 2 {
		t.Errorf("verify: %+v, want OK, 3 rows, 2 unkeyed", got)
	}
}

func TestUpgradeAuditEmptyLog(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	if n, err := db.UpgradeAudit(context.Background()); err != nil || n != 0 {
		t.Errorf("upgrade of an empty log: %d, %v", n, err)
	}
	if got := verify(t, db); !got.OK || got.Rows != 0 {
		t.Errorf("verify: %+v, want OK and empty", got)
	}
}

func TestAuditAttemptsAndOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dir := openDB(t)
	attempt := func() uint64 {
		t.Helper()
		e := sampleEvent(1)
		e.Outcome = models.OutcomeAttempt
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatalf("attempt: %v", err)
		}
		return e.ID
	}
	outcome := func(id uint64, o string) error {
		e := sampleEvent(2)
		e.Outcome, e.AttemptID = o, &id
		return db.AppendAudit(ctx, e)
	}

	done := attempt() // 1
	if err := outcome(done, models.OutcomeOK); err != nil {
		t.Fatalf("outcome: %v", err)
	}
	failed := attempt() // 3
	if err := outcome(failed, models.OutcomeError); err != nil {
		t.Fatalf("outcome: %v", err)
	}
	lost := attempt()  // 5: the process ended during the vendor call
	appendN(t, db, 1)  // 6
	lost2 := attempt() // 7

	// Exactly one outcome per attempt, and only for attempts.
	if err := outcome(done, models.OutcomeOK); !errors.Is(err, models.ErrConflict) {
		t.Errorf("second outcome: %v, want ErrConflict", err)
	}
	if err := outcome(6, models.OutcomeOK); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("outcome of a plain row: %v, want ErrInvalid", err)
	}
	if err := outcome(99, models.OutcomeOK); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("outcome of no row: %v, want ErrInvalid", err)
	}
	e := sampleEvent(3)
	e.Outcome, e.AttemptID = models.OutcomeAttempt, &lost
	if err := db.AppendAudit(ctx, e); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("attempt naming an attempt: %v, want ErrInvalid", err)
	}

	got := verify(t, db)
	if want := (models.VerifyResult{Rows: 7, OK: true, Unknown: []uint64{lost, lost2}}); !reflect.DeepEqual(got, want) {
		t.Errorf("verify: got %+v, want %+v", got, want)
	}
	outs, err := db.AttemptOutcomes(ctx, []uint64{done, failed, lost})
	if err != nil || len(outs) != 2 || outs[done].Outcome != models.OutcomeOK || outs[failed].Outcome != models.OutcomeError || outs[done].ID != 2 {
		t.Errorf("attempt outcomes: %+v, %v", outs, err)
	}

	// The pairing is covered by the keyed hash.
	raw := rawDB(t, dir)
	if err := raw.Exec("UPDATE audit_events SET attempt_id = 5 WHERE id = 4").Error; err != nil {
		t.Fatal(err)
	}
	if got := verify(t, db); got.OK || got.BadID != 4 || got.Reason != "row 4: hash mismatch (row altered)" {
		t.Errorf("outcome moved to another attempt: %+v", got)
	}
}
