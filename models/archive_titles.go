package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// TicketRef names one ticket of one account.
type TicketRef struct {
	Account uint
	Ticket  string
}

// TicketTitles returns the archived title of each of refs that has one,
// in one query, so a page of notes shows its tickets' titles without a
// read per note. Tickets the archive has not seen, or whose vendor gives
// no title, are left out.
func (db *DB) TicketTitles(ctx context.Context, refs []TicketRef) (map[TicketRef]string, error) {
	out := map[TicketRef]string{}
	byAccount := map[uint][]any{}
	var order []uint
	seen := map[TicketRef]bool{}
	for _, r := range refs {
		if seen[r] {
			continue
		}
		seen[r] = true
		if _, ok := byAccount[r.Account]; !ok {
			order = append(order, r.Account)
		}
		byAccount[r.Account] = append(byAccount[r.Account], r.Ticket)
	}
	if len(order) == 0 {
		return out, nil
	}
	// One (account AND ticket IN …) clause per account: the primary key
	// (account_id, ticket_id) serves each.
	var where []string
	var args []any
	for _, a := range order {
		ts := byAccount[a]
		where = append(where, "(account_id = ? AND ticket_id IN (?"+strings.Repeat(",?", len(ts)-1)+"))")
		args = append(append(args, a), ts...)
	}
	rows, err := db.g.WithContext(ctx).Raw(`SELECT account_id, ticket_id, title FROM archive_tickets WHERE `+
		strings.Join(where, " OR "), args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("ticket titles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r TicketRef
		var title string
		if err := rows.Scan(&r.Account, &r.Ticket, &title); err != nil {
			return nil, fmt.Errorf("ticket titles: %w", err)
		}
		if title != "" {
			out[r] = title
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ticket titles: %w", err)
	}
	return out, nil
}

// migrateTicketTitleGeneration is version 10: a ticket's title, first
// stored or changed, moves the archive generation, as a note's change
// does. A notes page shows its notes' ticket titles, and what is kept of a
// page (its read, its rendering) lasts as long as the generation; a title
// that is only stored again as it was moves nothing.
func migrateTicketTitleGeneration(tx *gorm.DB, pg bool) error {
	if pg {
		// Row triggers: the bump depends on each row's old and new title.
		return execAll(tx, false,
			`DROP TRIGGER IF EXISTS archive_tickets_title_ai ON archive_tickets`,
			`CREATE TRIGGER archive_tickets_title_ai AFTER INSERT ON archive_tickets
			FOR EACH ROW WHEN (NEW.title <> '') EXECUTE FUNCTION archive_generation_bump()`,
			`DROP TRIGGER IF EXISTS archive_tickets_title_au ON archive_tickets`,
			`CREATE TRIGGER archive_tickets_title_au AFTER UPDATE OF title ON archive_tickets
			FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION archive_generation_bump()`)
	}
	return execAll(tx, false,
		`CREATE TRIGGER IF NOT EXISTS archive_tickets_title_ai AFTER INSERT ON archive_tickets
			WHEN NEW.title <> '' BEGIN
			UPDATE archive_generation SET n = n + 1 WHERE id = 1; END`,
		`CREATE TRIGGER IF NOT EXISTS archive_tickets_title_au AFTER UPDATE OF title ON archive_tickets
			WHEN OLD.title IS NOT NEW.title BEGIN
			UPDATE archive_generation SET n = n + 1 WHERE id = 1; END`)
}
