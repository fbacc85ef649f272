package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/views"
)

// focus applies the conversation's ?note= (the note it was opened at, from
// a search result) and ?q= (that search, whose matches the notes mark). A
// note id of no note here or a search the notes list would refuse is
// left out: the page still shows, without the highlight.
func focus(c *fiber.Ctx, d *views.ConversationData) {
	if id := c.Query("note"); id != "" && len(id) <= 256 {
		for _, it := range d.Notes {
			if it.Note.ID == id {
				d.Target = id
				break
			}
		}
	}
	if q := strings.TrimSpace(c.Query("q")); q != "" && textError(q, maxFilterRunes) == "" {
		d.Search = q
		for i := range d.Notes {
			d.Notes[i].Search = q
		}
	}
}
