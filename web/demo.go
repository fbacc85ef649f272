package web

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/sandbox"
)

// Demo is how to sign in to a demo server.
type Demo struct {
	AdminEmail   string
	ManagerEmail string
	Password     string
	Sandbox      *sandbox.Sandbox
}

// Demo sign-ins, printed at start.
const (
	demoAdmin    = "admin@demo.ticketnotes.test"
	demoManager  = "manager@demo.ticketnotes.test"
	demoPassword = "demo-password-1"
	demoSuffix   = " (demo)"
)

// demoOptions seeds the simulators: 120 notes a vendor over 90 days, or
// with scale about scale notes in all (sandbox.Scale).
func demoOptions(scale int) sandbox.Options {
	o := sandbox.Options{NotesPerVendor: 120, Days: 90}
	if scale > 0 {
		o = sandbox.Scale(scale)
	}
	o.Seed, o.Now = 42, time.Now
	return o
}

// StartDemo starts the vendor simulators on loopback until ctx ends, points
// one clearly labelled sandbox account at each, and makes sure a demo admin
// and a demo manager exist with the printed password. The sandbox accounts
// are synced like any other (see Serve).
func (s *Server) StartDemo(ctx context.Context) (*Demo, error) {
	sb, err := sandbox.Start(demoOptions(s.cfg.DemoScale))
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); sb.Close() }()
	existing, err := s.db.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]models.Account{}
	for _, a := range existing {
		byName[a.Name] = a
	}
	for _, pa := range sb.Accounts {
		// The simulators run on loopback: no need for the vendors' polite pace.
		in := models.AccountInput{Name: pa.Name + demoSuffix, Kind: string(pa.Kind), Endpoint: pa.Endpoint,
			Settings: pa.Settings, Secrets: pa.Secrets, RateLimit: 200}
		// The simulators get new ports each run: refresh the endpoint.
		action := "account.create"
		var a *models.Account
		if old, ok := byName[in.Name]; ok {
			action = "account.update"
			a, err = s.db.UpdateAccount(ctx, old.ID, in)
		} else {
			a, err = s.db.CreateAccount(ctx, in)
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", in.Name, err)
		}
		// Only this account may reach this simulator; nothing else gets
		// loopback (--demo no longer allows private endpoints globally).
		addr, err := netip.ParseAddrPort(strings.TrimPrefix(pa.Endpoint, "http://"))
		if err != nil {
			return nil, fmt.Errorf("demo account %s: simulator address: %w", in.Name, err)
		}
		s.sandbox.Allow(a.ID, addr)
		// A client built before the allowance could not dial the
		// simulator: the engine gets a new one.
		s.clients.Registry.Forget(a.ID)
		s.track(ctx, a.ID)
		ev := &models.AuditEvent{Action: action, ActorEmail: "system:demo", Target: fmt.Sprintf("account:%d", a.ID),
			AccountID: &a.ID, After: fmt.Sprintf(`{"name":%q,"endpoint":%q}`, a.Name, a.Endpoint), Outcome: models.OutcomeOK}
		if err := s.db.AppendAudit(ctx, ev); err != nil {
			return nil, err
		}
	}
	for _, u := range []models.NewUser{
		{Email: demoAdmin, Name: "Demo Admin", Role: models.RoleAdmin, Password: demoPassword},
		{Email: demoManager, Name: "Demo Manager", Role: models.RoleManager, Password: demoPassword},
	} {
		if err := ensureUser(ctx, s.db, u); err != nil {
			return nil, err
		}
	}
	return &Demo{AdminEmail: demoAdmin, ManagerEmail: demoManager, Password: demoPassword, Sandbox: sb}, nil
}

func ensureUser(ctx context.Context, db *models.DB, in models.NewUser) error {
	u, err := db.UserByEmail(ctx, in.Email)
	if errors.Is(err, models.ErrNotFound) {
		_, err = db.CreateUser(ctx, in)
		return err
	}
	if err != nil {
		return err
	}
	if _, err := db.UpdateUser(ctx, u.ID, models.UserUpdate{Name: in.Name, Role: in.Role}); err != nil {
		return err
	}
	return db.SetPassword(ctx, u.ID, in.Password)
}
