package sendbird

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// seedFuzz adds the testdata fixtures and a few edge cases to f's corpus.
func seedFuzz(f *testing.F, fixtures ...string) {
	f.Helper()
	for _, name := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{``, `null`, `[]`, `{}`, `{"results":null}`, `{"count":-1,"results":[]}`,
		`{"results":[{"id":"x"}]}`, `{"results":[{"id":1,"ticket":{"id":"2"},"createdAt":"2025-01-01T00:00:00Z"}]}`,
		`[{"id":1,"ticket_id":1e3,"createdBy":[],"createdAt":"2025-01-01"}]`} {
		f.Add([]byte(s))
	}
}

// checkNote asserts what every parsed note must hold.
func checkNote(t *testing.T, n providers.Note) {
	t.Helper()
	if n.ID == "" || n.Provider != providers.KindSendbird || n.CreatedAt.Location() != time.UTC {
		t.Fatalf("parsed note breaks invariants: %+v", n)
	}
	if n.AuthorRole != providers.RoleAgent && n.AuthorRole != providers.RoleSystem {
		t.Fatalf("role %q", n.AuthorRole)
	}
}

func FuzzNotePage(f *testing.F) {
	seedFuzz(f, "notes_page.json", "note_created.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := decodeList(body)
		if err != nil {
			return
		}
		for _, raw := range l.Results {
			if n, err := parseNote(raw, 1); err == nil {
				checkNote(t, n)
			}
		}
	})
}

func FuzzWrittenNote(f *testing.F) {
	seedFuzz(f, "note_created.json", "notes_page.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, want := range []string{"", "50231"} {
			raw, err := decodeWritten(body, want)
			if err != nil {
				continue
			}
			if n, err := parseNote(raw, 1); err == nil {
				checkNote(t, n)
				if want != "" && n.ID != want {
					t.Fatalf("asked for note %s, got %s", want, n.ID)
				}
			}
		}
	})
}

func FuzzTicketPage(f *testing.F) {
	seedFuzz(f, "tickets_page.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := decodeList(body)
		if err != nil {
			return
		}
		for _, raw := range l.Results {
			if tk, err := parseTicket(raw); err == nil && (tk.ID == "" || tk.CreatedAt.Location() != time.UTC) {
				t.Fatalf("parsed ticket breaks invariants: %+v", tk)
			}
		}
	})
}

func FuzzErrorBody(f *testing.F) {
	seedFuzz(f, "error_not_found.json", "notes_page.json")
	c := &Client{}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{200, 400, 401, 500} {
			err := c.check("fuzz", &vendorhttp.Response{Status: status, Header: http.Header{}, Body: body})
			if status != 200 && err == nil {
				t.Fatalf("status %d passed as success", status)
			}
			if err != nil && providers.AsError(err) == nil {
				t.Fatalf("error %T is not a *providers.Error", err)
			}
		}
	})
}
