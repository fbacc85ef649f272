package models

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
)

// A search with a broad date range walks the matches (broadRange); it
// answers exactly what searchNarrow's set of the range's notes answers,
// capped or not, in every order.
func TestSearchPlansAgree(t *testing.T) {
	if modelstest.Postgres() {
		t.Skip("the two plans are SQLite's; PostgreSQL has one")
	}
	db := openKeyed(t)
	ctx := context.Background()
	var accs []uint
	for _, kind := range []string{"sendbird", "alibaba"} {
		a, err := db.CreateAccount(ctx, AccountInput{Name: kind, Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		accs = append(accs, a.ID)
	}
	// 100 days of notes stored out of time order; "refund" in most (more
	// than the cap within 60 days), "voucher" in a few.
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	order := rng.Perm(2400)
	for _, i := range order {
		body := "refund requested " + strconv.Itoa(i)
		if i%3 == 0 {
			body += " refund again"
		}
		if i%50 == 0 {
			body = "voucher sent " + strconv.Itoa(i)
		}
		n := providers.Note{ID: "n" + strconv.Itoa(i), TicketID: "t" + strconv.Itoa(i%70), AccountID: accs[i%2],
			AuthorName: "A", AuthorRole: providers.RoleAgent, Body: body, ContentType: "text",
			CreatedAt: start.Add(time.Duration(i) * time.Hour)}
		if err := db.ArchiveNoteWritten(ctx, accs[i%2], n, ""); err != nil {
			t.Fatal(err)
		}
	}
	g := db.g.WithContext(ctx)
	for _, q := range []string{"refund", "voucher", "refu*", `"refund again"`} {
		for _, sort := range []string{SortRelevance, SortNewest, SortOldest} {
			f := NoteFilter{Query: q, Sort: sort, Accounts: accs, From: start.AddDate(0, 0, 10), To: start.AddDate(0, 0, 70),
				Offset: 20, Limit: 30, WithoutRaw: true}
			if err := f.normalise(); err != nil {
				t.Fatal(err)
			}
			terms := parseSearch(q)
			if broad, err := broadRange(g, f); err != nil || !broad {
				t.Fatalf("%s: a 60-day range of 100 days is not broad (%v)", q, err)
			}
			walked, we, err := db.searchNotes(g, f, terms, nil)
			if err != nil {
				t.Fatal(err)
			}
			set, se, err := searchNarrow(g, f, terms, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(walked) == 0 || !reflect.DeepEqual(ids(walked), ids(set)) || we.total != se.total || we.capped != se.capped {
				t.Errorf("%s %s: walking gives %v (total %d capped %v), the range's set %v (total %d capped %v)",
					q, sort, ids(walked), we.total, we.capped, ids(set), se.total, se.capped)
			}
		}
	}
	narrow := NoteFilter{Query: "refund", Accounts: accs, From: start.AddDate(0, 0, 10), To: start.AddDate(0, 0, 11)}
	if err := narrow.normalise(); err != nil {
		t.Fatal(err)
	}
	if broad, err := broadRange(g, narrow); err != nil || broad {
		t.Errorf("one day of 100 is broad (%v)", err)
	}
}

func ids(notes []ArchivedNote) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = n.ID
	}
	return out
}
