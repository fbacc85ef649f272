package models

import (
	"context"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
)

// A ticket's title, first stored or changed, moves the archive
// generation (so a kept notes page shows it); storing it again as it was,
// or a ticket without a title, moves nothing.
func TestTicketTitleMovesTheGeneration(t *testing.T) {
	db := openKeyed(t)
	ctx := context.Background()
	a, err := db.CreateAccount(ctx, AccountInput{Name: "A", Kind: "sendbird"})
	if err != nil {
		t.Fatal(err)
	}
	gen := func() int64 {
		t.Helper()
		n, err := archiveGeneration(db.g)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	store := func(tickets ...providers.Ticket) {
		t.Helper()
		if err := db.StoreTickets(ctx, a.ID, tickets, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name   string
		ticket providers.Ticket
		moves  bool
	}{
		{"a ticket without a title", providers.Ticket{ID: "T1", Status: "open"}, false},
		{"its title first stored", providers.Ticket{ID: "T1", Title: "Refund", Status: "open"}, true},
		{"the same title again, another status", providers.Ticket{ID: "T1", Title: "Refund", Status: "closed"}, false},
		{"the title changed", providers.Ticket{ID: "T1", Title: "Refund for order 42", Status: "closed"}, true},
		{"a new ticket with a title", providers.Ticket{ID: "T2", Title: "证书已过期"}, true},
	} {
		before := gen()
		store(step.ticket)
		if moved := gen() != before; moved != step.moves {
			t.Errorf("%s: generation moved %v, want %v", step.name, moved, step.moves)
		}
	}
}

// openKeyed opens a fresh test database with a secret key, so accounts can
// be created in it; it is closed when the test ends.
func openKeyed(t *testing.T) *DB {
	t.Helper()
	loc := modelstest.New(t)
	db, err := Open(context.Background(), Options{DataDir: loc.Dir, URL: loc.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	box, err := NewSecretBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db.SetSecretBox(box)
	return db
}
