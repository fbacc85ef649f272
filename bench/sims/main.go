// Command sims serves the three vendor simulators seeded with about
// --scale notes in all, for benchmarks that sync against them from another
// process (at a million notes the simulators alone take about 280 MB, which
// must not count against the server's memory):
//
//	go run ./bench/sims --scale 1000000 --addr 127.0.0.1:0 --accounts accounts.json
//
// It prints one line per simulator, "alibaba http://127.0.0.1:PORT" (then
// sendbird, feishu), and then "ready" once all three listen; with
// --accounts it also writes the three ready-to-use accounts (endpoint,
// settings, the simulators' made-up secrets) as JSON for bench/benchctl.
// A port in --addr is the first of three consecutive ones; 0 picks free
// ones. It serves until interrupted.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/sandbox"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

type sim interface {
	http.Handler
	Account(endpoint string) providers.Account
	NoteCount() int
}

func main() {
	scale := flag.Int("scale", 0, "about this many notes over the three simulators; 0 keeps the demo's size")
	addr := flag.String("addr", "127.0.0.1:0", "host and first port to listen on (three consecutive ports; 0 picks free ones)")
	accounts := flag.String("accounts", "", "write the three accounts as JSON to this file")
	seed := flag.Int64("seed", 1, "seed of the simulated data")
	flag.Parse()
	if err := serve(*scale, *addr, *accounts, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "sims:", err)
		os.Exit(1)
	}
}

func serve(scale int, addr, accountsFile string, seed int64) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65533 {
		return fmt.Errorf("--addr %q: bad port", addr)
	}
	o := sandbox.Scale(scale)
	start := time.Now()
	sims := []sim{
		alibabasim.New(alibabasim.Options{Seed: seed, Notes: o.NotesPerVendor, Tickets: o.TicketsPerVendor, Days: o.Days}),
		sendbirdsim.New(sendbirdsim.Options{Seed: seed, Notes: o.NotesPerVendor, Tickets: o.TicketsPerVendor, Days: o.Days}),
		feishusim.New(feishusim.Options{Seed: seed, Notes: o.NotesPerVendor, Tickets: o.TicketsPerVendor, Days: o.Days}),
	}
	names := []string{"alibaba", "sendbird", "feishu"}
	var accts []providers.Account
	total := 0
	for i, s := range sims {
		p := 0
		if port != 0 {
			p = port + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		ep := "http://" + ln.Addr().String()
		accts = append(accts, s.Account(ep))
		total += s.NoteCount()
		fmt.Printf("%s %s\n", names[i], ep)
	}
	if accountsFile != "" {
		b, err := json.MarshalIndent(accts, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(accountsFile, b, 0o600); err != nil {
			return err
		}
	}
	fmt.Printf("notes %d (seeded in %v)\nready\n", total, time.Since(start).Round(time.Millisecond))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}
