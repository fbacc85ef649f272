package models

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// AuditWriter streams audit events into an export format. Its Write method
// has the shape EachAudit expects:
//
//	aw := models.NewAuditCSVWriter(w)
//	err := db.EachAudit(ctx, filter, aw.Write)
//	if cerr := aw.Close(); err == nil {
//		err = cerr
//	}
type AuditWriter interface {
	// Write adds one event. It returns the underlying writer's error.
	Write(e *AuditEvent) error
	// Close writes anything still buffered (and, for CSV, the header when
	// no event was written) without closing the underlying writer. It
	// returns the underlying writer's error.
	Close() error
}

// auditColumns are the export field names, in order, shared by CSV and JSONL.
var auditColumns = []string{
	"id", "at", "actor_id", "actor_email", "actor_role", "action", "target",
	"account_id", "outcome", "message", "before", "after", "vendor_request_id",
	"ip", "user_agent", "request_id", "prev_hash", "hash",
}

// utf8BOM lets spreadsheet programs recognise the CSV as UTF-8, so Chinese
// text is not shown as mojibake.
const utf8BOM = "\uFEFF"

// NewAuditCSVWriter returns an AuditWriter producing RFC 4180 CSV: a UTF-8
// byte order mark, a header row, then one row per event with times in
// RFC 3339 UTC. Cells that a spreadsheet would run as a formula are
// prefixed with a single quote (see DefuseCell).
// Line breaks inside cells are written as CRLF, so a lone carriage return
// inside a cell is dropped; the JSONL export keeps every byte.
func NewAuditCSVWriter(w io.Writer) AuditWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &auditCSVWriter{w: w, cw: cw}
}

type auditCSVWriter struct {
	w       io.Writer
	cw      *csv.Writer
	started bool
	row     []string
}

// start writes the BOM and the header once.
func (a *auditCSVWriter) start() error {
	if a.started {
		return nil
	}
	a.started = true
	if _, err := io.WriteString(a.w, utf8BOM); err != nil {
		return fmt.Errorf("audit csv: %w", err)
	}
	if err := a.cw.Write(auditColumns); err != nil {
		return fmt.Errorf("audit csv: %w", err)
	}
	return nil
}

func (a *auditCSVWriter) Write(e *AuditEvent) error {
	if err := a.start(); err != nil {
		return err
	}
	a.row = append(a.row[:0],
		strconv.FormatUint(e.ID, 10),
		formatAuditTime(e.At),
		optUint(e.ActorID),
		e.ActorEmail,
		e.ActorRole,
		e.Action,
		e.Target,
		optUint(e.AccountID),
		e.Outcome,
		e.Message,
		e.Before,
		e.After,
		e.VendorRequestID,
		e.IP,
		e.UserAgent,
		e.RequestID,
		e.PrevHash,
		e.Hash,
	)
	for i, c := range a.row {
		a.row[i] = DefuseCell(c)
	}
	if err := a.cw.Write(a.row); err != nil {
		return fmt.Errorf("audit csv: %w", err)
	}
	return nil
}

func (a *auditCSVWriter) Close() error {
	if err := a.start(); err != nil {
		return err
	}
	a.cw.Flush()
	if err := a.cw.Error(); err != nil {
		return fmt.Errorf("audit csv: %w", err)
	}
	return nil
}

// DefuseCell keeps a spreadsheet from running the CSV cell c as a formula:
// when the first character a spreadsheet does not skip is = + - @ (or its
// full-width form), a tab or a carriage return, c gets a leading single
// quote. Spreadsheets drop leading NUL and other control characters,
// zero-width and other invisible format characters (the byte-order mark
// among them) and spaces before they parse a cell, so those are passed
// over when looking; so are bytes that are not UTF-8. Other cells are
// returned unchanged.
func DefuseCell(c string) string {
	for _, r := range c {
		switch r {
		case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
			return "'" + c
		}
		if !skippedBySpreadsheets(r) {
			return c
		}
	}
	return c
}

// skippedBySpreadsheets reports whether r may stand before a formula's
// first character without stopping a spreadsheet from running it.
func skippedBySpreadsheets(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) ||
		unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// NewAuditJSONLWriter returns an AuditWriter producing JSON Lines: one object
// per event with stable snake_case keys in a fixed order, times in RFC 3339
// UTC, missing ids as null, and before / after embedded as JSON (null when
// empty, a string if the stored text is not valid JSON).
func NewAuditJSONLWriter(w io.Writer) AuditWriter {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	// Notes and messages are read by people; "<" need not become \u003c.
	enc.SetEscapeHTML(false)
	return &auditJSONLWriter{bw: bw, enc: enc}
}

type auditJSONLWriter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

// auditJSON is the JSONL form of an event; field order is the key order.
type auditJSON struct {
	ID              uint64 `json:"id"`
	At              string `json:"at"`
	ActorID         *uint  `json:"actor_id"`
	ActorEmail      string `json:"actor_email"`
	ActorRole       string `json:"actor_role"`
	Action          string `json:"action"`
	Target          string `json:"target"`
	AccountID       *uint  `json:"account_id"`
	Outcome         string `json:"outcome"`
	Message         string `json:"message"`
	Before          any    `json:"before"`
	After           any    `json:"after"`
	VendorRequestID string `json:"vendor_request_id"`
	IP              string `json:"ip"`
	UserAgent       string `json:"user_agent"`
	RequestID       string `json:"request_id"`
	PrevHash        string `json:"prev_hash"`
	Hash            string `json:"hash"`
}

func (a *auditJSONLWriter) Write(e *AuditEvent) error {
	err := a.enc.Encode(auditJSON{
		ID:              e.ID,
		At:              formatAuditTime(e.At),
		ActorID:         e.ActorID,
		ActorEmail:      e.ActorEmail,
		ActorRole:       e.ActorRole,
		Action:          e.Action,
		Target:          e.Target,
		AccountID:       e.AccountID,
		Outcome:         e.Outcome,
		Message:         e.Message,
		Before:          embedJSON(e.Before),
		After:           embedJSON(e.After),
		VendorRequestID: e.VendorRequestID,
		IP:              e.IP,
		UserAgent:       e.UserAgent,
		RequestID:       e.RequestID,
		PrevHash:        e.PrevHash,
		Hash:            e.Hash,
	})
	if err != nil {
		return fmt.Errorf("audit jsonl: %w", err)
	}
	return nil
}

func (a *auditJSONLWriter) Close() error {
	if err := a.bw.Flush(); err != nil {
		return fmt.Errorf("audit jsonl: %w", err)
	}
	return nil
}

// embedJSON returns s as raw JSON, nil when empty, or s itself when it is
// not valid JSON (a row edited outside the application), so one bad row
// cannot break the whole export.
func embedJSON(s string) any {
	switch {
	case s == "":
		return nil
	case json.Valid([]byte(s)):
		return json.RawMessage(s)
	default:
		return s
	}
}

func formatAuditTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func optUint(p *uint) string {
	if p == nil {
		return ""
	}
	return strconv.FormatUint(uint64(*p), 10)
}
