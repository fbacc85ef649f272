package handlers

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views"
)

// ExportNotes streams the filtered notes (every page) as CSV, JSON or
// Markdown.
func (h *Notes) ExportNotes(c *fiber.Ctx) error {
	d, status, err := h.load(c, false)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fiber.NewError(status)
	}
	// An export names who added each note, not the tickets' titles.
	if err := h.decorate(c, d.Notes, false); err != nil {
		return err
	}
	return h.export(c, "ticketnotes-notes", h.T(c).T("notes.title"), d.Notes)
}

// ExportConversation streams one ticket's conversation from the archive,
// which answers whatever the vendor does; a ticket the archive has never
// seen is 404 with the conversation page's explanation.
func (h *Notes) ExportConversation(c *fiber.Ctx) error {
	d, status, err := h.conversation(c)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return Render(c, status, views.ExportFailed(h.Page(c, "export.failed"), d))
	}
	title := d.AccountName + " · " + h.T(c).T("conversation.ticket") + " " + d.Ticket
	return h.export(c, "ticketnotes-ticket-"+fileSafe(d.Ticket), title, d.Notes)
}

func (h *Notes) export(c *fiber.Ctx, name, title string, items []views.NoteItem) error {
	format := c.Params("format")
	loc := Zone(c)
	var write func(w io.Writer) error
	switch format {
	case "csv":
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		write = func(w io.Writer) error { return writeNotesCSV(w, items, loc) }
	case "json":
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		write = func(w io.Writer) error { return writeNotesJSON(w, items) }
	case "md":
		c.Set(fiber.HeaderContentType, "text/markdown; charset=utf-8")
		write = func(w io.Writer) error { return writeNotesMarkdown(w, title, items, loc) }
	default:
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+"."+format+`"`)
	w := bufio.NewWriter(c.Response().BodyWriter())
	if err := write(w); err != nil {
		return err
	}
	return w.Flush()
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// writeNotesCSV writes UTF-8 with a byte-order mark, so spreadsheets show
// Chinese text correctly.
func writeNotesCSV(w io.Writer, items []views.NoteItem, loc *time.Location) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"account", "provider", "ticket_id", "note_id", "created_at", "created_local", "author", "author_role",
		"content_type", "read", "text", "attachments"})
	for _, it := range items {
		n := it.Note
		read := ""
		if n.Read != nil {
			read = fmt.Sprint(*n.Read)
		}
		var att []string
		for _, a := range n.Attachments {
			att = append(att, a.Name+" <"+a.URL+">")
		}
		rec := []string{it.AccountName, string(n.Provider), n.TicketID, n.ID, n.CreatedAt.UTC().Format(time.RFC3339),
			n.CreatedAt.In(loc).Format("2006-01-02 15:04:05"), n.AuthorName, string(n.AuthorRole), n.ContentType, read, n.Body,
			strings.Join(att, "; ")}
		for i := range rec {
			rec[i] = models.DefuseCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// exportNote is a note as exported to JSON.
type exportNote struct {
	Account string `json:"account"`
	providers.Note
	// UpdatedAt shadows the note's own field: null when the vendor has no
	// update time, instead of Go's zero time (0001-01-01).
	UpdatedAt *time.Time `json:"updated_at"`
}

func writeNotesJSON(w io.Writer, items []views.NoteItem) error {
	out := make([]exportNote, 0, len(items))
	for _, it := range items {
		e := exportNote{Account: it.AccountName, Note: it.Note}
		if !it.Note.UpdatedAt.IsZero() {
			e.UpdatedAt = &it.Note.UpdatedAt
		}
		out = append(out, e)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeNotesMarkdown writes a readable transcript. Vendor text is quoted
// and HTML-escaped so a Markdown viewer renders it as text.
func writeNotesMarkdown(w io.Writer, title string, items []views.NoteItem, loc *time.Location) error {
	bw := &errWriter{w: w}
	bw.printf("# %s\n\n", mdEscape(title))
	for _, it := range items {
		n := it.Note
		bw.printf("### %s (%s) — %s\n\n", mdEscape(n.AuthorName), n.AuthorRole, n.CreatedAt.In(loc).Format("2006-01-02 15:04:05 MST"))
		bw.printf("*%s · ticket %s · note %s*\n\n", mdEscape(it.AccountName), mdEscape(n.TicketID), mdEscape(n.ID))
		for _, line := range strings.Split(n.Body, "\n") {
			bw.printf("> %s\n", mdEscape(line))
		}
		for _, a := range n.Attachments {
			// The page's link rule: anything else is text, never a live link.
			if u := views.LinkURL(a.URL); u != "" {
				bw.printf(">\n> 📎 [%s](<%s>)\n", mdEscape(attachmentLabel(a)), mdAngle.Replace(u))
			} else {
				bw.printf(">\n> 📎 %s\n", mdEscape(attachmentText(a)))
			}
		}
		bw.printf("\n")
	}
	return bw.err
}

// mdAngle keeps a URL inside a Markdown <...> destination.
var mdAngle = strings.NewReplacer("<", "%3C", ">", "%3E")

// attachmentLabel is the link text of an attachment.
func attachmentLabel(a providers.Attachment) string {
	if a.Name != "" {
		return a.Name
	}
	return a.URL
}

// attachmentText is an attachment that is not linked: its name and, so the
// reader still knows where it pointed, the URL as text.
func attachmentText(a providers.Attachment) string {
	switch {
	case a.URL == "":
		return a.Name
	case a.Name == "":
		return a.URL
	}
	return a.Name + " (" + a.URL + ")"
}

// mdEscape neutralises HTML and Markdown link syntax in vendor text.
func mdEscape(s string) string {
	s = html.EscapeString(s)
	return strings.NewReplacer("[", `\[`, "]", `\]`, "*", `\*`, "_", `\_`, "`", "\\`").Replace(s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
