package alibaba

import (
	"os"
	"path/filepath"
	"testing"
)

// addSeeds seeds f with the JSON fixtures under testdata/.
func addSeeds(f *testing.F, names ...string) {
	f.Helper()
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"Data":null}`))
	f.Add([]byte(`{"Data":[{"DialogId":"1","Type":"1","Dialog":{"Schema":[1,{"a":null}]}}]}`))
}

func FuzzParseNotes(f *testing.F) {
	addSeeds(f, "listticketnotes_2025.json", "listticketnotes_2024.json", "listticketnotes_mixed.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		notes, err := parseNotes(body, 1, "T")
		if err != nil {
			return
		}
		for _, n := range notes {
			if n.ID == "" || n.TicketID != "T" {
				t.Fatalf("note without id or ticket: %+v", n)
			}
		}
	})
}

func FuzzParseTickets(f *testing.F) {
	addSeeds(f, "listtickets_example.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		tickets, total, err := parseTickets(body)
		if err != nil {
			return
		}
		if total < 0 {
			t.Fatalf("negative total %d", total)
		}
		for _, tk := range tickets {
			if tk.ID == "" {
				t.Fatal("ticket without id")
			}
		}
	})
}

func FuzzParseReply(f *testing.F) {
	addSeeds(f, "replyticket_example.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := parseReply(body)
		if err == nil && id == "" {
			t.Fatal("empty id without error")
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	addSeeds(f, "listticketnotes_2025.json", "replyticket_example.json")
	f.Add([]byte(`{"RequestId":"X","HostId":"h","Code":"SignatureDoesNotMatch","Message":"m"}`))
	f.Add([]byte(`{"RequestId":"X","Success":false,"Code":"No permissions","AccessDeniedDetail":"{}"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := parseEnvelope(body)
		if err != nil {
			return
		}
		if !env.ok() {
			if vendorError("op", 400, env, env.RequestID) == nil {
				t.Fatal("no error for a refusal")
			}
		}
	})
}

func FuzzRenderCard(f *testing.F) {
	f.Add(`{"title":"工单已分配","fields":[{"label":"Engineer","value":"Li Wei"}]}`)
	f.Add(`{"header":"満足度調査","link":{"text":"評価する","url":"https://x.example/r"}}`)
	f.Add(`null`)
	f.Add(`[[[[[]]]]]`)
	f.Fuzz(func(t *testing.T, schema string) {
		_ = renderCard(schema)
	})
}
