package models

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Outcomes of an audited attempt. OutcomeAttempt marks a row written before
// a vendor call: the change may have happened, and the row that names it in
// AttemptID says how it ended. An attempt with no such row ended with the
// process (outcome unknown).
const (
	OutcomeOK      = "ok"
	OutcomeDenied  = "denied"
	OutcomeError   = "error"
	OutcomeAttempt = "attempt"
)

// ErrAuditKey is returned (wrapped) when the audit log is keyed under
// another key than the one set with SetAuditKey.
var ErrAuditKey = errors.New("the audit key does not match: is TICKETNOTES_SECRET_KEY the one the server uses?")

// ErrAuditNotKeyed is returned (wrapped) by AppendAudit when the log's head
// is not keyed: a database from before the keyed chain
// that UpgradeAudit has not upgraded yet, or a chain downgraded by hand.
// Appending would vouch for whatever is there, so it refuses.
var ErrAuditNotKeyed = errors.New("the audit log is not keyed")

// AuditEvent is one row of the append-only, hash-chained audit log: one
// attempt to change something, whether it succeeded, was denied or failed.
// A change sent to a vendor takes two rows: the attempt, written before the
// call, and its outcome, which names the attempt in AttemptID. Hash is an
// HMAC under the audit key (plain SHA-256 in rows from before the key).
type AuditEvent struct {
	ID              uint64    `gorm:"primaryKey"`
	At              time.Time `gorm:"index;not null"` // UTC
	ActorID         *uint     `gorm:"index"`
	ActorEmail      string    `gorm:"index;size:320"`
	ActorRole       string    `gorm:"size:20"`
	Action          string    `gorm:"index;size:64;not null"` // e.g. "user.login", "account.update", "note.delete"
	Target          string    `gorm:"size:255;index"`         // e.g. "account:3", "user:7", "note:2:123:456"
	AccountID       *uint     `gorm:"index"`                  // provider account involved, if any
	Before          string    // JSON text (callers redact secrets), "" when none
	After           string    // JSON text, "" when none
	Outcome         string    `gorm:"index;size:16;not null"`
	Message         string    // safe message (error text, reason for denial)
	VendorRequestID string    `gorm:"size:128"` // vendor request id for provider calls
	IP              string    `gorm:"size:64"`
	UserAgent       string    `gorm:"size:512"`
	RequestID       string    `gorm:"size:64;index"`
	// AttemptID is, on an outcome row, the id of the attempt row it ends;
	// nil elsewhere.
	AttemptID *uint64 `gorm:"index"`
	PrevHash  string  `gorm:"size:64;not null"`
	Hash      string  `gorm:"size:64;uniqueIndex;not null"`
}

const (
	// auditGenesisHash is the PrevHash of the first row.
	auditGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"
	// auditHeadKey names the KV row holding the chain head, so removing the
	// last rows is as visible as removing a middle one.
	auditHeadKey = "audit.head"
	// auditLockKey is the PostgreSQL advisory lock ("ticknote") that
	// serialises appends across instances sharing one database.
	auditLockKey int64 = 0x7469636b6e6f7465
	// auditHashVersion starts every hashed record so the encoding can change
	// later without old rows becoming ambiguous. v1 rows (plain SHA-256,
	// written before the chain was keyed) still verify, but only before the
	// first keyed row.
	auditHashVersion = "ticketnotes-audit-v1"
	// auditKeyedVersion starts every keyed record: HMAC-SHA256 under the
	// audit key, covering AttemptID too.
	auditKeyedVersion = "ticketnotes-audit-v2"
	// auditHeadVersion starts the keyed head's MAC input.
	auditHeadVersion = "ticketnotes-audit-head-v2"
	// auditKeyInfo is the HKDF label deriving the audit key from the
	// secret key, so the encryption key itself is never used as a MAC key.
	auditKeyInfo = "ticketnotes audit chain v2"
	// auditKeyIDLabel names the key in the head, so a wrong key is told
	// apart from an altered chain.
	auditKeyIDLabel = "ticketnotes audit key id"
	// auditBatch is the number of rows read per query when walking the log.
	auditBatch = 1000

	auditDefaultLimit = 50
	auditMaxLimit     = 500
)

// auditActionRE accepts dotted lower-case names such as "note.delete".
var auditActionRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// errAuditHeadCorrupt marks a head record that cannot be parsed.
var errAuditHeadCorrupt = errors.New("audit head record is corrupt")

// auditHead is the chain head kept in the KV table. KeyID and MAC are
// empty in a head written before the chain was keyed.
type auditHead struct {
	ID    uint64 `json:"id"`
	Hash  string `json:"hash"`
	Rows  int64  `json:"rows"`
	KeyID string `json:"kid,omitempty"`
	MAC   string `json:"mac,omitempty"`
}

// keyed reports whether h was written by a keyed chain.
func (h auditHead) keyed() bool { return h.KeyID != "" || h.MAC != "" }

// auditKey is the MAC key of the chain, derived from the secret key.
type auditKey struct {
	key []byte
	id  string
}

// newAuditKey derives the audit key from the 32-byte secret key.
func newAuditKey(secret []byte) (*auditKey, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("audit key: secret key must be 32 bytes, got %d: %w", len(secret), ErrInvalid)
	}
	k, err := hkdf.Key(sha256.New, secret, nil, auditKeyInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(auditKeyIDLabel))
	return &auditKey{key: k, id: hex.EncodeToString(m.Sum(nil)[:8])}, nil
}

// mac returns the hex HMAC-SHA256 of b.
func (k *auditKey) mac(b []byte) string {
	m := hmac.New(sha256.New, k.key)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// rowHash is the keyed hash of e.
func (k *auditKey) rowHash(e *AuditEvent) string {
	return k.mac(auditEncode(auditKeyedVersion, e))
}

// headMAC is the MAC of h's id, hash, row count and key id.
func (k *auditKey) headMAC(h auditHead) string {
	var b []byte
	for _, f := range []string{auditHeadVersion, strconv.FormatUint(h.ID, 10), h.Hash, strconv.FormatInt(h.Rows, 10), h.KeyID} {
		b = netstring(b, f)
	}
	return k.mac(b)
}

// seal fills in h's key id and MAC.
func (k *auditKey) seal(h auditHead) auditHead {
	h.KeyID = k.id
	h.MAC = k.headMAC(h)
	return h
}

// equalHex compares two hex digests in constant time.
func equalHex(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// SetAuditKey derives the audit chain's MAC key from the 32-byte secret key
// (HKDF-SHA256 with a fixed label); AppendAudit and VerifyAudit need it. It
// returns an error wrapping ErrInvalid when the key is not 32 bytes. It
// writes nothing: see UpgradeAudit for databases from before the key.
func (db *DB) SetAuditKey(secret []byte) error {
	k, err := newAuditKey(secret)
	if err != nil {
		return err
	}
	db.auditKey = k
	return nil
}

// readAuditHead returns the head, found=false when there is none, and an
// error wrapping errAuditHeadCorrupt when it cannot be parsed.
func readAuditHead(tx *gorm.DB) (h auditHead, found bool, err error) {
	v, ok, err := kvGet(tx, auditHeadKey)
	if err != nil || !ok {
		return auditHead{}, false, err
	}
	if err := json.Unmarshal([]byte(v), &h); err != nil || len(h.Hash) != sha256.Size*2 {
		return auditHead{}, true, errAuditHeadCorrupt
	}
	return h, true, nil
}

// writeAuditHead stores h as the chain head.
func writeAuditHead(tx *gorm.DB, h auditHead) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return kvSet(tx, auditHeadKey, string(b))
}

// AppendAudit appends e to the audit log and fills in its ID, At (when zero),
// PrevHash and Hash (keyed with the audit key). At is stored in UTC,
// truncated to microseconds, and text fields are made valid UTF-8 and cut
// to their column size. An outcome row names its attempt in AttemptID.
//
// It returns an error wrapping ErrInvalid when Action, Outcome, Before or
// After is malformed, AttemptID does not name an attempt row or no audit key
// is set, ErrConflict when that attempt already has its outcome,
// ErrAuditKey when the log is keyed under another key, ErrAuditNotKeyed when the
// log's head is not keyed, and the database error when the row cannot be
// written; then nothing is appended and e's ID and hashes are left empty.
func (db *DB) AppendAudit(ctx context.Context, e *AuditEvent) error {
	if e == nil {
		return fmt.Errorf("append audit: no event: %w", ErrInvalid)
	}
	if err := prepareAudit(e); err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	err := db.auditTx(ctx, func(tx *gorm.DB, k *auditKey, head auditHead, found bool) error {
		if found && !head.keyed() {
			return ErrAuditNotKeyed
		}
		if e.AttemptID != nil {
			if err := checkAttemptOpen(tx, *e.AttemptID); err != nil {
				return err
			}
		}
		return appendLocked(tx, k, head, e)
	})
	if err != nil {
		e.ID, e.PrevHash, e.Hash = 0, "", ""
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

// UpgradeAudit keys a log written before the keyed chain: when the head is
// not keyed it appends an "audit.key" row, keyed, that links to the old
// head and counts the rows before it, so those rows keep verifying and
// every row from there on is keyed. It reports how many unkeyed rows came
// before (0 when there was nothing to do). The server calls it on start.
// It returns an error wrapping ErrInvalid when no key is set, ErrAuditKey
// when the log is keyed under another key, and the database error when a
// query fails.
//
// A chain whose keyed rows were all removed looks like one from before the
// upgrade; an upgrade then vouches for it. AppendAudit refuses such a head
// and VerifyAudit reports it, so that state is visible until the upgrade.
func (db *DB) UpgradeAudit(ctx context.Context) (legacyRows int64, err error) {
	err = db.auditTx(ctx, func(tx *gorm.DB, k *auditKey, head auditHead, found bool) error {
		// No head: an empty log (nothing to key) or a deleted head, which
		// VerifyAudit reports; keying would hide it.
		if !found || head.keyed() {
			return nil
		}
		legacyRows = head.Rows
		e := &AuditEvent{Action: "audit.key", ActorEmail: "system", Target: "audit", Outcome: OutcomeOK,
			After:   fmt.Sprintf(`{"unkeyed_rows":%d,"unkeyed_head":%q}`, head.Rows, head.Hash),
			Message: fmt.Sprintf("audit chain keyed with HMAC-SHA256; the %d rows before were written without a key", head.Rows)}
		if err := prepareAudit(e); err != nil {
			return err
		}
		return appendLocked(tx, k, head, e)
	})
	if err != nil {
		return 0, fmt.Errorf("upgrade audit: %w", err)
	}
	return legacyRows, nil
}

// auditTx runs fn in one appending transaction with the audit key and the
// current head (found=false when there is none or it is corrupt). It
// returns ErrInvalid before fn runs when no key is set and ErrAuditKey when
// the head is keyed under another key.
func (db *DB) auditTx(ctx context.Context, fn func(tx *gorm.DB, k *auditKey, head auditHead, found bool) error) error {
	k := db.auditKey
	if k == nil {
		return fmt.Errorf("no audit key set: %w", ErrInvalid)
	}
	// One writer at a time: the mutex orders goroutines of this process
	// without tying up connections, the transaction (BEGIN IMMEDIATE on
	// SQLite) orders processes sharing the file, and the advisory lock orders
	// instances sharing a PostgreSQL database.
	db.auditMu.Lock()
	defer db.auditMu.Unlock()
	return db.g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if db.IsPostgres() {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", auditLockKey).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		// The head, not the last row, is the link target: if rows were cut
		// from the end, the new row still points at the removed one and
		// Verify reports the gap instead of the append hiding it.
		head, found, err := readAuditHead(tx)
		if err != nil && !errors.Is(err, errAuditHeadCorrupt) {
			return err
		}
		if !found || err != nil {
			head, found = auditHead{Hash: auditGenesisHash}, false
		}
		// Another key would fork the chain into rows nobody can verify.
		if head.KeyID != "" && head.KeyID != k.id {
			return ErrAuditKey
		}
		return fn(tx, k, head, found)
	})
}

// appendLocked inserts e after head and moves the head, inside the
// appending transaction.
func appendLocked(tx *gorm.DB, k *auditKey, head auditHead, e *AuditEvent) error {
	var maxID uint64
	if err := tx.Model(&AuditEvent{}).Select("COALESCE(MAX(id), 0)").Row().Scan(&maxID); err != nil {
		return fmt.Errorf("read last id: %w", err)
	}
	// IDs are assigned here rather than by the database so the hash can
	// cover the ID in a single insert; a PostgreSQL sequence would also
	// leave gaps after rollbacks.
	e.ID = max(head.ID, maxID) + 1
	e.PrevHash = head.Hash
	e.Hash = k.rowHash(e)
	if err := tx.Create(e).Error; err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	return writeAuditHead(tx, k.seal(auditHead{ID: e.ID, Hash: e.Hash, Rows: head.Rows + 1}))
}

// checkAttemptOpen makes sure id is an attempt row with no outcome yet, so
// every attempt ends with at most one outcome.
func checkAttemptOpen(tx *gorm.DB, id uint64) error {
	var outcome []string
	if err := tx.Model(&AuditEvent{}).Where("id = ?", id).Pluck("outcome", &outcome).Error; err != nil {
		return fmt.Errorf("read attempt %d: %w", id, err)
	}
	if len(outcome) != 1 || outcome[0] != OutcomeAttempt {
		return fmt.Errorf("row %d is not an attempt: %w", id, ErrInvalid)
	}
	var n int64
	if err := tx.Model(&AuditEvent{}).Where("attempt_id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("read outcomes of %d: %w", id, err)
	}
	if n > 0 {
		return fmt.Errorf("attempt %d already has its outcome: %w", id, ErrConflict)
	}
	return nil
}

// prepareAudit normalises e in place and validates it.
func prepareAudit(e *AuditEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	// Microseconds are what both SQLite text and PostgreSQL timestamptz
	// give back, so the hash recomputed on read matches the one written.
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if len(e.Action) > 64 || !auditActionRE.MatchString(e.Action) {
		return fmt.Errorf("action %q: %w", e.Action, ErrInvalid)
	}
	if !validOutcome(e.Outcome) && e.Outcome != OutcomeAttempt {
		return fmt.Errorf("outcome %q: %w", e.Outcome, ErrInvalid)
	}
	if e.AttemptID != nil && (e.Outcome == OutcomeAttempt || *e.AttemptID == 0) {
		return fmt.Errorf("attempt id on an attempt, or zero: %w", ErrInvalid)
	}
	for _, f := range []struct {
		name string
		v    string
	}{{"before", e.Before}, {"after", e.After}} {
		if f.v != "" && !json.Valid([]byte(f.v)) {
			return fmt.Errorf("%s is not JSON: %w", f.name, ErrInvalid)
		}
	}
	// An audit row must not be lost to a long user agent or stray bytes:
	// PostgreSQL rejects invalid UTF-8, NUL and text longer than the column.
	e.ActorEmail = cleanText(e.ActorEmail, 320)
	e.ActorRole = cleanText(e.ActorRole, 20)
	e.Target = cleanText(e.Target, 255)
	e.Message = cleanText(e.Message, 0)
	e.VendorRequestID = cleanText(e.VendorRequestID, 128)
	e.IP = cleanText(e.IP, 64)
	e.UserAgent = cleanText(e.UserAgent, 512)
	e.RequestID = cleanText(e.RequestID, 64)
	return nil
}

func validOutcome(s string) bool {
	return s == OutcomeOK || s == OutcomeDenied || s == OutcomeError
}

// cleanText makes s valid UTF-8 without NUL and at most maxRunes long
// (0 means no limit).
func cleanText(s string, maxRunes int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if maxRunes > 0 && utf8.RuneCountInString(s) > maxRunes {
		s = string([]rune(s)[:maxRunes])
	}
	return s
}

// netstring appends s to b as "<len>:<bytes>,".
func netstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// auditHashV1 is the hex SHA-256 of a row written before the chain was
// keyed; it only verifies such rows.
func auditHashV1(e *AuditEvent) string {
	sum := sha256.Sum256(auditEncode(auditHashVersion, e))
	return hex.EncodeToString(sum[:])
}

// auditEncode writes the version and every field of e but Hash, each as a
// netstring so no two events encode alike. The keyed version also covers
// AttemptID, which v1 rows did not have.
func auditEncode(version string, e *AuditEvent) []byte {
	b := make([]byte, 0, 512+len(e.Before)+len(e.After)+len(e.Message))
	field := func(s string) { b = netstring(b, s) }
	field(version)
	field(strconv.FormatUint(e.ID, 10))
	field(e.At.UTC().Format(time.RFC3339Nano))
	// optUint gives "" for nil and a decimal otherwise, so nil and 0 differ.
	field(optUint(e.ActorID))
	field(e.ActorEmail)
	field(e.ActorRole)
	field(e.Action)
	field(e.Target)
	field(optUint(e.AccountID))
	field(e.Before)
	field(e.After)
	field(e.Outcome)
	field(e.Message)
	field(e.VendorRequestID)
	field(e.IP)
	field(e.UserAgent)
	field(e.RequestID)
	if version != auditHashVersion {
		attempt := ""
		if e.AttemptID != nil {
			attempt = strconv.FormatUint(*e.AttemptID, 10)
		}
		field(attempt)
	}
	field(e.PrevHash)
	return b
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	From, To  time.Time // At in [From, To); zero = open
	Actor     string    // exact actor email
	Action    string    // exact action, or a prefix ending in "." (e.g. "note.")
	Outcome   string
	AccountID *uint
	Target    string // exact target
	Offset    int
	Limit     int // 0 = 50, at most 500
}

// scope validates f and returns a gorm scope applying its conditions.
func (f AuditFilter) scope() (func(*gorm.DB) *gorm.DB, error) {
	if f.Offset < 0 || f.Limit < 0 {
		return nil, fmt.Errorf("negative offset or limit: %w", ErrInvalid)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return nil, fmt.Errorf("from is after to: %w", ErrInvalid)
	}
	if f.Outcome != "" && !validOutcome(f.Outcome) && f.Outcome != OutcomeAttempt {
		return nil, fmt.Errorf("outcome %q: %w", f.Outcome, ErrInvalid)
	}
	return func(tx *gorm.DB) *gorm.DB {
		tx = tx.Model(&AuditEvent{})
		// Times go in as UTC because SQLite compares them as text.
		if !f.From.IsZero() {
			tx = tx.Where(clause.Gte{Column: clause.Column{Name: "at"}, Value: f.From.UTC()})
		}
		if !f.To.IsZero() {
			tx = tx.Where(clause.Lt{Column: clause.Column{Name: "at"}, Value: f.To.UTC()})
		}
		if f.Actor != "" {
			tx = tx.Where("actor_email = ?", f.Actor)
		}
		if strings.HasSuffix(f.Action, ".") {
			// substr rather than LIKE: exact and case-sensitive on both
			// databases, and no wildcard escaping.
			tx = tx.Where("substr(action, 1, ?) = ?", utf8.RuneCountInString(f.Action), f.Action)
		} else if f.Action != "" {
			tx = tx.Where("action = ?", f.Action)
		}
		if f.Outcome != "" {
			tx = tx.Where("outcome = ?", f.Outcome)
		}
		if f.AccountID != nil {
			tx = tx.Where("account_id = ?", *f.AccountID)
		}
		if f.Target != "" {
			tx = tx.Where("target = ?", f.Target)
		}
		return tx
	}, nil
}

// ListAudit returns one page of the events matching f, newest first, and the
// number of all matching events. It returns an error wrapping ErrInvalid for
// a malformed filter and the database error when the query fails.
func (db *DB) ListAudit(ctx context.Context, f AuditFilter) (events []AuditEvent, total int64, err error) {
	scope, err := f.scope()
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	limit := f.Limit
	if limit == 0 {
		limit = auditDefaultLimit
	}
	limit = min(limit, auditMaxLimit)
	// Separate chains: a gorm statement reused after Count keeps its SELECT.
	if err := db.g.WithContext(ctx).Scopes(scope).Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count audit: %w", err)
	}
	err = db.g.WithContext(ctx).Scopes(scope).
		Order("id DESC").Offset(f.Offset).Limit(limit).Find(&events).Error
	if err != nil {
		return nil, 0, fmt.Errorf("list audit: %w", err)
	}
	for i := range events {
		events[i].At = events[i].At.UTC()
	}
	return events, total, nil
}

// Actor is who made an audited change: the user's name (their email when
// they have no name) and when.
type Actor struct {
	Name string
	At   time.Time
}

// ActorsOf returns, for each of targets, who last made action on it
// successfully, keyed by target; targets with no such row are absent. It
// returns the database error when a query fails.
func (db *DB) ActorsOf(ctx context.Context, action string, targets []string) (map[string]Actor, error) {
	out := map[string]Actor{}
	for chunk := range slices.Chunk(targets, 500) {
		var rows []struct {
			Target, ActorEmail, Name string
			At                       time.Time
		}
		err := db.g.WithContext(ctx).Table("audit_events").
			Select("audit_events.target, audit_events.actor_email, audit_events.at, users.name").
			Joins("LEFT JOIN users ON users.id = audit_events.actor_id").
			Where("audit_events.action = ? AND audit_events.outcome = ? AND audit_events.target IN ?", action, OutcomeOK, chunk).
			Order("audit_events.id").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("audit actors of %s: %w", action, err)
		}
		for _, r := range rows {
			name := r.Name
			if name == "" {
				name = r.ActorEmail
			}
			out[r.Target] = Actor{Name: name, At: r.At.UTC()}
		}
	}
	return out, nil
}

// EachAudit calls fn for every event matching f, oldest first, ignoring
// Offset and Limit; it reads in batches so exports need little memory and
// hold no database cursor while fn runs. It returns an error wrapping
// ErrInvalid for a malformed filter, the database error when a query fails,
// and the first error from fn unchanged.
func (db *DB) EachAudit(ctx context.Context, f AuditFilter, fn func(*AuditEvent) error) error {
	f.Offset, f.Limit = 0, 0
	scope, err := f.scope()
	if err != nil {
		return fmt.Errorf("each audit: %w", err)
	}
	var last uint64
	for {
		var batch []AuditEvent
		err := db.g.WithContext(ctx).Scopes(scope).
			Where("id > ?", last).Order("id").Limit(auditBatch).Find(&batch).Error
		if err != nil {
			return fmt.Errorf("each audit: %w", err)
		}
		for i := range batch {
			batch[i].At = batch[i].At.UTC()
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		if len(batch) < auditBatch {
			return nil
		}
		last = batch[len(batch)-1].ID
	}
}

// AuditActions returns the distinct actions in the log, sorted, for a filter
// list. It returns the database error when the query fails.
func (db *DB) AuditActions(ctx context.Context) ([]string, error) {
	var actions []string
	err := db.g.WithContext(ctx).Model(&AuditEvent{}).Distinct().Pluck("action", &actions).Error
	if err != nil {
		return nil, fmt.Errorf("audit actions: %w", err)
	}
	// Sorted here, byte by byte, whatever the database's collation.
	slices.Sort(actions)
	return actions, nil
}

// VerifyResult is the outcome of VerifyAudit.
type VerifyResult struct {
	// Rows is the number of rows checked.
	Rows int64
	// OK is true when every row and the head record are intact. Attempts
	// with no outcome do not make it false: they are not tampering.
	OK bool
	// BadID is the first row found bad: the altered row, the row after a
	// removed one, or the head's id when the last rows were removed.
	BadID uint64
	// Reason says what is wrong, in English, for logs and the CLI.
	Reason string
	// WrongKey is true when the log is keyed under another key than the
	// one set: nothing can be checked, and Reason says so.
	WrongKey bool
	// Unkeyed is the number of rows written before the chain was keyed.
	Unkeyed int64
	// Unknown lists, in order, the attempt rows with no outcome row: the
	// change may or may not have happened at the vendor (the process ended
	// during the call, or the call is still running).
	Unknown []uint64
}

// VerifyAudit walks the whole log in ID order, recomputes every hash (keyed
// rows under the audit key; rows from before the key with plain SHA-256,
// accepted only before the first keyed row), checks every PrevHash link,
// pairs every attempt with its outcome and compares the end of the chain
// with the head record, whose MAC must match, stopping at the first
// problem. It may run while others append. Tampering and a key that does
// not match are reported in the result; it returns an error wrapping
// ErrInvalid when no key is set, and the database error when it fails.
func (db *DB) VerifyAudit(ctx context.Context) (VerifyResult, error) {
	g := db.g.WithContext(ctx)
	v := auditVerifier{prevHash: auditGenesisHash, key: db.auditKey, open: map[uint64]bool{}}
	if v.key == nil {
		return v.res, fmt.Errorf("verify audit: no audit key set: %w", ErrInvalid)
	}

	head, hasHead, err := readAuditHead(g)
	if errors.Is(err, errAuditHeadCorrupt) {
		return v.fail(0, "the audit head record is corrupt")
	}
	if err != nil {
		return v.res, fmt.Errorf("verify audit: %w", err)
	}
	if hasHead && head.KeyID != "" && head.KeyID != v.key.id {
		v.res.WrongKey = true
		return v.fail(0, "%s", ErrAuditKey.Error())
	}

	for {
		// Stop at the head's id: later rows were appended after the head
		// was read and are checked once the head is read again below.
		upTo := uint64(math.MaxInt64)
		if hasHead {
			upTo = head.ID
		}
		batch, unreadable, err := db.auditRows(ctx, v.lastID, upTo)
		if err != nil {
			return v.res, fmt.Errorf("verify audit: %w", err)
		}
		for i := range batch {
			if !v.check(&batch[i]) {
				return v.res, nil
			}
		}
		if unreadable != 0 {
			v.res.Rows++
			return v.fail(unreadable, "row %d: cannot be read (row altered)", unreadable)
		}
		if len(batch) == auditBatch {
			continue
		}

		// Look for rows past the walked range before re-reading the head:
		// a row and its head are committed together, so a row seen here
		// that the newer head does not cover was not added by AppendAudit.
		bound := v.lastID
		if hasHead {
			bound = max(bound, head.ID)
		}
		var extra uint64
		if err := g.Model(&AuditEvent{}).Select("COALESCE(MIN(id), 0)").
			Where("id > ?", bound).Row().Scan(&extra); err != nil {
			return v.res, fmt.Errorf("verify audit: %w", err)
		}
		next, nextFound, err := readAuditHead(g)
		if err != nil && !errors.Is(err, errAuditHeadCorrupt) {
			return v.res, fmt.Errorf("verify audit: %w", err)
		}
		if err == nil && nextFound && (!hasHead || next.ID > head.ID) {
			head, hasHead = next, true
			continue
		}
		if hasHead && extra != 0 {
			return v.fail(extra, "row %d: not covered by the audit head (added outside the audit log)", extra)
		}
		break
	}

	last, rows := v.lastID, v.res.Rows
	switch {
	case !hasHead && rows > 0:
		return v.fail(last, "the audit head record is missing (it was deleted)")
	case !hasHead:
		// An empty log that has never been written to.
	case head.KeyID != "" && head.KeyID != v.key.id:
		// The head was re-read after appends; it must still be ours.
		v.res.WrongKey = true
		return v.fail(0, "%s", ErrAuditKey.Error())
	case !head.keyed():
		return v.fail(head.ID, "the audit head is not keyed (the chain was downgraded, or no server with the audit key has opened this database since the upgrade)")
	case !equalHex(v.key.headMAC(head), head.MAC):
		return v.fail(head.ID, "the audit head record was altered (its MAC does not match)")
	case last < head.ID && rows == 0:
		return v.fail(head.ID, "the log is empty but the head says %d (rows removed)", head.ID)
	case last < head.ID:
		return v.fail(head.ID, "chain ends at row %d but the head says %d (last rows removed)", last, head.ID)
	case v.prevHash != head.Hash:
		return v.fail(last, "row %d: hash differs from the audit head (last row replaced)", last)
	case rows != head.Rows:
		return v.fail(head.ID, "chain has %d rows but the head says %d (rows removed or added)", rows, head.Rows)
	}
	for id := range v.open {
		v.res.Unknown = append(v.res.Unknown, id)
	}
	slices.Sort(v.res.Unknown)
	v.res.OK = true
	return v.res, nil
}

// auditVerifier follows the chain row by row.
type auditVerifier struct {
	res      VerifyResult
	key      *auditKey
	lastID   uint64
	prevHash string
	// keyedFrom is the first keyed row, 0 before it.
	keyedFrom uint64
	// open holds the attempts seen without an outcome yet.
	open map[uint64]bool
}

// fail records the first problem and returns the result.
func (v *auditVerifier) fail(id uint64, format string, args ...any) (VerifyResult, error) {
	v.res.BadID, v.res.Reason = id, fmt.Sprintf(format, args...)
	return v.res, nil
}

// check checks e, the next row in ID order, against the chain so far. It
// returns false after recording the problem when e is bad.
func (v *auditVerifier) check(e *AuditEvent) bool {
	v.res.Rows++
	switch {
	case equalHex(v.key.rowHash(e), e.Hash):
		if v.keyedFrom == 0 {
			v.keyedFrom = e.ID
		}
	case e.AttemptID == nil && e.Outcome != OutcomeAttempt && auditHashV1(e) == e.Hash:
		// Anyone can compute a plain hash: it is only trusted before the
		// first keyed row, whose MAC covers the link to it.
		if v.keyedFrom != 0 {
			v.fail(e.ID, "row %d: hashed without the audit key after the chain was keyed at row %d (forged or downgraded)", e.ID, v.keyedFrom)
			return false
		}
		v.res.Unkeyed++
	default:
		v.fail(e.ID, "row %d: hash mismatch (row altered)", e.ID)
		return false
	}
	if e.PrevHash != v.prevHash {
		switch {
		case e.PrevHash == auditGenesisHash:
			v.fail(e.ID, "row %d: starts a new chain after row %d (the audit head was removed or reset)", e.ID, v.lastID)
		case v.lastID == 0:
			v.fail(e.ID, "row %d: previous hash does not match the start of the chain (a row before it was removed)", e.ID)
		case e.ID != v.lastID+1:
			v.fail(e.ID, "row %d: previous hash does not match row %d (a row before it was removed)", e.ID, v.lastID)
		default:
			v.fail(e.ID, "row %d: previous hash does not match row %d (the chain was broken here)", e.ID, v.lastID)
		}
		return false
	}
	switch {
	case e.Outcome == OutcomeAttempt:
		v.open[e.ID] = true
	case e.AttemptID != nil && !v.open[*e.AttemptID]:
		v.fail(e.ID, "row %d: outcome of row %d, which is not an attempt awaiting its outcome", e.ID, *e.AttemptID)
		return false
	case e.AttemptID != nil:
		delete(v.open, *e.AttemptID)
	}
	v.lastID, v.prevHash = e.ID, e.Hash
	return true
}

// auditRows returns up to auditBatch rows with after < id <= upTo in ID
// order. When a row cannot be loaded it returns the rows before it and that
// row's id as unreadable: SQLite keeps any type in any column, so a
// hand-edited value may fail to scan, and Verify should name the row rather
// than fail.
func (db *DB) auditRows(ctx context.Context, after, upTo uint64) (rows []AuditEvent, unreadable uint64, err error) {
	g := db.g.WithContext(ctx)
	err = g.Where("id > ? AND id <= ?", after, upTo).Order("id").Limit(auditBatch).Find(&rows).Error
	if err == nil {
		return rows, 0, nil
	}
	// Find the culprit one row at a time; the ids alone always scan.
	var ids []uint64
	if err := g.Model(&AuditEvent{}).Where("id > ? AND id <= ?", after, upTo).
		Order("id").Limit(auditBatch).Pluck("id", &ids).Error; err != nil {
		return nil, 0, err
	}
	rows = rows[:0]
	for _, id := range ids {
		var e AuditEvent
		if err := g.Where("id = ?", id).Take(&e).Error; err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			return rows, id, nil
		}
		rows = append(rows, e)
	}
	// Every row loaded on its own, so the first failure was not the data's.
	return nil, 0, err
}

// AttemptOutcomes returns the outcome rows of the attempts ids, keyed by
// attempt id; attempts with no outcome (unknown: the process ended during
// the vendor call, or it is still running) are absent. It returns the
// database error when a query fails.
func (db *DB) AttemptOutcomes(ctx context.Context, ids []uint64) (map[uint64]AuditEvent, error) {
	out := map[uint64]AuditEvent{}
	for chunk := range slices.Chunk(ids, 500) {
		var rows []AuditEvent
		if err := db.g.WithContext(ctx).Where("attempt_id IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("attempt outcomes: %w", err)
		}
		for _, r := range rows {
			r.At = r.At.UTC()
			out[*r.AttemptID] = r
		}
	}
	return out, nil
}
