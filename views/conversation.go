package views

import (
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Participant is one distinct author of a ticket's notes, with the role
// the vendor gives them and how many of the notes are theirs.
type Participant struct {
	Name  string
	Role  providers.Role
	Notes int
}

// Participants lists the distinct authors of the conversation's notes in
// the order they first wrote, each named as their notes are (the
// dashboard user who added a note, else the vendor's author name).
func Participants(p Page, d ConversationData) []Participant {
	var out []Participant
	at := map[[2]string]int{}
	for _, it := range d.Notes {
		name := it.AddedBy
		if name == "" {
			name = authorName(p, it.Note)
		}
		k := [2]string{name, string(it.Note.AuthorRole)}
		if i, ok := at[k]; ok {
			out[i].Notes++
			continue
		}
		at[k] = len(out)
		out = append(out, Participant{Name: name, Role: it.Note.AuthorRole, Notes: 1})
	}
	return out
}

// TimelineRow is one note of the timeline; Day is set on the first note of
// each calendar day in the viewer's zone, for the separator before it.
type TimelineRow struct {
	Item   NoteItem
	Day    time.Time // midnight of the note's day in the viewer's zone; zero when the day goes on
	Target bool      // the note the page was opened at (?note=)
}

// TimelineRows cuts the notes into days in the viewer's zone: a note
// starts a day when the one before it was written on another date there.
func TimelineRows(p Page, d ConversationData) []TimelineRow {
	rows := make([]TimelineRow, 0, len(d.Notes))
	var last string
	for _, it := range d.Notes {
		r := TimelineRow{Item: it, Target: d.Target != "" && it.Note.ID == d.Target}
		local := it.Note.CreatedAt.In(p.Location())
		if day := local.Format(time.DateOnly); day != last {
			last = day
			r.Day = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, p.Location())
		}
		rows = append(rows, r)
	}
	return rows
}

// FormatDay names a day in the viewer's language: "Tuesday, 3 March 2026",
// "2026年3月3日 星期二".
func (p Page) FormatDay(day time.Time) string {
	return p.T.T("day.format", "Weekday", p.T.T("weekday."+strconv.Itoa(int(day.Weekday()))),
		"Day", day.Day(), "Month", p.T.T("month."+strconv.Itoa(int(day.Month()))), "Year", day.Year())
}

// Focus is the query that carries the opened note and the search on to
// the timeline's reload, so the highlight survives it.
func (d ConversationData) Focus() string {
	v := url.Values{}
	if d.Target != "" {
		v.Set("note", d.Target)
	}
	if d.Search != "" {
		v.Set("q", d.Search)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// WithoutSearch is the conversation at the same note with no search marks.
func (d ConversationData) WithoutSearch() string {
	if d.Target == "" {
		return d.Path("")
	}
	return d.Path("?" + url.Values{"note": {d.Target}}.Encode())
}

// targetAttrs marks the row of the note the page was opened at, so the
// script scrolls to it when the address has no fragment.
func targetAttrs(target bool) templ.Attributes {
	if !target {
		return templ.Attributes{}
	}
	return templ.Attributes{"data-target-note": "true", "aria-current": "true"}
}
