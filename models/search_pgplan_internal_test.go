package models

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// On PostgreSQL a search's newest matches are read by the planner's own
// plan under a timeout, and through the index when that runs out
// (rankHits): both give the same page. With a 1 ms timeout the first plan
// (testing over a thousand notes' tokens) is cut off and the index read
// runs: one statement more.
func TestSearchPlanTimeoutFallsBackToTheIndex(t *testing.T) {
	if !modelstest.Postgres() {
		t.Skip("the plan timeout is PostgreSQL's")
	}
	db := openKeyed(t)
	ctx := context.Background()
	a, err := db.CreateAccount(ctx, AccountInput{Name: "S", Kind: "sendbird"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var notes []providers.Note
	for i := range SearchCountCap + 300 {
		notes = append(notes, providers.Note{ID: "n" + strconv.Itoa(i), TicketID: "t" + strconv.Itoa(i%40), AccountID: a.ID,
			AuthorName: "A", AuthorRole: providers.RoleAgent, ContentType: "text", CreatedAt: start.Add(time.Duration(i) * time.Minute),
			Body: "refund requested, order " + strconv.Itoa(i) + " 退款 " + strconv.Itoa(i*7)})
	}
	if _, err := db.StoreNotes(ctx, a.ID, syncer.Scope{}, notes, time.Now()); err != nil {
		t.Fatal(err)
	}
	search := func() ([]string, uint64) {
		t.Helper()
		db.cache = newSearchCache() // every search read anew
		before := db.Statements()
		got, _, capped, err := db.ListArchivedNotes(ctx, NoteFilter{Query: "refund", Accounts: []uint{a.ID},
			From: start, To: start.AddDate(0, 0, 3), Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if !capped || len(got) != 50 {
			t.Fatalf("capped %v, %d notes; want a capped search's page of 50", capped, len(got))
		}
		ids := make([]string, len(got))
		for i, n := range got {
			ids[i] = n.ID
		}
		return ids, db.Statements() - before
	}
	planned, n := search()
	db.planTimeout = time.Millisecond
	fellBack, m := search()
	if !reflect.DeepEqual(planned, fellBack) {
		t.Errorf("through the index %v, want the planner's %v", fellBack, planned)
	}
	if m != n+1 {
		t.Errorf("%d statements with the 1 ms timeout, %d without: want one more (the index read)", m, n)
	}
}
