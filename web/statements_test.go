package web

import (
	"math"
	"net/http"
	"testing"
)

// maxNotesPageStatements bounds the SQL statements of a notes page once its
// read is kept (the session, the user, the accounts with their sync states,
// the archive's generation): on PostgreSQL each is a round trip.
const maxNotesPageStatements = 4

// TestNotesPageStatementsDoNotGrowWithAccounts loads the notes page of one
// account and of all three: both run the same few statements.
func TestNotesPageStatementsDoNotGrowWithAccounts(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	// The fewest of a few loads: the first reads the page and renders
	// it, and nothing else may run a statement in between.
	statements := func(path string) uint64 {
		t.Helper()
		fewest := uint64(math.MaxUint64)
		for range 4 {
			before := ds.db.Statements()
			if resp, _ := c.get(path); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			fewest = min(fewest, ds.db.Statements()-before)
		}
		return fewest
	}
	one, all := statements("/notes?account=1"), statements("/notes")
	t.Logf("statements of a page: one account %d, three %d", one, all)
	if all != one {
		t.Errorf("the page of three accounts ran %d statements, of one %d: want the same", all, one)
	}
	if all == 0 || all > maxNotesPageStatements {
		t.Errorf("the notes page ran %d statements, want 1–%d", all, maxNotesPageStatements)
	}
}
