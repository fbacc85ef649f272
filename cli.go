package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// openDB opens the database at url, or SQLite in dataDir when url is
// empty. It returns an error naming the data folder when that cannot be
// created or written, and a folder it creates is reported on stderr.
func openDB(ctx context.Context, url, dataDir string, stderr io.Writer) (*models.DB, error) {
	if url == "" {
		if err := prepareDataDir(dataDir, stderr); err != nil {
			return nil, err
		}
	}
	return models.Open(ctx, models.Options{URL: url, DataDir: dataDir})
}

// keyAudit keys db's audit log with the secret key the server uses:
// TICKETNOTES_SECRET_KEY, else the file TICKETNOTES_SECRET_KEY_FILE, else
// <data-dir>/secret.key. A writer (write=true) may generate that file the
// way the server does on first start, and upgrades a log from before the
// keyed chain as the server does; a check never makes a key, since a new
// key could only say the log does not match. It returns an error naming
// where the key was looked for when there is none.
func keyAudit(ctx context.Context, db *models.DB, getenv func(string) string, dataDir string, write bool) error {
	value, file := getenv("TICKETNOTES_SECRET_KEY"), getenv("TICKETNOTES_SECRET_KEY_FILE")
	if value == "" && file == "" && !write {
		path := filepath.Join(dataDir, models.KeyFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return &noKeyError{path: path, err: err}
		}
	}
	key, err := models.LoadKey(value, file, dataDir)
	if err != nil {
		return err
	}
	if err := db.SetAuditKey(key); err != nil {
		return err
	}
	if write {
		if _, err := db.UpgradeAudit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// noKeyError says no secret key was found for a check.
type noKeyError struct {
	path string
	err  error
}

func (e *noKeyError) Error() string {
	return fmt.Sprintf("no secret key: %s does not exist; set TICKETNOTES_SECRET_KEY or TICKETNOTES_SECRET_KEY_FILE to the key the server uses", e.path)
}
func (e *noKeyError) Unwrap() error { return e.err }

// prepareDataDir makes sure dir exists and can be written to, creating it
// when missing and saying so in one line on stderr, so a misspelt
// --data-dir is noticed. It returns a dataDirError on failure.
func prepareDataDir(dir string, stderr io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dataDirError(dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return dataDirError(abs, err)
		}
		fmt.Fprintf(stderr, "Created a new, empty data folder at %s\n", abs)
		return nil
	case err != nil:
		return dataDirError(abs, err)
	case !fi.IsDir():
		return dataDirError(abs, syscall.ENOTDIR)
	}
	// SQLite reports a folder it cannot write to as "unable to open database
	// file: no such file or directory"; a probe file names the real cause.
	f, err := os.CreateTemp(abs, ".write-check-*")
	if err != nil {
		return dataDirError(abs, err)
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return dataDirError(abs, err)
	}
	return nil
}

// dataDirError words a failure to use the data folder dir as one sentence:
// the folder and the plain cause ("permission denied", "not a directory"),
// without the system call's own path. It unwraps to err.
func dataDirError(dir string, err error) error {
	var errno syscall.Errno
	cause := err.Error()
	switch {
	case errors.Is(err, os.ErrPermission):
		cause = "permission denied"
	case errors.As(err, &errno):
		cause = errno.Error()
	}
	return &cliError{msg: fmt.Sprintf("cannot use the data folder %s: %s", dir, cause), err: err}
}

// cliError is err worded for a terminal.
type cliError struct {
	msg string
	err error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// sentence returns err with the catalog id of a field error in its text
// replaced by the English sentence, so the terminal shows "password: Use
// at least 10 characters." rather than "password: err.password_short".
// Other errors are returned as they are.
func sentence(err error) error {
	var fe *models.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	cat, cerr := i18n.New()
	if cerr != nil {
		return err
	}
	en := cat.Localizer("en").T(fe.Msg)
	return &cliError{msg: strings.Replace(err.Error(), fe.Msg, en, 1), err: err}
}

// readPassword reads a password: from a prompt (twice) on a terminal, else
// the first line of stdin, so scripts can pipe it.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin")
	}
	return pw, nil
}

// userCmd runs "user add|list|passwd".
func userCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(groupUsage("user"), "user needs add, list or passwd")
	}
	sub, args := args[0], args[1:]
	if isHelp(sub) {
		return &helpErr{usage: groupUsage("user")}
	}
	fs := newFlagSet("user " + sub)
	var (
		d                 dbFlags
		email, role, name string
	)
	d.register(fs)
	switch sub {
	case "add":
		fs.StringVar(&email, "email", "", "the user's email (required)")
		fs.StringVar(&role, "role", "", "admin or manager (required)")
		fs.StringVar(&name, "name", "", "display name")
	case "passwd":
		fs.StringVar(&email, "email", "", "the user's email (required)")
	case "list":
	default:
		return usageError(groupUsage("user"), "unknown user command %q", sub)
	}
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if sub != "list" && email == "" {
		return usageError(flagUsage(fs), "--email is required")
	}
	if sub == "add" && !models.ValidRole(role) {
		return usageError(flagUsage(fs), "--role must be admin or manager")
	}
	db, err := openDB(ctx, d.databaseURL, d.dataDir, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if sub != "list" {
		// Changes are audited, under the server's key.
		if err := keyAudit(ctx, db, getenv, d.dataDir, true); err != nil {
			return err
		}
	}
	switch sub {
	case "list":
		us, err := db.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATUS")
		for _, u := range us {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, status)
		}
		return tw.Flush()
	case "add":
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		u, err := db.CreateUser(ctx, models.NewUser{Email: email, Name: name, Role: role, Password: pw})
		ev := &models.AuditEvent{Action: "user.create", ActorEmail: "cli", Target: "user:" + strings.ToLower(email),
			Outcome: models.OutcomeOK, UserAgent: "ticketnotes cli"}
		if err != nil {
			ev.Outcome, ev.Message = models.OutcomeError, cliMessage(err)
			_ = db.AppendAudit(ctx, ev)
			return err
		}
		ev.Target = fmt.Sprintf("user:%d", u.ID)
		ev.After = fmt.Sprintf(`{"email":%q,"role":%q,"name":%q}`, u.Email, u.Role, u.Name)
		if err := db.AppendAudit(ctx, ev); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (id %d)\n", u.Role, u.Email, u.ID)
		return nil
	default: // passwd
		u, err := db.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		ev := &models.AuditEvent{Action: "user.password", ActorEmail: "cli", Target: fmt.Sprintf("user:%d", u.ID),
			Outcome: models.OutcomeOK, UserAgent: "ticketnotes cli"}
		if err := db.SetPassword(ctx, u.ID, pw); err != nil {
			ev.Outcome, ev.Message = models.OutcomeError, cliMessage(err)
			_ = db.AppendAudit(ctx, ev)
			return err
		}
		if err := db.AppendAudit(ctx, ev); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s\n", u.Email)
		return nil
	}
}

// cliMessage words a validation error for a terminal.
func cliMessage(err error) string {
	var fe *models.FieldError
	if errors.As(err, &fe) {
		return "invalid " + fe.Field + " (" + fe.Msg + ")"
	}
	return err.Error()
}

// auditCmd runs "audit verify": exit status 1 and the first bad row when
// the chain is broken or keyed under another key; attempts with no outcome
// are listed but are not a failure.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		return &helpErr{usage: groupUsage("audit")}
	}
	if len(args) == 0 || args[0] != "verify" {
		return usageError(groupUsage("audit"), "audit needs verify")
	}
	fs := newFlagSet("audit verify")
	var d dbFlags
	d.register(fs)
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	db, err := openDB(ctx, d.databaseURL, d.dataDir, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	var noKey *noKeyError
	if err := keyAudit(ctx, db, getenv, d.dataDir, false); errors.As(err, &noKey) {
		// Without the key an empty log still checks (nothing is keyed), and
		// an unkeyed head is reported as such; a throwaway key can only
		// fail to match a keyed log, which is then the missing key's fault.
		throwaway := make([]byte, 32)
		_, _ = rand.Read(throwaway)
		if err := db.SetAuditKey(throwaway); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	res, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if res.WrongKey && noKey != nil {
		return noKey
	}
	if res.WrongKey {
		return &cliError{msg: "audit verify: " + res.Reason, err: models.ErrAuditKey}
	}
	if !res.OK {
		return fmt.Errorf("audit log broken at row %d: %s", res.BadID, res.Reason)
	}
	fmt.Fprintf(stdout, "audit log intact: %d rows", res.Rows)
	if res.Unkeyed > 0 {
		fmt.Fprintf(stdout, " (the first %d written before the audit key)", res.Unkeyed)
	}
	fmt.Fprintln(stdout)
	if n := len(res.Unknown); n > 0 {
		ids := make([]string, n)
		for i, id := range res.Unknown {
			ids[i] = strconv.FormatUint(id, 10)
		}
		noun, rows := "attempts", "rows"
		if n == 1 {
			noun, rows = "attempt", "row"
		}
		fmt.Fprintf(stdout, "%d %s with no recorded outcome (outcome unknown): %s %s\n", n, noun, rows, strings.Join(ids, ", "))
	}
	return nil
}

// backupCmd writes a consistent copy of the SQLite database while the
// server runs.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup")
	var (
		d   dbFlags
		out string
	)
	d.register(fs)
	fs.StringVar(&out, "out", "", "file to write the copy to (must not exist)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if out == "" {
		return usageError(flagUsage(fs), "--out is required")
	}
	db, err := openDB(ctx, d.databaseURL, d.dataDir, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", out)
	return nil
}
