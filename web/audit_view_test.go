package web

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

var reqID = regexp.MustCompile(`sbd-[0-9a-f-]+`)

// awkward is text that Go's json.Marshal writes as \u003cb\u003e\u0026.
const awkward = `<b>&`

// appendNoteAudit stores an event the way the handlers do: before and after
// marshalled with encoding/json, which escapes < > & for HTML.
func appendNoteAudit(t *testing.T, db *models.DB, target string) {
	t.Helper()
	before, _ := json.Marshal(map[string]string{"body": awkward + " before"})
	after, _ := json.Marshal(map[string]string{"body": awkward + " after"})
	if !strings.Contains(string(before), `\u003c`) {
		t.Fatalf("test premise: json.Marshal no longer escapes HTML: %s", before)
	}
	e := &models.AuditEvent{Action: "note.update", Target: target, Outcome: models.OutcomeOK,
		Before: string(before), After: string(after), Message: "edited " + awkward}
	if err := db.AppendAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

// checkJSONBlocks checks the before / after blocks of a page: the text as
// written (escaped once, by HTML), and each block reachable by keyboard
// with a name.
func checkJSONBlocks(t *testing.T, body string, want int) {
	t.Helper()
	if strings.Contains(body, `\u003c`) || strings.Contains(body, `\u0026`) {
		t.Errorf("JSON escapes shown instead of the text")
	}
	if !strings.Contains(body, `&#34;body&#34;: &#34;&lt;b&gt;&amp; before&#34;`) && !strings.Contains(body, `"body": "&lt;b&gt;&amp; before"`) {
		t.Errorf("before text not shown as written, escaped once")
	}
	blocks := doc(t, body).Find("pre.json")
	if blocks.Length() != want {
		t.Fatalf("%d before/after blocks, want %d", blocks.Length(), want)
	}
	labels := map[string]bool{}
	blocks.Each(func(i int, s *goquery.Selection) {
		if s.AttrOr("tabindex", "") != "0" {
			t.Errorf("block %d: tabindex %q, want 0 (scrollable by keyboard)", i, s.AttrOr("tabindex", ""))
		}
		if s.AttrOr("role", "") != "region" || strings.TrimSpace(s.AttrOr("aria-label", "")) == "" {
			t.Errorf("block %d: role %q aria-label %q: no accessible name", i, s.AttrOr("role", ""), s.AttrOr("aria-label", ""))
		}
		labels[s.AttrOr("aria-label", "")] = true
		if txt := s.Text(); !strings.Contains(txt, awkward) {
			t.Errorf("block %d text %q lacks %q", i, txt, awkward)
		}
	})
	if len(labels) != want {
		t.Errorf("block names are not unique: %v", labels)
	}
}

func TestAuditDetailsShowTextAsWritten(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	ts.addUser("admin@example.com", models.RoleAdmin)
	appendNoteAudit(t, ts.db, "note:1:T1:N1")
	appendNoteAudit(t, ts.db, "note:1:T1:N2")
	c := ts.client()
	c.login("admin@example.com")
	resp, body := c.get("/audit?action=note.update")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /audit: %d", resp.StatusCode)
	}
	checkJSONBlocks(t, body, 4)
	if !strings.Contains(body, "edited &lt;b&gt;&amp;") {
		t.Errorf("message not escaped exactly once")
	}
}

// headingLevels returns the levels of the page's headings in order.
func headingLevels(d *goquery.Document) []int {
	var out []int
	d.Find("h1, h2, h3, h4, h5, h6").Each(func(_ int, s *goquery.Selection) {
		n, _ := strconv.Atoi(strings.TrimPrefix(goquery.NodeName(s), "h"))
		out = append(out, n)
	})
	return out
}

func TestNoteHistoryHeadingsAndBlocks(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	n := ds.demo.Sandbox.Sendbird.Notes()[0]
	ticket, note := strconv.FormatInt(n.TicketID, 10), strconv.FormatInt(n.ID, 10)
	appendNoteAudit(t, ds.db, "note:2:"+ticket+":"+note)
	c := ds.signIn(demoManager)
	resp, body := c.get("/notes/2/" + ticket + "/" + note + "/history")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %d", resp.StatusCode)
	}
	levels := headingLevels(doc(t, body))
	if len(levels) < 3 || levels[0] != 1 {
		t.Fatalf("headings %v: want h1 first and headings for the entry", levels)
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] > levels[i-1]+1 {
			t.Errorf("headings %v: h%d follows h%d", levels, levels[i], levels[i-1])
		}
	}
	if levels[1] != 2 {
		t.Errorf("headings %v: the first after h1 is not h2", levels)
	}
	checkJSONBlocks(t, body, 2)
}

func TestConversationAndExportsReadTheArchiveWhileTheVendorFails(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ticket := strconv.FormatInt(ds.demo.Sandbox.Sendbird.Tickets()[0].ID, 10)
	ds.demo.Sandbox.Sendbird.Faults.Arm(simfault.ExpiredToken, -1)
	ds.syncFailing()
	c := ds.signIn(demoManager)
	_, page := c.get("/tickets/2/" + ticket)
	pd := doc(t, page)
	explained := strings.Join(strings.Fields(pd.Find(`[data-testid=conversation-error]`).Text()), " ")
	if !strings.Contains(explained, "refused the credentials") || !strings.Contains(explained, "request id") || !strings.Contains(explained, "HTTP 401") {
		t.Errorf("the conversation page explains %q, not the failed sync", explained)
	}
	shown := pd.Find(`[data-testid=timeline] [data-testid=note]`).Length()
	if shown == 0 {
		t.Fatal("the archived notes are not shown while the vendor fails")
	}
	for _, format := range []string{"md", "csv", "json"} {
		resp, body := c.get("/tickets/2/" + ticket + "/export." + format)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: status %d, want the archive's file", format, resp.StatusCode)
		}
		if strings.Contains(body, "internal error") || len(body) < 200 {
			t.Errorf("%s: %q is not the conversation", format, body)
		}
	}
}

func TestFailureLineNamesHTTPStatus(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	ds.demo.Sandbox.Sendbird.Faults.Arm(simfault.ExpiredToken, -1)
	ds.syncFailing()
	c := ds.signIn(demoManager)
	for _, lang := range []string{"en", "zh-Hans"} {
		if resp, _ := c.post("/preferences", map[string][]string{"lang": {lang}, "timezone": {"UTC"}}); resp.StatusCode >= 400 {
			t.Fatalf("preferences %s: %d", lang, resp.StatusCode)
		}
		_, body := c.get("/notes")
		got := strings.Join(strings.Fields(doc(t, body).Find(`[data-testid=account-status][data-account-id="2"]`).Text()), " ")
		if !strings.Contains(got, "HTTP 401") {
			t.Errorf("%s: failure %q does not name the HTTP status", lang, got)
		}
	}
}
