// Package sendbirdsim simulates the Sendbird Desk Platform API v1 for ticket
// notes and tickets, over real HTTP, for tests and the demo.
//
// It follows https://sendbird.com/docs/desk/platform-api/v1/features/ticket-note
// and .../features/ticket: the SENDBIRDDESKAPITOKEN header, limit/offset
// paging with count/next/previous, start_date/end_date in whole UTC days
// within one year, and the deskp4xxxxx error codes. Where the pages show
// nothing, it makes the same reading as the client (see the block of
// unconfirmed readings in the sendbird package): POST /ticket_notes,
// PATCH and DELETE /ticket_notes/{id}, the note's ticket under "ticket_id",
// no ticket filter on the list, a default range of the 30 days before
// end_date, writes answered with the single note, and an X-Request-Id
// header. Lists come back oldest id first; clients must not rely on order.
package sendbirdsim

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// Documented error codes.
const (
	codeMissing  = "deskp400105" // ticketId or note missing
	codeType     = "deskp400111" // wrong type or date format
	codeRange    = "deskp400113" // limit or date range out of bounds
	codeNotFound = "deskp400201" // ticket or note does not exist
)

// Codes for answers the pages show no code for; the simulator's own.
const (
	codeUnauthorized = "deskp401100"
	codeRateLimited  = "deskp429100"
	codeInternal     = "deskp500100"
	codeNoRoute      = "deskp404100"
	codeNoMethod     = "deskp405100"
	codeMediaType    = "deskp415100"
)

// Limits of the API.
const (
	noteMaxLimit   = 100
	ticketMaxLimit = 500
	defaultLimit   = 50
	// maxRangeDays is "within 1 year" read strictly: start_date and
	// end_date both included, at most 365 days (unconfirmed).
	maxRangeDays = 365
	// defaultRangeDays is the range used when a date is left out
	// (unconfirmed; seen on a sibling resource).
	defaultRangeDays = 30
	maxBody          = 1 << 20
	// maxLog bounds the request log kept for Log.
	maxLog = 10000
)

// RequestIDHeader is the header carrying each answer's request id.
const RequestIDHeader = "X-Request-Id"

// timeLayout is how times are written: ISO 8601 in UTC with microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Options shape the seeded data.
type Options struct {
	Seed int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Notes, Days and Tickets: about Notes notes over the Days days before
	// Now, across Tickets tickets. Zero means 150, 90 and 40.
	Notes   int
	Days    int
	Tickets int
}

// Request is one request the simulator received, for tests.
type Request struct {
	Method      string
	Path        string // without the /platform/v1 prefix
	Query       string // raw query
	ContentType string
	// HasContentType tells a Content-Type header sent empty from none.
	HasContentType bool
	Body           string
	// RequestID is the X-Request-Id the simulator answered with.
	RequestID string
}

// Server is a simulated Desk application. It is safe for concurrent use.
type Server struct {
	// Faults are honoured on every request; never nil after New.
	Faults *simfault.Injector
	// Meter counts every request per second, for rate-limit tests.
	Meter *simfault.Meter

	appID string
	token string
	now   func() time.Time

	mu      sync.Mutex
	agents  []agent
	tickets map[int64]*ticket
	notes   map[int64]*note
	// byID is notes sorted by id, rebuilt after a note is added or
	// removed (nil then), so a page of a large seed is not a sort.
	byID     []*note
	nextNote int64
	writes   int
	reqSeq   int
	log      []Request
	inFlight int
	maxIn    int
}

// New returns a simulator seeded from opts.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Notes <= 0 {
		opts.Notes = 150
	}
	if opts.Days <= 0 {
		opts.Days = 90
	}
	if opts.Tickets <= 0 {
		opts.Tickets = 40
	}
	s := &Server{
		Faults:  &simfault.Injector{},
		Meter:   &simfault.Meter{},
		now:     opts.Now,
		tickets: map[int64]*ticket{},
		notes:   map[int64]*note{},
	}
	s.seed(opts)
	return s
}

// Account returns an account for this simulator at endpoint, with the
// credentials it accepts.
func (s *Server) Account(endpoint string) providers.Account {
	return providers.Account{
		Kind:     providers.KindSendbird,
		Name:     "Sendbird sandbox",
		Endpoint: endpoint,
		Settings: map[string]string{"application_id": s.appID},
		Secrets:  map[string]string{"api_token": s.token},
	}
}

// NoteCount returns how many notes are stored.
func (s *Server) NoteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.notes)
}

// Writes returns how many POST, PATCH, PUT and DELETE requests arrived,
// whatever their answer.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Log returns the requests received, oldest first; a long-running server
// keeps only the most recent few thousand.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// MaxInFlight returns the most requests that were being answered at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn
}

// NoteInfo describes a stored note, for tests.
type NoteInfo struct {
	ID        int64
	TicketID  int64
	Text      string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Agent is the author's display name; empty for a Platform API note.
	Agent string
}

// Notes returns every stored note, by id.
func (s *Server) Notes() []NoteInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NoteInfo, 0, len(s.notes))
	for _, n := range s.notes {
		info := NoteInfo{ID: n.id, TicketID: n.ticketID, Text: n.text, CreatedAt: n.createdAt, UpdatedAt: n.updatedAt}
		if n.createdBy != nil {
			info.Agent = n.createdBy.displayName
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b NoteInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// TicketInfo describes a stored ticket, for tests.
type TicketInfo struct {
	ID        int64
	Title     string
	Status    string
	CreatedAt time.Time
}

// Tickets returns every ticket, by id.
func (s *Server) Tickets() []TicketInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TicketInfo, 0, len(s.tickets))
	for _, t := range s.tickets {
		out = append(out, TicketInfo{ID: t.id, Title: t.channelName, Status: t.status2, CreatedAt: t.createdAt})
	}
	slices.SortFunc(out, func(a, b TicketInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// PutNote stores a note as if the first agent had left it on the dashboard
// at createdAt, and returns its id; tests use it to place notes on exact
// boundaries. It returns an error when the ticket does not exist.
func (s *Server) PutNote(ticketID int64, text string, createdAt time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tickets[ticketID] == nil {
		return 0, fmt.Errorf("sendbirdsim: no ticket %d", ticketID)
	}
	s.nextNote++
	a := s.agents[0]
	t := createdAt.UTC().Truncate(time.Microsecond)
	s.notes[s.nextNote] = &note{id: s.nextNote, ticketID: ticketID, text: text, requestedFrom: "DASHBOARD",
		createdBy: &a, createdAt: t, updatedAt: t}
	s.byID = nil
	return s.nextNote, nil
}

// PutNoteAs is PutNote with the note's author shown as name (an agent the
// simulator adds), for tests of how author names are rendered.
func (s *Server) PutNoteAs(ticketID int64, name, text string, createdAt time.Time) (int64, error) {
	id, err := s.PutNote(ticketID, text, createdAt)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := *s.notes[id].createdBy
	a.id, a.displayName, a.sendbirdID = 900000+id, name, fmt.Sprintf("agent-%d", 900000+id)
	s.notes[id].createdBy = &a
	return id, nil
}

// apiError is a Desk error answer.
type apiError struct {
	status  int
	code    string
	message string
}

func badRequest(code, msg string) *apiError { return &apiError{http.StatusBadRequest, code, msg} }

// ServeHTTP answers one Desk Platform API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Meter.Hit()
	path := strings.TrimPrefix(r.URL.Path, "/platform/v1")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	w.Header().Set(RequestIDHeader, s.arrive(r, path, body))
	defer s.leave()

	if d := s.Faults.Latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case s.Faults.Take(simfault.Timeout):
		<-r.Context().Done()
		return
	case s.Faults.Take(simfault.RateLimit):
		w.Header().Set("Retry-After", strconv.Itoa(s.Faults.RetryAfter()))
		writeError(w, &apiError{http.StatusTooManyRequests, codeRateLimited, "Too many requests. Please try again later."})
		return
	case s.Faults.Take(simfault.ServerError):
		writeError(w, &apiError{http.StatusInternalServerError, codeInternal, "Internal server error."})
		return
	case s.Faults.Take(simfault.ExpiredToken):
		writeError(w, unauthorized())
		return
	}
	got := r.Header.Get("SENDBIRDDESKAPITOKEN")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		writeError(w, unauthorized())
		return
	}
	if s.Faults.Take(simfault.Malformed) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"count": 2, "next": null, "previous": null, "results": [{"id": 1, "note": "`)
		return
	}
	if e := checkContentType(r); e != nil {
		writeError(w, e)
		return
	}

	var (
		out any
		err *apiError
	)
	switch {
	case path == "/ticket_notes" && r.Method == http.MethodGet:
		out, err = s.listNotes(r)
	case path == "/ticket_notes" && r.Method == http.MethodPost:
		out, err = s.createNote(body)
	case strings.HasPrefix(path, "/ticket_notes/") && r.Method == http.MethodPatch:
		out, err = s.updateNote(strings.TrimPrefix(path, "/ticket_notes/"), body)
	case strings.HasPrefix(path, "/ticket_notes/") && r.Method == http.MethodDelete:
		err = s.deleteNote(strings.TrimPrefix(path, "/ticket_notes/"))
		if err == nil {
			// The page documents an empty body for a deletion.
			w.WriteHeader(http.StatusOK)
			return
		}
	case path == "/tickets" && r.Method == http.MethodGet:
		out, err = s.listTickets(r)
	case strings.HasPrefix(path, "/tickets/") && r.Method == http.MethodGet:
		out, err = s.getTicket(strings.TrimPrefix(path, "/tickets/"))
	case path == "/ticket_notes" || strings.HasPrefix(path, "/ticket_notes/") ||
		path == "/tickets" || strings.HasPrefix(path, "/tickets/"):
		err = &apiError{http.StatusMethodNotAllowed, codeNoMethod, "Method not allowed."}
	default:
		err = &apiError{http.StatusNotFound, codeNoRoute, "The requested URL was not found."}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// checkContentType holds a request with a body to the page's header line,
// Content-Type: application/json; charset=utf8: JSON, and UTF-8 when a
// charset is named (spelt utf8 as on the page, or utf-8). A GET or DELETE
// has no body; its Content-Type, if any, is only recorded in the Log.
func checkContentType(r *http.Request) *apiError {
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
	default:
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	cs := strings.ToLower(params["charset"])
	if err != nil || mt != "application/json" || (cs != "" && cs != "utf-8" && cs != "utf8") {
		return &apiError{http.StatusUnsupportedMediaType, codeMediaType, "Content-Type should be application/json; charset=utf8."}
	}
	return nil
}

func unauthorized() *apiError {
	return &apiError{http.StatusUnauthorized, codeUnauthorized, "Invalid or expired API token."}
}

// arrive records a request and returns its request id.
func (s *Server) arrive(r *http.Request, path string, body []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqSeq++
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		s.writes++
	}
	if len(s.log) >= maxLog {
		// A long-running demo keeps only the recent half.
		s.log = slices.Delete(s.log, 0, maxLog/2)
	}
	id := fmt.Sprintf("sbd-%s-%06d", strings.ToLower(s.appID[:8]), s.reqSeq)
	_, hasCT := r.Header["Content-Type"]
	s.log = append(s.log, Request{Method: r.Method, Path: path, Query: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), HasContentType: hasCT, Body: string(body), RequestID: id})
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	return id
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
		Code    string `json:"code"`
		Error   bool   `json:"error"`
	}{e.message, e.code, true})
}

// page reads limit and offset as the Desk lists document them.
func page(r *http.Request, maxLimit int) (limit, offset int, e *apiError) {
	q := r.URL.Query()
	limit, offset = defaultLimit, 0
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil {
			return 0, 0, badRequest(codeType, "The limit parameter should be integer.")
		}
		if n < 1 || n > maxLimit {
			return 0, 0, badRequest(codeRange, fmt.Sprintf("The value of limit should be between 1 and %d.", maxLimit))
		}
		limit = n
	}
	if v, ok := q["offset"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return 0, 0, badRequest(codeType, "The offset parameter should be integer.")
		}
		offset = n
	}
	return limit, offset, nil
}

// listJSON is the Desk list envelope.
type listJSON struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  any     `json:"results"`
}

// envelope cuts one page out of total items and links its neighbours.
func envelope(r *http.Request, total, limit, offset int, results any) listJSON {
	l := listJSON{Count: total, Results: results}
	if offset+limit < total {
		u := pageURL(r, limit, offset+limit)
		l.Next = &u
	}
	if offset > 0 {
		u := pageURL(r, limit, max(0, offset-limit))
		l.Previous = &u
	}
	return l
}

// pageURL is the request's own URL with limit and offset replaced.
func pageURL(r *http.Request, limit, offset int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	return scheme + "://" + r.Host + r.URL.Path + "?" + q.Encode()
}

func (s *Server) listNotes(r *http.Request) (any, *apiError) {
	limit, offset, e := page(r, noteMaxLimit)
	if e != nil {
		return nil, e
	}
	start, end, e := s.dateRange(r)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Whole UTC days as Unix seconds: a cheap test per note, which counts
	// when a large seed is paged through.
	lo, hi := start.Unix(), end.Unix()+24*60*60
	var match []*note
	for _, n := range s.sortedNotes() {
		if u := n.createdAt.Unix(); u >= lo && u < hi {
			match = append(match, n)
		}
	}
	results := make([]noteJSON, 0, limit)
	for i := offset; i < len(match) && i < offset+limit; i++ {
		results = append(results, match[i].json())
	}
	return envelope(r, len(match), limit, offset, results), nil
}

// dateRange reads start_date and end_date as whole UTC days.
func (s *Server) dateRange(r *http.Request) (start, end time.Time, e *apiError) {
	q := r.URL.Query()
	read := func(name string) (time.Time, bool, *apiError) {
		v, ok := q[name]
		if !ok {
			return time.Time{}, false, nil
		}
		t, err := time.Parse(time.DateOnly, v[0])
		if err != nil {
			return time.Time{}, false, badRequest(codeType, "The value of "+name+" should be YYYY-MM-DD.")
		}
		return t, true, nil
	}
	start, hasStart, e := read("start_date")
	if e != nil {
		return start, end, e
	}
	end, hasEnd, e := read("end_date")
	if e != nil {
		return start, end, e
	}
	switch {
	case !hasStart && !hasEnd:
		end = day(s.now())
		start = end.AddDate(0, 0, -defaultRangeDays)
	case !hasStart:
		start = end.AddDate(0, 0, -defaultRangeDays)
	case !hasEnd:
		end = start.AddDate(0, 0, defaultRangeDays)
	}
	if end.Sub(start) > (maxRangeDays-1)*24*time.Hour {
		return start, end, badRequest(codeRange, "The date range should be within 1 year.")
	}
	return start, end, nil
}

// writeBody is a create or update body, each field kept raw to tell a
// missing field from one of the wrong type.
type writeBody map[string]json.RawMessage

func (b writeBody) has(k string) bool {
	v, ok := b[k]
	return ok && strings.TrimSpace(string(v)) != "null"
}

func parseWrite(body []byte) (writeBody, *apiError) {
	var b writeBody
	if err := json.Unmarshal(body, &b); err != nil || b == nil {
		return nil, badRequest(codeType, "The request body should be a JSON object.")
	}
	return b, nil
}

func (b writeBody) note() (string, *apiError) {
	if !b.has("note") {
		return "", badRequest(codeMissing, "note is required.")
	}
	var text string
	if err := json.Unmarshal(b["note"], &text); err != nil {
		return "", badRequest(codeType, "The note parameter should be string.")
	}
	if text == "" {
		return "", badRequest(codeMissing, "note is required.")
	}
	return text, nil
}

func (s *Server) createNote(body []byte) (any, *apiError) {
	b, e := parseWrite(body)
	if e != nil {
		return nil, e
	}
	if !b.has("ticketId") {
		return nil, badRequest(codeMissing, "ticketId is required.")
	}
	text, e := b.note()
	if e != nil {
		return nil, e
	}
	var tid int64
	if err := json.Unmarshal(b["ticketId"], &tid); err != nil {
		return nil, badRequest(codeType, "The ticketId parameter should be integer.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tickets[tid] == nil {
		return nil, badRequest(codeNotFound, "The specified ticketId doesn’t exist.")
	}
	s.nextNote++
	now := s.now().UTC().Truncate(time.Microsecond)
	n := &note{id: s.nextNote, ticketID: tid, text: text, requestedFrom: "PLATFORM_API", createdAt: now, updatedAt: now}
	s.notes[n.id] = n
	s.byID = nil
	return n.json(), nil
}

func (s *Server) updateNote(rawID string, body []byte) (any, *apiError) {
	b, e := parseWrite(body)
	if e != nil {
		return nil, e
	}
	text, e := b.note()
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.findNote(rawID)
	if n == nil {
		return nil, badRequest(codeNotFound, "The specified ticket_note_id doesn’t exist.")
	}
	n.text = text
	n.updatedAt = s.now().UTC().Truncate(time.Microsecond)
	return n.json(), nil
}

func (s *Server) deleteNote(rawID string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.findNote(rawID)
	if n == nil {
		return badRequest(codeNotFound, "The specified ticket_note_id doesn’t exist.")
	}
	delete(s.notes, n.id)
	s.byID = nil
	return nil
}

// sortedNotes returns the notes by id; callers hold s.mu.
func (s *Server) sortedNotes() []*note {
	if s.byID == nil {
		s.byID = make([]*note, 0, len(s.notes))
		for _, n := range s.notes {
			s.byID = append(s.byID, n)
		}
		slices.SortFunc(s.byID, func(a, b *note) int { return cmp.Compare(a.id, b.id) })
	}
	return s.byID
}

// findNote returns the note with a path id; callers hold s.mu.
func (s *Server) findNote(rawID string) *note {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		return nil
	}
	return s.notes[id]
}

func (s *Server) listTickets(r *http.Request) (any, *apiError) {
	limit, offset, e := page(r, ticketMaxLimit)
	if e != nil {
		return nil, e
	}
	status := r.URL.Query().Get("status2")
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*ticket
	for _, t := range s.tickets {
		if status == "" || t.status2 == status {
			match = append(match, t)
		}
	}
	slices.SortFunc(match, func(a, b *ticket) int { return cmp.Compare(a.id, b.id) })
	results := make([]ticketJSON, 0, limit)
	for i := offset; i < len(match) && i < offset+limit; i++ {
		results = append(results, match[i].json())
	}
	return envelope(r, len(match), limit, offset, results), nil
}

func (s *Server) getTicket(rawID string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || s.tickets[id] == nil {
		return nil, badRequest(codeNotFound, "The specified ticket_id doesn’t exist.")
	}
	return s.tickets[id].json(), nil
}

// day is t's UTC day.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
