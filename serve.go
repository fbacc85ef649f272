package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/web"
)

// serve runs the dashboard until ctx ends.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := serveConfig(args, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	db, err := openDB(ctx, cfg.DatabaseURL, cfg.DataDir, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	srv, err := web.New(cfg, db, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Both listeners before anything is printed: a port that cannot be
	// had stops the start with nothing announced.
	var mln net.Listener
	if cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	closeAll := func() {
		ln.Close()
		if mln != nil {
			mln.Close()
		}
	}
	base := baseURL(ln.Addr().String())
	if cfg.Demo {
		demo, err := srv.StartDemo(ctx)
		if err != nil {
			closeAll()
			return err
		}
		fmt.Fprintf(stdout, "ticketnotes demo at %s\n  admin:   %s / %s\n  manager: %s / %s\n",
			base, demo.AdminEmail, demo.Password, demo.ManagerEmail, demo.Password)
	} else if link, err := srv.SetupLink(ctx, base); err != nil {
		closeAll()
		return err
	} else if link != "" {
		fmt.Fprintf(stdout, "No users yet. Create the first admin within %v at:\n  %s\n", models.SetupTTL, link)
	}
	if mln != nil {
		fmt.Fprintf(stdout, "metrics at %s/metrics\n", baseURL(mln.Addr().String()))
	}
	log.Info("listening", "url", base, "data_dir", cfg.DataDir, "demo", cfg.Demo)
	// Either listener failing stops both; a signal stops both gracefully.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, ln) })
	if mln != nil {
		g.Go(func() error { return srv.ServeMetrics(gctx, mln) })
	}
	return g.Wait()
}
