package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// newAccount creates an account of kind and returns its id.
func newAccount(t testing.TB, db *models.DB, kind string) uint {
	t.Helper()
	setSecretBox(t, db)
	a, err := db.CreateAccount(context.Background(), models.AccountInput{Name: kind + " account", Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// setSecretBox gives db a secret box (an all-zero key), which creating an
// account needs.
func setSecretBox(t testing.TB, db *models.DB) {
	t.Helper()
	box, err := models.NewSecretBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	db.SetSecretBox(box)
}

// day returns 10:00 UTC on day d of March 2025.
func day(d int) time.Time { return time.Date(2025, 3, d, 10, 0, 0, 0, time.UTC) }

func note(ticket, id, body string, at time.Time) providers.Note {
	return providers.Note{TicketID: ticket, ID: id, AuthorName: "Ada", AuthorRole: providers.RoleAgent,
		Body: body, Content: body, ContentType: "text", CreatedAt: at, Raw: json.RawMessage(`{"id":"` + id + `"}`)}
}

// storeTicket stores notes as the complete conversation of ticket, seen at
// day 20.
func storeTicket(t testing.TB, db *models.DB, acc uint, ticket string, notes ...providers.Note) syncer.Applied {
	t.Helper()
	return storeAt(t, db, acc, syncer.Scope{TicketID: ticket, Complete: true}, day(20), notes...)
}

func storeAt(t testing.TB, db *models.DB, acc uint, scope syncer.Scope, seen time.Time, notes ...providers.Note) syncer.Applied {
	t.Helper()
	ap, err := db.StoreNotes(context.Background(), acc, scope, notes, seen)
	if err != nil {
		t.Fatalf("store notes: %v", err)
	}
	return ap
}

func archived(t *testing.T, db *models.DB, acc uint, ticket, id string) *models.ArchivedNote {
	t.Helper()
	n, err := db.ArchivedNoteByID(context.Background(), acc, ticket, id)
	if err != nil {
		t.Fatalf("archived note %s/%s: %v", ticket, id, err)
	}
	return n
}

func TestStoreNotesVersionsAndDeletions(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "alibaba")
	scope := syncer.Scope{TicketID: "1033", Complete: true}
	n1, n2, n3 := note("1033", "1", "您好，证书已过期", day(1)), note("1033", "2", "Please renew", day(2)), note("1033", "3", "Done", day(3))

	if got, want := storeAt(t, db, acc, scope, day(10), n1, n2, n3), (syncer.Applied{Added: 3}); got != want {
		t.Fatalf("first pass = %+v, want %+v", got, want)
	}
	if got, want := storeAt(t, db, acc, scope, day(11), n1, n2, n3), (syncer.Applied{Unchanged: 3}); got != want {
		t.Fatalf("same notes again = %+v, want %+v", got, want)
	}
	if got := archived(t, db, acc, "1033", "1"); !got.LastSeenAt.Equal(day(11)) || !got.FirstSeenAt.Equal(day(10)) {
		t.Errorf("seen = %v…%v, want %v…%v", got.FirstSeenAt, got.LastSeenAt, day(10), day(11))
	}

	// Edited at the vendor: n2; gone at the vendor: n3.
	edited := n2
	edited.Body, edited.Content, edited.UpdatedAt = "Please renew it today", "Please renew it today", day(12)
	if got, want := storeAt(t, db, acc, scope, day(12), n1, edited), (syncer.Applied{Updated: 1, Deleted: 1, Unchanged: 1}); got != want {
		t.Fatalf("edit and delete pass = %+v, want %+v", got, want)
	}
	got2 := archived(t, db, acc, "1033", "2")
	if got2.Version != 2 || got2.Body != "Please renew it today" || !got2.Edited() || got2.Deleted() {
		t.Errorf("edited note = v%d %q edited=%v deleted=%v", got2.Version, got2.Body, got2.Edited(), got2.Deleted())
	}
	vs, err := db.NoteVersions(ctx, acc, "1033", "2")
	if err != nil {
		t.Fatal(err)
	}
	wantVs := []models.NoteVersion{
		{Version: 1, Body: "Please renew", Content: "Please renew", ContentType: "text", SeenAt: day(10), Source: models.SourceVendor},
		{Version: 2, Body: "Please renew it today", Content: "Please renew it today", ContentType: "text", UpdatedAt: day(12), SeenAt: day(12), Source: models.SourceVendor, Current: true},
	}
	if !reflect.DeepEqual(vs, wantVs) {
		t.Errorf("versions =\n%+v\nwant\n%+v", vs, wantVs)
	}
	got3 := archived(t, db, acc, "1033", "3")
	if !got3.Deleted() || !got3.DeletedAt.Equal(day(12)) || got3.Body != "Done" || got3.DeletedBy != "" {
		t.Errorf("deleted note = deleted at %v by %q, body %q", got3.DeletedAt, got3.DeletedBy, got3.Body)
	}
	if !got3.LastSeenAt.Equal(day(11)) {
		t.Errorf("deleted note last seen %v, want %v (when it was last there)", got3.LastSeenAt, day(11))
	}
	conv, err := db.TicketNotes(ctx, acc, "1033")
	if err != nil || len(conv) != 3 || conv[0].ID != "1" || conv[2].ID != "3" || !conv[2].Deleted() {
		t.Fatalf("conversation = %+v, %v", conv, err)
	}
	if conv[0].Provider != providers.KindAlibaba {
		t.Errorf("provider = %q", conv[0].Provider)
	}
	list, total, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{})
	if err != nil || total != 2 || len(list) != 2 {
		t.Fatalf("list without deleted = %d notes, total %d, %v", len(list), total, err)
	}
	if tk, nn, err := db.ArchiveCounts(ctx, acc); err != nil || tk != 1 || nn != 3 {
		t.Errorf("archive counts = %d tickets, %d notes, %v; want 1, 3", tk, nn, err)
	}

	// The vendor has n3 again (restored): it comes back as it was.
	if got, want := storeAt(t, db, acc, scope, day(13), n1, edited, n3), (syncer.Applied{Updated: 1, Unchanged: 2}); got != want {
		t.Fatalf("restore pass = %+v, want %+v", got, want)
	}
	if got := archived(t, db, acc, "1033", "3"); got.Deleted() || got.Version != 1 {
		t.Errorf("restored note deleted=%v v%d", got.Deleted(), got.Version)
	}
	// An edit of a deleted note brings it back as a new version.
	storeAt(t, db, acc, scope, day(14), n1, edited)
	n3b := n3
	n3b.Body = "Done, restored"
	storeAt(t, db, acc, scope, day(15), n1, edited, n3b)
	if got := archived(t, db, acc, "1033", "3"); got.Deleted() || got.Version != 2 || got.Body != "Done, restored" {
		t.Errorf("note restored with new text: deleted=%v v%d %q", got.Deleted(), got.Version, got.Body)
	}
	marks, err := db.TicketMarks(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	if m := marks["1033"]; !m.NotesReadAt.Equal(day(15)) || !m.NewestNote.Equal(day(3)) {
		t.Errorf("mark = %+v", m)
	}
	_, total, _, _ = db.ListArchivedNotes(ctx, models.NoteFilter{})
	if total != 3 {
		t.Errorf("total after restores = %d, want 3", total)
	}
}

func TestStoreNotesRefreshesWithoutVersion(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	acc := newAccount(t, db, "alibaba")
	n := note("9", "1", "see the log", day(1))
	n.Attachments = []providers.Attachment{{Name: "log.txt", URL: "https://oss.example/log.txt?Signature=aaa"}}
	unread := false
	n.Read = &unread
	storeTicket(t, db, acc, "9", n)
	// A fresh temporary URL and a read flag are not a new version.
	n.Attachments = []providers.Attachment{{Name: "log.txt", URL: "https://oss.example/log.txt?Signature=bbb"}}
	read := true
	n.Read = &read
	if got, want := storeTicket(t, db, acc, "9", n), (syncer.Applied{Unchanged: 1}); got != want {
		t.Fatalf("refresh = %+v, want %+v", got, want)
	}
	got := archived(t, db, acc, "9", "1")
	if got.Version != 1 || got.Attachments[0].URL != n.Attachments[0].URL || got.Read == nil || !*got.Read {
		t.Errorf("refreshed note = v%d %+v read=%v", got.Version, got.Attachments, got.Read)
	}
	// Another attachment is a new version.
	n.Attachments = append(n.Attachments, providers.Attachment{Name: "trace.txt", URL: "https://oss.example/t"})
	if got, want := storeTicket(t, db, acc, "9", n), (syncer.Applied{Updated: 1}); got != want {
		t.Fatalf("new attachment = %+v, want %+v", got, want)
	}
}

func TestStoreNotesWindowScope(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	acc := newAccount(t, db, "sendbird")
	before, in1, in2, after := note("1", "a", "before", day(1)), note("2", "b", "inside", day(3)), note("3", "c", "inside too", day(4)), note("1", "d", "after", day(8))
	storeAt(t, db, acc, syncer.Scope{}, day(10), before, in1, in2, after)
	// A partial batch deletes nothing.
	if got, want := storeAt(t, db, acc, syncer.Scope{From: day(2), To: day(5)}, day(11), in1), (syncer.Applied{Unchanged: 1}); got != want {
		t.Fatalf("partial window = %+v, want %+v", got, want)
	}
	// A complete window deletes only what it covers.
	if got, want := storeAt(t, db, acc, syncer.Scope{From: day(2), To: day(5), Complete: true}, day(12), in1), (syncer.Applied{Unchanged: 1, Deleted: 1}); got != want {
		t.Fatalf("complete window = %+v, want %+v", got, want)
	}
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": false} {
		ticket := map[string]string{"a": "1", "b": "2", "c": "3", "d": "1"}[id]
		if got := archived(t, db, acc, ticket, id).Deleted(); got != want {
			t.Errorf("note %s deleted = %v, want %v", id, got, want)
		}
	}
	// A window batch does not mark any ticket read.
	marks, _ := db.TicketMarks(context.Background(), acc)
	if !marks["2"].NotesReadAt.IsZero() {
		t.Errorf("ticket 2 read at %v by a window pass", marks["2"].NotesReadAt)
	}
	// A ticket's notes from a time on: older ones are outside the scope.
	if got, want := storeAt(t, db, acc, syncer.Scope{TicketID: "1", From: day(5), Complete: true}, day(13)), (syncer.Applied{Deleted: 1}); got != want {
		t.Fatalf("ticket from day 5 = %+v, want %+v", got, want)
	}
	if !archived(t, db, acc, "1", "d").Deleted() || archived(t, db, acc, "1", "a").Deleted() {
		t.Errorf("ticket-from scope deleted the wrong notes")
	}
}

func TestStoreNotesUnknownAccount(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	_, err := db.StoreNotes(context.Background(), 999, syncer.Scope{TicketID: "1", Complete: true}, []providers.Note{note("1", "1", "x", day(1))}, day(2))
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, total, _, _ := db.ListArchivedNotes(context.Background(), models.NoteFilter{IncludeDeleted: true}); total != 0 {
		t.Errorf("%d notes kept from a failed batch", total)
	}
}

func TestStoreTickets(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "feishu")
	tk := providers.Ticket{ID: "7", Title: "登录失败", Status: "open", CreatedAt: day(1), UpdatedAt: day(2), Raw: json.RawMessage(`{"ticket_id":"7"}`)}
	if err := db.StoreTickets(ctx, acc, []providers.Ticket{tk}, day(3)); err != nil {
		t.Fatal(err)
	}
	tk.Status, tk.Closed, tk.UpdatedAt = "closed", true, day(4)
	if err := db.StoreTickets(ctx, acc, []providers.Ticket{tk}, day(5)); err != nil {
		t.Fatal(err)
	}
	got, err := db.ArchivedTicket(ctx, acc, "7")
	if err != nil {
		t.Fatal(err)
	}
	want := &models.ArchivedTicket{AccountID: acc, Ticket: tk, FirstSeenAt: day(3), LastSeenAt: day(5)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ticket =\n%+v\nwant\n%+v", got, want)
	}
	marks, err := db.TicketMarks(ctx, acc)
	if err != nil {
		t.Fatal(err)
	}
	if m := marks["7"]; !m.Closed || !m.UpdatedAt.Equal(day(4)) || !m.NotesReadAt.IsZero() {
		t.Errorf("mark = %+v", m)
	}
	if _, err := db.ArchivedTicket(ctx, acc, "8"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
	if err := db.StoreTickets(ctx, 999, []providers.Ticket{tk}, day(5)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestSyncStateRoundTrip(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "sendbird")
	if st, err := db.SyncState(ctx, acc); err != nil || !reflect.DeepEqual(st, syncer.State{}) {
		t.Fatalf("state before any pass = %+v, %v", st, err)
	}
	st := syncer.State{Checkpoint: json.RawMessage(`{"window":3}`), Kind: syncer.PassBackfill, StartedAt: day(1),
		LastOKAt: day(0), Done: 3, Total: 9, Unit: "windows",
		Err: &syncer.PassError{Kind: "rate limited", Code: "429", RequestID: "req-1", Status: 429, Where: "window 3", At: day(1)}}
	if err := db.SaveSyncState(ctx, acc, st); err != nil {
		t.Fatal(err)
	}
	// Taking the lease leaves the state alone, and saving the state the lease.
	if ok, err := db.AcquireSyncLease(ctx, acc, "server", time.Minute); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if err := db.SaveSyncState(ctx, acc, st); err != nil {
		t.Fatal(err)
	}
	got, err := db.SyncState(ctx, acc)
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Fatalf("state =\n%+v\nwant\n%+v (%v)", got, st, err)
	}
	if owner, _, _ := db.SyncLease(ctx, acc); owner != "server" {
		t.Errorf("lease owner after saving state = %q", owner)
	}
	all, err := db.SyncStates(ctx)
	if err != nil || !reflect.DeepEqual(all[acc], st) {
		t.Errorf("sync states = %+v, %v", all, err)
	}
	// A finished pass has no checkpoint: nil stays nil.
	done := syncer.State{Kind: syncer.PassIncremental, StartedAt: day(2), FinishedAt: day(3), LastOKAt: day(3)}
	if err := db.SaveSyncState(ctx, acc, done); err != nil {
		t.Fatal(err)
	}
	if got, err := db.SyncState(ctx, acc); err != nil || !reflect.DeepEqual(got, done) || got.Checkpoint != nil {
		t.Errorf("finished state =\n%+v\nwant\n%+v (%v)", got, done, err)
	}
	if err := db.SaveSyncState(ctx, 999, st); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

// TestSyncLeaseAcrossHandles opens the file twice, as the server and
// `ticketnotes sync` do.
func TestSyncLeaseAcrossHandles(t *testing.T) {
	t.Parallel()
	server, dir := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, server, "alibaba")
	cli, err := models.Open(ctx, options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	step := func(db *models.DB, owner string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := db.AcquireSyncLease(ctx, acc, owner, ttl)
		if err != nil || got != want {
			t.Fatalf("%s acquires: %v, %v; want %v", owner, got, err, want)
		}
	}
	step(server, "server", time.Minute, true)
	step(cli, "cli", time.Minute, false)
	step(server, "server", time.Minute, true) // a renewal
	if err := cli.ReleaseSyncLease(ctx, acc, "cli"); err != nil {
		t.Fatal(err) // not held: no error, no effect
	}
	step(cli, "cli", time.Minute, false)
	if err := server.ReleaseSyncLease(ctx, acc, "server"); err != nil {
		t.Fatal(err)
	}
	step(cli, "cli", time.Minute, true)
	step(server, "server", time.Minute, false)
	// An expired lease (its holder crashed) is free for the next one.
	step(cli, "cli", -time.Second, true)
	step(server, "server", time.Minute, true)
	if owner, until, _ := cli.SyncLease(ctx, acc); owner != "server" || until.Before(time.Now()) {
		t.Errorf("lease = %q until %v", owner, until)
	}
	if _, err := server.AcquireSyncLease(ctx, acc, "", time.Minute); !errors.Is(err, models.ErrInvalid) {
		t.Errorf("empty owner: %v", err)
	}
	if _, err := server.AcquireSyncLease(ctx, 999, "x", time.Minute); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestSyncLeaseConcurrent(t *testing.T) {
	t.Parallel()
	a, dir := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, a, "feishu")
	b, err := models.Open(ctx, options(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	won := make(chan string, 16)
	for i := range 16 {
		db := []*models.DB{a, b}[i%2]
		owner := "owner-" + strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.AcquireSyncLease(ctx, acc, owner, time.Minute)
			if err != nil {
				t.Errorf("%s: %v", owner, err)
			}
			if ok {
				won <- owner
			}
		}()
	}
	wg.Wait()
	close(won)
	var winners []string
	for w := range won {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("winners = %v, want exactly one", winners)
	}
}

func TestWriteThrough(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	acc := newAccount(t, db, "sendbird")
	added := note("42", "900", "Internal: customer called", day(1))
	if err := db.ArchiveNoteWritten(ctx, acc, added, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	edited := added
	edited.Body, edited.UpdatedAt = "Internal: customer called twice", day(2)
	if err := db.ArchiveNoteWritten(ctx, acc, edited, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	// The next pass sees the same text at the vendor: no further version.
	if got, want := storeAt(t, db, acc, syncer.Scope{TicketID: "42", Complete: true}, day(3), edited), (syncer.Applied{Unchanged: 1}); got != want {
		t.Fatalf("pass after write-through = %+v, want %+v", got, want)
	}
	vs, err := db.NoteVersions(ctx, acc, "42", "900")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Source != models.SourceHere || vs[0].Actor != "ada@example.com" ||
		vs[1].Source != models.SourceHere || vs[1].Actor != "bob@example.com" || !vs[1].Current || vs[1].Body != edited.Body {
		t.Fatalf("versions = %+v", vs)
	}
	if err := db.ArchiveNoteDeleted(ctx, acc, "42", "900", "ada@example.com", day(4)); err != nil {
		t.Fatal(err)
	}
	got := archived(t, db, acc, "42", "900")
	if !got.DeletedAt.Equal(day(4)) || got.DeletedBy != "ada@example.com" || got.Body != edited.Body {
		t.Errorf("deleted here = %v by %q, %q", got.DeletedAt, got.DeletedBy, got.Body)
	}
	if err := db.ArchiveNoteDeleted(ctx, acc, "42", "900", "ada@example.com", day(5)); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	if got := archived(t, db, acc, "42", "900"); !got.DeletedAt.Equal(day(4)) {
		t.Errorf("deleting again moved the time to %v", got.DeletedAt)
	}
	if err := db.ArchiveNoteDeleted(ctx, acc, "42", "901", "ada@example.com", day(5)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown note: %v", err)
	}
	if _, total, _, _ := db.ListArchivedNotes(ctx, models.NoteFilter{}); total != 0 {
		t.Errorf("total after delete = %d, want 0", total)
	}
	if _, total, _, _ := db.ListArchivedNotes(ctx, models.NoteFilter{States: []string{models.StateDeleted}}); total != 1 {
		t.Errorf("deleted total = %d, want 1", total)
	}
	if err := db.ArchiveNoteWritten(ctx, 999, added, "x"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestDeleteAccountDeletesArchive(t *testing.T) {
	t.Parallel()
	db, dir := openDB(t)
	ctx := context.Background()
	gone, kept := newAccount(t, db, "alibaba"), newAccount(t, db, "feishu")
	for _, acc := range []uint{gone, kept} {
		if err := db.StoreTickets(ctx, acc, []providers.Ticket{{ID: "1"}, {ID: "2"}}, day(1)); err != nil {
			t.Fatal(err)
		}
		storeTicket(t, db, acc, "1", note("1", "a", "发票已开具", day(1)), note("1", "b", "thanks", day(2)))
		storeTicket(t, db, acc, "1", note("1", "a", "发票已开具，请下载", day(1)), note("1", "b", "thanks", day(2)))
		storeTicket(t, db, acc, "2", note("2", "c", "invoice", day(3)))
		if ok, err := db.AcquireSyncLease(ctx, acc, "x", time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if tk, nn, err := db.ArchiveCounts(ctx, gone); err != nil || tk != 2 || nn != 3 {
		t.Fatalf("counts before delete = %d, %d, %v", tk, nn, err)
	}
	if err := db.DeleteAccount(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if tk, nn, err := db.ArchiveCounts(ctx, gone); err != nil || tk != 0 || nn != 0 {
		t.Errorf("counts after delete = %d, %d, %v", tk, nn, err)
	}
	raw := rawDB(t, dir)
	// What the full-text index holds for a term, on each database.
	indexed := "SELECT count(*) FROM archive_fts WHERE archive_fts MATCH '%s'"
	if modelstest.Postgres() {
		indexed = "SELECT count(*) FROM archive_notes WHERE array_to_tsvector(string_to_array(tokens, ' ')) @@ '%s'::tsquery"
	}
	for q, want := range map[string]int64{
		"SELECT count(*) FROM note_versions":  1,
		"SELECT count(*) FROM sync_states":    1,
		"SELECT count(*) FROM archive_counts": 1,
		fmt.Sprintf(indexed, "发票"):            1,
		fmt.Sprintf(indexed, "invoice"):       1,
	} {
		var n int64
		if err := raw.Raw(q).Scan(&n).Error; err != nil || n != want {
			t.Errorf("%s = %d, %v; want %d", q, n, err, want)
		}
	}
	notes, total, _, err := db.ListArchivedNotes(ctx, models.NoteFilter{Query: "发票"})
	if err != nil || total != 1 || notes[0].AccountID != kept {
		t.Errorf("search after delete = %+v, %d, %v", notes, total, err)
	}
}

// TestAccountsAndStatesIsBothReads: the one statement gives what
// ListAccounts and SyncStates give: every account in the same order, a
// lease taken but no pass run counted as the zero state, an account never
// synced absent.
func TestAccountsAndStatesIsBothReads(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	ctx := context.Background()
	setSecretBox(t, db)
	var ids []uint
	for _, in := range []models.AccountInput{{Name: "Zeta", Kind: "sendbird"}, {Name: "alpha", Kind: "feishu"}, {Name: "Beta", Kind: "alibaba"}} {
		a, err := db.CreateAccount(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	st := syncer.State{Kind: syncer.PassIncremental, StartedAt: day(1), FinishedAt: day(2), LastOKAt: day(2), Done: 4, Total: 4}
	if err := db.SaveSyncState(ctx, ids[0], st); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.AcquireSyncLease(ctx, ids[2], "server", time.Minute); !ok || err != nil {
		t.Fatalf("lease: %v %v", ok, err)
	}
	as, states, err := db.AccountsAndStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAs, err := db.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStates, err := db.SyncStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(as, wantAs) {
		t.Errorf("accounts =\n%+v\nwant\n%+v", as, wantAs)
	}
	if !reflect.DeepEqual(states, wantStates) {
		t.Errorf("states =\n%+v\nwant\n%+v", states, wantStates)
	}
	if len(states) != 2 || !reflect.DeepEqual(states[ids[0]], st) || !reflect.DeepEqual(states[ids[2]], syncer.State{}) {
		t.Errorf("states = %+v, want account %d's pass and account %d's zero state", states, ids[0], ids[2])
	}
	if _, ok := states[ids[1]]; ok {
		t.Errorf("account %d, never synced, has a state", ids[1])
	}
}
