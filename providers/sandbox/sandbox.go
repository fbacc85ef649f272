// Package sandbox runs the three vendor simulators on loopback, for demo
// mode and end-to-end tests.
package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/alibaba/alibabasim"
	"github.com/ticketnotes/ticketnotes/providers/feishu/feishusim"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
)

// Options shape the seeded data of every simulator. Zero values take each
// simulator's defaults (150 notes on 40 tickets over 90 days).
type Options struct {
	Seed             int64
	Now              func() time.Time
	NotesPerVendor   int
	TicketsPerVendor int
	Days             int
}

// Scale returns options seeding about n notes in all, shared by the three
// simulators, over tickets and dates like a busy helpdesk's: about a dozen
// notes a ticket, spread over two years once there are more than a few
// thousand. n at or below the default total keeps the defaults.
func Scale(n int) Options {
	const defaultTotal = 3 * 150
	if n <= defaultTotal {
		return Options{}
	}
	per := (n + 2) / 3
	o := Options{NotesPerVendor: per, TicketsPerVendor: max(40, per/12), Days: 90}
	if per > 5000 {
		o.Days = 730
	}
	return o
}

// Sandbox is the three running simulators.
type Sandbox struct {
	Alibaba  *alibabasim.Server
	Sendbird *sendbirdsim.Server
	Feishu   *feishusim.Server
	// Accounts are ready-to-use accounts pointed at the simulators, in the
	// order Alibaba, Sendbird, Feishu.
	Accounts []providers.Account
	servers  []*http.Server
}

// Start serves each simulator on its own loopback port until Close.
func Start(opts Options) (*Sandbox, error) {
	sb := &Sandbox{
		Alibaba: alibabasim.New(alibabasim.Options{Seed: opts.Seed, Now: opts.Now, Notes: opts.NotesPerVendor,
			Tickets: opts.TicketsPerVendor, Days: opts.Days}),
		Sendbird: sendbirdsim.New(sendbirdsim.Options{Seed: opts.Seed, Now: opts.Now, Notes: opts.NotesPerVendor,
			Tickets: opts.TicketsPerVendor, Days: opts.Days}),
		Feishu: feishusim.New(feishusim.Options{Seed: opts.Seed, Now: opts.Now, Notes: opts.NotesPerVendor,
			Tickets: opts.TicketsPerVendor, Days: opts.Days}),
	}
	type sim interface {
		http.Handler
		Account(endpoint string) providers.Account
	}
	for _, s := range []sim{sb.Alibaba, sb.Sendbird, sb.Feishu} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			sb.Close()
			return nil, fmt.Errorf("sandbox: listen: %w", err)
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
		sb.servers = append(sb.servers, srv)
		// Serve returns only when Close shuts the server down.
		go func() { _ = srv.Serve(ln) }()
		sb.Accounts = append(sb.Accounts, s.Account("http://"+ln.Addr().String()))
	}
	return sb, nil
}

// Close stops the simulators.
func (sb *Sandbox) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range sb.servers {
		_ = s.Shutdown(ctx)
	}
}
