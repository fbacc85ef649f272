// Package alibabasim simulates the Alibaba Cloud Ticket System API (product
// Workorder, version 2021-06-10) for tests and the demo: RPC requests by POST
// form or GET query, checked like Alibaba checks them (signature, Timestamp
// window, nonce reuse, version, STS token), and the ListTickets,
// ListTicketNotes and ReplyTicket actions over seeded, in-memory data.
//
// Vendor reference: https://www.alibabacloud.com/help/en/ticket-system-api/latest/api-workorder-2021-06-10-listticketnotes
package alibabasim

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// Options shape the seeded data.
type Options struct {
	Seed    int64
	Now     func() time.Time // nil means time.Now
	Notes   int              // about this many notes; 0 means 150
	Days    int              // spread over this many days before Now; 0 means 90
	Tickets int              // across this many tickets; 0 means 40
}

// Server is a simulated Ticket System API. It is an http.Handler and safe
// for concurrent use.
type Server struct {
	// Faults are injected into every request.
	Faults *simfault.Injector
	// Meter counts every request per second, for rate-limit tests.
	Meter *simfault.Meter

	now func() time.Time

	mu        sync.Mutex
	keyID     string
	secret    string
	token     string
	uid       string
	userName  string
	tickets   []*ticket // newest first
	byID      map[string]*ticket
	dialogSeq int64
	nonces    map[string]time.Time
	calls     map[string]int
	last      map[string]url.Values
	lastReqID map[string]string
	// denied holds the actions refused as a real 403 would; the value says
	// whether AccessDeniedDetail is sent as an object.
	denied    map[string]bool
	inFlight  int
	maxFlight int
}

// New returns a simulator filled with data seeded by opts.Seed.
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
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5ec2e7))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alnum[r.IntN(len(alnum))]
		}
		return string(b)
	}
	s := &Server{
		Faults:    &simfault.Injector{},
		Meter:     &simfault.Meter{},
		now:       opts.Now,
		keyID:     "LTAI5t" + word(18),
		secret:    word(30),
		uid:       strconv.FormatInt(1_000_000_000_000_000+r.Int64N(900_000_000_000_000), 10),
		userName:  "sandbox-customer",
		byID:      map[string]*ticket{},
		dialogSeq: 46_434_000,
		nonces:    map[string]time.Time{},
		calls:     map[string]int{},
		last:      map[string]url.Values{},
		lastReqID: map[string]string{},
		denied:    map[string]bool{},
	}
	s.generate(opts, opts.Now())
	return s
}

// Account returns an account with credentials this simulator accepts,
// pointed at endpoint.
func (s *Server) Account(endpoint string) providers.Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	secrets := map[string]string{"access_key_secret": s.secret}
	if s.token != "" {
		secrets["security_token"] = s.token
	}
	return providers.Account{
		Kind:     providers.KindAlibaba,
		Name:     "Alibaba Cloud sandbox",
		Endpoint: endpoint,
		Settings: map[string]string{
			"access_key_id": s.keyID,
			"uid":           s.uid,
			"region":        "cn-hangzhou",
		},
		Secrets: secrets,
	}
}

// RequireSecurityToken makes the simulator accept only STS credentials
// carrying token; Account includes it from then on. An empty token goes back
// to a plain AccessKey pair.
func (s *Server) RequireSecurityToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// NoteCount returns how many notes the simulator holds.
func (s *Server) NoteCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tickets {
		n += len(t.notes)
	}
	return n
}

// Calls returns how many requests named action arrived, refused or not.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// LastParams returns the parameters of the latest request named action, or
// nil.
func (s *Server) LastParams(action string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneValues(s.last[action])
}

// Deny makes every later request named action fail as a RAM policy denial
// does: HTTP 403, code "No permissions", and an AccessDeniedDetail naming
// the action. asObject sends the detail as a JSON object, as real 403s do;
// otherwise as an escaped JSON string, as the API page's example shows.
func (s *Server) Deny(action string, asObject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[action] = asObject
}

// LastRequestID returns the RequestId answered to the latest request named
// action, or "".
func (s *Server) LastRequestID(action string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastReqID[action]
}

// MaxInFlight returns the most requests the simulator was serving at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

// TicketIDs returns every ticket id, newest ticket first.
func (s *Server) TicketIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.tickets))
	for i, t := range s.tickets {
		ids[i] = t.id
	}
	return ids
}

// NoteInfo describes one simulated note, for tests to compute what a query
// should return.
type NoteInfo struct {
	TicketID        string
	TicketCreatedAt time.Time
	DialogID        string
	CreatedAt       time.Time
	Content         string // Dialog.Content as sent
}

// Notes returns every note the simulator holds.
func (s *Server) Notes() []NoteInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []NoteInfo
	for _, t := range s.tickets {
		for _, n := range t.notes {
			out = append(out, NoteInfo{TicketID: t.id, TicketCreatedAt: t.created,
				DialogID: strconv.FormatInt(n.dialogID, 10), CreatedAt: n.created, Content: n.content})
		}
	}
	return out
}

// actions are the Workorder actions the simulator serves.
var actions = map[string]func(*Server, url.Values) (any, *apiError){
	"ListTickets":     (*Server).listTickets,
	"ListTicketNotes": (*Server).listTicketNotes,
	"ReplyTicket":     (*Server).replyTicket,
}

// maxRequestBody bounds a form body.
const maxRequestBody = 1 << 20

// ServeHTTP answers one RPC request: faults first, then the gateway's
// checks, then the action.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Meter.Hit()
	requestID := strings.ToUpper(uuid.NewString())
	w.Header().Set("x-acs-request-id", requestID)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.fail(w, r, requestID, errMethod)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, requestID, errBadRequest)
		return
	}
	params := r.Form
	action := params.Get("Action")
	s.begin(action, params, requestID)
	defer s.end()

	if d := s.Faults.Latency(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if s.Faults.Take(simfault.Timeout) {
		<-r.Context().Done()
		return
	}
	if s.Faults.Take(simfault.RateLimit) {
		w.Header().Set("Retry-After", strconv.Itoa(s.Faults.RetryAfter()))
		s.fail(w, r, requestID, errThrottled)
		return
	}
	if e := s.authenticate(r.Method, params); e != nil {
		s.fail(w, r, requestID, *e)
		return
	}
	if s.Faults.Take(simfault.ServerError) {
		s.fail(w, r, requestID, errSystem)
		return
	}
	if s.Faults.Take(simfault.Malformed) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"RequestId":"` + requestID + `","Success":true,"Code":0,"Data":[{"DialogId":46434`))
		return
	}
	if uid := params.Get("Uid"); uid != "" && uid != s.uidValue() {
		e := errNoPermission
		e.accessDenied = `{"AuthAction":"ram:` + action + `","NoPermissionType":"ImplicitDeny","PolicyType":"AccountLevelIdentityBasedPolicy"}`
		s.fail(w, r, requestID, e)
		return
	}
	if asObject, ok := s.deniedAction(action); ok {
		e := errNoPermission
		e.accessDenied = `{"AuthAction":"workorder:` + action + `","AuthPrincipalDisplayName":"sandbox-ram-user",` +
			`"AuthPrincipalOwnerId":"` + s.uidValue() + `","AuthPrincipalType":"SubUser",` +
			`"EncodedDiagnosticMessage":"AQEAAAAA","NoPermissionType":"ImplicitDeny","PolicyType":"AccountLevelIdentityBasedPolicy"}`
		e.detailObject = asObject
		s.fail(w, r, requestID, e)
		return
	}

	data, e := actions[action](s, params)
	if e != nil {
		s.fail(w, r, requestID, *e)
		return
	}
	body := map[string]any{
		"RequestId":          requestID,
		"Success":            true,
		"Code":               0,
		"Message":            "success",
		"AccessDeniedDetail": "",
	}
	if page, ok := data.(ticketPage); ok {
		body["PageNumber"], body["PageSize"], body["TotalCount"], body["Data"] = page.number, page.size, page.total, page.items
	} else {
		body["Data"] = data
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) deniedAction(action string) (asObject, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	asObject, ok = s.denied[action]
	return asObject, ok
}

func (s *Server) uidValue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uid
}

func (s *Server) begin(action string, p url.Values, requestID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	s.lastReqID[action] = requestID
	s.last[action] = cloneValues(p)
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
}

func (s *Server) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
}

// fail writes e in the shape Alibaba uses for its origin.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, requestID string, e apiError) {
	if e.gateway {
		writeJSON(w, e.status, map[string]any{
			"RequestId": requestID,
			"HostId":    r.Host,
			"Code":      e.code,
			"Message":   e.message,
		})
		return
	}
	var detail any = e.accessDenied
	if e.detailObject {
		detail = json.RawMessage(e.accessDenied)
	}
	writeJSON(w, e.status, map[string]any{
		"RequestId":          requestID,
		"Success":            false,
		"Code":               e.code,
		"Message":            e.message,
		"AccessDeniedDetail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ticketPage is ListTickets' paged answer.
type ticketPage struct {
	number, size, total int
	items               []map[string]any
}

// listTickets serves ListTickets: PageNumber >= 1 and PageSize 10-100 are
// required; StartDate and EndDate (epoch ms, both inclusive) bound the
// ticket's creation; TicketId, TicketIdList, Keyword (in the description)
// and StatusList narrow it. Newest ticket first.
func (s *Server) listTickets(p url.Values) (any, *apiError) {
	number, err := strconv.Atoi(p.Get("PageNumber"))
	if err != nil || number < 1 {
		e := errParam("PageNumber must be an integer of at least 1.")
		return nil, &e
	}
	size, err := strconv.Atoi(p.Get("PageSize"))
	if err != nil || size < 10 || size > 100 {
		e := errParam("PageSize must be an integer from 10 to 100.")
		return nil, &e
	}
	var start, end *time.Time
	for name, dst := range map[string]**time.Time{"StartDate": &start, "EndDate": &end} {
		if v := p.Get(name); v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms < 0 {
				e := errParam("%s must be epoch milliseconds.", name)
				return nil, &e
			}
			t := time.UnixMilli(ms)
			*dst = &t
		}
	}
	ids := listParam(p, "TicketIdList")
	if id := p.Get("TicketId"); id != "" {
		ids = append(ids, id)
	}
	var statuses []int
	for _, v := range listParam(p, "StatusList") {
		if n, ok := statusNames[v]; ok {
			statuses = append(statuses, n)
		} else if n, err := strconv.Atoi(v); err == nil {
			statuses = append(statuses, n)
		} else {
			e := errParam("StatusList holds an unknown status %q.", v)
			return nil, &e
		}
	}
	keyword := p.Get("Keyword")

	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*ticket
	for _, t := range s.tickets {
		switch {
		case start != nil && t.created.Before(*start),
			end != nil && t.created.After(*end),
			len(ids) > 0 && !contains(ids, t.id),
			len(statuses) > 0 && !contains(statuses, t.status),
			keyword != "" && !strings.Contains(t.description, keyword):
			continue
		}
		match = append(match, t)
	}
	page := ticketPage{number: number, size: size, total: len(match), items: []map[string]any{}}
	for i := (number - 1) * size; i < len(match) && i < number*size; i++ {
		page.items = append(page.items, match[i].json())
	}
	return page, nil
}

// listTicketNotes serves ListTicketNotes: every message of TicketId, oldest
// first, no paging.
func (s *Server) listTicketNotes(p url.Values) (any, *apiError) {
	id := p.Get("TicketId")
	if id == "" {
		e := errParam("TicketId is required.")
		return nil, &e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[id]
	if t == nil {
		return nil, &errTicketNotFound
	}
	out := make([]map[string]any, len(t.notes))
	for i, n := range t.notes {
		out[i] = n.json()
	}
	return out, nil
}

// replyTicket serves ReplyTicket: TicketId, Content and Encrypt (a boolean)
// are required; FileNameList names uploaded attachments. The reply is the
// customer's and its DialogId is returned as a string.
func (s *Server) replyTicket(p url.Values) (any, *apiError) {
	id, content := p.Get("TicketId"), p.Get("Content")
	switch {
	case id == "":
		e := errParam("TicketId is required.")
		return nil, &e
	case strings.TrimSpace(content) == "":
		e := errParam("Content is required.")
		return nil, &e
	}
	if v := p.Get("Encrypt"); v != "true" && v != "false" {
		e := errParam("Encrypt must be true or false.")
		return nil, &e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byID[id]
	if t == nil {
		return nil, &errTicketNotFound
	}
	n := &note{dialogID: s.nextDialogID(), created: s.now().Truncate(time.Millisecond), typ: 2, status: 2,
		schema: "null", content: content, role: 3, name: s.userName}
	for _, f := range listParam(p, "FileNameList") {
		n.attachments = append(n.attachments, attachment{Name: f,
			URL: "https://gts-workorder.oss-cn-beijing.aliyuncs.com/" + n.created.Format("20060102") + "/" + url.PathEscape(f)})
	}
	t.notes = append(t.notes, n)
	return strconv.FormatInt(n.dialogID, 10), nil
}

// listParam reads an RPC list parameter, sent as Name.1, Name.2, ... or as
// a JSON array or comma-separated list in Name.
func listParam(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+"."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			break
		}
		out = append(out, v[0])
	}
	if v := strings.TrimSpace(p.Get(name)); v != "" {
		var arr []string
		if json.Unmarshal([]byte(v), &arr) == nil {
			return append(out, arr...)
		}
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
