package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// noteEl is one [data-testid=note] element as the page shows it.
type noteEl struct {
	ID        string `json:"id"`
	Account   string `json:"account"`
	Ticket    string `json:"ticket"`
	Datetime  string `json:"datetime"`
	Body      string `json:"body"`
	CanEdit   bool   `json:"canEdit"`
	CanDelete bool   `json:"canDelete"`
}

// readNotes lists the notes inside root (a CSS selector).
func readNotes(ctx context.Context, t *testing.T, root string) ([]noteEl, bool) {
	t.Helper()
	return eval[[]noteEl](ctx, t, `(() => {
		const root = document.querySelector(`+jsString(root)+`);
		if (!root) { return []; }
		return Array.from(root.querySelectorAll('[data-testid="note"]')).map(n => {
			const tm = n.querySelector('time[datetime]');
			const body = n.querySelector('[data-testid="note-body"]');
			return {
				id: n.getAttribute('data-note-id') || '',
				account: n.getAttribute('data-account-id') || '',
				ticket: n.getAttribute('data-ticket-id') || '',
				datetime: tm ? tm.getAttribute('datetime') : '',
				body: body ? body.textContent : '',
				canEdit: !!n.querySelector('a[data-testid="note-edit"]'),
				canDelete: !!n.querySelector('button[data-testid="note-delete"]'),
			};
		});
	})()`)
}

// noteSel selects the note element of one provider note.
func noteSel(account, id string) string {
	return `[data-testid="note"][data-account-id="` + account + `"][data-note-id="` + id + `"]`
}

// flow is what the sub-tests hand on to each other.
type flow struct {
	editedID   string // Sendbird note edited in place
	editedText string
	ticket     string // Sendbird ticket that has notes
	addedID    string
	deletedID  string
}

// TestBrowser signs in as the demo admin and works through the notes
// workspace, the conversation view and the audit log in Chromium, checks the
// main pages with axe-core, and takes screenshots when asked.
func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wholeRun)
	defer cancel()
	a := startApp(t)
	b := startBrowser(t, ctx)
	shots := os.Getenv("TICKETNOTES_SCREENSHOTS")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var f flow

	t.Run("login page is accessible", func(t *testing.T) {
		ctx := b.step(t)
		checkAccessible(ctx, t, a, "/login", "")
		if shots != "" {
			screenshot(ctx, t, a, shots, "/login", "login-1280.png", 1280)
		}
	})

	if !t.Run("sign in as the demo admin", func(t *testing.T) { signIn(b.step(t), t, a) }) {
		t.FailNow()
	}

	t.Run("notes filtered by date range", func(t *testing.T) { filterByDates(b.step(t), t, a, &f) })
	t.Run("edit a Sendbird note inline", func(t *testing.T) { editNote(b.step(t), t, a, &f) })
	t.Run("add a Sendbird note", func(t *testing.T) { addNote(b.step(t), t, a, &f) })
	t.Run("delete a Sendbird note", func(t *testing.T) { deleteNote(b.step(t), t, a, b, &f) })
	t.Run("conversation view", func(t *testing.T) { conversation(b.step(t), t, a, &f) })
	t.Run("search a Chinese word", func(t *testing.T) { searchChinese(b.step(t), t, a) })
	t.Run("Sync now updates the freshness line", func(t *testing.T) { syncNow(b.step(t), t, a) })
	t.Run("audit log records the note changes", func(t *testing.T) { auditRecorded(b.step(t), t, a) })
	t.Run("range chart and facets narrow the list", func(t *testing.T) { rangeAndFacets(b.step(t), t, a) })

	t.Run("accessibility", func(t *testing.T) {
		// Every <details> open: the audit log's before/after blocks.
		const openAll = `document.querySelectorAll('details').forEach(d => { d.open = true; })`
		for _, p := range []struct{ name, path, prepare string }{
			{"notes", "/notes", ""},
			{"notes with the add form open", "/notes", openAll},
			{"conversation", conversationPath(a, &f), ""},
			{"accounts", "/accounts", ""},
			{"users", "/users", ""},
			{"audit with every detail expanded", "/audit", openAll},
			{"audit verification", "/audit/verify", ""},
			{"note history", historyPath(&f), ""},
		} {
			t.Run(p.name, func(t *testing.T) { checkAccessible(b.step(t), t, a, p.path, p.prepare) })
		}
	})

	if shots != "" {
		t.Run("screenshots", func(t *testing.T) {
			for _, s := range []struct {
				path, name string
				width      int64
			}{
				{"/notes", "notes-1280.png", 1280},
				{"/notes", "notes-390.png", 390},
				{conversationPath(a, &f), "conversation-1280.png", 1280},
				{conversationPath(a, &f), "conversation-390.png", 390},
				{"/accounts", "accounts-1280.png", 1280},
			} {
				screenshot(b.step(t), t, a, shots, s.path, s.name, s.width)
			}
			// The audit log with the first edit's changes open.
			const openEdit = `document.querySelector('[data-testid="audit-row"][data-action="note.update"] details').open = true`
			for _, s := range []struct {
				name          string
				width, height int64
			}{{"audit-1280.png", 1280, 900}, {"audit-390.png", 390, 844}} {
				screenshotAt(b.step(t), t, a, shots, "/audit", s.name, s.width, s.height, openEdit)
			}
		})
	}

	for _, p := range b.takeProblems() {
		t.Errorf("the page reported: %s", p)
	}
	// The seeded notes carry script payloads; only the delete confirmation
	// may open a dialog.
	for _, d := range b.dialogsSince(0) {
		if d.Type != page.DialogTypeConfirm {
			t.Errorf("unexpected %s dialog %q: did note content run as script?", d.Type, d.Message)
		}
	}
}

// signIn fills the sign-in form as a person would and waits for the page
// that follows.
func signIn(ctx context.Context, t *testing.T, a *app) {
	if !open(ctx, t, a, "/login") {
		return
	}
	if !do(ctx, t, "typing the sign-in form",
		chromedp.SendKeys(chromedp.ID("email"), a.demo.AdminEmail, chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.ID("password"), a.demo.Password, chromedp.NodeVisible),
	) {
		return
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`), chromedp.NodeVisible)); err != nil {
		t.Fatalf("submitting the sign-in form: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loc); u == nil || u.Path == "/login" {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("still on %s after signing in; the page says:\n%s", loc, text)
	}
	// The top bar shows who is signed in.
	if !waitJS(ctx, t, "the sign-out button", `!!document.querySelector('form[action="/logout"] button')`) {
		t.FailNow()
	}
}

// filterByDates filters a closed range of days in the past (in the
// viewer's zone: the server's, time.Local, for a user without a preference)
// and checks every note shown. Four Sendbird notes placed one second either
// side of the range's edges check that both days are inclusive.
func filterByDates(ctx context.Context, t *testing.T, a *app, f *flow) {
	today := time.Now().In(time.Local)
	fromDay := time.Date(today.Year(), today.Month(), today.Day()-20, 0, 0, 0, 0, time.Local)
	afterTo := time.Date(today.Year(), today.Month(), today.Day()-9, 0, 0, 0, 0, time.Local) // midnight after the last day
	from, to := fromDay.Format(time.DateOnly), afterTo.AddDate(0, 0, -1).Format(time.DateOnly)

	sb := a.demo.Sandbox.Sendbird
	tickets := sb.Tickets()
	if len(tickets) == 0 {
		t.Fatal("the Sendbird simulator has no tickets")
	}
	marker := fmt.Sprintf("e2e-edge-%d", time.Now().UnixNano())
	inside := map[string]string{}
	for _, e := range []struct {
		label string
		at    time.Time
		in    bool
	}{
		{"before the first day", fromDay.Add(-time.Second), false},
		{"first moment of the first day", fromDay, true},
		{"last second of the last day", afterTo.Add(-time.Second), true},
		{"first moment after the last day", afterTo, false},
	} {
		id, err := sb.PutNote(tickets[0].ID, marker+" "+e.label, e.at)
		if err != nil {
			t.Fatal(err)
		}
		if e.in {
			inside[strconv.FormatInt(id, 10)] = e.label
		}
	}

	a.sync(t)
	if !open(ctx, t, a, "/notes") {
		return
	}
	if !waitJS(ctx, t, "form#notes-filter with its apply button",
		`!!document.querySelector('form#notes-filter button[data-testid="notes-apply"]') && !!document.querySelector('#notes-results')`) {
		return
	}
	for _, name := range []string{"from", "to", "ticket", "q"} {
		waitJS(ctx, t, "input[name="+name+"] in the filter form", `!!document.querySelector('form#notes-filter input[name="`+name+`"]')`)
	}
	waitJS(ctx, t, "select[name=role] in the filter form", `!!document.querySelector('form#notes-filter select[name="role"]')`)
	accounts, _ := eval[[]string](ctx, t, `Array.from(document.querySelectorAll('form#notes-filter input[type="checkbox"][name="account"]')).map(c => c.value)`)
	for _, id := range []string{alibabaID, sendbirdID, feishuID} {
		if !slices.Contains(accounts, id) {
			t.Errorf("no account checkbox with value %s in form#notes-filter (have %v)", id, accounts)
		}
	}
	// Tick all three accounts, whatever the form's default.
	if _, ok := eval[chromedp.Void](ctx, t, `document.querySelectorAll('form#notes-filter input[type="checkbox"][name="account"]').forEach(c => { c.checked = true; })`); !ok {
		return
	}

	// The whole range: a page of notes from all three accounts.
	if !apply(ctx, t, map[string]string{"from": from, "to": to, "q": ""}) {
		return
	}
	notes, ok := readNotes(ctx, t, "#notes-results")
	if !ok {
		return
	}
	if len(notes) == 0 {
		t.Fatalf("no [data-testid=note] in #notes-results for %s…%s; the demo has notes over the last 90 days", from, to)
	}
	checkNotesInRange(t, notes, from, to)
	checkStatuses(ctx, t)

	// The pushed URL is a link that works on reload.
	if !do(ctx, t, "reloading the pushed URL", chromedp.Reload()) {
		return
	}
	again, ok := readNotes(ctx, t, "#notes-results")
	if !ok {
		return
	}
	if ids(again) != ids(notes) {
		t.Errorf("reloading the pushed URL shows other notes:\nafter the swap %s\nafter reload   %s", ids(notes), ids(again))
	}
	if v, _ := eval[string](ctx, t, `(document.querySelector('form#notes-filter input[name="from"]') || {}).value || ''`); v != from {
		t.Errorf("after reload the from field is %q, want %q", v, from)
	}

	// The edges: only the two notes inside the range.
	if !apply(ctx, t, map[string]string{"from": from, "to": to, "q": marker}) {
		return
	}
	edge, ok := readNotes(ctx, t, "#notes-results")
	if !ok {
		return
	}
	checkNotesInRange(t, edge, from, to)
	got := map[string]bool{}
	for _, n := range edge {
		got[n.ID] = true
		if _, ok := inside[n.ID]; !ok || n.Account != sendbirdID {
			t.Errorf("filtering %s…%s for %q shows note %s/%s %q, which is outside the range", from, to, marker, n.Account, n.ID, n.Body)
		}
	}
	for id, label := range inside {
		if !got[id] {
			t.Errorf("filtering %s…%s for %q leaves out note %s, placed at the %s", from, to, marker, id, label)
		}
	}
	// Export right after the swap downloads what the list shows.
	exportMatchesList(ctx, t, len(inside))
}

// exportMatchesList downloads the page's CSV export (the first export link
// a person would see) and checks it holds exactly the want notes the list
// counts.
func exportMatchesList(ctx context.Context, t *testing.T, want int) {
	t.Helper()
	if total, _ := eval[int](ctx, t, totalJS); total != want {
		t.Errorf("the list counts %d notes, want %d", total, want)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector('a[href^="/notes/export.csv"]');
		if (!a) { return 'no export link'; }
		const r = await fetch(a.href);
		return await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("downloading the CSV export: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV export does not parse (%v): %.200s", err, body)
	}
	if got := len(rows) - 1; got != want {
		t.Errorf("Export CSV after filtering has %d notes, the list shows %d", got, want)
	}
}

// apply fills the filter form's fields and presses apply, then waits for
// the htmx swap of #notes-results and the pushed URL.
func apply(ctx context.Context, t *testing.T, fields map[string]string) bool {
	t.Helper()
	for _, name := range []string{"from", "to", "q"} {
		if v, ok := fields[name]; ok {
			sel := chromedp.CSS(`form#notes-filter input[name="` + name + `"]`)
			set := chromedp.SetValue(sel, v)
			if v == "" {
				set = chromedp.Clear(sel) // SetValue reports an empty value as a failure
			}
			if !do(ctx, t, fmt.Sprintf("setting %s=%q in the filter form", name, v), set) {
				return false
			}
		}
	}
	// A marker inside the results goes away with the swap.
	if _, ok := eval[chromedp.Void](ctx, t, `document.querySelector('#notes-results').insertAdjacentHTML('afterbegin', '<i data-e2e-stale hidden></i>')`); !ok {
		return false
	}
	if !do(ctx, t, "pressing apply", chromedp.Click(chromedp.CSS(`button[data-testid="notes-apply"]`), chromedp.NodeVisible)) {
		return false
	}
	want := url.Values{"from": {fields["from"]}, "to": {fields["to"]}}
	if fields["q"] != "" {
		want.Set("q", fields["q"])
	}
	var checks []string
	for k := range want {
		checks = append(checks, `u.searchParams.get(`+jsString(k)+`) === `+jsString(want.Get(k)))
	}
	slices.Sort(checks)
	if !waitJS(ctx, t, "the swapped results and the pushed URL with "+want.Encode(), `(() => {
		const u = new URL(location.href);
		return `+strings.Join(checks, " && ")+` &&
			!document.querySelector('[data-e2e-stale]') && !document.querySelector('.htmx-request');
	})()`) {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Logf("location is %s", loc)
		return false
	}
	return true
}

// accountStatus is one [data-testid=account-status] element.
type accountStatus struct {
	Account string `json:"account"`
	OK      string `json:"ok"`
	Text    string `json:"text"`
}

// checkStatuses checks every demo account reports data-ok="true".
func checkStatuses(ctx context.Context, t *testing.T) {
	t.Helper()
	statuses, _ := eval[[]accountStatus](ctx, t, `Array.from(document.querySelectorAll('[data-testid="account-status"]')).map(s => ({account: s.getAttribute('data-account-id') || '', ok: s.getAttribute('data-ok') || '', text: s.textContent.trim()}))`)
	for _, id := range []string{alibabaID, sendbirdID, feishuID} {
		i := slices.IndexFunc(statuses, func(s accountStatus) bool { return s.Account == id })
		switch {
		case i < 0:
			t.Errorf("no [data-testid=account-status][data-account-id=%q] beside the results", id)
		case statuses[i].OK != "true":
			t.Errorf("account %s: data-ok=%q, want \"true\" for the demo sandbox: %s", id, statuses[i].OK, statuses[i].Text)
		}
	}
}

func ids(notes []noteEl) string {
	var b strings.Builder
	for _, n := range notes {
		fmt.Fprintf(&b, "%s/%s ", n.Account, n.ID)
	}
	return b.String()
}

// checkNotesInRange checks each note's time is RFC 3339 UTC, falls on an
// inclusive day from…to in the server's zone, and the list is newest first.
func checkNotesInRange(t *testing.T, notes []noteEl, from, to string) {
	t.Helper()
	var prev time.Time
	for i, n := range notes {
		if n.ID == "" || n.Account == "" || n.Ticket == "" {
			t.Errorf("note %d lacks data-note-id, data-account-id or data-ticket-id: %+v", i, n)
		}
		at, err := time.Parse(time.RFC3339Nano, n.Datetime)
		if err != nil {
			t.Errorf("note %s/%s: time[datetime]=%q is not RFC 3339: %v", n.Account, n.ID, n.Datetime, err)
			continue
		}
		if !strings.HasSuffix(n.Datetime, "Z") {
			t.Errorf("note %s/%s: time[datetime]=%q is not in UTC", n.Account, n.ID, n.Datetime)
		}
		day := at.In(time.Local).Format(time.DateOnly)
		if day < from || day > to {
			t.Errorf("note %s/%s at %s (%s in %s) is outside %s…%s", n.Account, n.ID, n.Datetime, day, time.Local, from, to)
		}
		if i > 0 && at.After(prev) {
			t.Errorf("notes are not newest first: %s/%s at %s follows one at %s", n.Account, n.ID, n.Datetime, prev.Format(time.RFC3339))
		}
		prev = at
	}
}

// editNote opens a Sendbird note's inline form, cancels once, then saves a
// unique text and checks the page, a reload and the provider.
func editNote(ctx context.Context, t *testing.T, a *app, f *flow) {
	if !open(ctx, t, a, "/notes?account="+sendbirdID) {
		return
	}
	notes, ok := readNotes(ctx, t, "body")
	if !ok {
		return
	}
	i := slices.IndexFunc(notes, func(n noteEl) bool { return n.Account == sendbirdID && n.CanEdit })
	if i < 0 {
		t.Fatalf("no Sendbird note with a[data-testid=note-edit] on /notes?account=%s (%d notes shown)", sendbirdID, len(notes))
	}
	n := notes[i]
	f.ticket = n.Ticket
	sel := noteSel(sendbirdID, n.ID)
	form := `form[data-testid="note-edit-form"]`

	// Cancel brings the note back unchanged.
	if !do(ctx, t, "opening the edit form", chromedp.Click(chromedp.CSS(sel+` a[data-testid="note-edit"]`), chromedp.NodeVisible)) {
		return
	}
	if !waitJS(ctx, t, "the inline edit form with textarea[name=body], note-save and note-cancel", `!!document.querySelector('`+form+` textarea[name="body"]') &&
		!!document.querySelector('`+form+` button[data-testid="note-save"]') && !!document.querySelector('`+form+` a[data-testid="note-cancel"]')`) {
		return
	}
	if v, _ := eval[string](ctx, t, `document.querySelector('`+form+` textarea[name="body"]').value`); strings.TrimSpace(v) != strings.TrimSpace(n.Body) {
		t.Errorf("the edit form starts with %q, want the note's text %q", v, n.Body)
	}
	if !do(ctx, t, "cancelling the edit", chromedp.Click(chromedp.CSS(form+` a[data-testid="note-cancel"]`), chromedp.NodeVisible)) {
		return
	}
	if !waitJS(ctx, t, "the note back after cancel", `!document.querySelector('`+form+`') && !!document.querySelector('`+sel+` [data-testid="note-body"]')`) {
		return
	}

	// Save a unique text.
	text := fmt.Sprintf("e2e edit %d — 已编辑 & \"quoted\"", time.Now().UnixNano())
	if !do(ctx, t, "editing the note",
		chromedp.Click(chromedp.CSS(sel+` a[data-testid="note-edit"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(form+` textarea[name="body"]`)),
		chromedp.SetValue(chromedp.CSS(form+` textarea[name="body"]`), text),
		chromedp.Click(chromedp.CSS(form+` button[data-testid="note-save"]`), chromedp.NodeVisible),
	) {
		return
	}
	if !waitJS(ctx, t, "the note back with the new text", `!document.querySelector('`+form+`') &&
		Array.from(document.querySelectorAll('[data-testid="note"] [data-testid="note-body"]')).some(b => b.textContent.includes(`+jsString(text)+`))`) {
		return
	}
	shown, _ := readNotes(ctx, t, "body")
	j := slices.IndexFunc(shown, func(m noteEl) bool { return strings.Contains(m.Body, text) })
	if j >= 0 && (shown[j].ID != n.ID || shown[j].Account != sendbirdID) {
		t.Errorf("the edited note came back as %s/%s, want %s/%s", shown[j].Account, shown[j].ID, sendbirdID, n.ID)
	}
	f.editedID, f.editedText = n.ID, text

	if !providerHas(t, a, n.ID, text) {
		t.Errorf("the Sendbird simulator does not hold note %s with the new text %q", n.ID, text)
	}
	if !do(ctx, t, "reloading", chromedp.Reload()) {
		return
	}
	if body, ok := eval[string](ctx, t, `(document.querySelector('`+sel+` [data-testid="note-body"]') || {}).textContent || ''`); ok && !strings.Contains(body, text) {
		t.Errorf("after reload note %s shows %q, want the edited text %q", n.ID, body, text)
	}
}

// providerHas reports whether the Sendbird simulator stores note id with
// text.
func providerHas(t *testing.T, a *app, id, text string) bool {
	t.Helper()
	for _, n := range a.demo.Sandbox.Sendbird.Notes() {
		if strconv.FormatInt(n.ID, 10) == id {
			return n.Text == text
		}
	}
	return false
}

// addNote adds a Sendbird note to the ticket of an existing note.
func addNote(ctx context.Context, t *testing.T, a *app, f *flow) {
	if !open(ctx, t, a, "/notes?account="+sendbirdID) {
		return
	}
	if f.ticket == "" {
		notes, _ := readNotes(ctx, t, "body")
		if i := slices.IndexFunc(notes, func(n noteEl) bool { return n.Account == sendbirdID && n.Ticket != "" }); i >= 0 {
			f.ticket = notes[i].Ticket
		}
	}
	if f.ticket == "" {
		t.Fatalf("no Sendbird note with data-ticket-id on /notes?account=%s to take a ticket from", sendbirdID)
	}
	form := `form[data-testid="note-add-form"]`
	if !waitJS(ctx, t, form+" with select[name=account], input[name=ticket], textarea[name=body] and note-add-submit",
		`!!document.querySelector('`+form+` select[name="account"]') && !!document.querySelector('`+form+` input[name="ticket"]') &&
		!!document.querySelector('`+form+` textarea[name="body"]') && !!document.querySelector('`+form+` button[data-testid="note-add-submit"]')`) {
		return
	}
	options, _ := eval[[]string](ctx, t, `Array.from(document.querySelectorAll('`+form+` select[name="account"] option')).map(o => o.value)`)
	if !slices.Contains(options, sendbirdID) {
		t.Fatalf("the add form offers accounts %v, not Sendbird (%s)", options, sendbirdID)
	}
	// The form may sit in a closed <details>: open it as a person would.
	if closed, _ := eval[bool](ctx, t, `(() => { const d = document.querySelector('`+form+`').closest('details'); return !!d && !d.open; })()`); closed {
		if !do(ctx, t, "opening the add form's <details>",
			chromedp.Click(chromedp.CSS(`details:has(`+form+`) > summary`), chromedp.NodeVisible),
			chromedp.WaitVisible(chromedp.CSS(form+` button[data-testid="note-add-submit"]`)),
		) {
			return
		}
	}
	if v, _ := eval[string](ctx, t, `document.querySelector('`+form+` select[name="account"]').value`); v != "" {
		t.Errorf("the add form preselects account %q", v)
	}
	for _, c := range []struct{ account, label string }{{feishuID, "Send to the customer"}, {alibabaID, "Reply to Alibaba Cloud support"}, {sendbirdID, "Add internal note"}} {
		if !choose(ctx, t, form+` select[name="account"]`, c.account) {
			return
		}
		if got, _ := eval[string](ctx, t, `document.querySelector('`+form+` button[data-testid="note-add-submit"]').textContent.trim()`); got != c.label {
			t.Errorf("with account %s chosen the button says %q, want %q", c.account, got, c.label)
		}
	}
	text := fmt.Sprintf("e2e add %d — 新备注", time.Now().UnixNano())
	before := len(a.demo.Sandbox.Sendbird.Notes())
	if !do(ctx, t, "filling and sending the add form",
		chromedp.SetValue(chromedp.CSS(form+` input[name="ticket"]`), f.ticket),
		chromedp.SetValue(chromedp.CSS(form+` textarea[name="body"]`), text),
		chromedp.Click(chromedp.CSS(form+` button[data-testid="note-add-submit"]`), chromedp.NodeVisible),
	) {
		return
	}
	// The flash comes with the page (or swap) that shows the new note.
	if !waitJS(ctx, t, "the new note on the page after adding", `Array.from(document.querySelectorAll('[data-testid="note"] [data-testid="note-body"]')).some(b => b.textContent.includes(`+jsString(text)+`))`) {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		alerts, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.alert, [role=alert], [role=status]')).map(a => a.textContent.trim())`))
		t.Fatalf("after adding, %s shows no note with %q; its alerts: %q", loc, text, alerts)
	}
	if flash, ok := eval[string](ctx, t, `(() => { const f = document.querySelector('[data-testid="flash"]'); return f ? f.textContent.trim() : ''; })()`); ok && flash == "" {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		alerts, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.alert')).map(a => a.className + ': ' + a.textContent.trim())`))
		t.Errorf("after adding, %s has no (or an empty) [data-testid=flash]; alerts on the page: %q", loc, alerts)
	} else if ok {
		t.Logf("flash after adding: %q", flash)
	}

	var added []string
	for _, n := range a.demo.Sandbox.Sendbird.Notes() {
		if n.Text == text {
			added = append(added, strconv.FormatInt(n.ID, 10))
			if got := strconv.FormatInt(n.TicketID, 10); got != f.ticket {
				t.Errorf("the simulator stored the note on ticket %s, want %s", got, f.ticket)
			}
		}
	}
	if len(added) != 1 {
		t.Fatalf("the Sendbird simulator holds %d notes with the added text (had %d notes before), want 1", len(added), before)
	}
	f.addedID = added[0]

	// The ticket's notes list has it too, after a fresh load.
	if !open(ctx, t, a, "/notes?account="+sendbirdID+"&ticket="+url.QueryEscape(f.ticket)) {
		return
	}
	notes, _ := readNotes(ctx, t, "body")
	if !slices.ContainsFunc(notes, func(n noteEl) bool { return n.ID == f.addedID && strings.Contains(n.Body, text) }) {
		t.Errorf("/notes?account=%s&ticket=%s does not list the added note %s (%q); it shows %s", sendbirdID, f.ticket, f.addedID, text, ids(notes))
	}
}

// choose picks value in a select as a person would, so change handlers run.
func choose(ctx context.Context, t *testing.T, sel, value string) bool {
	t.Helper()
	_, ok := eval[chromedp.Void](ctx, t, `(() => { const s = document.querySelector(`+jsString(sel)+`); s.value = `+jsString(value)+`;
		s.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	return ok
}

// deleteNote deletes a Sendbird note (the added one when there is one),
// accepting the confirmation dialog.
func deleteNote(ctx context.Context, t *testing.T, a *app, b *browser, f *flow) {
	path := "/notes?account=" + sendbirdID
	if f.ticket != "" {
		path += "&ticket=" + url.QueryEscape(f.ticket)
	}
	if !open(ctx, t, a, path) {
		return
	}
	notes, ok := readNotes(ctx, t, "body")
	if !ok {
		return
	}
	i := slices.IndexFunc(notes, func(n noteEl) bool { return n.Account == sendbirdID && n.CanDelete && n.ID == f.addedID })
	if i < 0 {
		i = slices.IndexFunc(notes, func(n noteEl) bool { return n.Account == sendbirdID && n.CanDelete && n.ID != f.editedID })
	}
	if i < 0 {
		t.Fatalf("no Sendbird note with button[data-testid=note-delete] on %s (%d notes shown)", path, len(notes))
	}
	id := notes[i].ID
	sel := noteSel(sendbirdID, id)
	if ok, _ := eval[bool](ctx, t, `(() => { const f = document.querySelector('`+sel+` button[data-testid="note-delete"]').closest('form'); return !!f && f.hasAttribute('hx-confirm'); })()`); !ok {
		t.Errorf("the delete button of note %s is not inside a form with hx-confirm", id)
	}
	totalBefore, _ := eval[int](ctx, t, totalJS)
	seen := b.dialogCount()
	if !do(ctx, t, "pressing delete", chromedp.Click(chromedp.CSS(sel+` button[data-testid="note-delete"]`), chromedp.NodeVisible)) {
		return
	}
	// The note stays in place, marked deleted, saying who and when, with a
	// link to its history; the counts drop by one.
	if !waitJS(ctx, t, "note "+id+" shown as deleted", `!!document.querySelector('`+sel+`[data-state="deleted"] [data-testid="note-deleted"] a[href$="/history"]')`) {
		body, _ := eval[string](ctx, t, `(document.querySelector('`+sel+`') || document.querySelector('#notes-results')).outerHTML.slice(0, 400)`)
		t.Logf("the note's place shows: %s", body)
		return
	}
	if line, _ := eval[string](ctx, t, `document.querySelector('`+sel+` [data-testid="note-deleted"]').textContent`); !strings.Contains(line, "Demo Admin") {
		t.Errorf("the deleted note says %q, not who deleted it", strings.Join(strings.Fields(line), " "))
	}
	if bare, _ := eval[bool](ctx, t, `document.querySelector('#notes-results').textContent.trim().startsWith('OK')`); bare {
		t.Error("a bare OK shows where the note was")
	}
	if !waitJS(ctx, t, fmt.Sprintf("the total to drop from %d", totalBefore), fmt.Sprintf(`(%s) === %d`, totalJS, totalBefore-1)) {
		return
	}
	dl := b.dialogsSince(seen)
	if len(dl) != 1 || dl[0].Type != page.DialogTypeConfirm {
		t.Errorf("deleting opened dialogs %+v, want one confirm", dl)
	} else {
		t.Logf("confirm dialog: %q", dl[0].Message)
	}
	f.deletedID = id
	for _, n := range a.demo.Sandbox.Sendbird.Notes() {
		if strconv.FormatInt(n.ID, 10) == id {
			t.Errorf("the Sendbird simulator still holds the deleted note %s", id)
		}
	}
	if !do(ctx, t, "reloading", chromedp.Reload()) {
		return
	}
	if still, _ := eval[bool](ctx, t, `!!document.querySelector('`+sel+`')`); still {
		t.Errorf("after reload the deleted note %s is listed again", id)
	}
	if after, _ := eval[int](ctx, t, totalJS); after != totalBefore-1 {
		t.Errorf("after reload the total is %d, want %d", after, totalBefore-1)
	}
}

// totalJS reads the list's data-total, -1 when there is none.
const totalJS = `(() => { const e = document.querySelector('[data-testid="total"]'); return e ? Number(e.getAttribute('data-total')) : -1; })()`

// conversationPath is a Sendbird ticket that has notes: the one the flows
// used, else the first the simulator holds.
func conversationPath(a *app, f *flow) string {
	ticket := f.ticket
	if ticket == "" {
		if notes := a.demo.Sandbox.Sendbird.Notes(); len(notes) > 0 {
			ticket = strconv.FormatInt(notes[0].TicketID, 10)
		}
	}
	return "/tickets/" + sendbirdID + "/" + ticket
}

// searchChinese puts a note with a Chinese phrase at the vendor, syncs,
// searches a two-character word of it through the filter form and checks
// the match is highlighted, the rest of the note escaped text.
func searchChinese(ctx context.Context, t *testing.T, a *app) {
	sb := a.demo.Sandbox.Sendbird
	text := fmt.Sprintf("<i>客户的证书已过期</i> e2e-%d", time.Now().UnixNano())
	if _, err := sb.PutNote(sb.Tickets()[0].ID, text, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	a.sync(t)
	if !open(ctx, t, a, "/notes") {
		return
	}
	if !apply(ctx, t, map[string]string{"from": time.Now().AddDate(0, 0, -7).Format(time.DateOnly), "to": time.Now().Format(time.DateOnly), "q": "证书"}) {
		return
	}
	got, ok := eval[struct {
		Marks []string `json:"marks"`
		Body  string   `json:"body"`
	}](ctx, t, `(() => {
		const n = Array.from(document.querySelectorAll('#notes-results [data-testid="note"] [data-testid="note-body"]')).find(b => b.textContent.includes('客户的证书已过期'));
		return n ? {marks: Array.from(n.querySelectorAll('mark')).map(m => m.textContent), body: n.textContent} : {marks: [], body: ''};
	})()`)
	if !ok {
		return
	}
	if !slices.Contains(got.Marks, "证书") {
		t.Errorf("searching 证书 shows %q with marks %q", got.Body, got.Marks)
	}
	if !strings.Contains(got.Body, "<i>") {
		t.Errorf("the note's HTML is not shown as text around the mark: %q", got.Body)
	}
}

// syncNow presses an account's "Sync now" and waits for its freshness line
// to change without a reload: the pass runs and the line shows its new end.
func syncNow(ctx context.Context, t *testing.T, a *app) {
	if !open(ctx, t, a, "/notes") {
		return
	}
	sel := `[data-testid="account-status"][data-account-id="` + alibabaID + `"]`
	before, _ := eval[string](ctx, t, `(() => { const e = document.querySelector('`+sel+` [data-testid="freshness"]'); return e ? e.innerHTML : ''; })()`)
	if before == "" {
		t.Fatalf("no freshness line for account %s", alibabaID)
	}
	// A marker on the page goes away if the page reloads instead of
	// swapping the statuses.
	if _, ok := eval[chromedp.Void](ctx, t, `document.body.setAttribute('data-e2e-same-page', '1')`); !ok {
		return
	}
	// The account is a chip; its detail, with Sync now, opens on click.
	if !do(ctx, t, "opening the account's chip", chromedp.Click(chromedp.CSS(sel+` summary`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(sel+` button[data-testid="sync-now"]`))) {
		return
	}
	if !do(ctx, t, "pressing Sync now", chromedp.Click(chromedp.CSS(sel+` button[data-testid="sync-now"]`), chromedp.NodeVisible)) {
		return
	}
	if !waitJS(ctx, t, "the freshness line to change", `(() => { const e = document.querySelector('`+sel+` [data-testid="freshness"]'); return !!e && e.innerHTML !== `+jsString(before)+`; })()`) {
		return
	}
	if same, _ := eval[bool](ctx, t, `document.body.getAttribute('data-e2e-same-page') === '1'`); !same {
		t.Error("the page reloaded instead of updating the freshness line in place")
	}
	// The chip opened to press Sync now stays open through the re-polls.
	if open, _ := eval[bool](ctx, t, `!!document.querySelector('`+sel+` details[open]')`); !open {
		t.Error("the account's chip closed when the line of chips re-polled")
	}
}

// historyPath is the history of the note the delete flow deleted (it has
// an edit or a create and the delete), else of the edited one.
func historyPath(f *flow) string {
	id := f.deletedID
	if id == "" {
		id = f.editedID
	}
	return "/notes/" + sendbirdID + "/" + url.PathEscape(f.ticket) + "/" + url.PathEscape(id) + "/history"
}

// conversation opens one ticket's timeline and checks it lists notes.
func conversation(ctx context.Context, t *testing.T, a *app, f *flow) {
	path := conversationPath(a, f)
	if !open(ctx, t, a, path) {
		return
	}
	if !waitJS(ctx, t, "[data-testid=timeline] with [data-testid=note] elements on "+path,
		`!!document.querySelector('[data-testid="timeline"] [data-testid="note"]')`) {
		return
	}
	notes, _ := readNotes(ctx, t, `[data-testid="timeline"]`)
	for _, n := range notes {
		if n.ID == "" {
			t.Errorf("a timeline note has no data-note-id")
		}
	}
	// The deleted note stays readable in its ticket's history, marked.
	if f.deletedID != "" {
		state, _ := eval[string](ctx, t, `(() => { const n = document.querySelector('[data-testid="timeline"] `+noteSel(sendbirdID, f.deletedID)+`'); return n ? (n.getAttribute('data-state') || 'live') : 'missing'; })()`)
		if state != "deleted" {
			t.Errorf("the deleted note %s is %s in the timeline, want shown with data-state=deleted", f.deletedID, state)
		}
	}
	if f.editedID != "" && f.ticket != "" {
		if i := slices.IndexFunc(notes, func(n noteEl) bool { return n.ID == f.editedID }); i >= 0 && !strings.Contains(notes[i].Body, f.editedText) {
			t.Errorf("the timeline shows note %s as %q, want the edited text %q", f.editedID, notes[i].Body, f.editedText)
		}
	}
}

// auditRecorded checks /audit lists the three note changes as ok.
func auditRecorded(ctx context.Context, t *testing.T, a *app) {
	if !open(ctx, t, a, "/audit") {
		return
	}
	rows, ok := eval[[]struct {
		Action  string `json:"action"`
		Outcome string `json:"outcome"`
	}](ctx, t, `Array.from(document.querySelectorAll('[data-testid="audit-row"]')).map(r => ({action: r.getAttribute('data-action') || '', outcome: r.getAttribute('data-outcome') || ''}))`)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Action+"="+r.Outcome] = true
	}
	for _, action := range []string{"note.update", "note.create", "note.delete"} {
		if !seen[action+"=ok"] {
			var have []string
			for k := range seen {
				have = append(have, k)
			}
			slices.Sort(have)
			t.Errorf("no [data-testid=audit-row][data-action=%q][data-outcome=\"ok\"] on /audit; rows have %v", action, have)
		}
	}
}
