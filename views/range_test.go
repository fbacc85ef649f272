package views

import (
	"net/url"
	"testing"
	"time"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

func TestRangeStacksBarsAndLinksTheirDays(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, ny) }
	d := NotesData{
		Query:    NotesQuery{Accounts: []string{"2", "1"}, Role: "agent", From: "2025-03-08", To: "2025-03-10", Page: 3},
		Accounts: []AccountChoice{{ID: "2", Name: "B"}, {ID: "1", Name: "A"}},
		RangeCounts: models.RangeCounts{Unit: models.UnitDay, Buckets: []models.RangeBucket{
			{From: day(8), To: day(9), ByAccount: map[uint]int64{1: 10, 2: 30}, Total: 40},
			{From: day(9), To: day(10), ByAccount: map[uint]int64{}, Total: 0},
			{From: day(10), To: day(11), ByAccount: map[uint]int64{1: 1}, Total: 1},
		}},
	}
	c := d.Range()
	if c == nil || len(c.Bars) != 3 || c.Total != 41 || c.Peak != 0 || c.Width != 3*barWidth+2*barGap {
		t.Fatalf("chart = %+v", c)
	}
	// The peak fills the height; accounts stack in the accounts' order
	// from the bottom.
	b := c.Bars[0]
	if len(b.Segs) != 2 || b.Segs[0].AccountID != 2 || b.Segs[0].H != 45 || b.Segs[0].Y != 15 ||
		b.Segs[1].AccountID != 1 || b.Segs[1].Y != 0 || b.Segs[1].H != 15 {
		t.Errorf("peak bar segments = %+v", b.Segs)
	}
	// An empty day has no segment; one note of a 40 peak is 1.5 units, rounded.
	if len(c.Bars[1].Segs) != 0 || len(c.Bars[2].Segs) != 1 || c.Bars[2].Segs[0].H != 2 || c.Bars[2].Segs[0].Y != 58 {
		t.Errorf("small bars = %+v, %+v", c.Bars[1].Segs, c.Bars[2].Segs)
	}
	// Each bar links to its day (the 23-hour one too), the other filters
	// kept, from the first page.
	for i, want := range []string{"2025-03-08", "2025-03-09", "2025-03-10"} {
		u, err := url.Parse(c.Bars[i].URL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("from") != want || q.Get("to") != want || q.Get("role") != "agent" || len(q["account"]) != 2 || q.Get("page") != "" {
			t.Errorf("bar %d links to %s", i, c.Bars[i].URL)
		}
	}
	if scale(1, 1000) != 1 || scale(0, 1000) != 0 {
		t.Error("one note among a thousand is not drawn at least a unit high")
	}
	if (NotesData{}).Range() != nil {
		t.Error("a chart without buckets")
	}
}

func TestFacetGroupsToggle(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	d := NotesData{
		Query:    NotesQuery{Accounts: []string{"1"}, Role: "customer", States: []string{"unread"}, From: "2025-03-01", To: "2025-03-31", Page: 2},
		Accounts: []AccountChoice{{ID: "1", Name: "A"}, {ID: "2", Name: "B"}},
		Facets: models.Facets{Accounts: map[uint]int64{1: 5, 2: 1234}, Roles: map[providers.Role]int64{"agent": 3},
			States: map[string]int64{"unread": 2}},
	}
	g := d.FacetGroups(cat.Localizer("zh-Hans"))
	if len(g) != 3 || len(g[0].Items) != 2 || len(g[1].Items) != 3 || len(g[2].Items) != 3 {
		t.Fatalf("groups = %+v", g)
	}
	q := func(f Facet) url.Values {
		u, err := url.Parse(f.URL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Query().Get("page") != "" || u.Query().Get("from") != "2025-03-01" {
			t.Errorf("facet %s links to %s", f.Label, f.URL)
		}
		return u.Query()
	}
	a1, a2 := g[0].Items[0], g[0].Items[1]
	if !a1.Active || a1.Count != 5 || len(q(a1)["account"]) != 0 || a1.Class != AccountColor(1) {
		t.Errorf("active account facet = %+v", a1)
	}
	if a2.Active || a2.Count != 1234 || len(q(a2)["account"]) != 2 {
		t.Errorf("other account facet = %+v (adds itself)", a2)
	}
	agent, customer := g[1].Items[0], g[1].Items[1]
	if agent.Label != "客服" || agent.Active || agent.Count != 3 || q(agent).Get("role") != "agent" {
		t.Errorf("agent facet = %+v", agent)
	}
	if !customer.Active || q(customer).Get("role") != "" || customer.Count != 0 {
		t.Errorf("active customer facet = %+v", customer)
	}
	edited, unread := g[2].Items[0], g[2].Items[2]
	if edited.Label != "已编辑" || edited.Active || len(q(edited)["state"]) != 2 {
		t.Errorf("edited facet = %+v", edited)
	}
	if unread.Label != "未读" || !unread.Active || unread.Count != 2 || len(q(unread)["state"]) != 0 {
		t.Errorf("unread facet = %+v", unread)
	}
	if len(d.Query.States) != 1 || len(d.Query.Accounts) != 1 {
		t.Error("a facet's link changed the query it was built from")
	}
}
