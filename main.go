// Command ticketnotes is a self-hosted dashboard for helpdesk ticket notes
// across Alibaba Cloud, Sendbird Desk and Feishu / Lark.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ticketnotes:", err)
		os.Exit(exitCode(err))
	}
}

// run is the whole program, with its inputs explicit so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
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
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError("unknown command %q", cmd)
}

const usage = `ticketnotes — helpdesk ticket notes dashboard

Usage:
  ticketnotes [serve] [flags]            run the dashboard
  ticketnotes user add --email E --role admin|manager [--name N]
  ticketnotes user list
  ticketnotes user passwd --email E
  ticketnotes audit verify
  ticketnotes backup --out FILE         online copy of the SQLite database

Every flag is also an environment variable TICKETNOTES_<NAME> (dashes as
underscores). Run "ticketnotes serve -h" for the server's flags.
`
