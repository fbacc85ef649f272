package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

func init() { models.SetBcryptCostForTests() }

// dbEnv is env with the variables that point the program at loc's
// database (TICKETNOTES_DATA_DIR, and TICKETNOTES_DATABASE_URL on
// PostgreSQL).
func dbEnv(loc modelstest.Database, kv ...string) func(string) string {
	return env(append([]string{"TICKETNOTES_DATA_DIR", loc.Dir, "TICKETNOTES_DATABASE_URL", loc.URL}, kv...)...)
}

// options are the models.Options that open loc's database.
func options(loc modelstest.Database) models.Options {
	return models.Options{DataDir: loc.Dir, URL: loc.URL}
}

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
	loc := modelstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, dbEnv(loc), strings.NewReader(""), &stdout, &stderr)
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
	// Metrics are off by default: nothing at /metrics on the public port.
	if resp, err := http.Get(base + "/metrics"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics by default: %d, want 404", resp.StatusCode)
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
	stopRun(t, cancel, done)
	if _, err := os.Stat(filepath.Join(loc.Dir, models.KeyFile)); err != nil {
		t.Errorf("secret key not generated: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(loc.Dir, models.KeyFile)); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestRunServesMetricsOnItsOwnListener starts the real program with
// --metrics-addr and a token: the listener of its own answers without
// one, the public port only with it.
func TestRunServesMetricsOnItsOwnListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "metrics.token")
	const token = "e2e-metrics-token-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"},
			env("TICKETNOTES_DATA_DIR", dir, "TICKETNOTES_METRICS_TOKEN_FILE", tokenFile), strings.NewReader(""), &stdout, &stderr)
	}()
	base := waitForURL(t, &stdout, done)
	// The metrics line follows the setup link.
	var m []string
	for i := 0; i < 600 && m == nil; i++ {
		if m = regexp.MustCompile(`metrics at (http://\S+)`).FindStringSubmatch(stdout.String()); m == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if m == nil {
		t.Fatalf("no metrics URL printed:\n%s", stdout.String())
	}
	get := func(url, bearer string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get(m[1], "")
	if status != http.StatusOK {
		t.Fatalf("own listener: %d", status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("own listener's answer: %v", err)
	}
	for _, name := range []string{"go_goroutines", "ticketnotes_audit_rows_total"} {
		if fams[name] == nil {
			t.Errorf("no %s on the own listener", name)
		}
	}
	if status, _ := get(base+"/metrics", ""); status != http.StatusUnauthorized {
		t.Errorf("public port without the token: %d, want 401", status)
	}
	if status, _ := get(base+"/metrics", token); status != http.StatusOK {
		t.Errorf("public port with the token: %d, want 200", status)
	}
	stopRun(t, cancel, done)
}

func TestMetricsTokenFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, empty := file("good", " token-from-a-file-0123\n"), file("empty", "\n")
	tests := []struct {
		name    string
		env     []string
		want    string
		wantErr bool
	}{
		{"none", nil, "", false},
		{"variable", []string{"TICKETNOTES_METRICS_TOKEN", "token-from-the-env-0123"}, "token-from-the-env-0123", false},
		{"file", []string{"TICKETNOTES_METRICS_TOKEN_FILE", good}, "token-from-a-file-0123", false},
		{"both", []string{"TICKETNOTES_METRICS_TOKEN", "token-from-the-env-0123", "TICKETNOTES_METRICS_TOKEN_FILE", good}, "", true},
		{"empty file", []string{"TICKETNOTES_METRICS_TOKEN_FILE", empty}, "", true},
		{"missing file", []string{"TICKETNOTES_METRICS_TOKEN_FILE", filepath.Join(dir, "nope")}, "", true},
		{"too short", []string{"TICKETNOTES_METRICS_TOKEN", "short"}, "", true},
	}
	for _, tt := range tests {
		cfg, err := serveConfig(nil, env(tt.env...))
		if tt.wantErr {
			if exitCode(err) != 2 {
				t.Errorf("%s: err %v, want a usage error", tt.name, err)
			}
			continue
		}
		if err != nil || cfg.MetricsToken != tt.want {
			t.Errorf("%s: token %q, %v; want %q", tt.name, cfg.MetricsToken, err, tt.want)
		}
	}
	if _, err := serveConfig([]string{"--metrics-addr", "nonsense"}, env()); exitCode(err) != 2 {
		t.Errorf("bad --metrics-addr: %v", err)
	}
	cfg, err := serveConfig(nil, env("TICKETNOTES_METRICS_ADDR", "127.0.0.1:9090"))
	if err != nil || cfg.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("TICKETNOTES_METRICS_ADDR: %q, %v", cfg.MetricsAddr, err)
	}
}

// waitForURL polls the program's output for the address it listens on.
// stopRun cancels a run started by a test and waits for it to return
// cleanly.
func stopRun(t *testing.T, cancel context.CancelFunc, done chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
}

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
	loc := modelstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--demo", "--addr", "127.0.0.1:0"}, loc.Args()...), env(), strings.NewReader(""), &stdout, &stderr)
	}()
	waitForURL(t, &stdout, done)
	for _, want := range []string{"admin@demo.ticketnotes.test", "manager@demo.ticketnotes.test", "demo-password"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
	db, err := models.Open(ctx, options(loc))
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
	loc := modelstest.New(t)
	ctx := context.Background()
	e := dbEnv(loc)
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
		want  string // in the error, which main prints
	}{
		{[]string{"user", "add", "--email", "ops@example.com", "--role", "admin"}, "another-password\n", 1, "email: A user with this email already exists."},
		{[]string{"user", "add", "--email", "x@example.com", "--role", "boss"}, "password-123\n", 2, "--role"},
		{[]string{"user", "add", "--email", "x@example.com", "--role", "manager"}, "short\n", 1, "password: Use at least 10 characters."},
		{[]string{"user", "add", "--role", "manager"}, "password-123\n", 2, "--email"},
		{[]string{"user", "passwd", "--email", "ops@example.com"}, "short\n", 1, "password: Use at least 10 characters."},
		{[]string{"user", "frobnicate"}, "", 2, "frobnicate"},
		{[]string{"nonsense"}, "", 2, "nonsense"},
	} {
		err := run(ctx, tc.args, e, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil || exitCode(err) != tc.code {
			t.Errorf("%v: err %v (exit %d), want exit %d", tc.args, err, exitCode(err), tc.code)
		}
		if err != nil && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "err.")) {
			t.Errorf("%v: error %q, want a sentence containing %q and no message id", tc.args, err, tc.want)
		}
	}
	out.Reset()
	if err := run(ctx, append([]string{"user", "passwd", "--email", "ops@example.com"}, loc.Args()...), env(), strings.NewReader("second-password-2\n"), &out, &errb); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	db, err := models.Open(ctx, options(loc))
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
	if len(evs) < 5 {
		t.Errorf("CLI changes audited: %d rows, want at least 5 (2 ok, 3 failed)", len(evs))
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
			loc := modelstest.New(t)
			ctx := context.Background()
			db := keyedDB(t, loc)
			for _, a := range []string{"user.login", "account.create", "note.update"} {
				if err := db.AppendAudit(ctx, &models.AuditEvent{Action: a, ActorEmail: "a@example.com", Outcome: models.OutcomeOK}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			var out bytes.Buffer
			if err := run(ctx, append([]string{"audit", "verify"}, loc.Args()...), env(), nil, &out, io.Discard); err != nil {
				t.Fatalf("verify of an intact log: %v", err)
			}
			if !strings.Contains(out.String(), "3 rows") {
				t.Errorf("verify said %q", out.String())
			}
			if err := modelstest.Raw(t, loc).Exec(tc.tamper).Error; err != nil {
				t.Fatal(err)
			}
			err := run(ctx, append([]string{"audit", "verify"}, loc.Args()...), env(), nil, io.Discard, io.Discard)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify after tampering: %v, want a failure naming %q", err, tc.want)
			}
		})
	}
}

// keyedDB opens the database at loc with the audit key the server would
// use there (secret.key in the data dir, generated when missing).
func keyedDB(t *testing.T, loc modelstest.Database) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), options(loc))
	if err != nil {
		t.Fatal(err)
	}
	key, err := models.LoadKey("", "", loc.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetAuditKey(key); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestAuditVerifyUsesTheServersKey runs the server with a key from the
// environment and the CLI beside it: the CLI's writes and checks use the
// same key, another key is named as the problem, and an attempt with no
// outcome is listed without failing the check.
func TestAuditVerifyUsesTheServersKey(t *testing.T) {
	t.Parallel()
	loc := modelstest.New(t)
	dir := loc.Dir
	const key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	e := dbEnv(loc, "TICKETNOTES_SECRET_KEY", key)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, e, strings.NewReader(""), &stdout, &stderr)
	}()
	waitForURL(t, &stdout, done)

	if err := run(ctx, []string{"user", "add", "--email", "ops@example.com", "--role", "admin"}, e,
		strings.NewReader("first-password-1\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("user add while serving: %v", err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"audit", "verify"}, e, nil, &out, io.Discard); err != nil {
		t.Fatalf("verify while serving: %v", err)
	}
	if !strings.Contains(out.String(), "audit log intact: 1 rows") {
		t.Errorf("verify said %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, models.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file was written beside a key from the environment: %v", err)
	}

	other := dbEnv(loc, "TICKETNOTES_SECRET_KEY", strings.Repeat("ab", 32))
	err := run(ctx, []string{"audit", "verify"}, other, nil, io.Discard, io.Discard)
	want := "the audit key does not match: is TICKETNOTES_SECRET_KEY the one the server uses?"
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), want) {
		t.Errorf("verify under another key: %v, want exit 1 and %q", err, want)
	}
	if err := run(ctx, []string{"user", "add", "--email", "x@example.com", "--role", "admin"}, other,
		strings.NewReader("first-password-1\n"), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("user add under another key: %v, want %q", err, want)
	}
	// No key at all: verify says where it looked instead of making one.
	err = run(ctx, []string{"audit", "verify"}, dbEnv(loc), nil, io.Discard, io.Discard)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "TICKETNOTES_SECRET_KEY") {
		t.Errorf("verify with no key: %v, want exit 1 naming TICKETNOTES_SECRET_KEY", err)
	}
	if _, err := os.Stat(filepath.Join(dir, models.KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("verify wrote a key file: %v", err)
	}
	cancel()
	<-done

	// An attempt whose outcome was never written (a crash during the vendor
	// call) is listed, and is not tampering.
	db, err := models.Open(context.Background(), options(loc))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := models.ParseKey(key)
	if err := db.SetAuditKey(k); err != nil {
		t.Fatal(err)
	}
	a := &models.AuditEvent{Action: "note.delete", ActorEmail: "ops@example.com", Outcome: models.OutcomeAttempt}
	if err := db.AppendAudit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	if err := run(context.Background(), []string{"audit", "verify"}, e, nil, &out, io.Discard); err != nil {
		t.Fatalf("verify with an open attempt: %v", err)
	}
	if want := fmt.Sprintf("1 attempt with no recorded outcome (outcome unknown): row %d", a.ID); !strings.Contains(out.String(), want) {
		t.Errorf("verify said %q, want %q", out.String(), want)
	}
}

func TestConfigFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	cfg, err := serveConfig([]string{"--addr", "0.0.0.0:9000"}, env("TICKETNOTES_DATA_DIR", "/srv/tn", "TICKETNOTES_ADDR", "127.0.0.1:1",
		"TICKETNOTES_LOG_LEVEL", "debug", "TICKETNOTES_SECRET_KEY_FILE", "/run/key"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "0.0.0.0:9000" || cfg.DataDir != "/srv/tn" || cfg.LogLevel.String() != "DEBUG" || cfg.SecretKeyFile != "/run/key" || !cfg.SecureCookies {
		t.Errorf("config = %+v", cfg)
	}
	if _, err := serveConfig(nil, env("TICKETNOTES_DEMO", "maybe")); exitCode(err) != 2 {
		t.Errorf("bad env value: %v", err)
	}
	if _, err := serveConfig([]string{"--addr", "nonsense"}, env()); exitCode(err) != 2 {
		t.Errorf("bad addr: %v", err)
	}
	cfg, _ = serveConfig([]string{"--demo"}, env())
	// --demo's sandbox accounts get loopback one by one (web.StartDemo);
	// private endpoints stay off for every other account.
	if cfg.DataDir != "./data-demo" || cfg.AllowPrivateEndpoints {
		t.Errorf("demo config = %+v", cfg)
	}
}

func TestTrustedProxiesFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	cfg, err := serveConfig(nil, env("TICKETNOTES_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.TrustedProxies); got != "[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]" {
		t.Errorf("trusted proxies %s", got)
	}
	// --trust-proxy is kept as an alias for a proxy on this machine.
	cfg, err = serveConfig([]string{"--trust-proxy", "--trusted-proxies", "10.1.2.0/24"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(cfg.TrustedProxies); got != "[127.0.0.0/8 ::1/128 10.1.2.0/24]" {
		t.Errorf("--trust-proxy: trusted proxies %s", got)
	}
	if cfg, _ := serveConfig(nil, env()); len(cfg.TrustedProxies) != 0 {
		t.Errorf("default trusts %v", cfg.TrustedProxies)
	}
	if _, err := serveConfig([]string{"--trusted-proxies", "proxy.internal"}, env()); exitCode(err) != 2 {
		t.Errorf("a host name as a proxy: %v", err)
	}
}

// TestHelp checks that every command's --help prints its usage and flags
// on stdout and succeeds.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"serve", "user add", "user list", "user passwd", "audit verify", "backup"}},
		{[]string{"-h"}, []string{"user add", "backup"}},
		{[]string{"help"}, []string{"user add", "backup"}},
		{[]string{"serve", "--help"}, []string{"ticketnotes [serve]", "-addr", "-data-dir", "-demo", "TICKETNOTES_<NAME>"}},
		{[]string{"serve", "-h"}, []string{"-addr"}},
		{[]string{"user", "--help"}, []string{"user add", "user list", "user passwd"}},
		{[]string{"user", "add", "--help"}, []string{"ticketnotes user add --email E", "-email", "-role", "-name", "-data-dir"}},
		{[]string{"user", "add", "-h"}, []string{"-email"}},
		{[]string{"user", "list", "--help"}, []string{"ticketnotes user list", "-data-dir"}},
		{[]string{"user", "passwd", "--help"}, []string{"ticketnotes user passwd --email E", "-email"}},
		{[]string{"audit", "--help"}, []string{"audit verify"}},
		{[]string{"audit", "verify", "--help"}, []string{"ticketnotes audit verify", "-data-dir"}},
		{[]string{"backup", "--help"}, []string{"ticketnotes backup --out FILE", "-out", "-data-dir"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			// A data dir that must stay untouched: help opens no database.
			dir := filepath.Join(t.TempDir(), "data")
			err := run(context.Background(), tc.args, env("TICKETNOTES_DATA_DIR", dir), strings.NewReader(""), &stdout, &stderr)
			if err != nil {
				t.Fatalf("err %v (exit %d), want success", err, exitCode(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr: %q, want nothing", stderr.String())
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("help created the data folder")
			}
		})
	}
}

// TestUsageMistakes checks that an unknown command or a bad flag exits 2
// with the usage on stderr and an error that names the mistake.
func TestUsageMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		err     string
		usage   string // in stderr
		noUsage string // not in stderr: another command's usage
	}{
		{[]string{"nonsense"}, `unknown command "nonsense"`, "user add", ""},
		{[]string{"--bogus"}, "-bogus", "-addr", "-email"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level", "-addr", ""},
		{[]string{"user"}, "user needs add", "user passwd", "backup"},
		{[]string{"user", "frobnicate"}, "frobnicate", "user passwd", "backup"},
		{[]string{"user", "add", "--bogus"}, "-bogus", "-role", "-addr"},
		{[]string{"user", "add", "--role", "admin"}, "--email is required", "-role", ""},
		{[]string{"user", "list", "extra"}, `unexpected argument "extra"`, "ticketnotes user list", "-email"},
		{[]string{"user", "passwd", "--bogus"}, "-bogus", "ticketnotes user passwd", ""},
		{[]string{"audit"}, "audit needs verify", "audit verify", ""},
		{[]string{"audit", "verify", "--bogus"}, "-bogus", "ticketnotes audit verify", ""},
		{[]string{"backup"}, "--out is required", "-out", ""},
		{[]string{"backup", "--bogus"}, "-bogus", "-out", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			dir := filepath.Join(t.TempDir(), "data")
			err := run(context.Background(), tc.args, env("TICKETNOTES_DATA_DIR", dir), strings.NewReader(""), &stdout, &stderr)
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("err %v (exit %d), want exit 2", err, exitCode(err))
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %q does not name %q", err, tc.err)
			}
			if !strings.Contains(stderr.String(), tc.usage) {
				t.Errorf("stderr lacks the usage (%q):\n%s", tc.usage, stderr.String())
			}
			if tc.noUsage != "" && strings.Contains(stderr.String(), tc.noUsage) {
				t.Errorf("stderr shows another command's usage (%q):\n%s", tc.noUsage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", stdout.String())
			}
		})
	}
}

// TestNewDataDirIsReported checks that a command creating the data folder
// says so once, with the absolute path, so a misspelt --data-dir shows.
func TestNewDataDirIsReported(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"user", "list"},
		{"audit", "verify"},
		{"backup", "--out", "OUT"}, // OUT: a new file each run
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			top := t.TempDir()
			dir := filepath.Join(top, "typo", "data")
			e := env("TICKETNOTES_DATA_DIR", dir)
			var stderr bytes.Buffer
			for i := range 2 {
				stderr.Reset()
				a := slices.Clone(args)
				if n := slices.Index(a, "OUT"); n >= 0 {
					a[n] = filepath.Join(top, fmt.Sprintf("copy-%d.db", i))
				}
				if err := run(context.Background(), a, e, nil, io.Discard, &stderr); err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if i == 0 {
					want := "Created a new, empty data folder at " + dir + "\n"
					if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, want) {
						t.Errorf("stderr %q, want the one line %q", got, want)
					}
					if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
						t.Fatalf("data folder not created: %v", err)
					}
				} else if strings.Contains(stderr.String(), "Created") {
					t.Errorf("second run reported a new folder again: %q", stderr.String())
				}
			}
		})
	}
}

// TestServeReportsNewDataDir checks the server says it created the folder.
func TestServeReportsNewDataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir}, env(), strings.NewReader(""), &stdout, &stderr)
	}()
	waitForURL(t, &stdout, done)
	cancel()
	<-done
	if want := "Created a new, empty data folder at " + dir + "\n"; strings.Count(stderr.String(), want) != 1 {
		t.Errorf("stderr lacks %q once:\n%s", want, stderr.String())
	}
}

// TestDataDirNotADirectory uses a data-dir path below a regular file.
func TestDataDirNotADirectory(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "data")} {
		err := run(context.Background(), []string{"user", "list", "--data-dir", dir}, env(), nil, io.Discard, io.Discard)
		want := "cannot use the data folder " + dir + ": not a directory"
		if err == nil || err.Error() != want {
			t.Errorf("--data-dir %s: %v, want %q", dir, err, want)
		}
	}
}

// TestDataDirError checks the wording of each kind of failure.
func TestDataDirError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("probe: %w", fs.ErrPermission), "permission denied"},
		{&fs.PathError{Op: "open", Path: "/srv/tn/.write-check-1", Err: syscall.EACCES}, "permission denied"},
		{&fs.PathError{Op: "open", Path: "/srv/tn/.write-check-1", Err: syscall.EPERM}, "permission denied"},
		{&fs.PathError{Op: "mkdir", Path: "/srv/tn", Err: syscall.ENOTDIR}, "not a directory"},
		{&fs.PathError{Op: "open", Path: "/srv/tn/.write-check-1", Err: syscall.EROFS}, "read-only file system"},
		{errors.New("odd failure"), "odd failure"},
	} {
		err := dataDirError("/srv/tn", tc.err)
		if want := "cannot use the data folder /srv/tn: " + tc.want; err.Error() != want {
			t.Errorf("%v: %q, want %q", tc.err, err, want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: the worded error does not unwrap to it", tc.err)
		}
	}
}

// TestDataDirUnwritable runs a command on an existing folder the user
// cannot write to. Root writes anywhere, so as root the test runs the
// program as nobody in a child process.
func TestDataDirUnwritable(t *testing.T) {
	t.Parallel()
	want := "permission denied"
	if os.Geteuid() != 0 {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		err := run(context.Background(), []string{"user", "list", "--data-dir", dir}, env(), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("unwritable data folder: %v, want %q naming the folder", err, want)
		}
		return
	}
	// A folder nobody can enter, holding a copy of this test binary and a
	// data folder that root owns.
	top, err := os.MkdirTemp("", "ticketnotes-child-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(top, "ticketnotes.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"user", "list", "--data-dir", dir},
		{"user", "list", "--data-dir", filepath.Join(dir, "new")},
	} {
		cmd := exec.Command(exe, append([]string{"-test.run=^TestChildProcess$", "--"}, args...)...)
		cmd.Env = []string{"TICKETNOTES_TEST_CHILD=1"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("%v: %v, want exit status 1:\n%s", args, err, out)
		}
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), args[3]) || strings.Contains(string(out), "no such file") {
			t.Errorf("%v said %q, want %q naming the folder", args, out, want)
		}
	}
}

// TestChildProcess is the program run by TestDataDirUnwritable in a child
// process; it skips itself otherwise.
func TestChildProcess(t *testing.T) {
	if os.Getenv("TICKETNOTES_TEST_CHILD") != "1" {
		t.Skip("runs only as a child of TestDataDirUnwritable")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	if err := run(context.Background(), args, env(), nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ticketnotes:", err)
		os.Exit(exitCode(err))
	}
	os.Exit(0)
}

// TestBackupCommandWritesAnOwnerOnlyCopy: the backup holds the whole
// database, secrets' ciphertext and audit log included; it is 0600 and
// never overwrites a file.
func TestBackupCommandWritesAnOwnerOnlyCopy(t *testing.T) {
	t.Parallel()
	loc := modelstest.New(t)
	dir := loc.Dir
	ctx := context.Background()
	e := dbEnv(loc)
	if err := run(ctx, []string{"user", "add", "--email", "ops@example.com", "--role", "admin"}, e,
		strings.NewReader("first-password-1\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if loc.URL != "" {
		// PostgreSQL is backed up with pg_dump: the command says so and
		// writes nothing.
		out := filepath.Join(t.TempDir(), "backup.db")
		err := run(ctx, []string{"backup", "--out", out}, e, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("backup on PostgreSQL: %v, want an error naming pg_dump", err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backup on PostgreSQL left %s (%v)", out, err)
		}
		return
	}
	for _, f := range []string{models.SQLiteFile, models.SQLiteFile + "-wal", models.SQLiteFile + "-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %#o, want 0600", f, fi.Mode().Perm())
		}
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := run(ctx, []string{"backup", "--out", out}, e, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %#o, want 0600", fi.Mode().Perm())
	}
	if err := run(ctx, []string{"backup", "--out", out}, e, nil, io.Discard, io.Discard); err == nil {
		t.Error("a second backup to the same file succeeded")
	}
}

// Without GOGC the server collects at gcPercent; a GOGC set by the
// operator stays in force.
func TestTuneGCDefaultsToFiftyUnlessGOGCIsSet(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	if !tuneGC(env()) || debug.SetGCPercent(100) != 50 {
		t.Fatal("without GOGC the target is not 50")
	}
	debug.SetGCPercent(80) // what the runtime took from GOGC=80
	if tuneGC(env("GOGC", "80")) || debug.SetGCPercent(80) != 80 {
		t.Fatal("GOGC=80 was not kept")
	}
}
