package alibaba

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got, as indented JSON, with testdata/name, or rewrites it
// under -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s differs from the golden file\n got:\n%s\nwant:\n%s", name, b.Bytes(), want)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNotesGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"listticketnotes_2025", "listticketnotes_2024", "listticketnotes_mixed"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := readTestdata(t, name+".json")
			if _, err := parseEnvelope(body); err != nil {
				t.Fatal(err)
			}
			notes, err := parseNotes(body, 7, "0005PYGCW")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".golden.json", notes)
		})
	}
}

// TestSeedExampleNormalised states what the documented example must become,
// independently of the golden file.
func TestSeedExampleNormalised(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"listticketnotes_2025.json", "listticketnotes_2024.json"} {
		notes, err := parseNotes(readTestdata(t, name), 7, "0005PYGCW")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(notes) != 1 {
			t.Fatalf("%s: %d notes, want 1", name, len(notes))
		}
		n := notes[0]
		checks := []struct {
			field string
			got   any
			want  any
		}{
			{"Provider", n.Provider, providers.KindAlibaba},
			{"AccountID", n.AccountID, uint(7)},
			{"TicketID", n.TicketID, "0005PYGCW"},
			{"ID", n.ID, "9999"},
			{"AuthorName", n.AuthorName, "agent"},
			{"AuthorRole", n.AuthorRole, providers.RoleAgent},
			{"Body", n.Body, "ECS backup failed"},
			{"ContentType", n.ContentType, "card"},
			{"CreatedAt", n.CreatedAt, time.Date(2021, 6, 11, 7, 32, 16, 0, time.UTC)},
			{"CreatedAt location", n.CreatedAt.Location(), time.UTC},
			{"Read", n.Read != nil && *n.Read, true},
			{"Attachments", len(n.Attachments), 1},
			{"Attachment name", n.Attachments[0].Name, "003.jpg"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s = %v, want %v", name, c.field, c.got, c.want)
			}
		}
		if !json.Valid(n.Raw) || !bytes.Contains(n.Raw, []byte(`"DialogId": 9999`)) {
			t.Errorf("%s: Raw = %s, want the vendor's note", name, n.Raw)
		}
	}
}

func TestParseTicketsExample(t *testing.T) {
	t.Parallel()
	tickets, total, err := parseTickets(readTestdata(t, "listtickets_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if total != 99 {
		t.Errorf("total = %d, want 99", total)
	}
	golden(t, "listtickets_example.golden.json", tickets)
}

func TestParseReplyExample(t *testing.T) {
	t.Parallel()
	got, err := parseReply(readTestdata(t, "replyticket_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got != "46434030" {
		t.Errorf("dialog id = %q, want 46434030", got)
	}
}

func TestNormaliseNoteFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		raw                 string
		wantBody, wantType  string
		wantRole            providers.Role
		wantRead            *bool
		wantErr             bool
		wantAttachmentCount int
	}{
		{name: "text", raw: `{"Type":2,"Status":1,"DialogId":1,"CreateTime":0,"Dialog":{"Schema":"null","Content":"hi"},"User":{"Role":3}}`,
			wantBody: "hi", wantType: "text", wantRole: providers.RoleCustomer, wantRead: new(false)},
		{name: "card schema", raw: `{"Type":1,"Status":2,"DialogId":"2","Dialog":{"Schema":"{\"title\":\"T\",\"fields\":[{\"label\":\"A\",\"value\":\"1\"}]}","Content":"fallback"},"User":{"Role":2}}`,
			wantBody: "T\nA: 1", wantType: "card", wantRole: providers.RoleAgent, wantRead: new(true)},
		{name: "card null schema", raw: `{"Type":1,"Status":6,"DialogId":3,"Dialog":{"Schema":"null","Content":"plain"},"User":{"Role":7}}`,
			wantBody: "plain", wantType: "card", wantRole: providers.RoleSystem, wantRead: new(true)},
		{name: "card schema as object", raw: `{"Type":1,"DialogId":4,"Dialog":{"Schema":{"title":"Obj"}},"User":{}}`,
			wantBody: "Obj", wantType: "card", wantRole: providers.RoleSystem},
		{name: "unknown type", raw: `{"Type":9,"DialogId":5,"Dialog":{"Content":"x"}}`,
			wantBody: "x", wantType: "type 9", wantRole: providers.RoleSystem},
		{name: "null attachments dropped", raw: `{"Type":2,"DialogId":6,"Dialog":{"Content":"x"},"Attachments":[{"Name":"null","Url":"null"},{"Name":"a.png","Url":"https://x/a.png"}]}`,
			wantBody: "x", wantType: "text", wantRole: providers.RoleSystem, wantAttachmentCount: 1},
		{name: "no id", raw: `{"Type":2,"Dialog":{"Content":"x"}}`, wantErr: true},
		{name: "bad time", raw: `{"Type":2,"DialogId":7,"CreateTime":"soon"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := normaliseNote(json.RawMessage(tt.raw), 1, "T1")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if n.Body != tt.wantBody || n.ContentType != tt.wantType || n.AuthorRole != tt.wantRole {
				t.Errorf("got body %q type %q role %q, want %q %q %q", n.Body, n.ContentType, n.AuthorRole,
					tt.wantBody, tt.wantType, tt.wantRole)
			}
			if (n.Read == nil) != (tt.wantRead == nil) || (n.Read != nil && *n.Read != *tt.wantRead) {
				t.Errorf("Read = %v, want %v", ptrString(n.Read), ptrString(tt.wantRead))
			}
			if len(n.Attachments) != tt.wantAttachmentCount {
				t.Errorf("attachments = %d, want %d", len(n.Attachments), tt.wantAttachmentCount)
			}
		})
	}
}

func ptrString(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}

func TestRenderCard(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, schema, want string }{
		{"null", "null", ""},
		{"empty", "  ", ""},
		{"plain text", "not json at all", "not json at all"},
		{"title and fields", `{"title":"工单已分配 Ticket assigned","fields":[{"label":"Engineer","value":"Li Wei"},{"label":"Severity","value":"null"},{"label":"SLA","value":"4h"}]}`,
			"工单已分配 Ticket assigned\nEngineer: Li Wei\nSLA: 4h"},
		{"link", `{"header":"満足度調査","content":"対応はいかがでしたか？ 😊","link":{"text":"評価する","url":"https://x.example/r"}}`,
			"満足度調査\n対応はいかがでしたか？ 😊\n評価する (https://x.example/r)"},
		{"plain keys keep order", `{"title":"Status changed","from":"dealing","to":"wait_confirm","note":"<script>alert(1)</script>"}`,
			"Status changed\nfrom: dealing\nto: wait_confirm\nnote: <script>alert(1)</script>"},
		{"nested", `{"Title":"T","items":[{"name":"a","value":1},{"name":"b","value":true}],"extra":null}`,
			"T\na: 1\nb: true"},
		{"bare array", `["one","null","two"]`, "one\ntwo"},
		{"trailing garbage is text", `{"title":"x"} tail`, `{"title":"x"} tail`},
		{"too deep is text", strings.Repeat("[", 40) + strings.Repeat("]", 40), strings.Repeat("[", 40) + strings.Repeat("]", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := renderCard(tt.schema); got != tt.want {
				t.Errorf("renderCard(%s)\n got %q\nwant %q", tt.schema, got, tt.want)
			}
		})
	}
}

func TestKindFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{400, "param.illegal", providers.ErrInvalid},
		{400, "illegal.param", providers.ErrInvalid},
		{401, "illegal.auth", providers.ErrUnauthorized},
		{400, "SignatureDoesNotMatch", providers.ErrUnauthorized},
		{400, "SignatureNonceUsed", providers.ErrUnauthorized},
		{404, "InvalidAccessKeyId.NotFound", providers.ErrUnauthorized},
		{400, "InvalidTimeStamp.Expired", providers.ErrUnauthorized},
		{400, "InvalidSecurityToken.Expired", providers.ErrUnauthorized},
		{403, "No permissions", providers.ErrForbidden},
		{403, "Forbidden.RAM", providers.ErrForbidden},
		{404, "ticket.not.exist", providers.ErrNotFound},
		{404, "", providers.ErrNotFound},
		{429, "Throttling.User", providers.ErrRateLimited},
		{400, "Throttling", providers.ErrRateLimited},
		{429, "", providers.ErrRateLimited},
		{500, "System.error", providers.ErrUnavailable},
		{503, "ServiceUnavailable", providers.ErrUnavailable},
		{400, "MissingTicketId", providers.ErrInvalid},
		{200, "whatever", providers.ErrInvalid},
	}
	for _, tt := range tests {
		if got := kindFor(tt.status, tt.code); got != tt.want {
			t.Errorf("kindFor(%d, %q) = %v, want %v", tt.status, tt.code, got, tt.want)
		}
	}
}

// AccessDeniedDetail comes as an escaped JSON string (the API page's
// example) or as an object (real 403s); either way the refusal keeps its
// code, message and request id, and names the denied action.
func TestAccessDeniedDetailStringOrObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, requestID, detail string
	}{
		{"error_403_object.json", "5D3F1E2A-7C4B-4E8A-9B1D-2A6C8E0F4B37", "action ticket:ReplyTicket, NoPermissionType ImplicitDeny"},
		{"error_403_string.json", "AC0AB2EC-AFBC-44BA-AE77-132A5A1EC0AD", "action ram:ListTicketNotes, NoPermissionType ImplicitDeny"},
	}
	for _, tt := range tests {
		env, err := parseEnvelope(readTestdata(t, tt.file))
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		pe := providers.AsError(vendorError("add note", 403, env, env.RequestID))
		if pe == nil || !errors.Is(pe, providers.ErrForbidden) {
			t.Fatalf("%s: error %v, want ErrForbidden", tt.file, pe)
		}
		if pe.Code != "No permissions" || pe.Message != "No permissions to access." || pe.RequestID != tt.requestID || pe.Detail != tt.detail {
			t.Errorf("%s: code %q message %q request id %q detail %q; want No permissions, No permissions to access., %s, %q",
				tt.file, pe.Code, pe.Message, pe.RequestID, pe.Detail, tt.requestID, tt.detail)
		}
	}
}

func TestAccessDeniedDetailOddShapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{`""`, ""},
		{`null`, ""},
		{`"not json"`, ""},
		{`{}`, ""},
		{`{"AuthAction":"ticket:ListTickets"}`, "action ticket:ListTickets"},
		{`{"NoPermissionType":"ExplicitDeny"}`, "NoPermissionType ExplicitDeny"},
		{`{"AuthAction":"a\u0000b\nc"}`, "action abc"},
		{`[1,2]`, ""},
	}
	for _, tt := range tests {
		env, err := parseEnvelope([]byte(`{"Success":false,"Code":"No permissions","AccessDeniedDetail":` + tt.raw + `}`))
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if got := providers.AsError(vendorError("op", 403, env, "")).Detail; got != tt.want {
			t.Errorf("%s: detail %q, want %q", tt.raw, got, tt.want)
		}
	}
}
