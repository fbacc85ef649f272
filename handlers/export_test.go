package handlers

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views"
)

func TestMarkdownExportLinksOnlyHTTPAttachments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		link      bool
	}{
		{"javascript", "javascript:alert(1)", false},
		{"javascript mixed case", "JavaScript:alert(1)", false},
		{"data", "data:text/html,<script>alert(1)</script>", false},
		{"relative", "/files/invoice.pdf", false},
		{"scheme-relative", "//evil.example/x", false},
		{"ftp", "ftp://files.example.com/invoice.pdf", false},
		{"opaque https", "https:invoice.pdf", false},
		{"no host", "https:///invoice.pdf", false},
		{"https", "https://files.example.com/invoice.pdf?sig=a&b=c", true},
		{"http", "http://files.example.com/invoice.pdf", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items := []views.NoteItem{{AccountName: "acct", Note: providers.Note{
				ID: "1", TicketID: "T1", AuthorName: "Ann", AuthorRole: providers.RoleAgent, Body: "see attached",
				CreatedAt:   time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
				Attachments: []providers.Attachment{{Name: "invoice.pdf", URL: tt.url}},
			}}}
			var buf bytes.Buffer
			if err := writeNotesMarkdown(&buf, "title", items, time.UTC); err != nil {
				t.Fatal(err)
			}
			md := buf.String()
			hasLink := strings.Contains(md, "](")
			if hasLink != tt.link {
				t.Fatalf("url %q: link written = %v, want %v:\n%s", tt.url, hasLink, tt.link, md)
			}
			if !strings.Contains(md, "invoice.pdf") {
				t.Errorf("attachment name missing:\n%s", md)
			}
			if tt.link && !strings.Contains(md, "[invoice.pdf](<"+tt.url+">)") {
				t.Errorf("http(s) attachment not linked as is:\n%s", md)
			}
			if !tt.link && strings.Contains(md, "<"+tt.url+">") {
				t.Errorf("unsafe URL written as an autolink:\n%s", md)
			}
		})
	}
}

func TestJSONExportLeavesOutMissingUpdateTime(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	items := []views.NoteItem{
		{AccountName: "a", Note: providers.Note{ID: "never", CreatedAt: created}},
		{AccountName: "a", Note: providers.Note{ID: "edited", CreatedAt: created, UpdatedAt: created.Add(time.Hour)}},
	}
	var buf bytes.Buffer
	if err := writeNotesJSON(&buf, items); err != nil {
		t.Fatal(err)
	}
	js := buf.String()
	if strings.Contains(js, "0001-01-01") {
		t.Errorf("zero update time exported:\n%s", js)
	}
	if !strings.Contains(js, `"updated_at": null`) {
		t.Errorf("never-updated note has no null updated_at:\n%s", js)
	}
	if !strings.Contains(js, `"updated_at": "2026-05-01T11:00:00Z"`) {
		t.Errorf("edited note lost its update time:\n%s", js)
	}
	if strings.Count(js, `"updated_at"`) != 2 {
		t.Errorf("updated_at not exactly once per note:\n%s", js)
	}
}

// TestNotesCSVDefusesFormulasBehindInvisibleCharacters: vendor text
// starting with NUL or a zero-width character before "=" is still a
// formula to a spreadsheet, so the notes CSV quotes it.
func TestNotesCSVDefusesFormulasBehindInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"\x00=HYPERLINK(\"http://x\")", "\u200b=1+1", "\ufeff@SUM(A1)", "\u2060\u200c+1"} {
		items := []views.NoteItem{{AccountName: "acct", Note: providers.Note{ID: "1", TicketID: "T1", Body: body,
			CreatedAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}}}
		var buf bytes.Buffer
		if err := writeNotesCSV(&buf, items, time.UTC); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := recs[1][10]; got != "'"+body {
			t.Errorf("body %q exported as %q, want it defused", body, got)
		}
	}
}
