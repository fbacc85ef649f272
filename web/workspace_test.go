package web

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// totalOf reads the list's total from its data-total attribute.
func totalOf(t *testing.T, s *goquery.Selection) int {
	t.Helper()
	v, ok := s.Find(`[data-testid=total]`).Attr("data-total")
	if !ok {
		t.Fatal("no [data-testid=total] element")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("data-total %q: %v", v, err)
	}
	return n
}

// statusCount is the "N notes" count beside account id in the statuses.
func statusCount(s *goquery.Selection, id string) string {
	return strings.TrimSpace(s.Find(`[data-testid=account-status][data-account-id="` + id + `"] [data-testid=account-count]`).First().Text())
}

func TestExportLinksFollowAnHTMXFilter(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	c.get("/notes") // the page the user starts from
	// The filter swaps #notes-results only; the exports must be in it and
	// carry the new filters.
	resp, partial := c.get("/notes?account=2&role=agent", "HX-Request", "true", "HX-Target", "notes-results")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("partial: %d", resp.StatusCode)
	}
	d := doc(t, "<div id=results>"+partial+"</div>")
	href, ok := d.Find(`[data-testid=export-csv]`).Attr("href")
	if !ok {
		t.Fatal("the swapped results carry no CSV export link")
	}
	u, err := url.Parse(href)
	if err != nil || u.Path != "/notes/export.csv" || u.Query().Get("account") != "2" || u.Query().Get("role") != "agent" {
		t.Fatalf("export link %q does not carry the filter", href)
	}
	total := totalOf(t, d.Selection)
	if total == 0 {
		t.Fatal("the filter matched nothing; the test needs notes")
	}
	resp, body := c.get(href)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rows) - 1; got != total {
		t.Errorf("CSV has %d notes, the list shows %d", got, total)
	}
	// The full page keeps no second, stale set of export links outside the
	// swap target.
	_, full := c.get("/notes?account=2&role=agent")
	fd := doc(t, full)
	if n := fd.Find(`a[href^="/notes/export."]`).Length(); n != 3 || fd.Find(`#notes-results a[href^="/notes/export."]`).Length() != 3 {
		t.Errorf("%d export links on the page, want the 3 inside #notes-results", n)
	}
}

func TestHTMXDeleteShowsTheNoteDeletedAndUpdatesCounts(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	list := "/notes?account=2"
	_, page := c.get(list)
	pd := doc(t, page)
	before := totalOf(t, pd.Selection)
	beforeStatus := statusCount(pd.Selection, "2")
	note := pd.Find(`[data-testid=note][data-account-id="2"]`).First()
	ticket, id := note.AttrOr("data-ticket-id", ""), note.AttrOr("data-note-id", "")
	if ticket == "" || id == "" {
		t.Fatal("no Sendbird note on the page")
	}
	path := "/notes/2/" + url.PathEscape(ticket) + "/" + url.PathEscape(id)
	resp, frag := c.post(path+"/delete", url.Values{"mode": {"list"}, "back": {list}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d %s", resp.StatusCode, frag)
	}
	if strings.TrimSpace(frag) == "OK" {
		t.Fatal("delete answered a bare OK")
	}
	fd := doc(t, "<div id=x>"+frag+"</div>")
	gone := fd.Find(`[data-testid=note][data-state=deleted]`)
	if gone.Length() != 1 || gone.AttrOr("data-note-id", "") != id {
		t.Fatalf("the answer does not show the note as deleted: %s", frag)
	}
	line := gone.Find(`[data-testid=note-deleted]`)
	if !strings.Contains(line.Text(), "Demo Admin") || line.Find("time[datetime]").Length() != 1 {
		t.Errorf("deleted line %q does not say who and when", line.Text())
	}
	if href := line.Find("a").AttrOr("href", ""); href != path+"/history" {
		t.Errorf("deleted line links to %q, want the note's history", href)
	}
	if gone.Find(`[data-testid=note-edit], [data-testid=note-delete]`).Length() != 0 {
		t.Error("a deleted note still offers edit or delete")
	}
	// The counts come along out of band, one fewer.
	total := fd.Find(`#notes-count[hx-swap-oob]`)
	if total.Length() != 1 {
		t.Fatalf("no out-of-band total in the answer")
	}
	if got := totalOf(t, total); got != before-1 {
		t.Errorf("total after delete = %d, want %d", got, before-1)
	}
	statuses := fd.Find(`#notes-statuses[hx-swap-oob]`)
	if statuses.Length() != 1 {
		t.Fatal("no out-of-band account statuses in the answer")
	}
	n, _ := strconv.Atoi(strings.Fields(beforeStatus)[0])
	if got := statusCount(statuses, "2"); got != strconv.Itoa(n-1)+" notes" {
		t.Errorf("account count after delete = %q, want %d notes (was %q)", got, n-1, beforeStatus)
	}
}

func TestAddFormPreselectsNoAccountAndNamesWhoWillSeeIt(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, page := c.get("/notes")
	form := doc(t, page).Find(`[data-testid=note-add-form]`)
	sel := form.Find(`select[name=account]`)
	if v := sel.Find(`option[selected]`).AttrOr("value", "missing"); v != "" {
		t.Errorf("the add form preselects account %q", v)
	}
	if _, ok := sel.Attr("required"); !ok {
		t.Error("the account choice is not required")
	}
	labels := map[string]string{}
	sel.Find("option").Each(func(_ int, o *goquery.Selection) { labels[o.AttrOr("value", "")] = o.AttrOr("data-label", "") })
	for acct, want := range map[string]string{"1": "Reply to Alibaba Cloud support", "2": "Add internal note", "3": "Send to the customer"} {
		if labels[acct] != want {
			t.Errorf("account %s: button label %q, want %q", acct, labels[acct], want)
		}
	}
	if got := strings.TrimSpace(form.Find(`[data-testid=note-add-submit]`).Text()); got != "Add note" {
		t.Errorf("button before a choice says %q", got)
	}
	// A refused submit keeps the choice and the button names it.
	resp, again := c.post("/notes", url.Values{"account": {"3"}, "ticket": {"bad id!"}, "body": {"x"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad ticket: %d", resp.StatusCode)
	}
	if got := strings.TrimSpace(doc(t, again).Find(`[data-testid=note-add-submit]`).Text()); got != "Send to the customer" {
		t.Errorf("button after choosing Feishu says %q", got)
	}
	// The conversation's own form knows its account.
	ticket := doc(t, page).Find(`[data-testid=note][data-account-id="3"]`).First().AttrOr("data-ticket-id", "")
	if ticket == "" {
		t.Fatal("no Feishu note on the notes page")
	}
	_, conv := c.get("/tickets/3/" + url.PathEscape(ticket))
	if got := strings.TrimSpace(doc(t, conv).Find(`[data-testid=note-add-submit]`).Text()); got != "Send to the customer" {
		t.Errorf("Feishu conversation button says %q", got)
	}
}

func TestNoteAddedHereShowsWhoAddedIt(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	ticket := strconv.FormatInt(sb.Tickets()[0].ID, 10)
	_, page := c.get("/notes")
	token := doc(t, page).Find(`[data-testid=note-add-form] input[name=form_token]`).AttrOr("value", "")
	if resp, _ := c.post("/notes", url.Values{"account": {"2"}, "ticket": {ticket}, "body": {"written through the dashboard"}, "form_token": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	_, conv := c.get("/tickets/2/" + ticket)
	var found, others bool
	doc(t, conv).Find(`[data-testid=note]`).Each(func(_ int, s *goquery.Selection) {
		author := strings.TrimSpace(s.Find(`[data-testid=note-author]`).Text())
		if strings.TrimSpace(s.Find(`[data-testid=note-body]`).Text()) == "written through the dashboard" {
			found = true
			if author != "Demo Admin via ticketnotes" {
				t.Errorf("author %q, want Demo Admin via ticketnotes", author)
			}
			if s.Find(`[data-testid=note-vendor-author]`).Length() != 1 {
				t.Error("the provider's own attribution is not kept")
			}
		} else if strings.Contains(author, "via ticketnotes") {
			others = true
		}
	})
	if !found {
		t.Fatal("the added note is not in the conversation")
	}
	if others {
		t.Error("a note written at the provider is attributed to ticketnotes")
	}
}

func TestCapabilityLineSaysWhatTheViewerMayDo(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	_, mb := ds.signIn(demoManager).get("/notes")
	if strings.Contains(mb, "can be added, edited and deleted here") || strings.Contains(mb, "Notes can be added but not") {
		t.Error("a manager is told notes can be changed here")
	}
	if !strings.Contains(mb, "You can read and export these notes; admins can add, edit and delete them here.") {
		t.Error("the manager's page does not say what a manager may do")
	}
	_, ab := ds.signIn(demoAdmin).get("/notes")
	if !strings.Contains(ab, "Notes can be added, edited and deleted here.") {
		t.Error("the admin's page does not say what the admin may do")
	}
}

func TestPastTheLastPageLinksToTheLastPage(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, first := c.get("/notes")
	total := totalOf(t, doc(t, first).Selection)
	last := (total + notesPageSizeForTest - 1) / notesPageSizeForTest
	resp, body := c.get("/notes?page=" + strconv.Itoa(last+5))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("past the end: %d", resp.StatusCode)
	}
	d := doc(t, body)
	if d.Find(`[data-testid=notes-empty]`).Length() != 0 {
		t.Error(`past the last page says "No notes match these filters"`)
	}
	past := d.Find(`[data-testid=notes-past-end]`)
	if want := "Page " + strconv.Itoa(last+5) + " of " + strconv.Itoa(last); !strings.Contains(past.Text(), want) {
		t.Errorf("past-the-end notice %q, want %q", past.Text(), want)
	}
	href := past.Find("a").AttrOr("href", "")
	u, err := url.Parse(href)
	if err != nil || u.Query().Get("page") != strconv.Itoa(last) {
		t.Errorf("link %q does not go to page %d", href, last)
	}
}

// TestARIAReferencesExist checks every page's aria-describedby and
// aria-labelledby name elements that are there, ids are unique, and
// aria-label sits only on elements that can carry a name.
func TestARIAReferencesExist(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	pages := []string{"/notes", "/notes?ticket=bad!&q=x", "/accounts", "/accounts/new?kind=sendbird", "/accounts/2/edit",
		"/users", "/users/new", "/preferences", "/audit", "/audit?from=nope"}
	for _, p := range pages {
		_, body := c.get(p)
		checkARIA(t, p, body)
	}
	// A refused add shows the add form's errors beside the filter's.
	_, body := c.post("/notes?ticket=bad!", url.Values{"account": {""}, "ticket": {"bad id!"}, "body": {""}})
	checkARIA(t, "refused add", body)
	_, body = ds.client().get("/login")
	checkARIA(t, "/login", body)
}

func checkARIA(t *testing.T, page, body string) {
	t.Helper()
	d := doc(t, body)
	ids := map[string]int{}
	d.Find("[id]").Each(func(_ int, s *goquery.Selection) { ids[s.AttrOr("id", "")]++ })
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: id %q used %d times", page, id, n)
		}
	}
	d.Find("[aria-describedby], [aria-labelledby]").Each(func(_ int, s *goquery.Selection) {
		for _, attr := range []string{"aria-describedby", "aria-labelledby"} {
			for _, ref := range strings.Fields(s.AttrOr(attr, "")) {
				if ids[ref] == 0 {
					t.Errorf("%s: %s=%q names no element (%s)", page, attr, ref, goquery.NodeName(s))
				}
			}
		}
	})
	d.Find("span[aria-label], div[aria-label]").Each(func(_ int, s *goquery.Selection) {
		if _, ok := s.Attr("role"); !ok {
			t.Errorf("%s: aria-label on a plain <%s> %q", page, goquery.NodeName(s), s.AttrOr("aria-label", ""))
		}
	})
}

func TestAlibabaDenialIsExplainedWithCodeMessageAndDetail(t *testing.T) {
	t.Parallel()
	for _, asObject := range []bool{true, false} {
		ds := newDemoServer(t)
		ds.demo.Sandbox.Alibaba.Deny("ListTickets", asObject)
		ds.syncFailing()
		_, body := ds.signIn(demoAdmin).get("/notes")
		st := doc(t, body).Find(`[data-testid=account-status][data-account-id="1"]`)
		if st.AttrOr("data-ok", "") != "false" {
			t.Fatalf("object detail %v: the denied account shows as ok", asObject)
		}
		text := strings.Join(strings.Fields(st.Text()), " ")
		for _, want := range []string{"No permissions", "HTTP 403", "workorder:ListTickets", "ImplicitDeny", "request id", "“"} {
			if !strings.Contains(text, want) {
				t.Errorf("object detail %v: %q lacks %q", asObject, text, want)
			}
		}
	}
}

// TestPageViewsAskNoVendor loads every read page and export of the notes
// workspace and checks the simulators saw no request: pages read only the
// archive.
func TestPageViewsAskNoVendor(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, page := c.get("/notes")
	var paths []string
	doc(t, page).Find(`[data-testid=note]`).Each(func(_ int, s *goquery.Selection) {
		if len(paths) < 9 {
			base := "/tickets/" + s.AttrOr("data-account-id", "") + "/" + url.PathEscape(s.AttrOr("data-ticket-id", ""))
			paths = append(paths, base, base+"/export.csv", base+"/timeline")
		}
	})
	sb := ds.demo.Sandbox
	meters := []*simfault.Meter{sb.Alibaba.Meter, sb.Sendbird.Meter, sb.Feishu.Meter}
	for _, m := range meters {
		m.Reset()
	}
	paths = append(paths, "/notes", "/notes?page=2", "/notes?q=refund", "/notes?account=1&role=agent", "/notes/statuses",
		"/notes/export.csv", "/notes/export.json", "/notes/export.md", "/notes?from=2000-01-01&to=2100-12-31")
	for _, p := range paths {
		if resp, _ := c.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	for i, m := range meters {
		if n := m.Stats().Requests; n != 0 {
			t.Errorf("simulator %d saw %d requests during page views", i, n)
		}
	}
}

func TestSearchFindsChineseEnglishPrefixAndPhraseWithMarks(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	sb := ds.demo.Sandbox.Sendbird
	tk := sb.Tickets()[0]
	ticket := tk.ID
	// Before the default 30-day range, after the ticket was opened.
	old := tk.CreatedAt.Add(time.Hour)
	if time.Since(old) < 40*24*time.Hour {
		t.Fatalf("ticket %d was created %s ago; the test needs one older than 40 days", ticket, time.Since(tk.CreatedAt))
	}
	for _, n := range []struct {
		text string
		at   time.Time
	}{
		{"<b>证书已过期</b> & 请更新", time.Now().Add(-time.Hour)},
		{"Flummoxes were issued for the velvet gadget twice", time.Now().Add(-2 * time.Hour)},
		{"gadget, velvet: no flummox", time.Now().Add(-3 * time.Hour)},
		{"证书 renewed long ago", old},
	} {
		if _, err := sb.PutNote(ticket, n.text, n.at); err != nil {
			t.Fatal(err)
		}
	}
	ds.sync()
	c := ds.signIn(demoManager)
	find := func(q url.Values) (bodies []string, marks []string, raw string) {
		t.Helper()
		resp, body := c.get("/notes?" + q.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/notes?%s: %d", q.Encode(), resp.StatusCode)
		}
		d := doc(t, body)
		d.Find(`[data-testid=note] [data-testid=note-body]`).Each(func(_ int, s *goquery.Selection) {
			bodies = append(bodies, s.Text())
			s.Find("mark").Each(func(_ int, m *goquery.Selection) { marks = append(marks, m.Text()) })
		})
		return bodies, marks, body
	}
	all := url.Values{"from": {"2000-01-01"}, "to": {"2100-12-31"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range all {
			q[kk] = vv
		}
		q.Set(k, v)
		return q
	}
	bodies, marks, raw := find(with("q", "证书"))
	if len(bodies) != 2 || !slices.Contains(marks, "证书") {
		t.Errorf("证书: %d notes %q, marks %q", len(bodies), bodies, marks)
	}
	if !strings.Contains(raw, "&lt;b&gt;<mark>证书</mark>") {
		t.Error("the note's HTML is not escaped around the mark")
	}
	if bodies, marks, _ := find(with("q", "flummox")); len(bodies) != 2 || !slices.Contains(marks, "Flummoxes") {
		t.Errorf("flummox: %d notes, marks %q", len(bodies), marks)
	}
	if bodies, _, _ := find(with("q", "flum*")); len(bodies) != 2 {
		t.Errorf("prefix flum*: %d notes", len(bodies))
	}
	if bodies, _, _ := find(with("q", `"velvet gadget"`)); len(bodies) != 1 || !strings.Contains(bodies[0], "velvet gadget twice") {
		t.Errorf(`phrase "velvet gadget": %q`, bodies)
	}
	// Combined with the default 30-day range, the old note drops out.
	if bodies, _, _ := find(url.Values{"q": {"证书"}}); len(bodies) != 1 {
		t.Errorf("证书 in the last 30 days: %d notes, want 1", len(bodies))
	}
}

func TestEditsAndDeletionsAtTheVendorAreKeptAsHistory(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	sb := ds.demo.Sandbox.Sendbird
	notes := sb.Notes()
	edited, gone := notes[0], notes[1]
	if err := sb.EditNote(edited.ID, "changed at the vendor"); err != nil {
		t.Fatal(err)
	}
	if err := sb.RemoveNote(gone.ID); err != nil {
		t.Fatal(err)
	}
	ds.sync()
	c := ds.signIn(demoManager)
	check := func(n int64, ticket int64) *goquery.Selection {
		t.Helper()
		_, body := c.get("/tickets/2/" + strconv.FormatInt(ticket, 10))
		el := doc(t, body).Find(`[data-testid=note][data-note-id="` + strconv.FormatInt(n, 10) + `"]`)
		if el.Length() != 1 {
			t.Fatalf("note %d is not in its ticket's conversation", n)
		}
		return el
	}
	e := check(edited.ID, edited.TicketID)
	if !strings.Contains(e.Find(`[data-testid=note-body]`).Text(), "changed at the vendor") || e.Find(`[data-testid=note-edited]`).Length() != 1 {
		t.Errorf("the edited note shows %q without an edited badge", e.Find(`[data-testid=note-body]`).Text())
	}
	g := check(gone.ID, gone.TicketID)
	if g.AttrOr("data-state", "") != "deleted" || !strings.Contains(g.Find(`[data-testid=note-body]`).Text(), gone.Text) {
		t.Errorf("the deleted note is not marked deleted with its text kept: state %q", g.AttrOr("data-state", ""))
	}
	// The edited note's history lists both versions, the new one current.
	_, hist := c.get("/notes/2/" + strconv.FormatInt(edited.TicketID, 10) + "/" + strconv.FormatInt(edited.ID, 10) + "/history")
	vs := doc(t, hist).Find(`[data-testid=note-version]`)
	if vs.Length() != 2 || vs.Last().AttrOr("data-current", "") != "true" || !strings.Contains(vs.First().Text(), edited.Text) {
		t.Errorf("history shows %d versions: %q", vs.Length(), strings.Join(strings.Fields(vs.Text()), " "))
	}
	// The list leaves the deleted note out, so the totals count live notes.
	_, list := c.get("/notes?account=2&from=2000-01-01&to=2100-12-31")
	if doc(t, list).Find(`[data-testid=note][data-note-id="`+strconv.FormatInt(gone.ID, 10)+`"]`).Length() != 0 {
		t.Error("the list shows the deleted note")
	}
}

func TestSendbirdNotesOlderThanAYearAreShownAndEditable(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	sb := ds.demo.Sandbox.Sendbird
	ticket := sb.PutTicket("an old ticket", time.Now().AddDate(-2, 0, 0))
	id, err := sb.PutNote(ticket, "written 400 days ago", time.Now().AddDate(0, 0, -400))
	if err != nil {
		t.Fatal(err)
	}
	ds.sync()
	c := ds.signIn(demoAdmin)
	tk, nid := strconv.FormatInt(ticket, 10), strconv.FormatInt(id, 10)
	_, conv := c.get("/tickets/2/" + tk)
	if doc(t, conv).Find(`[data-testid=note][data-note-id="`+nid+`"]`).Length() != 1 {
		t.Fatal("a note older than a year is not in its ticket's conversation")
	}
	resp, frag := c.post("/notes/2/"+tk+"/"+nid, url.Values{"body": {"edited after 400 days"}, "mode": {"timeline"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(frag, "edited after 400 days") {
		t.Fatalf("editing the old note: %d", resp.StatusCode)
	}
	for _, n := range sb.Notes() {
		if n.ID == id && n.Text != "edited after 400 days" {
			t.Errorf("the simulator holds %q", n.Text)
		}
	}
	// Written through: the archive shows the edit at once, as version 2.
	_, conv = c.get("/tickets/2/" + tk)
	el := doc(t, conv).Find(`[data-testid=note][data-note-id="` + nid + `"]`)
	if !strings.Contains(el.Text(), "edited after 400 days") || el.Find(`[data-testid=note-edited]`).Length() != 1 {
		t.Errorf("the conversation shows %q after the edit", strings.Join(strings.Fields(el.Text()), " "))
	}
}

// TestAFailingAccountLeavesTheOthersSyncedAndReadable arms each fault a
// vendor can show on the Sendbird simulator in turn: its pass fails and
// says why, the other two sync, and every archive stays readable.
func TestAFailingAccountLeavesTheOthersSyncedAndReadable(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]simfault.Fault{"server error": simfault.ServerError, "malformed": simfault.Malformed,
		"expired token": simfault.ExpiredToken} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ds := newDemoServer(t)
			sb := ds.demo.Sandbox
			// New notes at every vendor; only the healthy ones may bring theirs.
			if _, err := sb.Sendbird.PutNote(sb.Sendbird.Tickets()[0].ID, "fresh sendbird note", time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			ali := sb.Alibaba.TicketIDs()[0]
			if _, err := sb.Alibaba.PutNote(ali, "fresh alibaba note", time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			sb.Sendbird.Faults.Arm(f, -1)
			ds.syncFailing()
			_, body := ds.signIn(demoManager).get("/notes")
			d := doc(t, body)
			if st := d.Find(`[data-testid=account-status][data-account-id="2"]`); st.AttrOr("data-ok", "") != "false" ||
				st.Find(`[data-testid=sync-failure]`).Length() != 1 {
				t.Errorf("the failing account does not say its sync failed: %q", strings.Join(strings.Fields(st.Text()), " "))
			}
			if n := d.Find(`[data-testid=account-status][data-ok=true]`).Length(); n != 2 {
				t.Errorf("%d healthy accounts, want 2", n)
			}
			_, bodies, _ := notesOf(d)
			var texts []string
			for _, b := range bodies {
				texts = append(texts, b)
			}
			if !slices.Contains(texts, "fresh alibaba note") {
				t.Error("the healthy Alibaba account's new note did not arrive")
			}
			if slices.Contains(texts, "fresh sendbird note") {
				t.Error("the failing account's new note arrived anyway")
			}
			ids, _, _ := notesOf(d)
			if !slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, "2/") }) {
				t.Error("the failing account's archive is not readable")
			}
		})
	}
}
