package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/models"
)

func init() { models.SetBcryptCostForTests() }

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe to write from the server goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var urlRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

// TestRunServesAndShutsDown starts the real program, waits for /healthz,
// follows the printed setup link, and stops it with a cancelled context.
func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, env("TICKETNOTES_DATA_DIR", dir), strings.NewReader(""), &stdout, &stderr)
	}()
	base := waitForURL(t, &stdout, done)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	link := regexp.MustCompile(`http://\S+/setup\?token=\w+`).FindString(stdout.String())
	if link == "" {
		t.Fatalf("no setup link printed:\n%s", stdout.String())
	}
	resp, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("setup link: %d", resp.StatusCode)
	}
	if !strings.Contains(stderr.String(), "request_id=") {
		t.Errorf("request log lines carry no request id:\n%s", stderr.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	if _, err := os.Stat(filepath.Join(dir, models.KeyFile)); err != nil {
		t.Errorf("secret key not generated: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, models.KeyFile)); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode %v, want 0600", fi.Mode().Perm())
	}
}

// waitForURL polls the program's output for the address it listens on.
func waitForURL(t *testing.T, out *syncBuffer, done chan error) string {
	t.Helper()
	for i := 0; i < 600; i++ {
		if u := urlRE.FindString(out.String()); u != "" {
			return u
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no URL printed:\n%s", out.String())
	return ""
}

func TestDemoPrintsSignIns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--demo", "--addr", "127.0.0.1:0", "--data-dir", dir}, env(), strings.NewReader(""), &stdout, &stderr)
	}()
	waitForURL(t, &stdout, done)
	for _, want := range []string{"admin@demo.ticketnotes.test", "manager@demo.ticketnotes.test", "demo-password"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
	db, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.ListAccounts(ctx)
	if err != nil || len(as) != 3 {
		t.Fatalf("demo accounts: %d, %v", len(as), err)
	}
	for _, a := range as {
		if !strings.HasSuffix(a.Name, "(demo)") {
			t.Errorf("demo account %q is not labelled", a.Name)
		}
	}
	cancel()
	<-done
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	e := env("TICKETNOTES_DATA_DIR", dir)
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"user", "add", "--email", "Ops@Example.com", "--role", "admin", "--name", "Ops"}, e,
		strings.NewReader("first-password-1\n"), &out, &errb); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if !strings.Contains(out.String(), "created admin ops@example.com") {
		t.Errorf("user add said %q", out.String())
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
	}{
		{[]string{"user", "add", "--email", "ops@example.com", "--role", "admin"}, "another-password\n", 1}, // taken
		{[]string{"user", "add", "--email", "x@example.com", "--role", "boss"}, "password-123\n", 2},
		{[]string{"user", "add", "--email", "x@example.com", "--role", "manager"}, "short\n", 1},
		{[]string{"user", "add", "--role", "manager"}, "password-123\n", 2},
		{[]string{"user", "frobnicate"}, "", 2},
		{[]string{"nonsense"}, "", 2},
	} {
		err := run(ctx, tc.args, e, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil || exitCode(err) != tc.code {
			t.Errorf("%v: err %v (exit %d), want exit %d", tc.args, err, exitCode(err), tc.code)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"user", "passwd", "--email", "ops@example.com", "--data-dir", dir}, env(), strings.NewReader("second-password-2\n"), &out, &errb); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	db, err := models.Open(ctx, models.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Authenticate(ctx, "ops@example.com", "second-password-2"); err != nil {
		t.Errorf("new password does not work: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"user", "list"}, e, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 || !strings.Contains(lines[1], "ops@example.com") || !strings.Contains(lines[1], "admin") {
		t.Errorf("user list:\n%s", strings.Join(lines, "\n"))
	}
	evs, _, _ := db.ListAudit(ctx, models.AuditFilter{Action: "user."})
	if len(evs) < 4 {
		t.Errorf("CLI changes audited: %d rows, want at least 4 (2 ok, 2 failed)", len(evs))
	}
}

func TestAuditVerifyCatchesTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper string
		want   string
	}{
		{"altered", "UPDATE audit_events SET actor_email = 'someone-else@example.com' WHERE id = 2", "row 2"},
		{"removed", "DELETE FROM audit_events WHERE id = 2", "row 3"},
		{"tail removed", "DELETE FROM audit_events WHERE id = 3", "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx := context.Background()
			db, err := models.Open(ctx, models.Options{DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range []string{"user.login", "account.create", "note.update"} {
				if err := db.AppendAudit(ctx, &models.AuditEvent{Action: a, ActorEmail: "a@example.com", Outcome: models.OutcomeOK}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			var out bytes.Buffer
			if err := run(ctx, []string{"audit", "verify", "--data-dir", dir}, env(), nil, &out, io.Discard); err != nil {
				t.Fatalf("verify of an intact log: %v", err)
			}
			if !strings.Contains(out.String(), "3 rows") {
				t.Errorf("verify said %q", out.String())
			}
			raw, err := gorm.Open(sqlite.Open(filepath.Join(dir, models.SQLiteFile)), &gorm.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.Exec(tc.tamper).Error; err != nil {
				t.Fatal(err)
			}
			if sqlDB, err := raw.DB(); err == nil {
				sqlDB.Close()
			}
			err = run(ctx, []string{"audit", "verify", "--data-dir", dir}, env(), nil, io.Discard, io.Discard)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify after tampering: %v, want a failure naming %q", err, tc.want)
			}
		})
	}
}

func TestConfigFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	cfg, err := serveConfig([]string{"--addr", "0.0.0.0:9000"}, env("TICKETNOTES_DATA_DIR", "/srv/tn", "TICKETNOTES_ADDR", "127.0.0.1:1",
		"TICKETNOTES_LOG_LEVEL", "debug", "TICKETNOTES_SECRET_KEY_FILE", "/run/key"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "0.0.0.0:9000" || cfg.DataDir != "/srv/tn" || cfg.LogLevel.String() != "DEBUG" || cfg.SecretKeyFile != "/run/key" || !cfg.SecureCookies {
		t.Errorf("config = %+v", cfg)
	}
	if _, err := serveConfig(nil, env("TICKETNOTES_DEMO", "maybe"), io.Discard); exitCode(err) != 2 {
		t.Errorf("bad env value: %v", err)
	}
	if _, err := serveConfig([]string{"--addr", "nonsense"}, env(), io.Discard); exitCode(err) != 2 {
		t.Errorf("bad addr: %v", err)
	}
	cfg, _ = serveConfig([]string{"--demo"}, env(), io.Discard)
	if cfg.DataDir != "./data-demo" || !cfg.AllowPrivateEndpoints {
		t.Errorf("demo config = %+v", cfg)
	}
}
