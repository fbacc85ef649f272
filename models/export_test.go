package models_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
)

var exportColumns = []string{
	"id", "at", "actor_id", "actor_email", "actor_role", "action", "target",
	"account_id", "outcome", "message", "before", "after", "vendor_request_id",
	"ip", "user_agent", "request_id", "prev_hash", "hash",
}

// export appends one event per message, then streams the whole log through
// the writer made by newWriter and returns the output.
func export(t *testing.T, newWriter func(*bytes.Buffer) models.AuditWriter, messages []string) string {
	t.Helper()
	db, _ := openDB(t)
	ctx := context.Background()
	for i, msg := range messages {
		e := sampleEvent(i + 1)
		e.Message = msg
		if i == 0 {
			e.ActorID, e.AccountID, e.Before = nil, nil, ""
		}
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	var buf bytes.Buffer
	aw := newWriter(&buf)
	if err := db.EachAudit(ctx, models.AuditFilter{}, aw.Write); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := aw.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return buf.String()
}

func newCSV(b *bytes.Buffer) models.AuditWriter   { return models.NewAuditCSVWriter(b) }
func newJSONL(b *bytes.Buffer) models.AuditWriter { return models.NewAuditJSONLWriter(b) }

func TestAuditCSVWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		message string
		want    string
	}{
		{"plain", "plain"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+1+2", "'+1+2"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		// encoding/csv drops a lone CR when writing CRLF line ends; the
		// quote still leads the cell.
		{"\rx", "'x"},
		{"a=b, \"quoted\"\nsecond line", "a=b, \"quoted\"\nsecond line"},
		{"工单备注：已处理", "工单备注：已处理"},
	}
	var messages []string
	for _, tt := range tests {
		messages = append(messages, tt.message)
	}
	out := export(t, newCSV, messages)

	body, ok := strings.CutPrefix(out, "\uFEFF")
	if !ok {
		t.Fatalf("output does not start with a UTF-8 BOM: %q", out[:min(len(out), 10)])
	}
	if !strings.Contains(body, "\r\n") {
		t.Errorf("rows do not end in CRLF")
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got := records[0]; !slices.Equal(got, exportColumns) {
		t.Errorf("header = %v, want %v", got, exportColumns)
	}
	if got, want := len(records), len(tests)+1; got != want {
		t.Fatalf("got %d records, want %d", got, want)
	}
	col := func(name string) int { return slices.Index(exportColumns, name) }
	for i, tt := range tests {
		if got := records[i+1][col("message")]; got != tt.want {
			t.Errorf("message %q exported as %q, want %q", tt.message, got, tt.want)
		}
	}

	first := records[1]
	if got := first[col("actor_id")] + first[col("account_id")] + first[col("before")]; got != "" {
		t.Errorf("empty fields exported as %q, want empty cells", got)
	}
	if _, err := time.Parse(time.RFC3339Nano, first[col("at")]); err != nil || !strings.HasSuffix(first[col("at")], "Z") {
		t.Errorf("at = %q, want RFC 3339 UTC: %v", first[col("at")], err)
	}
	second := records[2]
	if got, want := second[col("before")], `{"text":"旧的备注 2"}`; got != want {
		t.Errorf("before = %q, want %q", got, want)
	}
	if got := second[col("actor_id")]; got != "8" {
		t.Errorf("actor_id = %q, want 8", got)
	}
}

func TestAuditCSVWriterEmpty(t *testing.T) {
	t.Parallel()
	out := export(t, newCSV, nil)
	if want := "\uFEFF" + strings.Join(exportColumns, ",") + "\r\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestAuditJSONLWriter(t *testing.T) {
	t.Parallel()
	messages := []string{"first", "<b>second</b>", "第三条\n多行"}
	out := export(t, newJSONL, messages)

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(messages) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(messages), out)
	}
	for i, line := range lines {
		if got := jsonKeys(t, line); !slices.Equal(got, exportColumns) {
			t.Errorf("line %d keys = %v, want %v", i+1, got, exportColumns)
		}
		var row struct {
			ID        uint64          `json:"id"`
			At        time.Time       `json:"at"`
			ActorID   *uint           `json:"actor_id"`
			AccountID *uint           `json:"account_id"`
			Message   string          `json:"message"`
			Before    json.RawMessage `json:"before"`
			After     map[string]any  `json:"after"`
			Hash      string          `json:"hash"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if row.ID != uint64(i+1) || row.Message != messages[i] || len(row.Hash) != 64 || row.At.IsZero() {
			t.Errorf("line %d: got %+v", i+1, row)
		}
		if i == 0 && (row.ActorID != nil || row.AccountID != nil || string(row.Before) != "null") {
			t.Errorf("line 1: empty fields = %v %v %s, want null", row.ActorID, row.AccountID, row.Before)
		}
		if i > 0 && row.After["text"] == nil {
			t.Errorf("line %d: after = %v, want an embedded object", i+1, row.After)
		}
	}
	if !strings.Contains(lines[1], "<b>second</b>") {
		t.Errorf("HTML escaped in %s", lines[1])
	}
}

func TestAuditJSONLWriterKeepsBadJSONAsText(t *testing.T) {
	t.Parallel()
	// A row edited behind the application's back may hold anything; the
	// export must still be valid JSON Lines.
	var buf bytes.Buffer
	aw := models.NewAuditJSONLWriter(&buf)
	if err := aw.Write(&models.AuditEvent{ID: 1, Before: "{broken", After: `{"ok":true}`}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := aw.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var row struct {
		Before any `json:"before"`
		After  any `json:"after"`
	}
	if err := json.Unmarshal(buf.Bytes(), &row); err != nil {
		t.Fatalf("parse %q: %v", buf.String(), err)
	}
	if row.Before != "{broken" {
		t.Errorf("before = %#v, want the text as a string", row.Before)
	}
	if _, ok := row.After.(map[string]any); !ok {
		t.Errorf("after = %#v, want an object", row.After)
	}
}

// jsonKeys returns the top-level keys of the object in line, in order.
func jsonKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("parse %q: %v", line, err)
		}
	}
	return keys
}

// TestDefuseCellLooksPastInvisibleCharacters: spreadsheets skip leading
// NUL, zero-width characters, the byte-order mark and spaces, so a formula
// behind them is defused as one at the start of the cell.
func TestDefuseCellLooksPastInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"\x00=1+1", "'\x00=1+1"},
		{"\x00\x00@SUM(A1)", "'\x00\x00@SUM(A1)"},
		{"\u200b=HYPERLINK(\"http://x\")", "'\u200b=HYPERLINK(\"http://x\")"},
		{"\u200d\u2060+1", "'\u200d\u2060+1"},
		{"\ufeff-2", "'\ufeff-2"},
		{"\u00ad=x", "'\u00ad=x"},
		{" =x", "' =x"},
		{"\u3000\u200e=x", "'\u3000\u200e=x"},
		{"\xff=x", "'\xff=x"},
		{"\x00\t", "'\x00\t"},
		{"\u200b\r=x", "'\u200b\r=x"},
		{"＝1+1", "'＝1+1"},
		{"\u034f\ufe0f=x", "'\u034f\ufe0f=x"},
		{"plain = text", "plain = text"},
		{"\u200bplain", "\u200bplain"},
		{"a-b", "a-b"},
		{"", ""},
		{"\x00", "\x00"},
	} {
		if got := models.DefuseCell(tt.in); got != tt.want {
			t.Errorf("DefuseCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The audit export uses it on every cell.
	out := export(t, newCSV, []string{"\u200b=cmd|' /C calc'!A0"})
	if !strings.Contains(out, "'\u200b=cmd") {
		t.Errorf("audit CSV does not defuse a formula behind a zero-width space:\n%q", out)
	}
}
