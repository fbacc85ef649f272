// Command benchctl prepares and watches a data dir for the sync benchmark
// (bench/sync-1m.sh), through package models as the server does:
//
//	go run ./bench/benchctl accounts --data-dir D --accounts accounts.json --rate 1000
//	go run ./bench/benchctl wait --data-dir D --timeout 30m
//
// Both take --database-url when the server runs on PostgreSQL.
//
// "accounts" creates the accounts bench/sims wrote (before the server
// starts, so its backfill begins at once); "wait" prints each account's
// progress every few seconds and exits 0 once every account's first pass
// has succeeded, 1 when one failed or the timeout ran out.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchctl accounts|wait [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "accounts":
		err = addAccounts(os.Args[2:])
	case "wait":
		err = wait(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchctl:", err)
		os.Exit(1)
	}
}

// open opens the server's database (PostgreSQL at dbURL, else SQLite in
// dir) keyed as the server keys it, from the key file in dir.
func open(ctx context.Context, dir, dbURL string) (*models.DB, error) {
	db, err := models.Open(ctx, models.Options{DataDir: dir, URL: dbURL})
	if err != nil {
		return nil, err
	}
	key, err := models.LoadKey("", "", dir)
	if err == nil {
		err = db.SetAuditKey(key)
	}
	var box *models.SecretBox
	if err == nil {
		box, err = models.NewSecretBox(key)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	db.SetSecretBox(box)
	return db, nil
}

func addAccounts(args []string) error {
	fs := flag.NewFlagSet("accounts", flag.ExitOnError)
	dir := fs.String("data-dir", "", "the server's data dir")
	dbURL := fs.String("database-url", "", "the server's PostgreSQL URL, if it uses one")
	file := fs.String("accounts", "", "accounts JSON written by bench/sims")
	rate := fs.Float64("rate", 0, "requests per second per account; 0 is each vendor's default")
	_ = fs.Parse(args)
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var accts []providers.Account
	if err := json.Unmarshal(b, &accts); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := open(ctx, *dir, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, a := range accts {
		got, err := db.CreateAccount(ctx, models.AccountInput{Name: a.Name, Kind: string(a.Kind), Endpoint: a.Endpoint,
			Settings: a.Settings, Secrets: a.Secrets, RateLimit: *rate})
		if err != nil {
			return err
		}
		fmt.Printf("account %d: %s at %s\n", got.ID, got.Name, a.Endpoint)
	}
	return nil
}

func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	dir := fs.String("data-dir", "", "the server's data dir")
	dbURL := fs.String("database-url", "", "the server's PostgreSQL URL, if it uses one")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	every := fs.Duration("every", 5*time.Second, "print progress this often")
	_ = fs.Parse(args)
	ctx := context.Background()
	db, err := open(ctx, *dir, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	for {
		accts, err := db.ListAccounts(ctx)
		if err != nil {
			return err
		}
		states, err := db.SyncStates(ctx)
		if err != nil {
			return err
		}
		done := true
		var total int64
		line := fmt.Sprintf("%6.0fs", time.Since(start).Seconds())
		for _, a := range accts {
			st := states[a.ID]
			_, n, err := db.ArchiveCounts(ctx, a.ID)
			if err != nil {
				return err
			}
			total += n
			line += fmt.Sprintf("  %s %d/%d %s %d notes", a.Name, st.Done, st.Total, st.Unit, n)
			if st.Err != nil && !st.Running() {
				return fmt.Errorf("%s: pass failed: %s %s at %s", a.Name, st.Err.Kind, st.Err.Message, st.Err.Where)
			}
			done = done && !st.LastFullAt.IsZero() && !st.Running()
		}
		fmt.Println(line)
		if done {
			fmt.Printf("synced %d notes in %.0fs\n", total, time.Since(start).Seconds())
			return nil
		}
		if time.Since(start) > *timeout {
			return errors.New("timed out before every account synced")
		}
		time.Sleep(*every)
	}
}
