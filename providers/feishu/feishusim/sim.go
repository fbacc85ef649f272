// Package feishusim simulates the Feishu / Lark Helpdesk v1 API for tests
// and the demo: the tenant_access_token endpoint, list and get tickets,
// and list and send ticket messages, with the documented parameters,
// limits, error codes and headers, over seeded in-memory data.
//
// Vendor docs (list ticket messages):
// https://open.feishu.cn/document/server-docs/helpdesk-v1/ticket-management/ticket-message/list
package feishusim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// Paths served; the Feishu and Lark hosts use the same ones.
const (
	tokenPath   = "/open-apis/auth/v3/tenant_access_token/internal"
	ticketsPath = "/open-apis/helpdesk/v1/tickets"
)

// Vendor error codes and messages the simulator answers.
const (
	codeBadRequest    = 154000
	codeUnauthorized  = 154001
	codeInternal      = 155000
	codeTokenMissing  = 99991661
	codeTokenInvalid  = 99991663
	codeRateLimited   = 99991400
	codeInvalidParam  = 10003
	codeSecretInvalid = 10014

	msgBadRequest   = "Bad request, please check your request body"
	msgUnauthorized = "Unauthorized, please check you have the correct access"
	msgInternal     = "Internal error"
)

// timeFilterUnit is the unit of time_start and time_end of list messages:
// seconds, as the official examples show (a third-party SDK says
// milliseconds; unconfirmed). The client reads it the same way.
const timeFilterUnit = time.Second

// maxTimeFilter rejects time_start/time_end values past the year 3000 in
// timeFilterUnit, which is what a value in the wrong unit looks like.
var maxTimeFilter = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() * int64(time.Second/timeFilterUnit)

// textKey is the key of the text inside a text message's content string,
// as the list page's example shows it.
const textKey = "content"

// defaultTokenTTL is the documented lifetime of a tenant_access_token.
const defaultTokenTTL = 7200 * time.Second

// Options shape the simulated helpdesk. Zero values pick defaults: 40
// tickets, 150 messages over 90 days before Now, time.Now.
type Options struct {
	Seed    int64
	Now     func() time.Time
	Notes   int
	Days    int
	Tickets int
}

// Request is one request the simulator received, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	LogID  string
}

// Server is the simulated API. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	// Faults injects failures into the next requests.
	Faults *simfault.Injector
	// Meter counts every request (token fetches too) per second, for
	// rate-limit tests.
	Meter *simfault.Meter

	now           func() time.Time
	mux           *http.ServeMux
	appID         string
	appSecret     string
	helpdeskID    string
	helpdeskToken string
	bot           user

	mu        sync.Mutex
	tokenTTL  time.Duration
	tokens    map[string]time.Time // token → expiry
	tickets   []*ticket            // ascending creation
	byID      map[string]*ticket
	lastID    uint64
	logSeq    int
	requests  []Request
	tokenSeq  int
	lastLogID string
}

// New returns a simulator with seeded data.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tickets <= 0 {
		opts.Tickets = 40
	}
	if opts.Notes <= 0 {
		opts.Notes = 150
	}
	if opts.Days <= 0 {
		opts.Days = 90
	}
	s := &Server{
		Faults:   &simfault.Injector{},
		Meter:    &simfault.Meter{},
		now:      opts.Now,
		tokenTTL: defaultTokenTTL,
		tokens:   map[string]time.Time{},
		byID:     map[string]*ticket{},
	}
	s.generate(opts)

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenPath, s.issueToken)
	mux.HandleFunc("GET "+ticketsPath, s.helpdesk(s.listTickets))
	mux.HandleFunc("GET "+ticketsPath+"/{ticket_id}", s.helpdesk(s.getTicket))
	mux.HandleFunc("GET "+ticketsPath+"/{ticket_id}/messages", s.helpdesk(s.listMessages))
	mux.HandleFunc("POST "+ticketsPath+"/{ticket_id}/messages", s.helpdesk(s.sendMessage))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 404, "404 page not found")
	})
	s.mux = mux
	return s
}

// Account returns an account whose credentials this simulator accepts,
// pointed at endpoint.
func (s *Server) Account(endpoint string) providers.Account {
	return providers.Account{
		Kind:     providers.KindFeishu,
		Name:     "Feishu sandbox",
		Endpoint: endpoint,
		Settings: map[string]string{"domain": "feishu", "app_id": s.appID, "helpdesk_id": s.helpdeskID},
		Secrets:  map[string]string{"app_secret": s.appSecret, "helpdesk_token": s.helpdeskToken},
	}
}

// SetTokenExpire sets the lifetime of tokens issued from now on (default
// 7200 s), so tests can see tokens run out.
func (s *Server) SetTokenExpire(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// ServeHTTP records the request, stamps X-Tt-Logid, applies armed faults
// and serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Meter.Hit()
	logID := s.record(r)
	w.Header().Set("X-Tt-Logid", logID)

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
	case s.Faults.Take(simfault.RateLimit):
		w.Header().Set("Retry-After", strconv.Itoa(s.Faults.RetryAfter()))
		writeError(w, http.StatusTooManyRequests, codeRateLimited, "request trigger frequency limit")
	case s.Faults.Take(simfault.ServerError):
		writeError(w, http.StatusInternalServerError, codeInternal, msgInternal)
	case s.Faults.Take(simfault.Malformed):
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"code":0,"msg":"success","data":{"messages":[{"id":"69`)
	default:
		s.mux.ServeHTTP(w, r)
	}
}

// record keeps r (with its body, which it restores) and returns its log id.
func (s *Server) record(r *http.Request) string {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logSeq++
	id := fmt.Sprintf("%s%010X", s.now().UTC().Format("20060102150405"), s.logSeq)
	s.lastLogID = id
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, LogID: id,
	})
	return id
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// LastLogID returns the X-Tt-Logid of the latest response.
func (s *Server) LastLogID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastLogID
}

// MessageWrites returns how many send-message requests arrived, including
// those a fault answered.
func (s *Server) MessageWrites() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/messages") {
			n++
		}
	}
	return n
}

// TokenFetches returns how many token requests arrived.
func (s *Server) TokenFetches() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Path == tokenPath {
			n++
		}
	}
	return n
}

// issueToken answers POST tenant_access_token/internal.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.AppID == "" || req.AppID != s.appID {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": codeInvalidParam, "msg": "invalid param"})
		return
	}
	if req.AppSecret != s.appSecret {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": codeSecretInvalid, "msg": "app secret invalid"})
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	tok := fmt.Sprintf("t-g1%04d%s", s.tokenSeq, s.appSecret[:12])
	ttl := s.tokenTTL
	s.tokens[tok] = s.now().Add(ttl)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": int64(ttl / time.Second),
	})
}

// helpdesk wraps a helpdesk handler with the two checks every call gets:
// a valid tenant_access_token, and X-Lark-Helpdesk-Authorization equal to
// base64(helpdesk_id:helpdesk_token).
func (s *Server) helpdesk(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			writeError(w, http.StatusBadRequest, codeTokenMissing,
				"Missing access token for authorization. Please make a request with token attached.")
			return
		}
		if s.Faults.Take(simfault.ExpiredToken) || !s.tokenValid(tok) {
			// Reports show both 400 and 401 for this code; we answer 400.
			writeError(w, http.StatusBadRequest, codeTokenInvalid,
				"Invalid access token for authorization. Please make a request with token attached.")
			return
		}
		want := base64.StdEncoding.EncodeToString([]byte(s.helpdeskID + ":" + s.helpdeskToken))
		if r.Header.Get("X-Lark-Helpdesk-Authorization") != want {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, msgUnauthorized)
			return
		}
		h(w, r)
	}
}

func (s *Server) tokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.now().Before(exp)
}

// pageParams reads page (from 1, default 1) and page_size (1..200,
// default 20).
func pageParams(q url.Values) (page, size int, ok bool) {
	p, ok1 := intParam(q, "page", 1)
	n, ok2 := intParam(q, "page_size", 20)
	if !ok1 || !ok2 || p < 1 || n < 1 || n > 200 {
		return 0, 0, false
	}
	return int(p), int(n), true
}

// intParam reads an optional integer parameter.
func intParam(q url.Values, name string, def int64) (int64, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// listTickets answers GET /tickets: page, page_size ≤ 200,
// create_time_start and create_time_end in epoch milliseconds (inclusive).
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size, ok := pageParams(q)
	start, ok1 := intParam(q, "create_time_start", 0)
	end, ok2 := intParam(q, "create_time_end", 0)
	// Seconds where milliseconds belong would silently match nothing; the
	// simulator refuses them to make the mistake loud.
	if !ok || !ok1 || !ok2 || start < 0 || end < 0 || (start > 0 && start < 1e11) || (end > 0 && end < 1e11) {
		writeError(w, http.StatusBadRequest, codeBadRequest, msgBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*ticket
	for _, t := range s.tickets {
		if (start == 0 || t.CreatedAt >= start) && (end == 0 || t.CreatedAt <= end) {
			matched = append(matched, t)
		}
	}
	writeData(w, map[string]any{"total": len(matched), "tickets": pageOf(matched, page, size)})
}

// getTicket answers GET /tickets/:ticket_id.
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[r.PathValue("ticket_id")]
	if !ok {
		unknownTicket(w)
		return
	}
	writeData(w, map[string]any{"ticket": t})
}

// listMessages answers GET /tickets/:ticket_id/messages: time_start and
// time_end (timeFilterUnit, inclusive), page, page_size ≤ 200; messages in
// chat order, oldest first.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size, ok := pageParams(q)
	start, ok1 := intParam(q, "time_start", -1)
	end, ok2 := intParam(q, "time_end", -1)
	if !ok || !ok1 || !ok2 || start < -1 || end < -1 || start > maxTimeFilter || end > maxTimeFilter ||
		(start >= 0 && end >= 0 && start > end) {
		writeError(w, http.StatusBadRequest, codeBadRequest, msgBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, found := s.byID[r.PathValue("ticket_id")]
	if !found {
		unknownTicket(w)
		return
	}
	unit := int64(timeFilterUnit / time.Millisecond)
	var matched []message
	for _, m := range t.messages {
		if start >= 0 && m.CreatedAt < start*unit {
			continue
		}
		if end >= 0 && m.CreatedAt >= (end+1)*unit {
			continue
		}
		matched = append(matched, m)
	}
	writeData(w, map[string]any{"messages": pageOf(matched, page, size), "total": len(matched)})
}

// sendMessage answers POST /tickets/:ticket_id/messages with
// {"msg_type": "text"|"post", "content": "<JSON string>"}.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MsgType string `json:"msg_type"`
		Content string `json:"content"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || !validContent(req.MsgType, req.Content) {
		writeError(w, http.StatusBadRequest, codeBadRequest, msgBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byID[r.PathValue("ticket_id")]
	if !ok {
		unknownTicket(w)
		return
	}
	at := s.now().UnixMilli()
	// The app sends as the helpdesk bot, so its messages come back as the
	// bot's (a system sender); the answer names only the chat message_id,
	// the ticket-message id is learnt by listing.
	m := message{
		ID: s.newID(3), MessageID: s.newID(5), MessageType: req.MsgType, CreatedAt: at, Content: req.Content,
		UserName: s.bot.Name, AvatarURL: s.bot.AvatarURL, UserID: s.bot.ID, role: providers.RoleSystem,
	}
	t.messages = append(t.messages, m)
	t.UpdatedAt = at
	writeData(w, map[string]any{"message_id": m.MessageID})
}

// unknownTicket answers a request naming a ticket the helpdesk does not
// have. The vendor has no not-found code: it answers 400 / 154000, the
// generic bad-request error of the API pages.
func unknownTicket(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, codeBadRequest, msgBadRequest)
}

// validContent checks a sent message's content string: a JSON object, and
// for text one holding a non-empty string under textKey.
func validContent(msgType, content string) bool {
	var obj map[string]any
	if json.Unmarshal([]byte(content), &obj) != nil || obj == nil {
		return false
	}
	switch msgType {
	case "text":
		s, ok := obj[textKey].(string)
		return ok && strings.TrimSpace(s) != ""
	case "post":
		return len(obj) > 0
	default:
		return false
	}
}

// pageOf returns page p (from 1) of size n, never nil so it encodes as [].
func pageOf[T any](all []T, p, n int) []T {
	from := (p - 1) * n
	if from >= len(all) {
		return []T{}
	}
	return all[from:min(from+n, len(all))]
}

func writeData(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "success", "data": data})
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":155000,"msg":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
