package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views"
)

// setPrefs sets the signed-in user's language and zone.
func setPrefs(t *testing.T, c *client, lang, zone string) {
	t.Helper()
	if resp, _ := c.post("/preferences", url.Values{"lang": {lang}, "timezone": {zone}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("preferences %s %s: %d", lang, zone, resp.StatusCode)
	}
}

// presets reads the filter bar's date presets: label id → link, and the
// one marked current.
func presets(t *testing.T, d *goquery.Document) (links map[string]*url.URL, current []string) {
	t.Helper()
	links = map[string]*url.URL{}
	d.Find(`form#notes-filter [data-testid=range-presets] a[data-preset]`).Each(func(_ int, s *goquery.Selection) {
		u, err := url.Parse(s.AttrOr("href", ""))
		if err != nil || u.Path != "/notes" {
			t.Errorf("preset %s links to %q", s.AttrOr("data-preset", ""), s.AttrOr("href", ""))
			return
		}
		links[s.AttrOr("data-preset", "")] = u
		if s.AttrOr("aria-current", "") == "true" {
			current = append(current, s.AttrOr("data-preset", ""))
		}
	})
	return links, current
}

func TestNotesFilterBarPresetsAndSort(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoManager)
	setPrefs(t, c, "en", "Asia/Shanghai")

	// The default range is the last 30 days: that preset is current.
	_, body := c.get("/notes?account=2")
	d := doc(t, body)
	to := d.Find(`form#notes-filter input[name=to]`).AttrOr("value", "")
	today, err := time.Parse(time.DateOnly, to)
	if err != nil {
		t.Fatalf("the filter's to field is %q", to)
	}
	links, current := presets(t, d)
	want := map[string]string{"range.today": to, "range.last7": today.AddDate(0, 0, -6).Format(time.DateOnly),
		"range.last30": today.AddDate(0, 0, -29).Format(time.DateOnly), "range.last90": today.AddDate(0, 0, -89).Format(time.DateOnly),
		"range.month": today.Format("2006-01") + "-01"}
	for id, from := range want {
		u, ok := links[id]
		if !ok {
			t.Errorf("no %s preset (have %v)", id, links)
			continue
		}
		// A preset changes the range and keeps the other filters.
		if q := u.Query(); q.Get("from") != from || q.Get("to") != to || q.Get("account") != "2" {
			t.Errorf("%s preset links to %s, want from=%s to=%s account=2", id, u, from, to)
		}
	}
	if !slices.Equal(current, []string{"range.last30"}) {
		t.Errorf("current presets %v, want the default last 30 days", current)
	}
	if d.Find(`details.custom-range[open]`).Length() != 0 {
		t.Error("the custom range is unfolded while a preset is current")
	}

	// Following the 90-day preset marks it current.
	_, body = c.get(links["range.last90"].String())
	if _, current := presets(t, doc(t, body)); !slices.Equal(current, []string{"range.last90"}) {
		t.Errorf("after the 90-day preset the current presets are %v", current)
	}
	// A range no preset names is custom: no preset current, the from/to
	// fields unfolded.
	_, body = c.get("/notes?from=" + today.AddDate(0, 0, -3).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, -1).Format(time.DateOnly))
	d = doc(t, body)
	if _, current := presets(t, d); len(current) != 0 {
		t.Errorf("a custom range marks presets %v current", current)
	}
	if d.Find(`details.custom-range[open] input[name=from][type=date]`).Length() != 1 || d.Find(`details.custom-range > summary.chip-current`).Length() != 1 {
		t.Error("a custom range does not show its from/to fields as the current choice")
	}

	// The order: newest and oldest; relevance only while searching.
	sortOptions := func(d *goquery.Document) (labels []string, selected string) {
		d.Find(`select#sort[name=sort] option`).Each(func(_ int, s *goquery.Selection) {
			labels = append(labels, s.AttrOr("value", "")+"="+strings.TrimSpace(s.Text()))
			if _, ok := s.Attr("selected"); ok {
				selected = strings.TrimSpace(s.Text())
			}
		})
		return labels, selected
	}
	_, body = c.get("/notes")
	if got, sel := sortOptions(doc(t, body)); !slices.Equal(got, []string{"=Newest", "oldest=Oldest"}) || sel != "Newest" {
		t.Errorf("sort without a search: %v, selected %q", got, sel)
	}
	_, body = c.get("/notes?q=" + url.QueryEscape("the"))
	if got, sel := sortOptions(doc(t, body)); !slices.Equal(got, []string{"=Best match", "newest=Newest", "oldest=Oldest"}) || sel != "Best match" {
		t.Errorf("sort with a search: %v, selected %q", got, sel)
	}
	// Oldest first, as the select submits it (a plain GET of the form).
	_, body = c.get("/notes?sort=oldest&from=" + want["range.last90"] + "&to=" + to)
	d = doc(t, body)
	if _, sel := sortOptions(d); sel != "Oldest" {
		t.Errorf("sort=oldest shows %q selected", sel)
	}
	_, _, times := notesOf(d)
	if len(times) < 2 || !slices.IsSortedFunc(times, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("sort=oldest lists %d notes not oldest first: %v", len(times), times)
	}

	// An htmx filter swaps the results only; the presets' links and the
	// orders offered follow the new filter out of band.
	resp, partial := c.get("/notes?account=2&q=the", "HX-Request", "true", "HX-Target", "notes-results")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("htmx filter: %d", resp.StatusCode)
	}
	pd := doc(t, "<div id=x>"+partial+"</div>")
	pu, err := url.Parse(pd.Find(`#range-presets[hx-swap-oob] a[data-preset="range.last7"]`).AttrOr("href", ""))
	if err != nil || pu.Query().Get("account") != "2" || pu.Query().Get("q") != "the" {
		t.Errorf("after an htmx filter the 7-day preset links to %v, want the new filter kept", pu)
	}
	if got, sel := sortOptions(pd); !slices.Contains(got, "=Best match") || sel != "Best match" {
		t.Errorf("after an htmx search the orders are %v, selected %q", got, sel)
	}

	// In Chinese.
	setPrefs(t, c, "zh-Hans", "Asia/Shanghai")
	_, body = c.get("/notes?q=the")
	d = doc(t, body)
	bar := d.Find(`form#notes-filter`).Text()
	for _, s := range []string{"今天", "7 天", "30 天", "90 天", "本月", "自定义", "最相关", "最早", "排序"} {
		if !strings.Contains(bar, s) {
			t.Errorf("the Chinese filter bar lacks %q", s)
		}
	}
}

func TestNotesRowsAndChips(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ctx := context.Background()
	const ticket, title = "T-issue10", `Refund <b>order</b> 42`
	if err := ds.db.StoreTickets(ctx, 2, []providers.Ticket{{ID: ticket, Title: title}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("A long note about the refund. ", 40) + "THE-END"
	now := time.Now().UTC().Truncate(time.Second)
	for _, n := range []providers.Note{
		{ID: "long-1", TicketID: ticket, AccountID: 2, AuthorName: "Ada", AuthorRole: providers.RoleAgent, Body: long, ContentType: "text", CreatedAt: now.Add(-3 * time.Hour)},
		{ID: "short-1", TicketID: ticket, AccountID: 2, AuthorName: "Bo", AuthorRole: providers.RoleCustomer, Body: "Thanks, refund received.", ContentType: "text", CreatedAt: now.Add(-2*time.Hour - 30*time.Minute),
			Attachments: []providers.Attachment{{Name: "receipt.pdf", URL: "https://files.example/receipt.pdf"}, {Name: "photo.png", URL: "https://files.example/photo.png"}}},
		{ID: "gone-1", TicketID: ticket, AccountID: 2, AuthorName: "Cy", AuthorRole: providers.RoleAgent, Body: "Removed at the vendor.", ContentType: "text", CreatedAt: now.Add(-time.Hour)},
	} {
		if err := ds.db.ArchiveNoteWritten(ctx, 2, n, "Demo Admin"); err != nil {
			t.Fatal(err)
		}
	}
	// No one here deleted it: a sync pass found it gone at the vendor.
	if err := ds.db.ArchiveNoteDeleted(ctx, 2, ticket, "gone-1", "", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	c := ds.signIn(demoAdmin)
	setPrefs(t, c, "en", "Asia/Shanghai")
	sh, _ := time.LoadLocation("Asia/Shanghai")

	_, body := c.get("/notes?ticket=" + ticket)
	d := doc(t, body)
	row := func(id string) *goquery.Selection { return d.Find(`[data-testid=note][data-note-id="` + id + `"]`) }
	lr, sr := row("long-1"), row("short-1")
	if lr.Length() != 1 || sr.Length() != 1 {
		t.Fatalf("the ticket's two notes are not listed: %d, %d", lr.Length(), sr.Length())
	}

	// The account's colour on the row, its chip in the filter and its
	// status chip.
	colour := views.AccountColor(2)
	if !lr.HasClass(colour) {
		t.Errorf("the row's classes %q lack %s", lr.AttrOr("class", ""), colour)
	}
	for id := uint(1); id <= 3; id++ {
		sid := strconv.FormatUint(uint64(id), 10)
		chip := d.Find(`form#notes-filter label[data-testid=account-chip]:has(input[name=account][value="` + sid + `"])`)
		if chip.Length() != 1 || !chip.HasClass(views.AccountColor(id)) {
			t.Errorf("account %s: filter chip %q lacks its colour %s", sid, chip.AttrOr("class", ""), views.AccountColor(id))
		}
	}
	st := d.Find(`#notes-statuses [data-testid=account-status][data-account-id="2"]`)
	if !st.HasClass(colour) || st.Find(`details > summary [data-testid=freshness]`).Length() != 1 ||
		st.Find(`details > summary [data-testid=account-count]`).Length() != 1 {
		t.Errorf("the status chip lacks its colour, count or freshness in its summary: %s", strings.Join(strings.Fields(st.Text()), " "))
	}
	// Its detail (Sync now, a plain POST form) opens from the chip.
	if f := st.Find(`details .status-pop form[method=post][action="/accounts/2/sync"] button[data-testid=sync-now]`); f.Length() != 1 {
		t.Error("the status chip's detail has no plain Sync now form")
	}

	// The ticket, titled and linked to the conversation at the note.
	open := lr.Find(`a[data-open]`)
	if open.Length() != 1 {
		t.Fatalf("the row has %d a[data-open]", open.Length())
	}
	if got := strings.TrimSpace(open.Find(`.note-title`).Text()); got != title {
		t.Errorf("ticket title %q, want %q", got, title)
	}
	if strings.Contains(body, "<b>order</b>") {
		t.Error("the ticket title reached the page unescaped")
	}
	u, err := url.Parse(open.AttrOr("href", ""))
	if err != nil || u.Path != "/tickets/2/"+ticket || u.Query().Get("note") != "long-1" || u.Query().Has("q") || u.Fragment != lr.AttrOr("id", "") || u.Fragment == "" {
		t.Errorf("open link %q, want /tickets/2/%s?note=long-1#%s", open.AttrOr("href", ""), ticket, lr.AttrOr("id", ""))
	}
	// The conversation it opens has the note at that fragment.
	resp, conv := c.get(u.RequestURI())
	if resp.StatusCode != http.StatusOK || doc(t, conv).Find(`#`+u.Fragment).Length() != 1 {
		t.Errorf("the conversation (%d) has no element #%s", resp.StatusCode, u.Fragment)
	}
	// Searching, the link carries the search too.
	_, body = c.get("/notes?ticket=" + ticket + "&q=received")
	sd := doc(t, body)
	su, _ := url.Parse(sd.Find(`[data-testid=note][data-note-id="short-1"] a[data-open]`).AttrOr("href", ""))
	if su == nil || su.Query().Get("q") != "received" || su.Query().Get("note") != "short-1" || su.Fragment == "" {
		t.Errorf("the searched row's open link is %v", su)
	}
	if m := sd.Find(`[data-testid=note][data-note-id="short-1"] [data-testid=note-body] mark`).Text(); m != "received" {
		t.Errorf("the match is marked %q", m)
	}

	// When: relative, with the exact time in the viewer's zone.
	tm := lr.Find(`time[data-testid=note-time]`)
	if tm.AttrOr("datetime", "") != now.Add(-3*time.Hour).Format(time.RFC3339) {
		t.Errorf("datetime %q", tm.AttrOr("datetime", ""))
	}
	if got, want := tm.AttrOr("title", ""), now.Add(-3*time.Hour).In(sh).Format("2006-01-02 15:04:05"); got != want {
		t.Errorf("time title %q, want the exact time in Shanghai %q", got, want)
	}
	if got := strings.TrimSpace(tm.Text()); got != "3 h ago" {
		t.Errorf("relative time %q, want 3 h ago", got)
	}

	// Long notes fold with "show more"; the whole text is on the page.
	if lr.Find(`details.fold > summary`).Length() != 1 || !strings.Contains(lr.Find(`details.fold > summary`).Text(), "Show more") ||
		!lr.Find(`[data-testid=note-body]`).HasClass("note-long") || !strings.Contains(lr.Find(`[data-testid=note-body]`).Text(), "THE-END") {
		t.Error("the long note is not folded with Show more, or its text is cut")
	}
	if sr.Find(`details.fold`).Length() != 0 || sr.Find(`.note-long`).Length() != 0 {
		t.Error("a short note is folded")
	}

	// Badges: attachments counted, deleted at the provider said so.
	if got := strings.TrimSpace(sr.Find(`[data-testid=note-attachments]`).Text()); got != "2 attachments" {
		t.Errorf("attachments badge %q", got)
	}
	if lr.Find(`[data-testid=note-attachments], [data-testid=note-deleted-vendor]`).Length() != 0 {
		t.Error("the long note has badges it should not")
	}
	// The list leaves deleted notes out; the conversation shows them,
	// badged by who deleted them.
	if row("gone-1").Length() != 0 {
		t.Error("the list shows a deleted note")
	}
	_, timeline := c.get("/tickets/2/" + ticket)
	if got := strings.TrimSpace(doc(t, timeline).Find(`[data-testid=note][data-note-id="gone-1"] [data-testid=note-deleted-vendor]`).Text()); got != "deleted at the provider" {
		t.Errorf("vendor-deleted badge %q", got)
	}

	// Copy link: a plain link to the note's permalink.
	cp := lr.Find(`a[data-copy-link]`)
	pu, err := url.Parse(cp.AttrOr("href", ""))
	if err != nil || pu.Path != "/tickets/2/"+ticket || pu.Query().Get("note") != "long-1" || pu.Fragment != lr.AttrOr("id", "") {
		t.Errorf("copy link %q", cp.AttrOr("href", ""))
	}
	if cp.AttrOr("data-copied", "") == "" || strings.TrimSpace(cp.Text()) != "Copy link" {
		t.Errorf("copy link text %q, copied label %q", cp.Text(), cp.AttrOr("data-copied", ""))
	}

	// In Chinese, relative times and labels are Chinese.
	setPrefs(t, c, "zh-Hans", "Asia/Shanghai")
	_, body = c.get("/notes?ticket=" + ticket)
	zd := doc(t, body)
	zr := zd.Find(`[data-testid=note][data-note-id="long-1"]`)
	if got := strings.TrimSpace(zr.Find(`time[data-testid=note-time]`).Text()); got != "3 小时前" {
		t.Errorf("Chinese relative time %q", got)
	}
	for sel, want := range map[string]string{`details.fold .fold-more`: "展开全文", `a[data-copy-link]`: "复制链接"} {
		if got := strings.TrimSpace(zr.Find(sel).Text()); got != want {
			t.Errorf("Chinese %s = %q, want %q", sel, got, want)
		}
	}
	if got := strings.TrimSpace(zd.Find(`a[data-testid=note-add-open]`).Text()); got != "添加备注" {
		t.Errorf("Chinese add link %q", got)
	}
}

// TestNotesPageWorksWithoutJavaScript: the page is results first, and every
// control is a plain link or GET form; "Add a note" opens the form by a
// link.
func TestNotesPageWorksWithoutJavaScript(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, body := c.get("/notes?account=3&role=agent")
	d := doc(t, body)

	// Results first: the search box, then the filter bar, then the notes;
	// the add form after them.
	html, _ := d.Html()
	at := func(sel string) int {
		s := d.Find(sel).First()
		if s.Length() == 0 {
			t.Fatalf("no %s on the page", sel)
		}
		h, _ := goquery.OuterHtml(s)
		return strings.Index(html, h)
	}
	if q, bar, list, add := at(`input#q[name=q]`), at(`.filterbar-row`), at(`#notes-results [data-testid=note]`), at(`details#add-note`); !(q < bar && bar < list && list < add) {
		t.Errorf("page order: search %d, filter bar %d, first note %d, add form %d", q, bar, list, add)
	}
	if l := d.Find(`label[for=q]`); l.Length() != 1 || strings.TrimSpace(l.Text()) == "" {
		t.Error("the search box has no label")
	}

	// The filter is one GET form to /notes whose fields are the query.
	form := d.Find(`form#notes-filter`)
	if form.AttrOr("method", "") != "get" || form.AttrOr("action", "") != "/notes" {
		t.Errorf("filter form method %q action %q", form.AttrOr("method", ""), form.AttrOr("action", ""))
	}
	var names []string
	form.Find(`input[name], select[name]`).Each(func(_ int, s *goquery.Selection) {
		if !slices.Contains(names, s.AttrOr("name", "")) {
			names = append(names, s.AttrOr("name", ""))
		}
	})
	slices.Sort(names)
	if want := []string{"account", "from", "q", "role", "sort", "ticket", "to"}; !slices.Equal(names, want) {
		t.Errorf("the form submits %v, want %v", names, want)
	}
	if form.Find(`button[type=submit][data-testid=notes-apply]`).Length() != 1 {
		t.Error("no apply button")
	}

	// "Add a note" is a link that loads the page with the form open.
	add := d.Find(`.notes-head a[data-testid=note-add-open]`)
	au, err := url.Parse(add.AttrOr("href", ""))
	if err != nil || au.Path != "/notes" || au.Query().Get("add") != "1" || au.Fragment != "add-note" || au.Query().Get("account") != "3" {
		t.Fatalf("add link %q", add.AttrOr("href", ""))
	}
	if d.Find(`details#add-note[open]`).Length() != 0 {
		t.Error("the add form is open before it was asked for")
	}
	_, body = c.get(au.RequestURI())
	ad := doc(t, body)
	if ad.Find(`details#add-note[open] form[method=post][data-testid=note-add-form]`).Length() != 1 {
		t.Error("the add link does not open the add form")
	}
	// The filters of the list stay as they were.
	if ad.Find(`form#notes-filter input[name=account][value="3"][checked]`).Length() != 1 {
		t.Error("opening the add form lost the list's account filter")
	}

	// A manager sees the list but no add link or form.
	m := ds.signIn(demoManager)
	_, body = m.get("/notes")
	md := doc(t, body)
	if md.Find(`[data-testid=note-add-open], details#add-note`).Length() != 0 {
		t.Error("a manager is offered the add form")
	}
	if md.Find(`[data-testid=note] a[data-copy-link]`).Length() == 0 {
		t.Error("a manager's rows have no copy link")
	}
}
