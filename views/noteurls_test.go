package views

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
)

// The note links are built by hand for speed; they must be what
// url.Values would encode, for ids, searches and return addresses that
// need escaping.
func TestNoteLinksEncodeAsURLValues(t *testing.T) {
	for _, tc := range []struct{ id, ticket, search, back, mode string }{
		{"383318", "28767", "", "/notes?from=2026-11-03&to=2026-12-02", ModeList},
		{"a b&c=d", "T/1", "证书 \"payment failed\" refu*", "", ModeTimeline},
		{"x#y?z", "0009FB7W8R", "a+b%c", "/tickets/1/x?note=1#note-1", ModeList},
	} {
		it := NoteItem{Note: providers.Note{ID: tc.id, TicketID: tc.ticket, AccountID: 3}, Search: tc.search, Back: tc.back, Mode: tc.mode}
		open := url.Values{"note": {tc.id}}
		if tc.search != "" {
			open.Set("q", tc.search)
		}
		if want := TicketPath(3, tc.ticket) + "?" + open.Encode() + "#" + it.DOMID(); it.OpenURL() != want {
			t.Errorf("OpenURL = %q, want %q", it.OpenURL(), want)
		}
		perm := url.Values{"note": {tc.id}}
		if want := TicketPath(3, tc.ticket) + "?" + perm.Encode() + "#" + it.DOMID(); it.Permalink() != want {
			t.Errorf("Permalink = %q, want %q", it.Permalink(), want)
		}
		q := url.Values{"mode": {tc.mode}}
		if tc.back != "" {
			q.Set("back", tc.back)
		}
		if want := "?" + q.Encode(); it.Query() != want {
			t.Errorf("Query = %q, want %q", it.Query(), want)
		}
	}
	a := NoteItem{Note: providers.Note{ID: "1", TicketID: "2", AccountID: 1}}
	b := NoteItem{Note: providers.Note{ID: "12", TicketID: "", AccountID: 1}}
	if a.DOMID() == b.DOMID() || !strings.HasPrefix(a.DOMID(), "note-1-") {
		t.Errorf("DOMIDs %q and %q: ticket and note id must stay apart", a.DOMID(), b.DOMID())
	}
}
