package feishusim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

var epoch = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	sim   *Server
	srv   *httptest.Server
	clock *clock
	acct  providers.Account
}

func start(t *testing.T, opts Options) *fixture {
	t.Helper()
	clk := &clock{t: epoch}
	opts.Now = clk.Now
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, srv: srv, clock: clk, acct: sim.Account(srv.URL)}
}

// answer is a decoded simulator response.
type answer struct {
	status int
	logID  string
	header http.Header
	code   int
	msg    string
	data   json.RawMessage
	raw    []byte
}

func (f *fixture) do(t *testing.T, method, path string, header http.Header, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, logID: resp.Header.Get("X-Tt-Logid"), header: resp.Header, raw: raw}
	var env struct {
		Code int             `json:"code"`
		Msg  string          `json:"msg"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) == nil {
		a.code, a.msg, a.data = env.Code, env.Msg, env.Data
	}
	if a.logID == "" {
		t.Errorf("%s %s: no X-Tt-Logid", method, path)
	}
	return a
}

// token fetches a tenant token with the fixture's credentials.
func (f *fixture) token(t *testing.T) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"app_id": f.acct.Settings["app_id"], "app_secret": f.acct.Secrets["app_secret"]})
	a := f.do(t, http.MethodPost, tokenPath, nil, string(body))
	var tr struct {
		Token  string `json:"tenant_access_token"`
		Expire int    `json:"expire"`
	}
	if err := json.Unmarshal(a.raw, &tr); err != nil || a.code != 0 || tr.Token == "" {
		t.Fatalf("token: %d %s", a.status, a.raw)
	}
	return tr.Token
}

func (f *fixture) headers(token string) http.Header {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	h.Set("X-Lark-Helpdesk-Authorization", base64.StdEncoding.EncodeToString(
		[]byte(f.acct.Settings["helpdesk_id"]+":"+f.acct.Secrets["helpdesk_token"])))
	return h
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	f := start(t, Options{Seed: 1})
	good := map[string]string{"app_id": f.acct.Settings["app_id"], "app_secret": f.acct.Secrets["app_secret"]}
	tests := []struct {
		name   string
		body   map[string]string
		status int
		code   int
	}{
		{"accepted", good, 200, 0},
		{"wrong secret", map[string]string{"app_id": good["app_id"], "app_secret": "nope"}, 400, codeSecretInvalid},
		{"unknown app", map[string]string{"app_id": "cli_x", "app_secret": good["app_secret"]}, 400, codeInvalidParam},
		{"no body", nil, 400, codeInvalidParam},
	}
	for _, tt := range tests {
		body := ""
		if tt.body != nil {
			b, _ := json.Marshal(tt.body)
			body = string(b)
		}
		a := f.do(t, http.MethodPost, tokenPath, nil, body)
		if a.status != tt.status || a.code != tt.code {
			t.Errorf("%s: %d code %d, want %d code %d", tt.name, a.status, a.code, tt.status, tt.code)
		}
	}
	a := f.do(t, http.MethodPost, tokenPath, nil, `{"app_id":"`+good["app_id"]+`","app_secret":"`+good["app_secret"]+`"}`)
	var tr struct {
		Expire int `json:"expire"`
	}
	json.Unmarshal(a.raw, &tr)
	if tr.Expire != 7200 {
		t.Errorf("expire = %d, want 7200", tr.Expire)
	}
}

func TestHelpdeskCallsAreChecked(t *testing.T) {
	t.Parallel()
	f := start(t, Options{Seed: 2})
	tok := f.token(t)
	ok := f.headers(tok)
	ticketID := f.sim.TicketIDs()[0]
	msgs := ticketsPath + "/" + ticketID + "/messages"
	with := func(edit func(h http.Header)) http.Header {
		h := ok.Clone()
		edit(h)
		return h
	}
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		status, code       int
	}{
		{"list messages", "GET", msgs + "?page=1&page_size=200", ok, "", 200, 0},
		{"list tickets", "GET", ticketsPath + "?page=1&page_size=200", ok, "", 200, 0},
		{"get ticket", "GET", ticketsPath + "/" + ticketID, ok, "", 200, 0},
		{"no bearer", "GET", msgs, with(func(h http.Header) { h.Del("Authorization") }), "", 400, codeTokenMissing},
		{"unknown token", "GET", msgs, with(func(h http.Header) { h.Set("Authorization", "Bearer t-forged") }), "", 400, codeTokenInvalid},
		{"no helpdesk header", "GET", msgs, with(func(h http.Header) { h.Del("X-Lark-Helpdesk-Authorization") }), "", 401, codeUnauthorized},
		{"helpdesk header not base64", "GET", msgs, with(func(h http.Header) {
			h.Set("X-Lark-Helpdesk-Authorization", f.acct.Settings["helpdesk_id"]+":"+f.acct.Secrets["helpdesk_token"])
		}), "", 401, codeUnauthorized},
		{"wrong helpdesk token", "GET", ticketsPath, with(func(h http.Header) {
			h.Set("X-Lark-Helpdesk-Authorization", base64.StdEncoding.EncodeToString([]byte(f.acct.Settings["helpdesk_id"]+":x")))
		}), "", 401, codeUnauthorized},
		{"page_size over 200", "GET", msgs + "?page_size=201", ok, "", 400, codeBadRequest},
		{"page 0", "GET", msgs + "?page=0", ok, "", 400, codeBadRequest},
		{"page not a number", "GET", msgs + "?page=one", ok, "", 400, codeBadRequest},
		{"time_start in milliseconds", "GET", msgs + "?time_start=1717200000000", ok, "", 400, codeBadRequest},
		{"time_start after time_end", "GET", msgs + "?time_start=20&time_end=10", ok, "", 400, codeBadRequest},
		{"tickets page_size over 200", "GET", ticketsPath + "?page_size=500", ok, "", 400, codeBadRequest},
		{"create_time_start in seconds", "GET", ticketsPath + "?create_time_start=1717200000", ok, "", 400, codeBadRequest},
		{"unknown ticket", "GET", ticketsPath + "/1/messages", ok, "", 400, codeBadRequest},
		{"get unknown ticket", "GET", ticketsPath + "/1", ok, "", 400, codeBadRequest},
		{"send text", "POST", msgs, ok, `{"msg_type":"text","content":"{\"content\":\"hi\"}"}`, 200, 0},
		{"send content as object", "POST", msgs, ok, `{"msg_type":"text","content":{"content":"hi"}}`, 400, codeBadRequest},
		{"send text without its key", "POST", msgs, ok, `{"msg_type":"text","content":"{\"body\":\"hi\"}"}`, 400, codeBadRequest},
		{"send image", "POST", msgs, ok, `{"msg_type":"image","content":"{\"image_key\":\"img\"}"}`, 400, codeBadRequest},
		{"send to unknown ticket", "POST", ticketsPath + "/1/messages", ok, `{"msg_type":"text","content":"{\"content\":\"hi\"}"}`, 400, codeBadRequest},
		{"unknown path", "GET", "/open-apis/helpdesk/v1/agents", ok, "", 404, 404},
	}
	for _, tt := range tests {
		a := f.do(t, tt.method, tt.path, tt.header, tt.body)
		if a.status != tt.status || a.code != tt.code {
			t.Errorf("%s: %d code %d (%s), want %d code %d", tt.name, a.status, a.code, a.msg, tt.status, tt.code)
		}
	}

	// A token past its lifetime is refused like a forged one.
	f.sim.SetTokenExpire(60 * time.Second)
	short := f.token(t)
	f.clock.Advance(61 * time.Second)
	if a := f.do(t, "GET", msgs, f.headers(short), ""); a.status != 400 || a.code != codeTokenInvalid {
		t.Errorf("expired token: %d code %d, want 400 code %d", a.status, a.code, codeTokenInvalid)
	}
}

func TestMessagesFilterAndPage(t *testing.T) {
	t.Parallel()
	f := start(t, Options{Seed: 3, Tickets: 1, Notes: 250, Days: 10})
	h := f.headers(f.token(t))
	all := f.sim.Messages()
	path := ticketsPath + "/" + all[0].TicketID + "/messages"
	type page struct {
		Messages []message `json:"messages"`
		Total    int       `json:"total"`
	}
	read := func(query string) page {
		t.Helper()
		a := f.do(t, "GET", path+"?"+query, h, "")
		var p page
		if err := json.Unmarshal(a.data, &p); err != nil || a.code != 0 {
			t.Fatalf("%s: %d %s", query, a.status, a.raw)
		}
		return p
	}

	p1, p2 := read("page=1&page_size=200"), read("page=2&page_size=200")
	if p1.Total != 250 || len(p1.Messages) != 200 || len(p2.Messages) != 50 {
		t.Errorf("pages: total %d, %d + %d messages; want 250, 200 + 50", p1.Total, len(p1.Messages), len(p2.Messages))
	}
	if d := read("page_size=5"); len(d.Messages) != 5 {
		t.Errorf("page_size 5 gave %d", len(d.Messages))
	}
	if d := read(""); len(d.Messages) != 20 {
		t.Errorf("default page size gave %d, want 20", len(d.Messages))
	}
	if d := read("page=9&page_size=200"); len(d.Messages) != 0 || d.Messages == nil {
		t.Errorf("page past the end: %v, want an empty list", d.Messages)
	}

	// time_start and time_end are whole seconds, both inclusive.
	from, to := all[len(all)/2].CreatedAt, all[len(all)/4].CreatedAt
	d := read("page_size=200&time_start=" + strconv.FormatInt(from.Unix(), 10) + "&time_end=" + strconv.FormatInt(to.Unix(), 10))
	want := 0
	for _, m := range all {
		if s := m.CreatedAt.Unix(); s >= from.Unix() && s <= to.Unix() {
			want++
		}
	}
	if d.Total != want || len(d.Messages) != want {
		t.Errorf("time filter: total %d, %d messages; want %d", d.Total, len(d.Messages), want)
	}
	for _, m := range d.Messages {
		if s := m.CreatedAt / 1000; s < from.Unix() || s > to.Unix() {
			t.Errorf("message at %d s outside [%d, %d]", s, from.Unix(), to.Unix())
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	f := start(t, Options{Seed: 4})
	h := f.headers(f.token(t))
	tests := []struct {
		fault  simfault.Fault
		status int
		code   int
	}{
		{simfault.ExpiredToken, 400, codeTokenInvalid},
		{simfault.RateLimit, 429, codeRateLimited},
		{simfault.ServerError, 500, codeInternal},
	}
	for _, tt := range tests {
		f.sim.Faults.Arm(tt.fault, 1)
		a := f.do(t, "GET", ticketsPath, h, "")
		if a.status != tt.status || a.code != tt.code {
			t.Errorf("fault %d: %d code %d, want %d code %d", tt.fault, a.status, a.code, tt.status, tt.code)
		}
		if tt.fault == simfault.RateLimit && a.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", a.header.Get("Retry-After"))
		}
		if b := f.do(t, "GET", ticketsPath, h, ""); b.status != 200 {
			t.Errorf("fault %d fired twice: %d", tt.fault, b.status)
		}
	}

	f.sim.Faults.Arm(simfault.Malformed, 1)
	if a := f.do(t, "GET", ticketsPath, h, ""); a.status != 200 || json.Valid(a.raw) {
		t.Errorf("malformed: %d %s, want 200 with broken JSON", a.status, a.raw)
	}

	f.sim.Faults.Arm(simfault.Timeout, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+ticketsPath, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("timeout fault answered")
	}
}

func TestSendIsStored(t *testing.T) {
	t.Parallel()
	f := start(t, Options{Seed: 5})
	h := f.headers(f.token(t))
	id := f.sim.TicketIDs()[2]
	before := f.sim.NoteCount()
	a := f.do(t, "POST", ticketsPath+"/"+id+"/messages", h, `{"msg_type":"text","content":"{\"content\":\"hello 你好\",\"msg_type\":\"text\"}"}`)
	var data struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal(a.data, &data); err != nil || data.MessageID == "" {
		t.Fatalf("send: %d %s", a.status, a.raw)
	}
	if got := f.sim.NoteCount(); got != before+1 {
		t.Errorf("NoteCount = %d, want %d", got, before+1)
	}
	latest := f.sim.Messages()[0]
	if latest.MessageID != data.MessageID || latest.ID == data.MessageID || latest.TicketID != id ||
		latest.Role != providers.RoleSystem || !latest.CreatedAt.Equal(epoch) {
		t.Errorf("stored %+v", latest)
	}
	if f.sim.MessageWrites() != 1 {
		t.Errorf("MessageWrites = %d, want 1", f.sim.MessageWrites())
	}
}

func TestDataCoversTheVendor(t *testing.T) {
	t.Parallel()
	sim := New(Options{Seed: 6, Now: func() time.Time { return epoch }})
	msgs := sim.Messages()
	if len(msgs) != 150 || len(sim.TicketIDs()) != 40 {
		t.Fatalf("%d messages in %d tickets, want the defaults 150 in 40", len(msgs), len(sim.TicketIDs()))
	}
	types, roles := map[string]bool{}, map[providers.Role]bool{}
	var text strings.Builder
	for _, m := range msgs {
		types[m.Type] = true
		roles[m.Role] = true
		var v any
		if err := json.Unmarshal([]byte(m.Content), &v); err != nil {
			t.Errorf("content %q is not JSON: %v", m.Content, err)
		}
		collect(v, &text)
		if m.CreatedAt.After(epoch) || m.CreatedAt.Before(epoch.Add(-90*24*time.Hour)) {
			t.Errorf("message at %v outside the last 90 days", m.CreatedAt)
		}
	}
	for _, typ := range []string{"text", "post", "image", "file", "media"} {
		if !types[typ] {
			t.Errorf("no %s message", typ)
		}
	}
	for _, r := range []providers.Role{providers.RoleCustomer, providers.RoleAgent, providers.RoleSystem} {
		if !roles[r] {
			t.Errorf("no %s message", r)
		}
	}
	long := false
	for _, line := range strings.Split(text.String(), "\n") {
		long = long || utf8.RuneCountInString(line) > 1000
	}
	if !long {
		t.Error("no text over 1000 characters")
	}
	for _, want := range []string{"报销单", "請求書", "🙏", "<script>alert(1)</script>", `" onmouseover="alert(1)`,
		"<b>bold</b>", "invoice-2024-03.pdf", "https://example.com/admin"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("data has no %q", want)
		}
	}

	again := New(Options{Seed: 6, Now: func() time.Time { return epoch }})
	if !reflect.DeepEqual(again.Messages(), msgs) || again.Account("x").Secrets["app_secret"] != sim.Account("x").Secrets["app_secret"] {
		t.Error("same seed gave different data")
	}
	if other := New(Options{Seed: 7, Now: func() time.Time { return epoch }}); reflect.DeepEqual(other.Messages(), msgs) {
		t.Error("different seeds gave the same data")
	}
}

// collect writes every string in v, one a line, decoding strings that
// hold JSON themselves.
func collect(v any, out *strings.Builder) {
	switch x := v.(type) {
	case string:
		out.WriteString(x + "\n")
		var inner any
		if json.Unmarshal([]byte(x), &inner) == nil {
			collect(inner, out)
		}
	case map[string]any:
		for _, e := range x {
			collect(e, out)
		}
	case []any:
		for _, e := range x {
			collect(e, out)
		}
	}
}

// Every message has a ticket-message id and a different chat message_id,
// as the list page's example shows, and the bot speaks as a system sender.
func TestMessagesHaveTwoIDsAndTheBotIsSystem(t *testing.T) {
	t.Parallel()
	sim := New(Options{Seed: 8, Now: func() time.Time { return epoch }})
	seen := map[string]bool{}
	bot := 0
	for _, m := range sim.Messages() {
		if m.ID == "" || m.MessageID == "" || m.ID == m.MessageID || seen[m.ID] || seen[m.MessageID] {
			t.Fatalf("message ids %q / %q: want two distinct, unused ids", m.ID, m.MessageID)
		}
		seen[m.ID], seen[m.MessageID] = true, true
		if strings.Contains(m.Content, "helpdesk bot") || strings.Contains(m.Content, "服务台机器人") {
			bot++
			if m.Role != providers.RoleSystem {
				t.Errorf("bot message %s has role %s, want system", m.ID, m.Role)
			}
		}
	}
	if bot == 0 {
		t.Error("no bot messages seeded")
	}
}
