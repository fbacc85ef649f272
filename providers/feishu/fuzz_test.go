package feishu

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

func addFixtures(f *testing.F, names ...string) {
	f.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseMessages feeds list-messages bodies through parsing and
// normalisation; it must never panic.
func FuzzParseMessages(f *testing.F) {
	addFixtures(f, "seed_messages.json", "message_kinds.json")
	f.Add([]byte(`{"code":0,"data":{"messages":[{"content":"{\"msg_type\":\"post\",\"content\":\"{\\\"zh_cn\\\":1}\"}","message_type":"post"}]}}`))
	f.Add([]byte(`{"code":0,"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, _, err := parseMessagesResponse(body)
		if err != nil {
			return
		}
		for _, m := range msgs {
			n := normalise(1, m, "t", goldenPeople)
			if utf8.ValidString(string(m.Content)) && !utf8.ValidString(n.Body) {
				t.Errorf("valid content %q rendered as invalid UTF-8 %q", m.Content, n.Body)
			}
		}
	})
}

// FuzzParseTickets feeds list-tickets bodies through parsing and
// normalisation; it must never panic.
func FuzzParseTickets(f *testing.F) {
	addFixtures(f, "tickets.json", "seed_messages.json")
	f.Add([]byte(`{"code":0,"data":{"total":1,"tickets":[{"ticket_id":1,"guest":null,"created_at":"x"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ts, _, err := parseTicketsResponse(body)
		if err != nil {
			return
		}
		for _, tk := range ts {
			toTicket(tk)
			tk.people()
		}
	})
}

// FuzzParseToken feeds token endpoint bodies to the parser; it must never
// panic.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"code":0,"msg":"ok","tenant_access_token":"t-7f1bcd13fc57d46bac21793a18e560","expire":7200}`))
	f.Add([]byte(`{"code":10014,"msg":"app secret invalid"}`))
	f.Add([]byte(`{"expire":"7200"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := parseToken(body)
		if err == nil {
			tokenLifetime(time.Duration(tr.Expire) * time.Second)
		}
	})
}

// FuzzRenderContent renders arbitrary content strings of every message
// type; it must never panic.
func FuzzRenderContent(f *testing.F) {
	for _, typ := range []string{"text", "post", "image", "file", "media", "interactive"} {
		f.Add(typ, `{"content":"进入人工服务。 @李宁  为你提供服务，开始聊起来吧~","msg_type":"text"}`)
		f.Add(typ, `{"zh_cn":{"title":"t","content":[[{"tag":"a","text":"x","href":"https://example.com"}]]}}`)
		f.Add(typ, `{"image_key":"img_v2"}`)
	}
	f.Fuzz(func(t *testing.T, msgType, content string) {
		renderContent(msgType, content)
	})
}
