package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers/simfault"
)

// pairOf returns the newest audit rows of action as an attempt and the
// outcome that names it, failing the test unless they are exactly that.
func pairOf(t *testing.T, ds *demoServer, action string) (attempt, outcome models.AuditEvent) {
	t.Helper()
	rows := ds.auditRows(action)
	if len(rows) < 2 {
		t.Fatalf("%s: %d audit rows, want an attempt and its outcome", action, len(rows))
	}
	outcome, attempt = rows[0], rows[1]
	if attempt.Outcome != models.OutcomeAttempt || attempt.AttemptID != nil {
		t.Fatalf("%s: row %d is %q, want the attempt", action, attempt.ID, attempt.Outcome)
	}
	if outcome.AttemptID == nil || *outcome.AttemptID != attempt.ID {
		t.Fatalf("%s: row %d names attempt %v, want %d", action, outcome.ID, outcome.AttemptID, attempt.ID)
	}
	return attempt, outcome
}

// TestVendorWritesAreAuditedBeforeTheCall slows the vendor down and looks
// at the audit log while each write is at the vendor: the attempt is
// already there (a crash now would leave it, outcome unknown), and once the
// write is answered it has exactly one outcome.
func TestVendorWritesAreAuditedBeforeTheCall(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	n := sb.Notes()[0]
	ticket := strconv.FormatInt(n.TicketID, 10)
	notePath := "/notes/2/" + ticket + "/" + strconv.FormatInt(n.ID, 10)

	// during runs the request with the vendor slowed down and returns the
	// attempts that had no outcome while the vendor held the call.
	during := func(method string, send func() *http.Response) []uint64 {
		t.Helper()
		c.get("/tickets/2/" + ticket) // warm the cache: only the write is slow
		sb.Faults.SetLatency(300 * time.Millisecond)
		defer sb.Faults.SetLatency(0)
		// state is what the vendor holds; while it is unchanged the vendor
		// has not applied the write.
		state := func() string { return fmt.Sprint(sb.Notes()) }
		was := state()
		done := make(chan *http.Response, 1)
		go func() { done <- send() }()
		var seen []uint64
		for {
			select {
			case resp := <-done:
				if resp.StatusCode >= 400 {
					t.Fatalf("%s: status %d", method, resp.StatusCode)
				}
				return seen
			case <-time.After(5 * time.Millisecond):
			}
			if seen != nil {
				continue
			}
			res, err := ds.db.VerifyAudit(context.Background())
			if err != nil || !res.OK {
				t.Fatalf("verify during the call: %+v, %v", res, err)
			}
			// Only count it while the vendor has not applied the write.
			if len(res.Unknown) > 0 && state() == was {
				seen = res.Unknown
			}
		}
	}

	_, page := c.get("/notes")
	token := doc(t, page).Find(`[data-testid=note-add-form] input[name=form_token]`).AttrOr("value", "")
	add := url.Values{"account": {"2"}, "ticket": {ticket}, "body": {"added during a slow call"}, "form_token": {token}}
	tests := []struct {
		action string
		send   func() *http.Response
	}{
		{"note.create", func() *http.Response { r, _ := c.post("/notes", add); return r }},
		{"note.update", func() *http.Response {
			r, _ := c.post(notePath, url.Values{"body": {"edited during a slow call"}})
			return r
		}},
		{"note.delete", func() *http.Response { r, _ := c.post(notePath+"/delete", url.Values{}); return r }},
	}
	for _, tt := range tests {
		seen := during(tt.action, tt.send)
		attempt, outcome := pairOf(t, ds, tt.action)
		if len(seen) != 1 || seen[0] != attempt.ID {
			t.Errorf("%s: attempts with no outcome while the vendor held the call: %v, want [%d]", tt.action, seen, attempt.ID)
		}
		if outcome.Outcome != models.OutcomeOK || outcome.VendorRequestID == "" {
			t.Errorf("%s: outcome %q with vendor request id %q, want ok with one", tt.action, outcome.Outcome, outcome.VendorRequestID)
		}
	}
	res, err := ds.db.VerifyAudit(context.Background())
	if err != nil || !res.OK || len(res.Unknown) != 0 {
		t.Errorf("verify after the writes: %+v, %v; want OK with every attempt answered", res, err)
	}
}

// TestFailedVendorWriteEndsItsAttempt checks a write the vendor refuses:
// its attempt ends with one error outcome.
func TestFailedVendorWriteEndsItsAttempt(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	n := sb.Notes()[0]
	ticket := strconv.FormatInt(n.TicketID, 10)
	c.get("/tickets/2/" + ticket) // cached, so the fault meets the write
	sb.Faults.Arm(simfault.ServerError, 1)
	resp, _ := c.post("/notes/2/"+ticket+"/"+strconv.FormatInt(n.ID, 10), url.Values{"body": {"refused by the vendor"}})
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("update: %d, want 502", resp.StatusCode)
	}
	_, outcome := pairOf(t, ds, "note.update")
	if outcome.Outcome != models.OutcomeError || outcome.Message == "" {
		t.Errorf("outcome %q %q, want an error with its message", outcome.Outcome, outcome.Message)
	}
	if res, err := ds.db.VerifyAudit(context.Background()); err != nil || !res.OK || len(res.Unknown) != 0 {
		t.Errorf("verify: %+v, %v", res, err)
	}
}

// TestOutcomeUnknownIsShown leaves an attempt with no outcome, as a crash
// during the vendor call would, and checks the audit page, the verify page
// and the note's history say so, while answered attempts show as one
// change each.
func TestOutcomeUnknownIsShown(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	sb := ds.demo.Sandbox.Sendbird
	n := sb.Notes()[0]
	ticket, note := strconv.FormatInt(n.TicketID, 10), strconv.FormatInt(n.ID, 10)
	notePath := "/notes/2/" + ticket + "/" + note
	if resp, _ := c.post(notePath, url.Values{"body": {"an edit that was answered"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	answered, outcome := pairOf(t, ds, "note.update")
	account := uint(2)
	lost := &models.AuditEvent{Action: "note.delete", Target: "note:2:" + ticket + ":" + note, AccountID: &account,
		ActorEmail: demoAdmin, Outcome: models.OutcomeAttempt, Before: `{"text":"an edit that was answered"}`}
	if err := ds.db.AppendAudit(context.Background(), lost); err != nil {
		t.Fatal(err)
	}
	id := func(v uint64) string { return strconv.FormatUint(v, 10) }

	_, body := c.get("/audit")
	d := doc(t, body)
	row := func(v uint64) string {
		return strings.Join(strings.Fields(d.Find(`[data-testid=audit-row][data-audit-id="`+id(v)+`"]`).Text()), " ")
	}
	if got := d.Find(`[data-audit-id="` + id(lost.ID) + `"] [data-testid=outcome-unknown]`).Length(); got != 1 {
		t.Errorf("the unanswered attempt is not marked outcome unknown:\n%s", row(lost.ID))
	}
	if got := row(lost.ID); !strings.Contains(got, "Outcome unknown") {
		t.Errorf("unanswered attempt row says %q", got)
	}
	if got := d.Find(`[data-testid=outcome-unknown]`).Length(); got != 1 {
		t.Errorf("%d rows marked outcome unknown, want 1", got)
	}
	if got := row(answered.ID); !strings.Contains(got, "Attempt") || !strings.Contains(got, "entry "+id(outcome.ID)) {
		t.Errorf("answered attempt row says %q, want it to name its outcome, entry %d", got, outcome.ID)
	}
	if got := row(outcome.ID); !strings.Contains(got, "entry "+id(answered.ID)) {
		t.Errorf("outcome row says %q, want it to name its attempt, entry %d", got, answered.ID)
	}

	_, body = c.get("/audit/verify")
	d = doc(t, body)
	if d.Find(`[data-testid=verify]`).AttrOr("data-ok", "") != "true" {
		t.Errorf("verify page: an unanswered attempt is not tampering")
	}
	unknown := d.Find(`[data-testid=verify-unknown]`)
	if !strings.Contains(unknown.Text(), "outcome unknown") || unknown.Find(`a[href="/audit?outcome=attempt"]`).Length() != 1 || unknown.Find(`code[data-audit-id="`+id(lost.ID)+`"]`).Length() != 1 {
		t.Errorf("verify page does not list the unanswered attempt: %q", strings.TrimSpace(unknown.Text()))
	}

	_, body = c.get(notePath + "/history")
	var got []string
	doc(t, body).Find(`[data-testid=history-entry]`).Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.AttrOr("data-action", "")+" "+s.AttrOr("data-outcome", ""))
	})
	if want := []string{"note.delete unknown", "note.update ok"}; !slices.Equal(got, want) {
		t.Errorf("history entries %q, want %q (one per change)", got, want)
	}
}
