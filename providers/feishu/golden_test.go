package feishu

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenPeople is the ticket the fixtures' messages belong to: ou_guest
// opened it, ou_agent works on it.
var goldenPeople = people{guest: "ou_guest", agents: map[string]bool{"ou_agent": true}}

// The list-messages example of the seed page, and fixtures for every
// message type and content form, parse into the expected notes.
func TestMessagesGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"seed_messages", "message_kinds"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			msgs, total, err := parseMessagesResponse(body)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if total == 0 || len(msgs) == 0 {
				t.Fatalf("total %d, %d messages: want some", total, len(msgs))
			}
			notes := make([]providers.Note, len(msgs))
			for i, m := range msgs {
				notes[i] = normalise(7, m, "6948728206392295444", goldenPeople)
			}
			compareGolden(t, name+".golden.json", notes)
		})
	}
}

func TestTicketsGolden(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "tickets.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts, total, err := parseTicketsResponse(body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if total != 2 || len(ts) != 2 {
		t.Fatalf("total %d, %d tickets: want 2, 2", total, len(ts))
	}
	out := make([]providers.Ticket, len(ts))
	for i, tk := range ts {
		out[i] = toTicket(tk)
	}
	compareGolden(t, "tickets.golden.json", out)
}

// compareGolden compares v, as indented JSON, with testdata/name; -update
// rewrites the file.
func compareGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// The seed page's example message: the note id is its ticket-message id
// (工单消息ID), the chat message_id (chat消息ID) is kept beside it.
func TestSeedMessageIDs(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "seed_messages.json"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := parseMessagesResponse(body)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("parse: %d messages, %v", len(msgs), err)
	}
	n := normalise(7, msgs[0], "T1", goldenPeople)
	if n.ID != "6948728206392295444" || n.ChatMessageID != "6949088236610273307" {
		t.Errorf("id %q, chat message id %q; want 6948728206392295444, 6949088236610273307", n.ID, n.ChatMessageID)
	}
}

// A sender who is neither the ticket's guest nor one of its agents, like
// the helpdesk bot 服务台机器人 of the fixtures, is a system sender.
func TestBotSenderIsSystem(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "message_kinds.json"))
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := parseMessagesResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	bots := 0
	for _, m := range msgs {
		if m.UserID != "ou_bot" {
			continue
		}
		bots++
		if n := normalise(7, m, "T1", goldenPeople); n.AuthorRole != providers.RoleSystem {
			t.Errorf("bot message %s by %s: role %s, want system", m.ID, m.UserName, n.AuthorRole)
		}
	}
	if bots == 0 {
		t.Fatal("fixture has no bot message")
	}
}
