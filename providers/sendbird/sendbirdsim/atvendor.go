package sendbirdsim

import (
	"fmt"
	"time"
)

// EditNote changes a note's text as an agent would on the Desk dashboard,
// moving its updatedAt to now. It returns an error for an unknown note.
func (s *Server) EditNote(id int64, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notes[id]
	if n == nil {
		return fmt.Errorf("sendbirdsim: no note %d", id)
	}
	n.text = text
	n.updatedAt = s.now().UTC().Truncate(time.Microsecond)
	return nil
}

// RemoveNote deletes a note as an agent would on the Desk dashboard. It
// returns an error for an unknown note.
func (s *Server) RemoveNote(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notes[id] == nil {
		return fmt.Errorf("sendbirdsim: no note %d", id)
	}
	delete(s.notes, id)
	s.byID = nil
	return nil
}

// PutTicket opens a ticket created at createdAt, for tests that need one
// older than the seeded range, and returns its id.
func (s *Server) PutTicket(title string, createdAt time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id int64 = 1000
	for tid := range s.tickets {
		id = max(id, tid)
	}
	id++
	s.tickets[id] = &ticket{id: id, channelName: title, status2: "ACTIVE", customer: seedCustomers[0],
		channelURL: fmt.Sprintf("sendbird_desk_test_%d", id), createdAt: createdAt.UTC().Truncate(time.Microsecond)}
	return id
}

// RemoveTicket deletes a ticket and its notes. It returns an error for an
// unknown ticket.
func (s *Server) RemoveTicket(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tickets[id] == nil {
		return fmt.Errorf("sendbirdsim: no ticket %d", id)
	}
	delete(s.tickets, id)
	for nid, n := range s.notes {
		if n.ticketID == id {
			delete(s.notes, nid)
		}
	}
	s.byID = nil
	return nil
}
