package alibabasim

import (
	"fmt"
	"strconv"
	"time"
)

// Test hooks: changes made "at the vendor", as Alibaba Cloud support or the
// console would make them, outside the API the client uses.

// find returns the ticket and index of a note; callers hold s.mu.
func (s *Server) find(dialogID string) (*ticket, int) {
	id, err := strconv.ParseInt(dialogID, 10, 64)
	if err != nil {
		return nil, -1
	}
	for _, t := range s.tickets {
		for i, n := range t.notes {
			if n.dialogID == id {
				return t, i
			}
		}
	}
	return nil, -1
}

// EditNote replaces a message's text (a text message afterwards). It
// returns an error for an unknown DialogId.
func (s *Server) EditNote(dialogID, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.find(dialogID)
	if t == nil {
		return fmt.Errorf("alibabasim: no note %s", dialogID)
	}
	n := t.notes[i]
	n.typ, n.schema, n.content = 2, "null", text
	return nil
}

// RemoveNote deletes a message from its ticket's conversation. It returns
// an error for an unknown DialogId.
func (s *Server) RemoveNote(dialogID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.find(dialogID)
	if t == nil {
		return fmt.Errorf("alibabasim: no note %s", dialogID)
	}
	t.notes = append(t.notes[:i:i], t.notes[i+1:]...)
	return nil
}

// PutNote adds a support agent's message to a ticket at createdAt and
// returns its DialogId. It returns an error for an unknown ticket.
func (s *Server) PutNote(ticketID, text string, createdAt time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[ticketID]
	if t == nil {
		return "", fmt.Errorf("alibabasim: no ticket %s", ticketID)
	}
	n := &note{dialogID: s.nextDialogID(), created: createdAt.Truncate(time.Millisecond), typ: 2, status: 2,
		schema: "null", content: text, role: 2, name: "agent"}
	t.notes = append(t.notes, n)
	return strconv.FormatInt(n.dialogID, 10), nil
}

// SetStatus sets a ticket's status number (1–6; 6 is Completed). It
// returns an error for an unknown ticket.
func (s *Server) SetStatus(ticketID string, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[ticketID]
	if t == nil {
		return fmt.Errorf("alibabasim: no ticket %s", ticketID)
	}
	t.status = status
	return nil
}

// StatusCompleted is the status of a finished ticket.
const StatusCompleted = 6

// OpenTickets returns how many tickets are not Completed.
func (s *Server) OpenTickets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tickets {
		if t.status != StatusCompleted {
			n++
		}
	}
	return n
}

// RemoveTicket deletes a ticket and its conversation. It returns an error
// for an unknown ticket.
func (s *Server) RemoveTicket(ticketID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[ticketID] == nil {
		return fmt.Errorf("alibabasim: no ticket %s", ticketID)
	}
	delete(s.byID, ticketID)
	for i, t := range s.tickets {
		if t.id == ticketID {
			s.tickets = append(s.tickets[:i:i], s.tickets[i+1:]...)
			break
		}
	}
	return nil
}
