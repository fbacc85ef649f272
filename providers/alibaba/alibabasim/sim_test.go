package alibabasim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// TestSpecSignaturePublishedVector checks the simulator's verifier against
// the DescribeRegions example (AccessKeySecret "testsecret") printed in
// Alibaba Cloud's "Request signatures" pages for RPC APIs.
func TestSpecSignaturePublishedVector(t *testing.T) {
	t.Parallel()
	p := url.Values{
		"AccessKeyId":      {"testid"},
		"Action":           {"DescribeRegions"},
		"Format":           {"XML"},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {"2016-02-23T12:46:24Z"},
		"Version":          {"2014-05-26"},
		"Signature":        {"ignored"},
	}
	wantSTS := "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
		"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
		"%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
	sts := specStringToSign("GET", p)
	if sts != wantSTS {
		t.Errorf("string to sign\n got %s\nwant %s", sts, wantSTS)
	}
	if got, want := specSignature("testsecret", sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestSpecEncode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"aZ09-_.~", "aZ09-_.~"},
		{"a b+c*d", "a%20b%2Bc%2Ad"},
		{"/:", "%2F%3A"},
		{"工", "%E5%B7%A5"},
	}
	for _, tt := range tests {
		if got := specEncode(tt.in); got != tt.want {
			t.Errorf("specEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSeededData(t *testing.T) {
	t.Parallel()
	a := New(Options{Seed: 1, Now: fixedNow})
	b := New(Options{Seed: 1, Now: fixedNow})
	c := New(Options{Seed: 2, Now: fixedNow})
	if got, want := strings.Join(a.TicketIDs(), ","), strings.Join(b.TicketIDs(), ","); got != want {
		t.Error("same seed gave different tickets")
	}
	if strings.Join(a.TicketIDs(), ",") == strings.Join(c.TicketIDs(), ",") {
		t.Error("different seeds gave the same tickets")
	}
	if n := len(a.TicketIDs()); n != 40 {
		t.Errorf("%d tickets, want the default 40", n)
	}
	if n := a.NoteCount(); n != 150 {
		t.Errorf("%d notes, want the default 150", n)
	}

	seen := map[string]bool{}
	for _, tk := range a.tickets {
		if tk.created.After(now) || tk.created.Before(now.Add(-90*24*time.Hour)) {
			t.Errorf("ticket %s created %v, outside the 90 days before now", tk.id, tk.created)
		}
		for _, n := range tk.notes {
			if n.created.Before(tk.created) || n.created.After(now) {
				t.Errorf("note %d at %v outside its ticket's life", n.dialogID, n.created)
			}
			text := n.content + n.schema
			seen["type"+strconv.Itoa(n.typ)] = true
			seen["role"+strconv.Itoa(n.role)] = true
			seen["status"+strconv.Itoa(n.status)] = true
			if len(n.attachments) > 0 {
				seen["attachment"] = true
			}
			if len([]rune(text)) > 1000 {
				seen["long"] = true
			}
			for _, marker := range []string{"<script>", `" onmouseover="`, "<b>"} {
				if strings.Contains(text, marker) {
					seen[marker] = true
				}
			}
			for _, r := range text {
				switch {
				case unicode.Is(unicode.Han, r):
					seen["chinese"] = true
				case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
					seen["japanese"] = true
				case r >= 0x1F300:
					seen["emoji"] = true
				case r < 128 && unicode.IsLetter(r):
					seen["latin"] = true
				}
			}
		}
	}
	for _, want := range []string{"type1", "type2", "role1", "role2", "role3", "status1", "status2", "status6",
		"attachment", "long", "<script>", `" onmouseover="`, "<b>", "chinese", "japanese", "emoji", "latin"} {
		if !seen[want] {
			t.Errorf("seeded data has no %s", want)
		}
	}
}

// call signs params for the simulator's account with its own signer and
// sends them by POST.
func call(t *testing.T, srv *httptest.Server, s *Server, params url.Values, ts time.Time, edit func(url.Values)) (int, http.Header, []byte) {
	t.Helper()
	acct := s.Account(srv.URL)
	params.Set("Version", apiVersion)
	params.Set("Format", "JSON")
	params.Set("AccessKeyId", acct.Settings["access_key_id"])
	params.Set("SignatureMethod", "HMAC-SHA1")
	params.Set("SignatureVersion", "1.0")
	params.Set("SignatureNonce", strconv.FormatInt(time.Now().UnixNano(), 36)+params.Get("Action"))
	params.Set("Timestamp", ts.UTC().Format(timestampLayout))
	if tok := acct.Secrets["security_token"]; tok != "" {
		params.Set("SecurityToken", tok)
	}
	if edit != nil {
		edit(params)
	}
	params.Set("Signature", specSignature(acct.Secrets["access_key_secret"], specStringToSign("POST", params)))
	resp, err := srv.Client().PostForm(srv.URL+"/", params)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, []byte(b.String())
}

func code(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Code json.RawMessage
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return strings.Trim(string(v.Code), `"`)
}

func TestGatewayChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ts         time.Time
		edit       func(url.Values)
		setup      func(*Server)
		wantStatus int
		wantCode   string
	}{
		{name: "fresh", ts: now, wantStatus: 200, wantCode: "0"},
		{name: "14 minutes old", ts: now.Add(-14 * time.Minute), wantStatus: 200, wantCode: "0"},
		{name: "16 minutes old", ts: now.Add(-16 * time.Minute), wantStatus: 400, wantCode: "InvalidTimeStamp.Expired"},
		{name: "16 minutes ahead", ts: now.Add(16 * time.Minute), wantStatus: 400, wantCode: "InvalidTimeStamp.Expired"},
		{name: "wrong version", ts: now, edit: func(p url.Values) { p.Set("Version", "2020-03-26") },
			wantStatus: 400, wantCode: "InvalidVersion"},
		{name: "unknown key", ts: now, edit: func(p url.Values) { p.Set("AccessKeyId", "LTAIx") },
			wantStatus: 404, wantCode: "InvalidAccessKeyId.NotFound"},
		{name: "sha256 method", ts: now, edit: func(p url.Values) { p.Set("SignatureMethod", "HMAC-SHA256") },
			wantStatus: 400, wantCode: "InvalidSignatureMethod"},
		{name: "token without STS", ts: now, edit: func(p url.Values) { p.Set("SecurityToken", "x") },
			wantStatus: 400, wantCode: "InvalidSecurityToken.Malformed"},
		{name: "wrong STS token", ts: now, setup: func(s *Server) { s.RequireSecurityToken("good") },
			edit: func(p url.Values) { p.Set("SecurityToken", "bad") }, wantStatus: 400, wantCode: "InvalidSecurityToken.MismatchWithAccessKey"},
		{name: "right STS token", ts: now, setup: func(s *Server) { s.RequireSecurityToken("good") },
			wantStatus: 200, wantCode: "0"},
		{name: "XML asked", ts: now, edit: func(p url.Values) { p.Set("Format", "XML") },
			wantStatus: 400, wantCode: "InvalidParameter.Format"},
		{name: "expired token fault", ts: now, setup: func(s *Server) { s.Faults.Arm(simfault.ExpiredToken, 1) },
			wantStatus: 400, wantCode: "InvalidSecurityToken.Expired"},
		{name: "server error fault", ts: now, setup: func(s *Server) { s.Faults.Arm(simfault.ServerError, 1) },
			wantStatus: 500, wantCode: "System.error"},
		{name: "rate limit fault", ts: now, setup: func(s *Server) { s.Faults.Arm(simfault.RateLimit, 1) },
			wantStatus: 429, wantCode: "Throttling.User"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{Seed: 3, Now: fixedNow})
			if tt.setup != nil {
				tt.setup(s)
			}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			status, header, body := call(t, srv, s, url.Values{"Action": {"ListTicketNotes"}, "TicketId": {s.TicketIDs()[0]}}, tt.ts, tt.edit)
			if got := code(t, body); status != tt.wantStatus || got != tt.wantCode {
				t.Errorf("got %d %q, want %d %q: %s", status, got, tt.wantStatus, tt.wantCode, body)
			}
			if header.Get("x-acs-request-id") == "" {
				t.Error("no request id header")
			}
			if status == 429 && header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q, want 1", header.Get("Retry-After"))
			}
		})
	}
}

func TestMalformedFault(t *testing.T) {
	t.Parallel()
	s := New(Options{Seed: 4, Now: fixedNow})
	s.Faults.Arm(simfault.Malformed, 1)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	status, _, body := call(t, srv, s, url.Values{"Action": {"ListTicketNotes"}, "TicketId": {s.TicketIDs()[0]}}, now, nil)
	if status != 200 || json.Valid(body) {
		t.Errorf("got %d valid=%v, want 200 with broken JSON", status, json.Valid(body))
	}
}

func TestListTicketsFilters(t *testing.T) {
	t.Parallel()
	s := New(Options{Seed: 5, Now: fixedNow})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	mid := s.tickets[20].created
	tests := []struct {
		name   string
		params url.Values
		keep   func(*ticket) bool
	}{
		{"all", url.Values{}, func(*ticket) bool { return true }},
		{"from", url.Values{"StartDate": {strconv.FormatInt(mid.UnixMilli(), 10)}},
			func(tk *ticket) bool { return !tk.created.Before(mid) }},
		{"to, inclusive", url.Values{"EndDate": {strconv.FormatInt(mid.UnixMilli(), 10)}},
			func(tk *ticket) bool { return !tk.created.After(mid) }},
		{"status list", url.Values{"StatusList.1": {"confirmed"}, "StatusList.2": {"1"}},
			func(tk *ticket) bool { return tk.status == 6 || tk.status == 1 }},
		{"ticket id", url.Values{"TicketId": {s.tickets[3].id}},
			func(tk *ticket) bool { return tk.id == s.tickets[3].id }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.params
			p.Set("Action", "ListTickets")
			p.Set("PageNumber", "1")
			p.Set("PageSize", "100")
			status, _, body := call(t, srv, s, p, now, nil)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			var resp struct {
				TotalCount int
				Data       []struct{ TicketId string }
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, tk := range s.tickets {
				if tt.keep(tk) {
					want = append(want, tk.id)
				}
			}
			var got []string
			for _, d := range resp.Data {
				got = append(got, d.TicketId)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") || resp.TotalCount != len(want) {
				t.Errorf("got %d of total %d, want %d", len(got), resp.TotalCount, len(want))
			}
		})
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	s := New(Options{Seed: 6})
	a := s.Account("http://127.0.0.1:1")
	if a.Kind != providers.KindAlibaba || a.Name != "Alibaba Cloud sandbox" || a.Endpoint != "http://127.0.0.1:1" {
		t.Errorf("account = %+v", a)
	}
	if a.Settings["access_key_id"] == "" || a.Secrets["access_key_secret"] == "" || a.Settings["uid"] == "" {
		t.Errorf("account lacks credentials: %+v", a)
	}
	if _, ok := a.Secrets["security_token"]; ok {
		t.Error("token in a plain AccessKey account")
	}
	s.RequireSecurityToken("tok")
	if got := s.Account("").Secrets["security_token"]; got != "tok" {
		t.Errorf("security_token = %q after RequireSecurityToken", got)
	}
}
