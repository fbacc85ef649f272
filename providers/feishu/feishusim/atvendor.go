package feishusim

import (
	"fmt"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

// Test hooks: changes made "at the vendor" (an agent in the Feishu client, a
// recalled message), outside the API the client uses. Each moves the
// ticket's updated_at, as a change to its chat does at the vendor.

// findMessage returns the ticket and index of a ticket-message id; callers
// hold s.mu.
func (s *Server) findMessage(id string) (*ticket, int) {
	for _, t := range s.tickets {
		for i, m := range t.messages {
			if m.ID == id {
				return t, i
			}
		}
	}
	return nil, -1
}

// EditMessage replaces a message's content with text (a text message
// afterwards). It returns an error for an unknown ticket-message id.
func (s *Server) EditMessage(id, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.findMessage(id)
	if t == nil {
		return fmt.Errorf("feishusim: no message %s", id)
	}
	t.messages[i].MessageType = "text"
	t.messages[i].Content = wrap("text", text)
	t.UpdatedAt = max(t.UpdatedAt+1, s.now().UnixMilli())
	return nil
}

// RemoveMessage recalls a message. It returns an error for an unknown
// ticket-message id.
func (s *Server) RemoveMessage(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, i := s.findMessage(id)
	if t == nil {
		return fmt.Errorf("feishusim: no message %s", id)
	}
	t.messages = append(t.messages[:i:i], t.messages[i+1:]...)
	t.UpdatedAt = max(t.UpdatedAt+1, s.now().UnixMilli())
	return nil
}

// PutMessage adds a text message from the ticket's guest at createdAt and
// returns its ticket-message id. It returns an error for an unknown ticket.
func (s *Server) PutMessage(ticketID, text string, createdAt time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[ticketID]
	if t == nil {
		return "", fmt.Errorf("feishusim: no ticket %s", ticketID)
	}
	at := createdAt.UnixMilli()
	m := message{ID: s.newID(3), MessageID: s.newID(5), MessageType: "text", CreatedAt: at,
		Content: wrap("text", text), UserName: t.Guest.Name, AvatarURL: t.Guest.AvatarURL,
		UserID: t.Guest.ID, role: providers.RoleCustomer}
	// Chat order is creation order.
	i := len(t.messages)
	for i > 0 && t.messages[i-1].CreatedAt > at {
		i--
	}
	t.messages = append(t.messages[:i], append([]message{m}, t.messages[i:]...)...)
	t.UpdatedAt = max(t.UpdatedAt+1, s.now().UnixMilli())
	return m.ID, nil
}

// SetStatus sets a ticket's status number (50–52 are closed), moving its
// updated_at. It returns an error for an unknown ticket.
func (s *Server) SetStatus(ticketID string, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[ticketID]
	if t == nil {
		return fmt.Errorf("feishusim: no ticket %s", ticketID)
	}
	t.Status = status
	t.UpdatedAt = max(t.UpdatedAt+1, s.now().UnixMilli())
	return nil
}

// OpenTickets returns how many tickets are not closed (status below 50).
func (s *Server) OpenTickets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tickets {
		if t.Status < 50 {
			n++
		}
	}
	return n
}

// RemoveTicket deletes a ticket and its chat. It returns an error for an
// unknown ticket.
func (s *Server) RemoveTicket(ticketID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID[ticketID] == nil {
		return fmt.Errorf("feishusim: no ticket %s", ticketID)
	}
	delete(s.byID, ticketID)
	for i, t := range s.tickets {
		if t.TicketID == ticketID {
			s.tickets = append(s.tickets[:i:i], s.tickets[i+1:]...)
			break
		}
	}
	return nil
}
