package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/ticketnotes/ticketnotes/providers/syncer"
	"github.com/ticketnotes/ticketnotes/web"
)

// errUsage marks errors in how the command was called (exit status 2).
var errUsage = errors.New("usage")

// usageErr is a mistake in how a command was called: run prints the
// command's usage on stderr, and the exit status is 2.
type usageErr struct {
	msg   string
	usage func(io.Writer)
}

func (e *usageErr) Error() string { return e.msg }
func (e *usageErr) Unwrap() error { return errUsage }

// helpErr is a request for a command's usage: run prints it on stdout and
// exits 0.
type helpErr struct{ usage func(io.Writer) }

func (e *helpErr) Error() string { return "help requested" }

// usageError returns a *usageErr that shows usage.
func usageError(usage func(io.Writer), format string, a ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, a...), usage: usage}
}

// exitCode is the process exit status for an error run returned.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// newFlagSet returns the flag set of the command called name in commands;
// its usage is the synopsis, what the command does, and the flags.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(w, "Usage:\n  %s [flags]\n\n%s.\n", c.synopsis, c.about)
			}
		}
		fmt.Fprint(w, "\nFlags:\n")
		// Hidden flags are for tests and benchmarks: they work (and read
		// their environment variable) but are not offered.
		shown := flag.NewFlagSet(name, flag.ContinueOnError)
		shown.SetOutput(w)
		fs.VisitAll(func(f *flag.Flag) {
			if !hiddenFlags[f.Name] {
				// Var takes the value's current text as its default; the
				// flags may have been parsed already.
				shown.Var(f.Value, f.Name, f.Usage)
				shown.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		shown.PrintDefaults()
		fmt.Fprint(w, "\n"+envNote)
	}
	return fs
}

// hiddenFlags are left out of every command's usage.
var hiddenFlags = map[string]bool{"lease-ttl": true}

// flagUsage returns a printer of fs's usage.
func flagUsage(fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fs.SetOutput(w)
		fs.Usage()
	}
}

// envName is the environment variable of a flag: --data-dir → TICKETNOTES_DATA_DIR.
func envName(flagName string) string {
	return "TICKETNOTES_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs, with every flag defaulting from its
// environment variable. Flags given on the command line win. It returns a
// *helpErr for -h / --help and a *usageErr for a bad flag or value.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	// run prints the usage, on stdout or stderr; the flag package must not.
	fs.SetOutput(io.Discard)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = usageError(flagUsage(fs), "%s=%q: %v", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpErr{usage: flagUsage(fs)}
		}
		return usageError(flagUsage(fs), "%v", err)
	}
	if fs.NArg() > 0 {
		return usageError(flagUsage(fs), "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// dbFlags are the flags every command shares.
type dbFlags struct {
	dataDir     string
	databaseURL string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "./data", "folder for the SQLite database and the generated secret key")
	fs.StringVar(&d.databaseURL, "database-url", "", "PostgreSQL URL (postgres://...); empty uses SQLite in --data-dir")
}

// serveConfig parses the server's flags and environment into a web.Config.
// It returns a *helpErr for --help and a *usageErr for a bad flag or value.
func serveConfig(args []string, getenv func(string) string) (web.Config, error) {
	fs := newFlagSet("serve")
	var (
		cfg      web.Config
		db       dbFlags
		logLevel string
		secure   string
		proxies  string
		// trustLoopback is the older --trust-proxy, kept as an alias.
		trustLoopback bool
	)
	db.register(fs)
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&cfg.Demo, "demo", false, "start with three sandbox accounts served by built-in vendor simulators")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&cfg.AllowPrivateEndpoints, "allow-private-endpoints", false, "let account endpoint overrides point at loopback or private addresses")
	fs.DurationVar(&cfg.SyncInterval, "sync-interval", syncer.DefaultInterval, "time between an account's scheduled sync passes; 0 syncs only on demand")
	fs.DurationVar(&cfg.SyncFullEvery, "sync-full-every", syncer.DefaultFullEvery, "how often a sync pass rereads every ticket, catching edits and deletions on old ones")
	fs.DurationVar(&cfg.LeaseTTL, "lease-ttl", syncer.DefaultLeaseTTL, "how long this instance's lease on an account's sync pass lasts unless renewed")
	fs.IntVar(&cfg.DemoScale, "demo-scale", 0, "with --demo, seed the simulators with about N notes in all (0: the small default demo)")
	fs.StringVar(&secure, "secure-cookies", "auto", "mark cookies Secure: auto (unless listening on loopback), true or false")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of your reverse proxies; X-Forwarded-For counts only from them")
	fs.BoolVar(&trustLoopback, "trust-proxy", false, "same as adding 127.0.0.0/8,::1 to --trusted-proxies (a proxy on this machine)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this host:port of its own, unauthenticated (empty: not served there)")
	// Secrets come only from the environment, never from argv (visible in ps).
	cfg.SecretKey = getenv("TICKETNOTES_SECRET_KEY")
	cfg.SecretKeyFile = getenv("TICKETNOTES_SECRET_KEY_FILE")
	if err := parseFlags(fs, args, getenv); err != nil {
		return cfg, err
	}
	token, err := metricsToken(getenv, os.ReadFile)
	if err != nil {
		return cfg, usageError(flagUsage(fs), "%v", err)
	}
	cfg.MetricsToken = token
	if cfg.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsAddr); err != nil {
			return cfg, usageError(flagUsage(fs), "--metrics-addr %q: %v", cfg.MetricsAddr, err)
		}
	}
	cfg.DataDir, cfg.DatabaseURL = db.dataDir, db.databaseURL
	if cfg.Demo && !isSet(fs, "data-dir", getenv) {
		// Keep sandbox accounts out of the real data dir.
		cfg.DataDir = "./data-demo"
	}
	if cfg.SyncInterval < 0 || cfg.SyncFullEvery < 0 || cfg.DemoScale < 0 || cfg.LeaseTTL <= 0 {
		return cfg, usageError(flagUsage(fs), "--sync-interval, --sync-full-every and --demo-scale cannot be negative, --lease-ttl must be positive")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, usageError(flagUsage(fs), "--log-level: %v", err)
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return cfg, usageError(flagUsage(fs), "--addr %q: %v", cfg.Addr, err)
	}
	trusted, err := parseProxies(proxies, trustLoopback)
	if err != nil {
		return cfg, usageError(flagUsage(fs), "--trusted-proxies: %v", err)
	}
	cfg.TrustedProxies = trusted
	switch secure {
	case "auto":
		cfg.SecureCookies = !isLoopback(cfg.Addr)
	default:
		b, err := strconv.ParseBool(secure)
		if err != nil {
			return cfg, usageError(flagUsage(fs), "--secure-cookies must be auto, true or false")
		}
		cfg.SecureCookies = b
	}
	return cfg, nil
}

// minMetricsToken is the shortest bearer token accepted for /metrics on
// the dashboard's port, which may face the internet.
const minMetricsToken = 16

// metricsToken returns the bearer token for /metrics on the main port from
// TICKETNOTES_METRICS_TOKEN or the file TICKETNOTES_METRICS_TOKEN_FILE
// names (surrounding white space trimmed), "" when neither is set. It
// returns an error when both are set, the file cannot be read or is empty,
// or the token is shorter than minMetricsToken.
func metricsToken(getenv func(string) string, readFile func(string) ([]byte, error)) (string, error) {
	token, file := getenv("TICKETNOTES_METRICS_TOKEN"), getenv("TICKETNOTES_METRICS_TOKEN_FILE")
	switch {
	case token != "" && file != "":
		return "", errors.New("set TICKETNOTES_METRICS_TOKEN or TICKETNOTES_METRICS_TOKEN_FILE, not both")
	case file != "":
		b, err := readFile(file)
		if err != nil {
			return "", fmt.Errorf("TICKETNOTES_METRICS_TOKEN_FILE: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return "", fmt.Errorf("TICKETNOTES_METRICS_TOKEN_FILE %s is empty", file)
		}
	}
	token = strings.TrimSpace(token)
	if token != "" && len(token) < minMetricsToken {
		return "", fmt.Errorf("the metrics token must be at least %d characters", minMetricsToken)
	}
	return token, nil
}

// parseProxies parses a comma-separated list of CIDRs or single addresses;
// loopback adds 127.0.0.0/8 and ::1. It returns an error naming the first
// entry that is neither.
func parseProxies(list string, loopback bool) ([]netip.Prefix, error) {
	var out []netip.Prefix
	if loopback {
		out = append(out, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or an address", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// isLoopback reports whether addr listens only on the loopback interface.
func isLoopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseURL is how a person on this machine reaches the server.
func baseURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// isSet reports whether a flag was given on the command line or in the
// environment.
func isSet(fs *flag.FlagSet, name string, getenv func(string) string) bool {
	set := getenv(envName(name)) != ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
