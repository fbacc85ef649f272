package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/models/modelstest"
)

// text is s's text with runs of whitespace as one space.
func text(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// editTwice edits a demo Sendbird note to first and then to second, as an
// admin would, and returns the note's history path and the account id.
func editTwice(t *testing.T, ds *demoServer, c *client, first, second string) (history, ticket string) {
	t.Helper()
	n := ds.demo.Sandbox.Sendbird.Notes()[0]
	ticket, note := strconv.FormatInt(n.TicketID, 10), strconv.FormatInt(n.ID, 10)
	path := "/notes/2/" + ticket + "/" + note
	for _, body := range []string{first, second} {
		if resp, _ := c.post(path, url.Values{"body": {body}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit to %q: %d", body, resp.StatusCode)
		}
	}
	return path + "/history", ticket
}

// lastEdit is the newest ok note.update entry of the page.
func lastEdit(t *testing.T, body string) *goquery.Selection {
	t.Helper()
	row := doc(t, body).Find(`[data-testid=audit-row][data-action="note.update"][data-outcome=ok]`).First()
	if row.Length() == 0 {
		t.Fatalf("no ok note.update entry on the page")
	}
	return row
}

func TestAuditEntryReadsAsWordsWithADiffAndLinks(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	admin := ds.signIn(demoAdmin)
	history, ticket := editTwice(t, ds, admin, "the customer called back today", "the customer wrote back today")

	_, body := admin.get("/audit?action=note.update")
	row := lastEdit(t, body)
	if got := text(row.Find(`[data-testid=audit-action]`)); got != "Edited a note" {
		t.Errorf("action reads %q, want %q", got, "Edited a note")
	}
	if got := text(row.Find(`code.audit-code`)); got != "note.update" {
		t.Errorf("action code %q, want note.update kept for operators", got)
	}
	details := row.Find(`details.audit-details`)
	if details.Length() != 1 {
		t.Fatal("no <details> for the changes")
	}
	if _, open := details.Attr("open"); open {
		t.Error("the changes are not folded by default")
	}
	diff := details.Find(`[data-testid=audit-diff]`)
	if got := text(diff.Find("del")); got != "called" {
		t.Errorf("<del> holds %q, want the old word %q", got, "called")
	}
	if got := text(diff.Find("ins")); got != "wrote" {
		t.Errorf("<ins> holds %q, want the new word %q", got, "wrote")
	}
	if got := text(diff.Find("del, ins").Parent()); !strings.Contains(got, "the customer") || !strings.Contains(got, "back today") {
		t.Errorf("the diff %q lacks the unchanged words", got)
	}
	target := row.Find(`[data-testid=audit-target]`)
	for _, href := range []string{history, "/tickets/2/" + ticket, "/accounts/2/edit"} {
		if target.Find(`a[href="`+href+`"]`).Length() != 1 {
			t.Errorf("target %q has no link to %s", text(target), href)
		}
	}
	// The note's other fields are listed, not diffed.
	fields := details.Find(`[data-testid=audit-fields]`)
	if fields.Find(`tr[data-field=author]`).Length() != 1 || fields.Find(`tr[data-field=text]`).Length() != 0 {
		t.Errorf("field list %q: want the author and not the text", text(fields))
	}
	admin2, err := ds.db.UserByEmail(context.Background(), demoAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if row.Find(`[data-testid=audit-actor] a[href="/users/`+strconv.FormatUint(uint64(admin2.ID), 10)+`/edit"]`).Length() != 1 {
		t.Errorf("the admin sees no link to the actor: %q", text(row.Find(`[data-testid=audit-actor]`)))
	}

	// The same entry, in Chinese.
	_, body = admin.get("/audit?action=note.update", "Accept-Language", "zh-CN")
	if got := text(lastEdit(t, body).Find(`[data-testid=audit-action]`)); got != "编辑了备注" {
		t.Errorf("action in Chinese reads %q, want 编辑了备注", got)
	}
}

func TestAuditDiffKeepsAScriptEscaped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	e := &models.AuditEvent{Action: "note.update", Target: "note:1:T1:N1", Outcome: models.OutcomeOK,
		Before: `{"text":"hi <script>alert(1)</script> there"}`, After: `{"text":"hi <img src=x onerror=alert(2)> there"}`}
	if err := ts.db.AppendAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	c.login("admin@example.com")
	_, body := c.get("/audit?action=note.update")
	for _, raw := range []string{"<script>alert", "<img src=x"} {
		if strings.Contains(body, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	diff := doc(t, body).Find(`[data-testid=audit-diff]`)
	if diff.Length() != 1 {
		t.Fatal("no diff")
	}
	if n := diff.Find("script, img").Length(); n != 0 {
		t.Errorf("%d elements made from the note text inside the diff", n)
	}
	// Read without the insertions the diff is the old text, without the
	// deletions the new one: the markup shows as the characters it is.
	side := func(drop string) string {
		c := diff.Clone()
		c.Find(drop + ", .sr-only").Remove()
		return c.Text()
	}
	if got, want := side("ins"), "hi <script>alert(1)</script> there"; got != want {
		t.Errorf("old side of the diff reads %q, want %q", got, want)
	}
	if got, want := side("del"), "hi <img src=x onerror=alert(2)> there"; got != want {
		t.Errorf("new side of the diff reads %q, want %q", got, want)
	}
	if got := diff.Find("del").Text(); !strings.Contains(got, "script") {
		t.Errorf("<del> holds %q, want the removed tag", got)
	}
	if got := diff.Find("ins").Text(); !strings.Contains(got, "img src=x") {
		t.Errorf("<ins> holds %q, want the added tag", got)
	}
}

// rowAttrs returns attr of every entry on the page.
func rowAttrs(t *testing.T, body, attr string) []string {
	t.Helper()
	var out []string
	doc(t, body).Find(`[data-testid=audit-row]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.AttrOr(attr, ""))
	})
	return out
}

func TestAuditFiltersByActionAndAccountNarrowTheRows(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	admin := ds.signIn(demoAdmin)
	editTwice(t, ds, admin, "first text", "second text")

	_, body := admin.get("/audit")
	all := rowAttrs(t, body, "data-action")
	d := doc(t, body)
	if got := text(d.Find(`select#action option[value="note.update"]`)); got != "Edited a note" {
		t.Errorf("action filter offers note.update as %q", got)
	}
	if d.Find(`select#action optgroup option[value="note."]`).Length() != 1 {
		t.Error("action filter has no choice for every note change")
	}
	if d.Find(`select#account option[value="2"]`).Length() != 1 {
		t.Error("account filter does not offer account 2")
	}

	for _, tc := range []struct {
		query, attr string
		want        func(string) bool
	}{
		{"action=note.update", "data-action", func(a string) bool { return a == "note.update" }},
		{"action=account.", "data-action", func(a string) bool { return strings.HasPrefix(a, "account.") }},
		{"account=2", "data-account-id", func(a string) bool { return a == "2" }},
	} {
		for _, hx := range []bool{false, true} {
			var hdr []string
			if hx {
				hdr = []string{"HX-Request", "true", "HX-Target", "audit-results"}
			}
			resp, body := admin.get("/audit?"+tc.query, hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", tc.query, resp.StatusCode)
			}
			if hx && strings.Contains(body, "<html") {
				t.Errorf("%s: htmx got a whole page, want the results", tc.query)
			}
			got := rowAttrs(t, body, tc.attr)
			if len(got) == 0 || len(got) >= len(all) {
				t.Errorf("%s (htmx %v): %d rows of %d, want fewer and some", tc.query, hx, len(got), len(all))
			}
			for _, v := range got {
				if !tc.want(v) {
					t.Errorf("%s (htmx %v): a row with %s=%q", tc.query, hx, tc.attr, v)
				}
			}
		}
	}
	_, body = admin.get("/audit?action=note.update&account=2")
	d = doc(t, body)
	if d.Find(`select#action option[value="note.update"][selected]`).Length() != 1 || d.Find(`select#account option[value="2"][selected]`).Length() != 1 {
		t.Error("the filters do not show what was chosen")
	}
}

func TestAuditLinksFollowTheViewersRole(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	admin := ds.signIn(demoAdmin)
	history, _ := editTwice(t, ds, admin, "one", "two")
	_, adminBody := admin.get("/audit")
	manager := ds.signIn(demoManager)
	_, body := manager.get("/audit")

	ad, md := doc(t, adminBody), doc(t, body)
	for _, sel := range []string{`[data-testid=audit] a[href^="/accounts/"]`, `[data-testid=audit] a[href^="/users/"]`} {
		if ad.Find(sel).Length() == 0 {
			t.Errorf("admin: no %s", sel)
		}
		if n := md.Find(sel).Length(); n != 0 {
			t.Errorf("manager: %d links %s, pages only admins may open", n, sel)
		}
	}
	if md.Find(`[data-testid=audit] a[href="`+history+`"]`).Length() == 0 {
		t.Error("manager: no link to the note's history")
	}
	// The accounts are still named, only not linked.
	if got := text(lastEdit(t, body).Find(`[data-testid=audit-target]`)); !strings.Contains(got, "Sendbird") {
		t.Errorf("manager: target reads %q, want the account's name", got)
	}
	// The demo's own rows are by the system, in words.
	demoRow := md.Find(`[data-testid=audit-row][data-action="account.create"]`).First()
	if got := text(demoRow.Find(`[data-testid=audit-actor]`)); got != "Demo setup" {
		t.Errorf("the demo's account rows are by %q, want %q", got, "Demo setup")
	}
}

func TestAuditVerifyBannerSwapsIntoThePage(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	c := ts.client()
	c.login("admin@example.com")
	_, page := c.get("/audit")
	if doc(t, page).Find(`#audit-verify`).Length() != 1 || doc(t, page).Find(`a[hx-get="/audit/verify"][hx-target="#audit-verify"][href="/audit/verify"]`).Length() != 1 {
		t.Fatal("the audit page has no verify button swapping into #audit-verify")
	}
	resp, body := c.get("/audit/verify", "HX-Request", "true", "HX-Target", "audit-verify")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "<html") {
		t.Fatalf("htmx verify: %d, whole page %v", resp.StatusCode, strings.Contains(body, "<html"))
	}
	v := doc(t, body).Find(`[data-testid=verify][data-ok=true]`)
	if got := text(v.Find("h2")); got != "The audit chain is intact" {
		t.Errorf("banner heading %q", got)
	}

	// A row altered by hand: the banner names it.
	if err := modelstest.Raw(t, ts.loc).Exec("UPDATE audit_events SET message = 'rewritten' WHERE id = 1").Error; err != nil {
		t.Fatal(err)
	}
	resp, body = c.get("/audit/verify", "HX-Request", "true", "HX-Target", "audit-verify")
	v = doc(t, body).Find(`[data-testid=verify][data-ok=false]`)
	if resp.StatusCode != http.StatusConflict || v.AttrOr("data-bad-id", "") != "1" || text(v.Find("h2")) != "The audit chain is broken at row 1" {
		t.Errorf("tampered: %d, banner %q (bad id %q)", resp.StatusCode, text(v), v.AttrOr("data-bad-id", ""))
	}
}
