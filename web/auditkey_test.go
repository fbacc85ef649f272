package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// writeUnkeyedLog writes n audit rows and their head into the database at
// loc the way the code before the keyed chain did: plain SHA-256.
func writeUnkeyedLog(t *testing.T, loc modelstest.Database, n int) {
	t.Helper()
	g := modelstest.Raw(t, loc)
	prev := strings.Repeat("0", 64)
	for i := 1; i <= n; i++ {
		e := &models.AuditEvent{ID: uint64(i), At: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), ActorEmail: "old@example.com",
			Action: "user.login", Target: "user:1", Outcome: models.OutcomeOK, PrevHash: prev}
		var b []byte
		for _, f := range []string{"ticketnotes-audit-v1", strconv.FormatUint(e.ID, 10), e.At.Format(time.RFC3339Nano), "", e.ActorEmail, "",
			e.Action, e.Target, "", "", "", e.Outcome, "", "", "", "", "", e.PrevHash} {
			b = append(strconv.AppendInt(b, int64(len(f)), 10), ':')
			b = append(append(b, f...), ',')
		}
		sum := sha256.Sum256(b)
		e.Hash = hex.EncodeToString(sum[:])
		if err := g.Omit("attempt_id").Create(e).Error; err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	head, _ := json.Marshal(map[string]any{"id": n, "hash": prev, "rows": n})
	if err := g.Create(&models.KV{Key: "audit.head", Value: string(head)}).Error; err != nil {
		t.Fatal(err)
	}
}

// TestServerKeysAnUnkeyedLog starts the server on a database from before
// the keyed chain: it keys it once, and the verify page says how many rows
// came before.
func TestServerKeysAnUnkeyedLog(t *testing.T) {
	t.Parallel()
	loc := modelstest.New(t)
	dir := loc.Dir
	db, err := models.Open(context.Background(), models.Options{DataDir: dir, URL: loc.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	writeUnkeyedLog(t, loc, 3)
	start := func() *Server {
		t.Helper()
		srv, err := New(Config{DataDir: dir, LoginPerMinute: 1000}, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	start()
	ts := &testServer{t: t, db: db, dir: dir, loc: loc, srv: start()} // a restart keys nothing again
	keyed, _, err := db.ListAudit(context.Background(), models.AuditFilter{Action: "audit.key"})
	if err != nil || len(keyed) != 1 || keyed[0].ID != 4 {
		t.Fatalf("audit.key rows %+v, %v; want one, row 4", keyed, err)
	}
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	resp, body := c.get("/audit/verify")
	d := doc(t, body)
	if resp.StatusCode != http.StatusOK || d.Find(`[data-testid=verify]`).AttrOr("data-ok", "") != "true" {
		t.Fatalf("verify page: %d\n%s", resp.StatusCode, body)
	}
	if got := d.Find(`[data-testid=verify-unkeyed]`).Text(); !strings.Contains(got, "The first 3 rows were written before the log was keyed") {
		t.Errorf("verify page says %q about the unkeyed rows", got)
	}
}

// TestVerifyPageNamesAWrongKey checks the page under a key the log was
// not written with.
func TestVerifyPageNamesAWrongKey(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	if err := ts.db.SetAuditKey([]byte("not the key the log was keyed by")); err != nil {
		t.Fatal(err)
	}
	resp, body := c.get("/audit/verify")
	v := doc(t, body).Find(`[data-testid=verify]`)
	want := "The audit key does not match: is TICKETNOTES_SECRET_KEY the one the server uses?"
	if got := strings.TrimSpace(v.Find("p").Text()); resp.StatusCode != http.StatusConflict || v.AttrOr("data-wrong-key", "") != "true" || got != want {
		t.Errorf("verify page under another key: %d %q, want 409 and %q", resp.StatusCode, got, want)
	}
}
