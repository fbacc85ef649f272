package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
)

// The rows of a notes page are rendered once and shown again to the next
// viewer of the same page only when they would be drawn the same: a
// manager after an admin sees no edit controls, a reader of Chinese after
// one of English sees Chinese, another zone its own times, and an
// account renamed or a note added shows at once.
func TestKeptRowsFollowTheViewer(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ctx := context.Background()
	const ticket = "T-kept"
	at := time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC) // 5 March 07:30 in Shanghai
	note := providers.Note{ID: "kept-1", TicketID: ticket, AccountID: 2, AuthorName: "Ada", AuthorRole: providers.RoleAgent,
		Body: "Refund issued.", ContentType: "text", CreatedAt: at}
	if err := ds.db.ArchiveNoteWritten(ctx, 2, note, ""); err != nil {
		t.Fatal(err)
	}
	const list = "/notes?ticket=" + ticket + "&from=2026-03-01&to=2026-03-31"
	row := func(c *client) (string, string) {
		t.Helper()
		_, body := c.get(list)
		r := doc(t, body).Find(`[data-testid=note][data-note-id="kept-1"]`)
		if r.Length() != 1 {
			t.Fatalf("the note is not listed once: %d rows", r.Length())
		}
		h, _ := r.Html()
		return h, body
	}

	admin := ds.signIn(demoAdmin)
	setPrefs(t, admin, "en", "UTC")
	if h, _ := row(admin); !strings.Contains(h, `data-testid="note-edit"`) || !strings.Contains(h, "2026-03-04 23:30:00") {
		t.Fatalf("the admin's row lacks the edit control or the UTC time:\n%s", h)
	}

	ds.addUser("manager@example.com", models.RoleManager)
	mgr := ds.client()
	mgr.login("manager@example.com")
	// The same page, its zone and language: only the role differs.
	setPrefs(t, mgr, "en", "UTC")
	if h, _ := row(mgr); strings.Contains(h, `data-testid="note-edit"`) || strings.Contains(h, `data-testid="note-delete"`) {
		t.Errorf("the manager is shown the admin's edit controls:\n%s", h)
	}
	setPrefs(t, mgr, "zh-Hans", "UTC")
	if h, body := row(mgr); !strings.Contains(body, `lang="zh-Hans"`) || strings.Contains(h, ">Agent<") || strings.Contains(h, ">Copy link<") {
		t.Errorf("the manager's row is not in Chinese:\n%s", h)
	}
	setPrefs(t, mgr, "zh-Hans", "Asia/Shanghai")
	if h, _ := row(mgr); !strings.Contains(h, "2026-03-05 07:30:00") {
		t.Errorf("the manager's row lacks the time in Asia/Shanghai:\n%s", h)
	}

	// The admin's view is still the admin's.
	if h, _ := row(admin); !strings.Contains(h, `data-testid="note-edit"`) || !strings.Contains(h, ">History<") {
		t.Errorf("the admin's row, shown again, changed:\n%s", h)
	}

	a, err := ds.db.AccountByID(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.db.UpdateAccount(ctx, a.ID, models.AccountInput{Name: "Desk renamed", Kind: a.Kind, Endpoint: a.Endpoint,
		RateLimit: a.RateLimit, TimeoutSeconds: a.TimeoutSeconds, Settings: a.Settings()}); err != nil {
		t.Fatal(err)
	}
	if h, _ := row(admin); !strings.Contains(h, "Desk renamed") {
		t.Errorf("the renamed account's row still shows the old name:\n%s", h)
	}

	more := note
	more.ID, more.Body, more.CreatedAt = "kept-2", "A second note.", at.Add(time.Minute)
	if err := ds.db.ArchiveNoteWritten(ctx, 2, more, ""); err != nil {
		t.Fatal(err)
	}
	if _, body := row(admin); !strings.Contains(body, "A second note.") {
		t.Error("a note added after the page was rendered is not shown")
	}
}
