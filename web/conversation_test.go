package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// convTicket is a Sendbird ticket made for a conversation test: three
// notes over two UTC days (the middle one late in the evening, so in
// Shanghai it falls on the next day), the last author's name and the
// title carrying markup, and the first note deleted at the vendor.
type convTicket struct {
	ticket                string
	first, late, nextDay  string
	firstText, titleText  string
	evilName, searchMatch string
}

func newConvTicket(t *testing.T, ds *demoServer) convTicket {
	t.Helper()
	sb := ds.demo.Sandbox.Sendbird
	day := time.Now().UTC().AddDate(0, 0, -5)
	d0 := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	ct := convTicket{firstText: "toner low on the second floor", titleText: `Printer <b>jam</b>`,
		evilName: `Bo <img src=x onerror=alert(1)>`, searchMatch: "toner"}
	tk := sb.PutTicket(ct.titleText, d0.Add(-time.Hour))
	put := func(name, text string, at time.Time) string {
		t.Helper()
		id, err := sb.PutNoteAs(tk, name, text, at)
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(id, 10)
	}
	ct.ticket = strconv.FormatInt(tk, 10)
	ct.first = put("Ana", ct.firstText, d0.Add(10*time.Hour))
	ct.late = put("Ana", "replaced the toner <script>window.x=1</script>", d0.Add(23*time.Hour+30*time.Minute))
	ct.nextDay = put(ct.evilName, "the printer jams again", d0.Add(33*time.Hour))
	ds.sync()
	id, _ := strconv.ParseInt(ct.first, 10, 64)
	if err := sb.RemoveNote(id); err != nil {
		t.Fatal(err)
	}
	ds.sync()
	return ct
}

// daysOf returns, for each day separator of the timeline in order, the
// note ids that follow it before the next one.
func daysOf(d *goquery.Document) (labels []string, notes [][]string) {
	d.Find(`[data-testid=timeline] > li`).Each(func(_ int, li *goquery.Selection) {
		if li.Is(`[data-testid=day-separator]`) {
			labels = append(labels, strings.TrimSpace(li.Text()))
			notes = append(notes, nil)
			return
		}
		if len(notes) == 0 {
			notes = append(notes, nil) // a note before any separator: wrong, and seen below
			labels = append(labels, "")
		}
		id := li.Find(`[data-testid=note]`).AttrOr("data-note-id", "")
		notes[len(notes)-1] = append(notes[len(notes)-1], id)
	})
	return labels, notes
}

func TestConversationSeparatesDaysInTheViewersZone(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ct := newConvTicket(t, ds)
	c := ds.signIn(demoManager)
	for _, tc := range []struct {
		lang, zone string
		want       [][]string
		weekday    string
	}{
		{"en", "UTC", [][]string{{ct.first, ct.late}, {ct.nextDay}}, ""},
		{"zh-Hans", "Asia/Shanghai", [][]string{{ct.first}, {ct.late, ct.nextDay}}, "星期"},
	} {
		if resp, _ := c.post("/preferences", url.Values{"lang": {tc.lang}, "timezone": {tc.zone}}); resp.StatusCode >= 400 {
			t.Fatalf("preferences %s %s: %d", tc.lang, tc.zone, resp.StatusCode)
		}
		resp, body := c.get("/tickets/2/" + ct.ticket)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: conversation %d", tc.zone, resp.StatusCode)
		}
		labels, notes := daysOf(doc(t, body))
		if len(notes) != len(tc.want) {
			t.Fatalf("%s: days %q hold %v, want %v", tc.zone, labels, notes, tc.want)
		}
		zone, _ := time.LoadLocation(tc.zone)
		for i := range tc.want {
			if strings.Join(notes[i], ",") != strings.Join(tc.want[i], ",") {
				t.Errorf("%s: day %d (%q) holds %v, want %v", tc.zone, i, labels[i], notes[i], tc.want[i])
			}
			if labels[i] == "" || strings.Contains(labels[i], "weekday.") || strings.Contains(labels[i], "day.format") {
				t.Errorf("%s: day %d is labelled %q", tc.zone, i, labels[i])
			}
		}
		if tc.weekday != "" && !strings.Contains(labels[0], tc.weekday) {
			t.Errorf("%s: the day is labelled %q, not in Chinese", tc.lang, labels[0])
		}
		// The label names the note's date as the viewer's zone has it.
		d := doc(t, body)
		sep := d.Find(`[data-testid=day-separator] time`).Last().AttrOr("datetime", "")
		nt, _ := time.Parse(time.RFC3339, d.Find(`[data-testid=note][data-note-id="`+ct.nextDay+`"] time`).First().AttrOr("datetime", ""))
		if want := nt.In(zone).Format(time.DateOnly); sep != want {
			t.Errorf("%s: the last day separator is %q, the last note was written on %s there", tc.zone, sep, want)
		}
		if tc.lang == "en" && !strings.Contains(labels[1], nt.In(zone).Weekday().String()) {
			t.Errorf("the day %q does not name its weekday %s", labels[1], nt.In(zone).Weekday())
		}
	}
}

func TestConversationHeadNamesTicketStatusAndParticipants(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ct := newConvTicket(t, ds)
	c := ds.signIn(demoAdmin)
	_, body := c.get("/tickets/2/" + ct.ticket)
	if strings.Contains(body, "<b>jam</b>") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<script>window.x") {
		t.Fatal("the title, an author name or a note's text is not escaped")
	}
	d := doc(t, body)
	if h := d.Find("h1").Text(); !strings.Contains(h, ct.titleText) || !strings.Contains(h, ct.ticket) {
		t.Errorf("the heading %q does not name the ticket and its title", h)
	}
	if st := strings.TrimSpace(d.Find(`[data-testid=ticket-status]`).Text()); st != "ACTIVE" {
		t.Errorf("the status shows %q, the vendor says ACTIVE", st)
	}
	var got []string
	d.Find(`[data-testid=participant]`).Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.Find(".participant-name").Text()+"|"+s.AttrOr("data-role", "")+"|"+strings.TrimSpace(s.Find(".muted").Text()))
	})
	want := []string{"Ana|agent|2 notes", ct.evilName + "|agent|1 note"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("participants %q, want %q (distinct authors in order, with roles and counts)", got, want)
	}
	// The deleted note stays in place, marked, with its text.
	gone := d.Find(`[data-testid=note][data-note-id="` + ct.first + `"]`)
	if gone.AttrOr("data-state", "") != "deleted" || !gone.HasClass("note-deleted") || !strings.Contains(gone.Find(`[data-testid=note-body]`).Text(), ct.firstText) {
		t.Errorf("the note deleted at the vendor shows as %q with state %q", gone.Text(), gone.AttrOr("data-state", ""))
	}
	if ids := d.Find(`[data-testid=timeline] [data-testid=note]`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("data-note-id", "") }); strings.Join(ids, ",") != ct.first+","+ct.late+","+ct.nextDay {
		t.Errorf("timeline order %v", ids)
	}
	// The composer says what the provider will do with the note.
	if add := d.Find(`[data-testid=note-add-form]`); !strings.Contains(add.Text(), "internal note") {
		t.Errorf("the composer says %q, not that Sendbird keeps an internal note", strings.Join(strings.Fields(add.Text()), " "))
	}
}

func TestConversationOpenedAtANoteMarksItAndTheSearch(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ct := newConvTicket(t, ds)
	c := ds.signIn(demoManager)
	q := `toner <i>`
	path := "/tickets/2/" + ct.ticket + "?note=" + ct.late + "&q=" + url.QueryEscape(q)
	_, body := c.get(path)
	if strings.Contains(body, "<i>") {
		t.Fatal("the search is not escaped")
	}
	d := doc(t, body)
	target := d.Find(`li.note-target`)
	if target.Length() != 1 || target.Find(`[data-testid=note]`).AttrOr("data-note-id", "") != ct.late || target.AttrOr("data-target-note", "") != "true" {
		t.Fatalf("%d notes are marked as opened, want note %s alone", target.Length(), ct.late)
	}
	// The note's element id is the fragment a result links to (:target).
	if id := target.Find(`[data-testid=note]`).AttrOr("id", ""); !strings.HasPrefix(id, "note-") {
		t.Errorf("the opened note has id %q", id)
	}
	marks := d.Find(`[data-testid=timeline] mark`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if len(marks) != 2 || marks[0] != "toner" || marks[1] != "toner" {
		t.Errorf("marks %q, want the two notes' toner", marks)
	}
	if d.Find(`[data-note-id="`+ct.nextDay+`"] mark`).Length() != 0 {
		t.Error("a note without the word has a mark")
	}
	if line := d.Find(`[data-testid=conversation-search]`); !strings.Contains(line.Text(), q) || line.Find("a").AttrOr("href", "") != "/tickets/2/"+ct.ticket+"?note="+ct.late {
		t.Errorf("the search line says %q, clearing links %q", line.Text(), line.Find("a").AttrOr("href", ""))
	}
	// The reload of the timeline keeps both.
	if hx := d.Find(`#timeline`).AttrOr("hx-get", ""); !strings.Contains(hx, "note="+ct.late) || !strings.Contains(hx, "q=toner") {
		t.Errorf("the timeline reloads from %q", hx)
	}
	_, frag := c.get("/tickets/2/" + ct.ticket + "/timeline?note=" + ct.late + "&q=toner")
	if f := doc(t, frag); f.Find(`li.note-target [data-note-id="`+ct.late+`"]`).Length() != 1 || f.Find("mark").Length() != 2 {
		t.Error("the reloaded timeline lost the opened note or the marks")
	}
	// Without the query, nothing is marked; a note id of no note here marks
	// nothing either.
	for _, p := range []string{"/tickets/2/" + ct.ticket, "/tickets/2/" + ct.ticket + "?note=999999&q=" + strings.Repeat("x", 300)} {
		resp, body := c.get(p)
		if d := doc(t, body); resp.StatusCode != http.StatusOK || d.Find(`li.note-target, mark, [data-testid=conversation-search]`).Length() != 0 {
			t.Errorf("%s: status %d, marks %d", p, resp.StatusCode, d.Find(`li.note-target, mark`).Length())
		}
	}
}

func TestKeyboardOverlayInBothLanguages(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoManager)
	for _, tc := range []struct{ lang, title, next string }{
		{"en", "Keyboard shortcuts", "Next note"},
		{"zh-Hans", "键盘快捷键", "下一条备注"},
	} {
		if resp, _ := c.post("/preferences", url.Values{"lang": {tc.lang}, "timezone": {"UTC"}}); resp.StatusCode >= 400 {
			t.Fatalf("preferences %s: %d", tc.lang, resp.StatusCode)
		}
		for _, p := range []string{"/notes", "/preferences"} {
			_, body := c.get(p)
			d := doc(t, body)
			dlg := d.Find(`dialog#keys-help[data-testid=keys-help]`)
			if dlg.Length() != 1 {
				t.Fatalf("%s %s: no keyboard overlay", tc.lang, p)
			}
			name := d.Find("#" + dlg.AttrOr("aria-labelledby", "none")).Text()
			if name != tc.title {
				t.Errorf("%s %s: the overlay is named %q, want %q", tc.lang, p, name, tc.title)
			}
			keys := dlg.Find("kbd").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
			if strings.Join(keys, " ") != "j k Enter e / Esc ?" {
				t.Errorf("%s: keys %q", tc.lang, keys)
			}
			if got := dlg.Find("dd").First().Text(); got != tc.next {
				t.Errorf("%s: j does %q, want %q", tc.lang, got, tc.next)
			}
			if strings.Contains(dlg.Text(), "keys.") {
				t.Errorf("%s: untranslated ids in %q", tc.lang, dlg.Text())
			}
			open := d.Find(`footer [data-keys-open]`)
			if open.Text() != tc.title || open.AttrOr("aria-controls", "") != "keys-help" {
				t.Errorf("%s: the footer's button says %q, controls %q", tc.lang, open.Text(), open.AttrOr("aria-controls", ""))
			}
		}
	}
	// Signed out there are no shortcuts to list.
	_, login := ds.client().get("/login")
	if doc(t, login).Find(`#keys-help, [data-keys-open]`).Length() != 0 {
		t.Error("the sign-in page has the keyboard overlay")
	}
}
