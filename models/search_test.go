package models_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

func noteIDs(notes []models.ArchivedNote) []string {
	ids := []string{}
	for _, n := range notes {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestSearch(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	ali, sb := newAccount(t, db, "alibaba"), newAccount(t, db, "sendbird")
	storeTicket(t, db, ali, "1",
		note("1", "zh", "您好，您的SSL证书已过期，请尽快续费。", day(1)),
		note("1", "refunds", "Refunds are processed by the billing team.", day(2)),
		note("1", "refunded", "We refunded the payment yesterday", day(3)),
		note("1", "failed", "The payment failed, please try another card.", day(4)),
	)
	storeTicket(t, db, sb, "2",
		note("2", "ja", "SSL証明書の有効期限が切れています。", day(5)),
		note("2", "html", "<b>refund</b> & <script>alert(1)</script>", day(6)),
		note("2", "fullwidth", "ＡＢＣ全角テスト", day(7)),
		note("2", "reversed", "failed payment again", day(8)),
	)
	customer := note("2", "customer", "退款什么时候到账？", day(9))
	customer.AuthorRole = providers.RoleCustomer
	storeAt(t, db, sb, syncer.Scope{}, day(20), customer)

	tests := []struct {
		name string
		f    models.NoteFilter
		want []string // newest first unless Sort says otherwise
	}{
		{"chinese substring", models.NoteFilter{Query: "证书"}, []string{"zh"}},
		{"chinese longer substring", models.NoteFilter{Query: "证书已过期"}, []string{"zh"}},
		{"one chinese character", models.NoteFilter{Query: "续"}, []string{"zh"}},
		{"one character in both languages", models.NoteFilter{Query: "期"}, []string{"zh", "ja"}},
		{"chinese not adjacent", models.NoteFilter{Query: "证期"}, nil},
		{"japanese", models.NoteFilter{Query: "証明書"}, []string{"ja"}},
		{"kanji one character", models.NoteFilter{Query: "効"}, []string{"ja"}},
		{"english word as prefix", models.NoteFilter{Query: "refund", Sort: models.SortNewest}, []string{"html", "refunded", "refunds"}},
		{"case-insensitive", models.NoteFilter{Query: "REFUNDS"}, []string{"refunds"}},
		{"explicit prefix", models.NoteFilter{Query: "pay*", Sort: models.SortNewest}, []string{"reversed", "failed", "refunded"}},
		{"short word exact", models.NoteFilter{Query: "we"}, []string{"refunded"}},
		{"words in any order", models.NoteFilter{Query: "payment failed", Sort: models.SortNewest}, []string{"reversed", "failed"}},
		{"phrase", models.NoteFilter{Query: `"payment failed"`}, []string{"failed"}},
		{"phrase is exact", models.NoteFilter{Query: `"refund the"`}, nil},
		{"phrase ending in a prefix", models.NoteFilter{Query: `"payment fail*"`}, []string{"failed"}},
		{"phrase of three words", models.NoteFilter{Query: `"by the billing"`}, []string{"refunds"}},
		{"phrase with its words apart", models.NoteFilter{Query: `"refunded payment"`}, nil},
		{"mixed scripts", models.NoteFilter{Query: "ssl 证书"}, []string{"zh"}},
		{"full-width letters", models.NoteFilter{Query: "abc"}, []string{"fullwidth"}},
		{"katakana", models.NoteFilter{Query: "テスト"}, []string{"fullwidth"}},
		{"with a date range", models.NoteFilter{Query: "refund", From: day(3), To: day(7), Sort: models.SortNewest}, []string{"html", "refunded"}},
		{"with an account", models.NoteFilter{Query: "ssl", Accounts: []uint{sb}}, []string{"ja"}},
		{"with a role", models.NoteFilter{Query: "退款", Role: providers.RoleCustomer}, []string{"customer"}},
		{"with a ticket", models.NoteFilter{Query: "payment", TicketID: "2"}, []string{"reversed"}},
		{"oldest first", models.NoteFilter{Query: "refund", Sort: models.SortOldest}, []string{"refunds", "refunded", "html"}},
		{"html is text", models.NoteFilter{Query: "script"}, []string{"html"}},
		{"no match", models.NoteFilter{Query: "nothing"}, nil},
		{"only punctuation is no search", models.NoteFilter{Query: "!!", Accounts: []uint{ali}}, []string{"failed", "refunded", "refunds", "zh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notes, total, capped, err := db.ListArchivedNotes(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := noteIDs(notes)
			if tt.want == nil {
				tt.want = []string{}
			}
			if tt.f.Sort == "" && tt.f.Query != "" && len(parseable(tt.f.Query)) > 0 {
				// Relevance: compare as sets; ranking has its own test.
				slices.Sort(got)
				tt.want = slices.Clone(tt.want)
				slices.Sort(tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) || total != int64(len(tt.want)) || capped {
				t.Errorf("got %v (total %d, capped %v), want %v", got, total, capped, tt.want)
			}
		})
	}
}

// parseable reports the query's words that have a letter or digit.
func parseable(q string) []string {
	return strings.FieldsFunc(q, func(r rune) bool { return strings.ContainsRune(" !?\"*", r) })
}

func TestSearchFollowsEdits(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "alibaba")
	storeTicket(t, db, acc, "1", note("1", "a", "账单 alpha", day(1)))
	storeTicket(t, db, acc, "1", note("1", "a", "发票 beta", day(1)))
	for q, want := range map[string]int64{"alpha": 0, "账单": 0, "beta": 1, "发票": 1} {
		if _, total, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: q}); err != nil || total != want {
			t.Errorf("%s after the edit: %d, %v; want %d (search reads the current version)", q, total, err, want)
		}
	}
	// A deleted note is found only when deleted notes are asked for.
	storeTicket(t, db, acc, "1")
	for _, f := range []models.NoteFilter{{Query: "beta"}, {Query: "beta", IncludeDeleted: true}, {Query: "beta", States: []string{models.StateDeleted}}} {
		want := int64(1)
		if !f.IncludeDeleted && len(f.States) == 0 {
			want = 0
		}
		if _, total, _, err := db.ListArchivedNotes(ctx, f); err != nil || total != want {
			t.Errorf("%+v: %d, %v; want %d", f, total, err, want)
		}
	}
}

func TestSearchRanksByRelevance(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	acc := newAccount(t, db, "feishu")
	storeTicket(t, db, acc, "1",
		note("1", "once-old", "refund requested", day(1)),
		note("1", "thrice", "refund refund refund please", day(2)),
		note("1", "once-new", "about the refund", day(3)),
		note("1", "rare", "refund for the 发票 invoice", day(4)),
		note("1", "other", "unrelated", day(5)),
	)
	notes, total, _, err := db.ListArchivedNotes(context.Background(), models.NoteFilter{Query: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	// More hits rank higher; equal scores go newest first.
	if got, want := noteIDs(notes), []string{"thrice", "rare", "once-new", "once-old"}; !reflect.DeepEqual(got, want) || total != 4 {
		t.Errorf("ranked = %v (total %d), want %v", got, total, want)
	}
	notes, _, _, _ = db.ListArchivedNotes(context.Background(), models.NoteFilter{Query: "refund invoice"})
	if got := noteIDs(notes); !reflect.DeepEqual(got, []string{"rare"}) {
		t.Errorf("two words = %v", got)
	}
}

func TestSearchCountIsCapped(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	acc := newAccount(t, db, "sendbird")
	n := models.SearchCountCap + 25
	notes := make([]providers.Note, n)
	for i := range notes {
		notes[i] = note(strconv.Itoa(i%40), strconv.Itoa(i), "capped refund "+strconv.Itoa(i), day(1).Add(time.Duration(i)*time.Minute))
	}
	// Stored in an order unlike creation, so id order is not time order.
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(notes), func(i, j int) { notes[i], notes[j] = notes[j], notes[i] })
	for start := 0; start < n; start += 1000 {
		storeAt(t, db, acc, syncer.Scope{}, day(20), notes[start:min(start+1000, n)]...)
	}
	ctx := context.Background()
	for _, sort := range []string{models.SortRelevance, models.SortNewest, models.SortOldest} {
		got, total, capped, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "capped", Sort: sort, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if total != models.SearchCountCap || !capped || len(got) != 3 {
			t.Errorf("%s: total %d capped %v, %d notes", sort, total, capped, len(got))
		}
		// Ordering by time is exact over every match, capped or not.
		want := map[string][]string{models.SortNewest: {strconv.Itoa(n - 1), strconv.Itoa(n - 2), strconv.Itoa(n - 3)},
			models.SortOldest: {"0", "1", "2"}}[sort]
		if want != nil && !reflect.DeepEqual(noteIDs(got), want) {
			t.Errorf("%s: first page %v, want %v", sort, noteIDs(got), want)
		}
	}
	// A range holding every note reads the matches another way (from the
	// index on PostgreSQL, not the newest notes first): the same page.
	unbounded, _, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "capped", Sort: models.SortRelevance, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	ranged, _, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "capped", Sort: models.SortRelevance, Limit: 50,
		From: day(0), To: day(30)})
	if err != nil {
		t.Fatal(err)
	}
	if len(unbounded) != 50 || !reflect.DeepEqual(noteIDs(unbounded), noteIDs(ranged)) {
		t.Errorf("relevance, no range: %v; with a range holding every note: %v", noteIDs(unbounded), noteIDs(ranged))
	}
	// Narrowed under the cap, the count is exact again.
	_, total, capped, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "capped", TicketID: "7"})
	if err != nil || capped || total != int64((n+39-7)/40) {
		t.Errorf("one ticket: total %d capped %v %v", total, capped, err)
	}
}

// fixture is what a test expects of one archived note.
type fixture struct {
	account uint
	ticket  string
	id      string
	role    providers.Role
	created time.Time
	edited  bool
	deleted bool
	unread  bool
}

// TestListArchivedNotesFilters compares every filter, order and page with
// the same selection done in Go over a random archive.
func TestListArchivedNotesFilters(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	ctx := context.Background()
	accs := []uint{newAccount(t, db, "alibaba"), newAccount(t, db, "sendbird"), newAccount(t, db, "feishu")}
	r := rand.New(rand.NewPCG(9, 9))
	roles := []providers.Role{providers.RoleAgent, providers.RoleCustomer, providers.RoleSystem}
	var all []fixture
	for ti := range 30 {
		acc := accs[ti%3]
		ticket := strconv.Itoa(ti / 3) // the same ticket ids in every account
		var notes []providers.Note
		for i := range 1 + r.IntN(12) {
			f := fixture{account: acc, ticket: ticket, id: fmt.Sprintf("%d-%d", ti, i), role: roles[r.IntN(3)],
				// Some share a creation time, to check ties.
				created: h(r.IntN(100)).Add(time.Duration(r.IntN(3)) * 20 * time.Minute),
				unread:  r.IntN(4) == 0}
			n := note(ticket, f.id, "body "+f.id, f.created)
			n.AuthorRole = f.role
			read := !f.unread
			n.Read = &read
			notes = append(notes, n)
			all = append(all, f)
		}
		storeAt(t, db, acc, syncer.Scope{TicketID: ticket, Complete: true}, day(20), notes...)
	}
	// Edit some, delete some (write-through), edit-then-delete some.
	for i := range all {
		f := &all[i]
		switch r.IntN(6) {
		case 0:
			f.edited = true
		case 1:
			f.deleted = true
		case 2:
			f.edited, f.deleted = true, true
		}
		if f.edited {
			// An edit here also flips the read flag, as a vendor may.
			f.unread = !f.unread
			n := note(f.ticket, f.id, "edited "+f.id, f.created)
			n.AuthorRole = f.role
			read := !f.unread
			n.Read = &read
			if err := db.ArchiveNoteWritten(ctx, f.account, n, "ada"); err != nil {
				t.Fatal(err)
			}
		}
		if f.deleted {
			if err := db.ArchiveNoteDeleted(ctx, f.account, f.ticket, f.id, "ada", day(21)); err != nil {
				t.Fatal(err)
			}
		}
	}
	filters := []models.NoteFilter{
		{},
		{IncludeDeleted: true},
		{Accounts: accs[:1]},
		{Accounts: accs[1:], IncludeDeleted: true},
		{TicketID: "3"},
		{Accounts: accs[1:2], TicketID: "4"},
		{From: h(30), To: h(70)},
		{From: h(30).Add(17 * time.Minute), To: h(70).Add(-23 * time.Minute)},
		{Accounts: accs[1:], From: h(40).Add(20 * time.Minute), To: h(40).Add(41 * time.Minute), IncludeDeleted: true},
		{From: h(40).Add(-time.Minute), To: h(41).Add(time.Minute)},
		{Accounts: accs[:1], From: h(20).Add(-time.Minute), IncludeDeleted: true},
		{To: h(80).Add(time.Minute)},
		{From: h(50)},
		{To: h(50), Sort: models.SortOldest},
		{Role: providers.RoleCustomer},
		{States: []string{models.StateEdited}},
		{States: []string{models.StateDeleted}},
		{States: []string{models.StateUnread}},
		{States: []string{models.StateEdited, models.StateUnread}, IncludeDeleted: true},
		{Accounts: accs[2:], From: h(10), To: h(90), Role: providers.RoleAgent, Sort: models.SortOldest},
		{Offset: 7, Limit: 5},
		{Offset: 1000},
		{Accounts: accs[:2], Offset: 3, Limit: 4, Sort: models.SortOldest},
	}
	// The full-text index and the search's copy of the filter columns
	// agree with the notes after all those writes. (PostgreSQL's index is
	// over archive_notes.tokens itself: there is no copy to drift.)
	if !modelstest.Postgres() {
		raw := rawDB(t, dir)
		if err := raw.Exec("INSERT INTO archive_fts (archive_fts) VALUES ('integrity-check')").Error; err != nil {
			t.Errorf("full-text index: %v", err)
		}
		var drift int64
		if err := raw.Raw(`SELECT count(*) FROM archive_notes n LEFT JOIN archive_note_meta m ON m.id = n.id
		WHERE m.id IS NULL OR m.account_id != n.account_id OR m.created_at != n.created_at OR m.author_role != n.author_role
		OR m.version != n.version OR m.read IS NOT n.read OR m.deleted_at IS NOT n.deleted_at`).Scan(&drift).Error; err != nil || drift != 0 {
			t.Errorf("archive_note_meta differs from archive_notes in %d rows (%v)", drift, err)
		}
	}
	// Every filter again with a search: "body" is in the notes never
	// edited, "edited" in the others; all match once, so relevance ties
	// and goes newest first.
	for _, f := range slices.Clone(filters) {
		for _, q := range []string{"body", "edited"} {
			f.Query = q
			filters = append(filters, f)
		}
	}
	for i, f := range filters {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			want := expect(all, f)
			got, total, capped, err := db.ListArchivedNotes(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			limit := f.Limit
			if limit == 0 {
				limit = models.DefaultNoteLimit
			}
			page := want[min(f.Offset, len(want)):min(f.Offset+limit, len(want))]
			if total != int64(len(want)) || capped {
				t.Errorf("%+v: total %d capped %v, want %d", f, total, capped, len(want))
			}
			if !reflect.DeepEqual(noteIDs(got), page) {
				t.Errorf("%+v:\n got %v\nwant %v", f, noteIDs(got), page)
			}
			// The per-account counts beside the results, in one call.
			wantBy := map[uint]int64{}
			for _, a := range accs {
				if len(f.Accounts) == 0 || slices.Contains(f.Accounts, a) {
					wantBy[a] = 0
				}
			}
			for _, id := range want {
				wantBy[all[slices.IndexFunc(all, func(x fixture) bool { return x.id == id })].account]++
			}
			if by, err := db.CountArchivedNotesByAccount(ctx, f); err != nil || !reflect.DeepEqual(by, wantBy) {
				t.Errorf("%+v: counts by account %v (%v), want %v", f, by, err, wantBy)
			}
			// The page and its counts read together, as the notes page does.
			p, err := db.NotesPage(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != int64(len(want)) || p.Capped || !reflect.DeepEqual(p.ByAccount, wantBy) ||
				!reflect.DeepEqual(noteIDs(p.Notes), page) {
				t.Errorf("%+v: NotesPage total %d capped %v by %v notes %v, want %d %v %v", f, p.Total, p.Capped,
					p.ByAccount, noteIDs(p.Notes), len(want), wantBy, page)
			}
			for i, n := range p.Notes {
				if f.Query != "" && (len(p.Marks) != len(p.Notes) || !reflect.DeepEqual(p.Marks[i], models.Highlight(n.Body, f.Query))) {
					t.Errorf("%+v: note %s marks %v, want Highlight's", f, n.ID, p.Marks)
				}
			}
			if f.Query == "" && p.Marks != nil {
				t.Errorf("%+v: marks without a search", f)
			}
			lean := f
			lean.WithoutRaw = true
			if p, err := db.NotesPage(ctx, lean); err != nil || !reflect.DeepEqual(noteIDs(p.Notes), page) ||
				slices.ContainsFunc(p.Notes, func(n models.ArchivedNote) bool { return n.Raw != nil }) {
				t.Errorf("%+v without raw: notes %v (%v), want %v with no raw JSON", f, noteIDs(p.Notes), err, page)
			}
			if len(got) > 0 && got[0].Raw == nil {
				t.Errorf("%+v: note %s has no raw JSON", f, got[0].ID)
			}
			for _, n := range got {
				fx := all[slices.IndexFunc(all, func(x fixture) bool { return x.id == n.ID })]
				if n.Deleted() != fx.deleted || n.Edited() != fx.edited || n.AccountID != fx.account {
					t.Errorf("note %s: deleted %v edited %v account %d, want %+v", n.ID, n.Deleted(), n.Edited(), n.AccountID, fx)
				}
			}
		})
	}
}

// h is hour n of the random archive.
func h(n int) time.Time { return day(1).Add(time.Duration(n) * time.Hour) }

// expect selects and orders fixtures as ListArchivedNotes should.
func expect(all []fixture, f models.NoteFilter) []string {
	var sel []fixture
	for _, x := range all {
		if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, x.account) ||
			f.TicketID != "" && x.ticket != f.TicketID ||
			!f.From.IsZero() && x.created.Before(f.From) || !f.To.IsZero() && !x.created.Before(f.To) ||
			f.Role != "" && x.role != f.Role {
			continue
		}
		if f.Query == "body" && x.edited || f.Query == "edited" && !x.edited {
			continue
		}
		if x.deleted && !f.IncludeDeleted && !slices.Contains(f.States, models.StateDeleted) {
			continue
		}
		if len(f.States) > 0 && !(slices.Contains(f.States, models.StateEdited) && x.edited ||
			slices.Contains(f.States, models.StateDeleted) && x.deleted ||
			slices.Contains(f.States, models.StateUnread) && x.unread) {
			continue
		}
		sel = append(sel, x)
	}
	// Ties break on the archive id, which follows insertion order here.
	pos := map[string]int{}
	for i, x := range all {
		pos[x.id] = i
	}
	slices.SortStableFunc(sel, func(a, b fixture) int {
		c := a.created.Compare(b.created)
		if c == 0 {
			c = pos[a.id] - pos[b.id]
		}
		if f.Sort == models.SortOldest {
			return c
		}
		return -c
	})
	ids := []string{}
	for _, x := range sel {
		ids = append(ids, x.id)
	}
	return ids
}

func TestListArchivedNotesRejectsBadFilter(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	for _, f := range []models.NoteFilter{
		{Limit: -1}, {Offset: -1}, {Limit: models.MaxNoteLimit + 1}, {States: []string{"gone"}}, {Sort: "best"},
	} {
		if _, _, _, err := db.ListArchivedNotes(context.Background(), f); !errors.Is(err, models.ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", f, err)
		}
	}
}

// The notes page is kept per archive generation: asked again unchanged it
// comes from memory, and every change a page shows (a new note, an edit,
// a fresh attachment URL or read flag, a deletion at the vendor) is in the
// next answer.
func TestNotesPageFollowsTheArchive(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	// Exact after every store: not even a running pass's lag (that is
	// TestNotesPageLagsOnlyARunningPass).
	models.SetPageLag(db, 0)
	ctx := context.Background()
	acc := newAccount(t, db, "alibaba")
	a := note("1", "a", "first text", day(1))
	a.Attachments = []providers.Attachment{{Name: "log.txt", URL: "https://oss.example/log.txt?Signature=aaa"}}
	storeTicket(t, db, acc, "1", a)
	f := models.NoteFilter{From: day(1).Add(-time.Hour), To: day(3), WithoutRaw: true}
	page := func(step string) models.NotesPage {
		t.Helper()
		p, err := db.NotesPage(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if cached, err := models.PageCached(ctx, db, f); err != nil || !cached {
			t.Fatalf("%s: page not kept (%v)", step, err)
		}
		return p
	}
	if p := page("first"); p.Total != 1 || p.ByAccount[acc] != 1 || p.Notes[0].Body != "first text" {
		t.Fatalf("first page = %+v", p)
	}

	b := note("1", "b", "second", day(2))
	storeTicket(t, db, acc, "1", a, b)
	if cached, _ := models.PageCached(ctx, db, f); cached {
		t.Fatal("a new note left the old page current")
	}
	if p := page("new note"); p.Total != 2 || noteIDs(p.Notes)[0] != "b" {
		t.Fatalf("after a new note: total %d, notes %v", p.Total, noteIDs(p.Notes))
	}

	a.Body, a.Content = "edited text", "edited text"
	storeTicket(t, db, acc, "1", a, b)
	if p := page("edit"); p.Notes[1].Body != "edited text" {
		t.Fatalf("after an edit: %q", p.Notes[1].Body)
	}

	a.Attachments = []providers.Attachment{{Name: "log.txt", URL: "https://oss.example/log.txt?Signature=bbb"}}
	read := true
	a.Read = &read
	storeTicket(t, db, acc, "1", a, b)
	if p := page("refresh"); p.Notes[1].Attachments[0].URL != a.Attachments[0].URL || p.Notes[1].Read == nil {
		t.Fatalf("after a refresh: %+v read %v", p.Notes[1].Attachments, p.Notes[1].Read)
	}

	storeTicket(t, db, acc, "1", b) // a is gone at the vendor
	if p := page("deletion"); p.Total != 1 || noteIDs(p.Notes)[0] != "b" {
		t.Fatalf("after a deletion: total %d, notes %v", p.Total, noteIDs(p.Notes))
	}
}

// TestSearchFindsAPhraseDeepInALongNote: a phrase after the first 16,383
// tokens of a note (a long mail thread) is found, and ranked, as near the
// start. (A PostgreSQL tsvector keeps no positions beyond 16,383, so a
// phrase there cannot be told from its words apart: the search must not
// rest on them.)
func TestSearchFindsAPhraseDeepInALongNote(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	acc := newAccount(t, db, "sendbird")
	long := strings.Repeat("filler ", 20000) + "the payment failed at last, 付款失败"
	storeTicket(t, db, acc, "1",
		note("1", "long", long, day(1)),
		note("1", "apart", strings.Repeat("filler ", 20000)+"failed payment", day(2)),
	)
	for _, q := range []string{`"payment failed"`, "付款失败", `"failed at la*"`} {
		notes, total, _, err := db.ListArchivedNotes(context.Background(), models.NoteFilter{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if got := noteIDs(notes); total != 1 || !reflect.DeepEqual(got, []string{"long"}) {
			t.Errorf("%s: %v (total %d), want [long]", q, got, total)
		}
	}
}

// While a sync pass stores notes, a kept page is served at once and read
// again in the background, so the next request has the notes; a note
// written here, the end of a pass, or a page older than the lag is read
// before it is served.
func TestNotesPageLagsOnlyARunningPass(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	models.SetPageLag(db, time.Hour)
	acc := newAccount(t, db, "alibaba")
	f := models.NoteFilter{From: day(1).Add(-time.Hour), To: day(9), WithoutRaw: true}
	total := func(step string) int64 {
		t.Helper()
		p, err := db.NotesPage(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return p.Total
	}
	notes := []providers.Note{note("1", "a", "first", day(1))}
	storeTicket(t, db, acc, "1", notes...)
	if got := total("first"); got != 1 {
		t.Fatalf("first page: %d notes, want 1", got)
	}

	notes = append(notes, note("1", "b", "from the pass", day(2)))
	storeTicket(t, db, acc, "1", notes...)
	if got := total("during a pass"); got != 1 {
		t.Fatalf("right after a pass stored a note: %d notes, want the kept page's 1", got)
	}
	if err := models.SettlePage(db, f); err != nil {
		t.Fatal(err)
	}
	if cached, err := models.PageCached(ctx, db, f); err != nil || !cached {
		t.Fatalf("the background read kept no current page (%v)", err)
	}
	if got := total("after the background read"); got != 2 {
		t.Fatalf("after the background read: %d notes, want 2", got)
	}

	here := note("1", "c", "written here", day(3))
	if err := db.ArchiveNoteWritten(ctx, acc, here, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := total("written here"); got != 3 {
		t.Fatalf("right after a note written here: %d notes, want 3", got)
	}

	notes = append(notes, here, note("1", "d", "last of the pass", day(4)))
	storeTicket(t, db, acc, "1", notes...)
	if got := total("pass storing"); got != 3 {
		t.Fatalf("a pass storing again: %d notes, want the kept page's 3", got)
	}
	if err := models.SettlePage(db, f); err != nil {
		t.Fatal(err)
	}
	notes = append(notes, note("1", "e", "stored just before the end", day(5)))
	storeTicket(t, db, acc, "1", notes...)
	start := time.Now().Add(-time.Minute)
	if err := db.SaveSyncState(ctx, acc, syncer.State{StartedAt: start, FinishedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := total("pass ended"); got != 5 {
		t.Fatalf("right after the pass ended: %d notes, want 5", got)
	}

	models.SetPageLag(db, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	notes = append(notes, note("1", "f", "after the lag", day(6)))
	storeTicket(t, db, acc, "1", notes...)
	if got := total("kept page older than the lag"); got != 6 {
		t.Fatalf("a kept page older than the lag: %d notes, want 6", got)
	}
}
