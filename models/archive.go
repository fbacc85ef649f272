package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// The archive: every account's tickets and notes as the sync engine last
// saw them at the vendor, with the earlier versions of edited notes and the
// notes the vendor no longer has (marked deleted, text kept).
//
// Times in the archive tables are BIGINT Unix nanoseconds in UTC (NULL, or
// 0 in NOT NULL columns, for "none"): a quarter of the size of gorm's text
// timestamps in a table of millions of rows and its indexes, ordered the
// same on SQLite and PostgreSQL, and exact for every time a vendor sends.
//
// archive_notes holds the current version of each note; note_versions the
// ones it replaced (version numbers start at 1; the newest is current).
// archive_counts and archive_hour_counts keep per-account (and per hour of
// creation) totals in the same transactions as the notes, so the totals of
// the unfiltered list and of a date range need no count over a million rows.

var _ syncer.Store = (*DB)(nil)

// Version sources.
const (
	SourceVendor = "vendor" // seen at the vendor by a sync pass
	SourceHere   = "here"   // written through this application
)

// migrateArchive is version 2: the archive tables.
func migrateArchive(tx *gorm.DB, pg bool) error {
	return execAll(tx, pg,
		`CREATE TABLE IF NOT EXISTS archive_tickets (
			account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			ticket_id TEXT NOT NULL,
			title TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL DEFAULT '',
			closed BOOLEAN NOT NULL DEFAULT FALSE,
			created_at BIGINT,
			updated_at BIGINT,
			raw TEXT,
			first_seen_at BIGINT NOT NULL,
			last_seen_at BIGINT NOT NULL,
			notes_read_at BIGINT,
			PRIMARY KEY (account_id, ticket_id)
		)`,
		`CREATE TABLE IF NOT EXISTS archive_notes (
			id INTEGER PRIMARY KEY,
			account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			ticket_id TEXT NOT NULL,
			note_id TEXT NOT NULL,
			chat_message_id TEXT NOT NULL DEFAULT '',
			author_name TEXT NOT NULL DEFAULT '',
			author_role TEXT NOT NULL DEFAULT '',
			body TEXT NOT NULL DEFAULT '',
			content TEXT NOT NULL DEFAULT '',
			content_type TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT,
			attachments TEXT,
			read BOOLEAN,
			raw TEXT,
			version INTEGER NOT NULL DEFAULT 1,
			version_source TEXT NOT NULL DEFAULT 'vendor',
			version_actor TEXT NOT NULL DEFAULT '',
			version_seen_at BIGINT NOT NULL,
			digest BIGINT NOT NULL,
			tokens TEXT NOT NULL DEFAULT '',
			deleted_at BIGINT,
			deleted_by TEXT NOT NULL DEFAULT '',
			first_seen_at BIGINT NOT NULL,
			last_seen_at BIGINT NOT NULL,
			UNIQUE (account_id, ticket_id, note_id)
		)`,
		// The read path's indexes. Each ends in the columns the list's
		// filters and counts read (account, deleted), so counting a range
		// never visits the table. Newest first scans them backwards.
		`CREATE INDEX IF NOT EXISTS archive_notes_created ON archive_notes (created_at, id, account_id, deleted_at)`,
		`CREATE INDEX IF NOT EXISTS archive_notes_account ON archive_notes (account_id, created_at, deleted_at)`,
		`CREATE INDEX IF NOT EXISTS archive_notes_ticket ON archive_notes (account_id, ticket_id, created_at, author_role, deleted_at)`,
		`CREATE INDEX IF NOT EXISTS archive_notes_role ON archive_notes (author_role, created_at, account_id, deleted_at)`,
		`CREATE TABLE IF NOT EXISTS note_versions (
			note_id BIGINT NOT NULL REFERENCES archive_notes(id) ON DELETE CASCADE,
			version INTEGER NOT NULL,
			body TEXT NOT NULL DEFAULT '',
			content TEXT NOT NULL DEFAULT '',
			content_type TEXT NOT NULL DEFAULT '',
			attachments TEXT,
			updated_at BIGINT,
			seen_at BIGINT NOT NULL,
			source TEXT NOT NULL,
			actor TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (note_id, version)
		)`,
		`CREATE TABLE IF NOT EXISTS sync_states (
			account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
			state TEXT NOT NULL DEFAULT '{}',
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE IF NOT EXISTS archive_counts (
			account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
			notes BIGINT NOT NULL DEFAULT 0,
			deleted BIGINT NOT NULL DEFAULT 0
		)`,
		// The same per hour of creation (Unix hours), so the total of a date
		// range sums at most a few thousand rows plus two partial hours.
		`CREATE TABLE IF NOT EXISTS archive_hour_counts (
			account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			hour BIGINT NOT NULL,
			notes BIGINT NOT NULL DEFAULT 0,
			deleted BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (account_id, hour)
		)`,
	)
}

// ns is t as stored in a NOT NULL time column.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// nsOrNull is t as stored in a nullable time column.
func nsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNS reads a time column back; 0 and NULL are the zero time.
func fromNS(v sql.NullInt64) time.Time {
	if !v.Valid || v.Int64 == 0 {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}

func attachmentsJSON(as []providers.Attachment) any {
	if len(as) == 0 {
		return nil
	}
	b, _ := json.Marshal(as)
	return string(b)
}

func rawOrNull(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

func readOrNull(r *bool) any {
	if r == nil {
		return nil
	}
	return *r
}

// noteDigest identifies a version's text: body, content and the names of
// the attachments. Attachment URLs are left out on purpose: Alibaba's are
// temporary and change on every read, which must not make a version; a
// changed URL is refreshed in place instead.
func noteDigest(n providers.Note) int64 {
	h := sha256.New()
	h.Write([]byte(n.Body))
	h.Write([]byte{0})
	h.Write([]byte(n.Content))
	h.Write([]byte{0})
	h.Write([]byte(n.ContentType))
	for _, a := range n.Attachments {
		h.Write([]byte{0})
		h.Write([]byte(a.Name))
	}
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

// dbErr wraps a database error; a foreign key failure (the account is gone)
// becomes ErrNotFound.
func dbErr(err error, what string) error {
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return fmt.Errorf("%s: account: %w", what, ErrNotFound)
	}
	return notFound(err, what)
}

// StoreTickets upserts tickets as the vendor listed them: title, status,
// times and raw JSON replace what was stored; first-seen stays. It returns
// ErrNotFound when the account does not exist, or the database's error.
func (db *DB) StoreTickets(ctx context.Context, account uint, tickets []providers.Ticket, seenAt time.Time) error {
	if len(tickets) == 0 {
		return nil
	}
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return storeTickets(tx, account, tickets, ns(seenAt.UTC()))
	})
	if err != nil {
		return dbErr(err, "store tickets")
	}
	return nil
}

// storeTickets is StoreTickets inside tx.
func storeTickets(tx *gorm.DB, account uint, tickets []providers.Ticket, seen int64) error {
	const cols = 10
	for start := 0; start < len(tickets); start += 500 {
		chunk := tickets[start:min(start+500, len(tickets))]
		args := make([]any, 0, len(chunk)*cols)
		for _, t := range chunk {
			args = append(args, account, t.ID, t.Title, t.Status, t.Closed, nsOrNull(t.CreatedAt),
				nsOrNull(t.UpdatedAt), rawOrNull(t.Raw), seen, seen)
		}
		q := `INSERT INTO archive_tickets (account_id, ticket_id, title, status, closed, created_at,
			updated_at, raw, first_seen_at, last_seen_at) VALUES ` + placeholders(len(chunk), cols) + `
			ON CONFLICT (account_id, ticket_id) DO UPDATE SET title = excluded.title,
			status = excluded.status, closed = excluded.closed, created_at = excluded.created_at,
			updated_at = excluded.updated_at, raw = excluded.raw, last_seen_at = excluded.last_seen_at`
		if err := tx.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns rows groups of n "?" for a multi-row VALUES.
func placeholders(rows, n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

// TicketMarks returns what the archive remembers of each of the account's
// tickets, keyed by ticket id: the listed tickets, and tickets known only
// from their notes. It returns the database's error.
func (db *DB) TicketMarks(ctx context.Context, account uint) (map[string]syncer.TicketMark, error) {
	g := db.g.WithContext(ctx)
	marks := map[string]syncer.TicketMark{}
	rows, err := g.Raw(`SELECT ticket_id, updated_at, closed, notes_read_at FROM archive_tickets
		WHERE account_id = ?`, account).Rows()
	if err != nil {
		return nil, fmt.Errorf("ticket marks: %w", err)
	}
	for rows.Next() {
		var m syncer.TicketMark
		var upd, read sql.NullInt64
		if err := rows.Scan(&m.ID, &upd, &m.Closed, &read); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ticket marks: %w", err)
		}
		m.UpdatedAt, m.NotesReadAt = fromNS(upd), fromNS(read)
		marks[m.ID] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket marks: %w", err)
	}
	rows, err = g.Raw(`SELECT ticket_id, max(created_at) FROM archive_notes WHERE account_id = ?
		GROUP BY ticket_id`, account).Rows()
	if err != nil {
		return nil, fmt.Errorf("ticket marks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var newest sql.NullInt64
		if err := rows.Scan(&id, &newest); err != nil {
			return nil, fmt.Errorf("ticket marks: %w", err)
		}
		m := marks[id]
		m.ID, m.NewestNote = id, fromNS(newest)
		marks[id] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket marks: %w", err)
	}
	return marks, nil
}

// storedNote is what StoreNotes needs of an archived note to decide what a
// batch changes.
type storedNote struct {
	id          int64
	ticketID    string
	noteID      string
	createdAt   int64
	digest      int64
	attachments sql.NullString
	read        sql.NullBool
	deleted     bool
	seen        bool // in the batch being applied
}

type noteKey struct{ ticket, note string }

const storedCols = "id, ticket_id, note_id, created_at, digest, attachments, read, deleted_at IS NOT NULL"

func scanStored(rows *sql.Rows, into map[noteKey]*storedNote) error {
	defer rows.Close()
	for rows.Next() {
		s := &storedNote{}
		if err := rows.Scan(&s.id, &s.ticketID, &s.noteID, &s.createdAt, &s.digest, &s.attachments, &s.read, &s.deleted); err != nil {
			return err
		}
		into[noteKey{s.ticketID, s.noteID}] = s
	}
	return rows.Err()
}

// loadStored reads the archived notes a batch touches: with a complete
// scope every note in it (to find the missing ones), and the batch's notes
// by key.
func loadStored(tx *gorm.DB, account uint, scope syncer.Scope, notes []providers.Note) (map[noteKey]*storedNote, error) {
	got := map[noteKey]*storedNote{}
	if scope.Complete {
		q := "SELECT " + storedCols + " FROM archive_notes WHERE account_id = ?"
		args := []any{account}
		if scope.TicketID != "" {
			q += " AND ticket_id = ?"
			args = append(args, scope.TicketID)
		}
		if !scope.From.IsZero() {
			q += " AND created_at >= ?"
			args = append(args, ns(scope.From))
		}
		if !scope.To.IsZero() {
			q += " AND created_at < ?"
			args = append(args, ns(scope.To))
		}
		rows, err := tx.Raw(q, args...).Rows()
		if err != nil {
			return nil, err
		}
		if err := scanStored(rows, got); err != nil {
			return nil, err
		}
	}
	// Batch notes not found above: outside the scope's range, or the scope
	// is not complete. Looked up per ticket through the unique index.
	byTicket := map[string][]string{}
	for _, n := range notes {
		if _, ok := got[noteKey{n.TicketID, n.ID}]; !ok {
			byTicket[n.TicketID] = append(byTicket[n.TicketID], n.ID)
		}
	}
	for ticket, ids := range byTicket {
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			rows, err := tx.Raw("SELECT "+storedCols+" FROM archive_notes WHERE account_id = ? AND ticket_id = ? AND note_id IN ?",
				account, ticket, chunk).Rows()
			if err != nil {
				return nil, err
			}
			if err := scanStored(rows, got); err != nil {
				return nil, err
			}
		}
	}
	return got, nil
}

// insertNotes adds new notes as version 1 from source.
func insertNotes(tx *gorm.DB, account uint, notes []providers.Note, source, actor string, seen int64) error {
	const cols = 22
	// 22 columns × 400 rows stays under SQLite's 32,766 variables.
	for start := 0; start < len(notes); start += 400 {
		chunk := notes[start:min(start+400, len(notes))]
		args := make([]any, 0, len(chunk)*cols)
		for _, n := range chunk {
			args = append(args, account, n.TicketID, n.ID, n.ChatMessageID, n.AuthorName, string(n.AuthorRole),
				n.Body, n.Content, n.ContentType, ns(n.CreatedAt.UTC()), nsOrNull(n.UpdatedAt), attachmentsJSON(n.Attachments),
				readOrNull(n.Read), rawOrNull(n.Raw), source, actor, seen, noteDigest(n), indexTokens(n.Body), seen, seen, 1)
		}
		q := `INSERT INTO archive_notes (account_id, ticket_id, note_id, chat_message_id, author_name, author_role,
			body, content, content_type, created_at, updated_at, attachments, read, raw, version_source,
			version_actor, version_seen_at, digest, tokens, first_seen_at, last_seen_at, version) VALUES ` + placeholders(len(chunk), cols)
		if err := tx.Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// newVersion keeps s's current text in note_versions and makes n current
// as the next version; a deleted note comes back.
func newVersion(tx *gorm.DB, s *storedNote, n providers.Note, source, actor string, seen int64) error {
	if err := tx.Exec(`INSERT INTO note_versions (note_id, version, body, content, content_type, attachments,
		updated_at, seen_at, source, actor) SELECT id, version, body, content, content_type, attachments,
		updated_at, version_seen_at, version_source, version_actor FROM archive_notes WHERE id = ?`, s.id).Error; err != nil {
		return err
	}
	return tx.Exec(`UPDATE archive_notes SET chat_message_id = ?, author_name = ?, author_role = ?, body = ?,
		content = ?, content_type = ?, updated_at = ?, attachments = ?, read = ?, raw = ?, version = version + 1,
		version_source = ?, version_actor = ?, version_seen_at = ?, digest = ?, tokens = ?, deleted_at = NULL,
		deleted_by = '', last_seen_at = ? WHERE id = ?`,
		n.ChatMessageID, n.AuthorName, string(n.AuthorRole), n.Body, n.Content, n.ContentType, nsOrNull(n.UpdatedAt),
		attachmentsJSON(n.Attachments), readOrNull(n.Read), rawOrNull(n.Raw), source, actor, seen, noteDigest(n),
		indexTokens(n.Body), seen, s.id).Error
}

// refreshNote updates what of an unchanged note is not part of a version:
// read status, attachment URLs, raw JSON; and brings a deleted one back.
func refreshNote(tx *gorm.DB, s *storedNote, n providers.Note, seen int64) error {
	return tx.Exec(`UPDATE archive_notes SET read = ?, attachments = ?, raw = ?, updated_at = ?, deleted_at = NULL,
		deleted_by = '', last_seen_at = ? WHERE id = ?`,
		readOrNull(n.Read), attachmentsJSON(n.Attachments), rawOrNull(n.Raw), nsOrNull(n.UpdatedAt), seen, s.id).Error
}

// needsRefresh reports whether an unchanged note differs from s in what
// refreshNote writes.
func needsRefresh(s *storedNote, n providers.Note) bool {
	if s.deleted || s.read.Valid != (n.Read != nil) || (n.Read != nil && s.read.Bool != *n.Read) {
		return true
	}
	a, _ := attachmentsJSON(n.Attachments).(string)
	return a != s.attachments.String || s.attachments.Valid != (len(n.Attachments) > 0)
}

// updateIDs runs "UPDATE archive_notes SET <set> WHERE id IN (ids)" in
// chunks; args are the SET's arguments.
func updateIDs(tx *gorm.DB, set string, ids []int64, args ...any) error {
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		if err := tx.Exec("UPDATE archive_notes SET "+set+" WHERE id IN ?", append(args, chunk)...).Error; err != nil {
			return err
		}
	}
	return nil
}

// counts accumulates how a transaction moves the live and deleted note
// totals, per hour of creation.
type counts map[int64][2]int64

// add moves the totals of a note created at createdNS (Unix nanoseconds).
func (c counts) add(createdNS, live, deleted int64) {
	h := createdNS / int64(time.Hour)
	d := c[h]
	c[h] = [2]int64{d[0] + live, d[1] + deleted}
}

// with is add for a single note.
func (c counts) with(createdNS, live, deleted int64) counts {
	c.add(createdNS, live, deleted)
	return c
}

// apply writes the accumulated moves for account.
func (c counts) apply(tx *gorm.DB, account uint) error {
	var live, deleted int64
	hours := make([]int64, 0, len(c))
	for h, d := range c {
		if d != ([2]int64{}) {
			hours = append(hours, h)
			live, deleted = live+d[0], deleted+d[1]
		}
	}
	if len(hours) == 0 {
		return nil
	}
	// Sorted: the same rows in the same order in every transaction, so two
	// writers never wait on each other crosswise (PostgreSQL).
	sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
	if err := tx.Exec(`INSERT INTO archive_counts (account_id, notes, deleted) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET notes = archive_counts.notes + excluded.notes,
		deleted = archive_counts.deleted + excluded.deleted`, account, live, deleted).Error; err != nil {
		return err
	}
	for start := 0; start < len(hours); start += 500 {
		chunk := hours[start:min(start+500, len(hours))]
		args := make([]any, 0, 4*len(chunk))
		for _, h := range chunk {
			args = append(args, account, h, c[h][0], c[h][1])
		}
		if err := tx.Exec(`INSERT INTO archive_hour_counts (account_id, hour, notes, deleted) VALUES `+placeholders(len(chunk), 4)+`
			ON CONFLICT (account_id, hour) DO UPDATE SET notes = archive_hour_counts.notes + excluded.notes,
			deleted = archive_hour_counts.deleted + excluded.deleted`, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// StoreNotes applies one batch of notes in one transaction (see
// syncer.Store): new notes are added, changed ones (body, content, content
// type or attachment names) get a new version from the vendor, unchanged
// ones have their last-seen time, read status and attachment URLs moved. A
// note the vendor has again after it was marked deleted comes back. With
// scope.Complete, archived notes in the scope missing from the batch are
// marked deleted at seenAt with their text kept, and a complete
// whole-ticket batch records the ticket's notes as read at seenAt. Notes of
// the batch outside the scope are stored too. It returns ErrNotFound when
// the account does not exist, or the database's error; on error nothing of
// the batch is kept.
func (db *DB) StoreNotes(ctx context.Context, account uint, scope syncer.Scope, notes []providers.Note, seenAt time.Time) (syncer.Applied, error) {
	var ap syncer.Applied
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		ap, err = storeNotes(tx, account, scope, notes, ns(seenAt.UTC()))
		return err
	})
	if err != nil {
		return syncer.Applied{}, dbErr(err, "store notes")
	}
	return ap, nil
}

// StoreTicketNotes applies reads of whole tickets and the pass's state in
// one transaction (see syncer.Store): each item's notes as StoreNotes
// applies them, then its ticket as StoreTickets upserts it, then st
// replaces the account's state as SaveSyncState does. One commit for many
// tickets is what keeps a backfill from queueing page reads behind a
// commit per ticket. It returns ErrNotFound when the account does not
// exist, or the database's error; on error nothing of the batch is kept.
func (db *DB) StoreTicketNotes(ctx context.Context, account uint, batch []syncer.TicketNotes, st syncer.State, seenAt time.Time) error {
	state, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store ticket notes: %w", err)
	}
	seen := ns(seenAt.UTC())
	err = db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, it := range batch {
			if _, err := storeNotes(tx, account, it.Scope, it.Notes, seen); err != nil {
				return err
			}
			if it.Ticket.ID != "" {
				if err := storeTickets(tx, account, []providers.Ticket{it.Ticket}, seen); err != nil {
					return err
				}
			}
		}
		return saveState(tx, account, st.Running(), state)
	})
	if err != nil {
		return dbErr(err, "store ticket notes")
	}
	return nil
}

// storeNotes is StoreNotes inside tx.
func storeNotes(tx *gorm.DB, account uint, scope syncer.Scope, notes []providers.Note, seen int64) (syncer.Applied, error) {
	var ap syncer.Applied
	stored, err := loadStored(tx, account, scope, notes)
	if err != nil {
		return ap, err
	}
	var (
		fresh   []providers.Note
		touched []int64
		moved   = counts{}
		inBatch = make(map[noteKey]bool, len(notes))
	)
	for _, n := range notes {
		k := noteKey{n.TicketID, n.ID}
		if inBatch[k] {
			continue // a vendor page overlap: the first copy counts
		}
		inBatch[k] = true
		s, ok := stored[k]
		if !ok {
			fresh = append(fresh, n)
			continue
		}
		s.seen = true
		switch {
		case s.digest != noteDigest(n):
			if err := newVersion(tx, s, n, SourceVendor, "", seen); err != nil {
				return ap, err
			}
			ap.Updated++
		case needsRefresh(s, n):
			if err := refreshNote(tx, s, n, seen); err != nil {
				return ap, err
			}
			if s.deleted {
				ap.Updated++
			} else {
				ap.Unchanged++
			}
		default:
			touched = append(touched, s.id)
			ap.Unchanged++
		}
		if s.deleted {
			moved.add(s.createdAt, 1, -1)
		}
	}
	if err := insertNotes(tx, account, fresh, SourceVendor, "", seen); err != nil {
		return ap, err
	}
	ap.Added = len(fresh)
	for _, n := range fresh {
		moved.add(ns(n.CreatedAt.UTC()), 1, 0)
	}
	if err := updateIDs(tx, "last_seen_at = ?", touched, seen); err != nil {
		return ap, err
	}
	if scope.Complete {
		var gone []int64
		for _, s := range stored {
			if !s.seen && !s.deleted && inScope(scope, s) {
				gone = append(gone, s.id)
				moved.add(s.createdAt, -1, 1)
			}
		}
		// Sorted so the statement is the same however the map iterates.
		sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
		if err := updateIDs(tx, "deleted_at = ?, deleted_by = ''", gone, seen); err != nil {
			return ap, err
		}
		ap.Deleted = len(gone)
		if scope.TicketID != "" && scope.From.IsZero() && scope.To.IsZero() {
			if err := tx.Exec(`INSERT INTO archive_tickets (account_id, ticket_id, first_seen_at, last_seen_at, notes_read_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, ticket_id) DO UPDATE SET notes_read_at = excluded.notes_read_at`,
				account, scope.TicketID, seen, seen, seen).Error; err != nil {
				return ap, err
			}
		}
	}
	return ap, moved.apply(tx, account)
}

// inScope reports whether a stored note is inside scope.
func inScope(scope syncer.Scope, s *storedNote) bool {
	if scope.TicketID != "" && s.ticketID != scope.TicketID {
		return false
	}
	return (scope.From.IsZero() || s.createdAt >= ns(scope.From)) && (scope.To.IsZero() || s.createdAt < ns(scope.To))
}

// ArchiveNoteWritten records a note this application just added or edited
// at the vendor (write-through), as the vendor answered it: a new note is
// added, a changed one gets a new version with source "here" and actor
// (e.g. the user's email). It returns ErrNotFound when the account does not
// exist, or the database's error.
func (db *DB) ArchiveNoteWritten(ctx context.Context, account uint, note providers.Note, actor string) error {
	seen := ns(time.Now().UTC())
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := bumpFirm(tx); err != nil {
			return err
		}
		stored, err := loadStored(tx, account, syncer.Scope{}, []providers.Note{note})
		if err != nil {
			return err
		}
		s, ok := stored[noteKey{note.TicketID, note.ID}]
		switch {
		case !ok:
			if err := insertNotes(tx, account, []providers.Note{note}, SourceHere, actor, seen); err != nil {
				return err
			}
			return counts{}.with(ns(note.CreatedAt.UTC()), 1, 0).apply(tx, account)
		case s.digest != noteDigest(note):
			if err := newVersion(tx, s, note, SourceHere, actor, seen); err != nil {
				return err
			}
		default:
			if err := refreshNote(tx, s, note, seen); err != nil {
				return err
			}
		}
		if s.deleted {
			return counts{}.with(s.createdAt, 1, -1).apply(tx, account)
		}
		return nil
	})
	if err != nil {
		return dbErr(err, "archive note")
	}
	return nil
}

// ArchiveNoteDeleted marks a note deleted here at `at` by actor, after the
// vendor deleted it; its text and versions stay. Marking a note already
// marked deleted changes nothing. It returns ErrNotFound when the note is
// not archived, or the database's error.
func (db *DB) ArchiveNoteDeleted(ctx context.Context, account uint, ticket, noteID, actor string, at time.Time) error {
	err := db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := bumpFirm(tx); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE archive_notes SET deleted_at = ?, deleted_by = ? WHERE account_id = ? AND ticket_id = ?
			AND note_id = ? AND deleted_at IS NULL`, ns(at.UTC()), actor, account, ticket, noteID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			var created int64
			if err := tx.Raw("SELECT created_at FROM archive_notes WHERE account_id = ? AND ticket_id = ? AND note_id = ?",
				account, ticket, noteID).Scan(&created).Error; err != nil {
				return err
			}
			return counts{}.with(created, -1, 1).apply(tx, account)
		}
		var n int64
		if err := tx.Raw("SELECT count(*) FROM archive_notes WHERE account_id = ? AND ticket_id = ? AND note_id = ?",
			account, ticket, noteID).Scan(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return dbErr(err, "archive note deleted")
	}
	return nil
}

// ArchiveCounts returns how many tickets and notes (deleted ones included)
// the account's archive holds, for the confirmation before the account is
// deleted with them. It returns the database's error.
func (db *DB) ArchiveCounts(ctx context.Context, account uint) (tickets, notes int64, err error) {
	g := db.g.WithContext(ctx)
	if err := g.Raw("SELECT count(*) FROM archive_tickets WHERE account_id = ?", account).Scan(&tickets).Error; err != nil {
		return 0, 0, fmt.Errorf("archive counts: %w", err)
	}
	if err := g.Raw("SELECT count(*) FROM archive_notes WHERE account_id = ?", account).Scan(&notes).Error; err != nil {
		return 0, 0, fmt.Errorf("archive counts: %w", err)
	}
	return tickets, notes, nil
}
