package sendbird

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/sendbird/sendbirdsim"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestWindows(t *testing.T) {
	t.Parallel()
	utc8 := time.FixedZone("UTC+8", 8*3600)
	tests := []struct {
		name     string
		from, to time.Time
		want     int // windows
	}{
		{"same instant", at("2025-06-01T10:00:00Z"), at("2025-06-01T10:00:00Z"), 0},
		{"to before from", at("2025-06-02T00:00:00Z"), at("2025-06-01T00:00:00Z"), 0},
		{"one second", at("2025-06-01T10:00:00Z"), at("2025-06-01T10:00:01Z"), 1},
		{"to at midnight excludes that day", at("2025-06-01T00:00:00Z"), at("2025-06-02T00:00:00Z"), 1},
		{"exactly 365 days", at("2024-06-16T00:00:00Z"), at("2025-06-16T00:00:00Z"), 1},
		{"366 days", at("2024-06-15T00:00:00Z"), at("2025-06-16T00:00:00Z"), 2},
		{"leap year", at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"), 2},
		{"ten years", at("2015-03-04T05:06:07Z"), at("2025-06-15T10:30:00Z"), 11},
		{"zone east of UTC", time.Date(2025, 1, 1, 0, 0, 0, 0, utc8), time.Date(2025, 1, 2, 0, 0, 0, 0, utc8), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ws := windows(tt.from, tt.to)
			if len(ws) != tt.want {
				t.Fatalf("got %d windows %v, want %d", len(ws), ws, tt.want)
			}
			if len(ws) == 0 {
				return
			}
			if got, want := ws[0].end, utcDay(tt.to.Add(-time.Nanosecond)); !got.Equal(want) {
				t.Errorf("newest window ends %s, want %s", got, want)
			}
			if got, want := ws[len(ws)-1].start, utcDay(tt.from); !got.Equal(want) {
				t.Errorf("oldest window starts %s, want %s", got, want)
			}
			for i, w := range ws {
				if d := w.days(); d < 1 || d > maxWindowDays {
					t.Errorf("window %d spans %d days", i, d)
				}
				if w.start.Location() != time.UTC || w.start.Hour() != 0 {
					t.Errorf("window %d start %s not a UTC day", i, w.start)
				}
				if i > 0 && !ws[i-1].start.Equal(w.end.AddDate(0, 0, 1)) {
					t.Errorf("gap or overlap between %v and %v", ws[i-1], w)
				}
			}
		})
	}
}

func TestWindowQueryInZone(t *testing.T) {
	t.Parallel()
	// 2025-01-01 00:00 in UTC+8 is 2024-12-31 16:00 UTC.
	utc8 := time.FixedZone("UTC+8", 8*3600)
	ws := windows(time.Date(2025, 1, 1, 0, 0, 0, 0, utc8), time.Date(2025, 1, 3, 0, 0, 0, 0, utc8))
	q := ws[0].query(200)
	want := url.Values{"limit": {"100"}, "offset": {"200"}, "start_date": {"2024-12-31"}, "end_date": {"2025-01-02"}}
	if q.Encode() != want.Encode() {
		t.Errorf("query %s, want %s", q.Encode(), want.Encode())
	}
}

func TestHalves(t *testing.T) {
	t.Parallel()
	for _, days := range []int{2, 3, 10, 365} {
		w := window{day0, day0.AddDate(0, 0, days-1)}
		newer, older := w.halves()
		if !older.start.Equal(w.start) || !newer.end.Equal(w.end) || !newer.start.Equal(older.end.AddDate(0, 0, 1)) {
			t.Errorf("%d days: halves %v %v of %v", days, newer, older, w)
		}
		if newer.days()+older.days() != days || older.days() < 1 || newer.days() < 1 {
			t.Errorf("%d days: halves of %d and %d", days, newer.days(), older.days())
		}
	}
}

var day0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2025-05-20T08:15:30.482913Z", time.Date(2025, 5, 20, 8, 15, 30, 482913000, time.UTC), true},
		{"2025-05-22T09:30:00.000+09:00", time.Date(2025, 5, 22, 0, 30, 0, 0, time.UTC), true},
		{"2025-05-22T09:30:00+0900", time.Date(2025, 5, 22, 0, 30, 0, 0, time.UTC), true},
		{"2025-05-23T14:00:00", time.Date(2025, 5, 23, 14, 0, 0, 0, time.UTC), true},
		{"2025-05-23 14:00:00Z", time.Date(2025, 5, 23, 14, 0, 0, 0, time.UTC), true},
		{"1716192930", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) || (tt.ok && got.Location() != time.UTC) {
			t.Errorf("parseTime(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestAuthor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		name string
		role providers.Role
	}{
		{``, "Platform API", providers.RoleSystem},
		{`null`, "Platform API", providers.RoleSystem},
		{`{"id": 1, "displayName": "Maya"}`, "Maya", providers.RoleAgent},
		{`{"id": 1, "sendbirdId": "agent_1"}`, "agent_1", providers.RoleAgent},
		{`{"userId": "u-9", "role": "AGENT"}`, "u-9", providers.RoleAgent},
		{`{"id": 7}`, "Agent 7", providers.RoleAgent},
		{`{"displayName": 5}`, "Agent", providers.RoleAgent},
		{`42`, "Agent 42", providers.RoleAgent},
	}
	for _, tt := range tests {
		name, role := author(json.RawMessage(tt.in))
		if name != tt.name || role != tt.role {
			t.Errorf("author(%s) = %q %q, want %q %q", tt.in, name, role, tt.name, tt.role)
		}
	}
}

func TestDecodeWritten(t *testing.T) {
	t.Parallel()
	one := `{"id": 7, "ticket_id": 1, "note": "a", "createdAt": "2025-01-01T00:00:00Z"}`
	two := `{"id": 9, "ticket_id": 1, "note": "b", "createdAt": "2025-01-01T00:00:00Z"}`
	tests := []struct {
		name, body, want, wantID string
	}{
		{"single object", one, "7", ""},
		{"bare list, create takes newest", "[" + one + "," + two + "]", "9", ""},
		{"envelope, update takes its id", `{"count":2,"next":null,"results":[` + two + "," + one + "]}", "7", "7"},
	}
	for _, tt := range tests {
		raw, err := decodeWritten([]byte(tt.body), tt.wantID)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		n, err := parseNote(raw, 1)
		if err != nil || n.ID != tt.want {
			t.Errorf("%s: note %q, %v; want %q", tt.name, n.ID, err, tt.want)
		}
	}
	if _, err := decodeWritten([]byte(`{"message":"x"}`), ""); err == nil {
		t.Error("an answer without a note decoded")
	}
}

// TestSimulatorErrorsMap sends malformed requests the client itself never
// builds, so the simulator answers each documented error and the client's
// mapping is exercised on real answers.
func TestSimulatorErrorsMap(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)
	sim := sendbirdsim.New(sendbirdsim.Options{Seed: 1, Now: func() time.Time { return now }})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := New(sim.Account(srv.URL), providers.Options{RateLimit: 1000, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list := func(kv ...string) func() error {
		return func() error {
			q := url.Values{}
			for i := 0; i < len(kv); i += 2 {
				q.Set(kv[i], kv[i+1])
			}
			_, err := c.read(ctx, "list notes", notesPath, q)
			return err
		}
	}
	send := func(method, path, body string) func() error {
		return func() error {
			_, err := c.write(ctx, "write", method, path, json.RawMessage(body))
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
		kind error
		code string
	}{
		{"limit 0", list("limit", "0"), providers.ErrInvalid, "deskp400113"},
		{"limit 101", list("limit", "101"), providers.ErrInvalid, "deskp400113"},
		{"limit not an integer", list("limit", "ten"), providers.ErrInvalid, "deskp400111"},
		{"offset not an integer", list("offset", "1.5"), providers.ErrInvalid, "deskp400111"},
		{"start_date not YYYY-MM-DD", list("start_date", "2025/05/01"), providers.ErrInvalid, "deskp400111"},
		{"end_date not a day", list("start_date", "2025-02-01", "end_date", "2025-02-30"), providers.ErrInvalid, "deskp400111"},
		{"range of 366 days", list("start_date", "2024-01-01", "end_date", "2024-12-31"), providers.ErrInvalid, "deskp400113"},
		{"range of 365 days", list("start_date", "2024-01-02", "end_date", "2024-12-31", "limit", "100"), nil, ""},
		{"ticket limit 501", func() error {
			_, err := c.read(ctx, "list tickets", "/tickets", url.Values{"limit": {"501"}})
			return err
		}, providers.ErrInvalid, "deskp400113"},
		{"unknown ticket", func() error { _, err := c.read(ctx, "get ticket", "/tickets/999", nil); return err }, providers.ErrNotFound, "deskp400201"},
		{"create without ticketId", send(http.MethodPost, notesPath, `{"note":"x"}`), providers.ErrInvalid, "deskp400105"},
		{"create without note", send(http.MethodPost, notesPath, `{"ticketId":1001}`), providers.ErrInvalid, "deskp400105"},
		{"create with a number as note", send(http.MethodPost, notesPath, `{"ticketId":1001,"note":5}`), providers.ErrInvalid, "deskp400111"},
		{"create on unknown ticket", send(http.MethodPost, notesPath, `{"ticketId":424242,"note":"x"}`), providers.ErrNotFound, "deskp400201"},
		{"update unknown note", send(http.MethodPatch, notePath("99"), `{"note":"x"}`), providers.ErrNotFound, "deskp400201"},
		{"update with a list as note", send(http.MethodPatch, notePath("50001"), `{"note":["x"]}`), providers.ErrInvalid, "deskp400111"},
		{"delete unknown note", send(http.MethodDelete, notePath("99"), `null`), providers.ErrNotFound, "deskp400201"},
	}
	for _, tt := range tests {
		err := tt.call()
		if tt.kind == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		pe := providers.AsError(err)
		if !errors.Is(err, tt.kind) || pe == nil || pe.Code != tt.code || pe.Status != 400 || pe.RequestID == "" || pe.Message == "" {
			t.Errorf("%s: err = %#v, want %v %s with status, message and request id", tt.name, pe, tt.kind, tt.code)
		}
	}
}

func TestKindFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		status int
		want   error
	}{
		{"deskp400105", 400, providers.ErrInvalid},
		{"deskp400111", 400, providers.ErrInvalid},
		{"deskp400113", 400, providers.ErrInvalid},
		{"deskp400201", 400, providers.ErrNotFound},
		{"deskp400201", 404, providers.ErrNotFound},
		{"", 401, providers.ErrUnauthorized},
		{"", 403, providers.ErrForbidden},
		{"", 429, providers.ErrRateLimited},
		{"", 500, providers.ErrUnavailable},
		{"", 503, providers.ErrUnavailable},
		{"deskp400999", 400, providers.ErrInvalid},
		{"deskp400201", 200, providers.ErrNotFound},
		{"", 200, providers.ErrUnavailable},
	}
	for _, tt := range tests {
		if got := kindFor(tt.code, tt.status); got != tt.want {
			t.Errorf("kindFor(%q, %d) = %v, want %v", tt.code, tt.status, got, tt.want)
		}
	}
}

// TestGolden parses the fixtures, written from the documented resource
// tables (the vendor page shows no example body), into normalised values.
func TestGolden(t *testing.T) {
	t.Parallel()
	c := &Client{acct: providers.Account{ID: 3}}
	tests := []struct {
		name  string
		parse func([]byte) (any, error)
	}{
		{"notes_page", func(b []byte) (any, error) {
			l, err := decodeList(b)
			if err != nil {
				return nil, err
			}
			var notes []providers.Note
			for _, raw := range l.Results {
				n, err := parseNote(raw, 3)
				if err != nil {
					return nil, err
				}
				notes = append(notes, n)
			}
			return notes, nil
		}},
		{"note_created", func(b []byte) (any, error) {
			raw, err := decodeWritten(b, "")
			if err != nil {
				return nil, err
			}
			return parseNote(raw, 3)
		}},
		{"tickets_page", func(b []byte) (any, error) {
			l, err := decodeList(b)
			if err != nil {
				return nil, err
			}
			var tickets []providers.Ticket
			for _, raw := range l.Results {
				tk, err := parseTicket(raw)
				if err != nil {
					return nil, err
				}
				tickets = append(tickets, tk)
			}
			return tickets, nil
		}},
		{"error_not_found", func(b []byte) (any, error) {
			err := c.check("delete note", &vendorhttp.Response{Status: 400, Header: http.Header{requestIDHeader: {"req-1"}}, Body: b})
			pe := providers.AsError(err)
			if pe == nil {
				return nil, errors.New("not an error")
			}
			return map[string]any{"kind": pe.Kind.Error(), "status": pe.Status, "code": pe.Code,
				"message": pe.Message, "request_id": pe.RequestID, "text": pe.Error()}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join("testdata", tt.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := tt.parse(in)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", tt.name, golden, got)
			}
		})
	}
}
