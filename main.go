// Command ticketnotes is a self-hosted dashboard for helpdesk ticket notes
// across Alibaba Cloud, Sendbird Desk and Feishu / Lark.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ticketnotes:", err)
		os.Exit(exitCode(err))
	}
}

// gcPercent is the collector's target when GOGC is unset: the heap may grow
// to 1.5× what is live instead of Go's 2×. A first sync lists every ticket
// of every account at once; at Go's default the server peaked at 240 MB
// during a million-note backfill, at 50 at 167 MB (the budget is 200), for
// about 5% more backfill time (BENCHMARKS.md, "Memory and page latency
// during a 1M backfill"). Unlike a memory limit it scales with the
// archive: a bigger live heap is collected as often, never in a loop.
const gcPercent = 50

// tuneGC sets the collector's target to gcPercent unless GOGC is set, in
// which case the runtime has already applied it; it reports whether it set
// the target.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(gcPercent)
	return true
}

// run is the whole program, with its inputs explicit so tests can drive it.
// A --help prints the command's usage on stdout and returns nil; a usage
// mistake prints it on stderr and returns an error with exit status 2.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	var help *helpErr
	var bad *usageErr
	switch {
	case errors.As(err, &help):
		help.usage(stdout)
		return nil
	case errors.As(err, &bad):
		// The usage first, so the error stays the last line, next to the prompt.
		bad.usage(stderr)
	}
	return sentence(err)
}

// dispatch runs the command named by args[0], serve when there is none.
func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && isHelp(args[0]) {
		return &helpErr{usage: groupUsage("")}
	}
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "user":
		return userCmd(ctx, rest, getenv, stdin, stdout, stderr)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return backupCmd(ctx, rest, getenv, stdout, stderr)
	case "sync":
		return syncCmd(ctx, rest, getenv, stdout, stderr)
	}
	return usageError(groupUsage(""), "unknown command %q", cmd)
}

// isHelp reports whether a command word asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// commands lists every command, for the usage texts.
var commands = []struct{ name, synopsis, about string }{
	{"serve", "ticketnotes [serve]", "Run the dashboard (the default command)"},
	{"user add", "ticketnotes user add --email E --role admin|manager [--name N]", "Create a user; the password is asked, or read from stdin"},
	{"user list", "ticketnotes user list", "List the users"},
	{"user passwd", "ticketnotes user passwd --email E", "Set a user's password, read as for user add"},
	{"audit verify", "ticketnotes audit verify", "Check the audit log under the server's secret key (TICKETNOTES_SECRET_KEY, TICKETNOTES_SECRET_KEY_FILE or the data dir's secret.key); exit status 1 at the first altered row or for another key"},
	{"backup", "ticketnotes backup --out FILE", "Write an online copy of the SQLite database"},
	{"sync", "ticketnotes sync [--account ID] [--full]", "Sync accounts into the local archive now, beside a running server (its pass is waited for); exit status 1 naming each account that failed"},
}

const envNote = `Every flag is also an environment variable TICKETNOTES_<NAME> (dashes as
underscores); a flag on the command line wins.
`

// groupUsage returns a printer of the commands whose name starts with
// group ("" for all, "user", "audit").
func groupUsage(group string) func(io.Writer) {
	return func(w io.Writer) {
		if group == "" {
			fmt.Fprint(w, "ticketnotes — helpdesk ticket notes dashboard\n\nUsage:\n  ticketnotes [COMMAND] [flags]\n")
		} else {
			fmt.Fprintf(w, "Usage:\n  ticketnotes %s COMMAND [flags]\n", group)
		}
		fmt.Fprint(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		for _, c := range commands {
			if strings.HasPrefix(c.name, group) {
				fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.about)
			}
		}
		tw.Flush()
		fmt.Fprint(w, "\nRun \"ticketnotes COMMAND --help\" for a command's flags.\n"+envNote)
	}
}
