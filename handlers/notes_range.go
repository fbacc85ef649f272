package handlers

import (
	"slices"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views"
)

// parseStates reads the repeatable state filter (edited, deleted,
// unread): the valid ones once each, in the order given; an unknown one
// is the "state" field's error.
func parseStates(vals []string, errs views.FieldErrors, t interface{ T(string, ...any) string }) []string {
	var out []string
	for _, s := range vals {
		switch s {
		case "":
		case models.StateEdited, models.StateDeleted, models.StateUnread:
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		default:
			errs["state"] = t.T("err.choice_invalid")
		}
	}
	return out
}
