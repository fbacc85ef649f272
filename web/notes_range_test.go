package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// bars are the histogram's bars on a page.
func bars(d *goquery.Document) []*goquery.Selection {
	var out []*goquery.Selection
	d.Find(`[data-testid=range-bar]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s) })
	return out
}

func TestRangeChartBarsNarrowTheRange(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	resp, body := c.get("/notes?account=1&account=2")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /notes: %d", resp.StatusCode)
	}
	d := doc(t, body)
	fig := d.Find(`#notes-results figure[data-testid=range-chart]`)
	if fig.Length() != 1 {
		t.Fatal("no range chart inside #notes-results")
	}
	svg := fig.Find("svg")
	title := strings.TrimSpace(svg.ChildrenFiltered("title").Text())
	if id, _ := svg.Attr("aria-labelledby"); title != "Notes per day" || id == "" || svg.Find("#"+id).Length() != 1 {
		t.Errorf("svg title %q, labelled by %q", title, id)
	}
	bs := bars(d)
	if len(bs) != 30 {
		t.Fatalf("%d bars, want one per day of the default 30 days", len(bs))
	}
	total, sum := totalOf(t, d.Selection), 0
	var pick *goquery.Selection
	for _, b := range bs {
		n, err := strconv.Atoi(b.AttrOr("data-count", ""))
		if err != nil {
			t.Fatalf("bar count %q", b.AttrOr("data-count", ""))
		}
		sum += n
		if n > 0 && (pick == nil || n < atoiOr(pick.AttrOr("data-count", ""))) {
			pick = b
		}
		if name := b.AttrOr("aria-label", ""); !strings.HasSuffix(name, " notes") && !strings.HasSuffix(name, " note") {
			t.Errorf("bar named %q", name)
		}
		if segs := b.Find("rect.range-seg").Length(); (n > 0) != (segs > 0) {
			t.Errorf("bar of %d notes has %d segments", n, segs)
		}
	}
	if sum != total || total == 0 {
		t.Fatalf("bars sum to %d, the list counts %d", sum, total)
	}
	// Stacked by account: coloured by each account's class.
	if d.Find(`rect.range-seg.acct-1`).Length() == 0 || d.Find(`rect.range-seg.acct-2`).Length() == 0 {
		t.Error("the bars are not stacked by account colour")
	}
	// The text alternative: the total, and the busiest day.
	summary := strings.TrimSpace(fig.Find(`figcaption[data-testid=range-summary]`).Text())
	if !strings.HasPrefix(summary, strconv.Itoa(total)+" notes from ") && !strings.HasPrefix(summary, formatThousands(total)+" notes from ") || !strings.Contains(summary, "; most on ") {
		t.Errorf("summary %q", summary)
	}
	// No inline style anywhere (CSP).
	if strings.Contains(body, "style=") {
		t.Error("the page has a style attribute")
	}

	// A bar links to the same filter narrowed to its day.
	href, _ := pick.Attr("href")
	u, err := url.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/notes" || q.Get("from") != pick.AttrOr("data-from", "") || q.Get("to") != pick.AttrOr("data-to", "x") ||
		q.Get("from") != q.Get("to") || strings.Join(q["account"], ",") != "1,2" {
		t.Fatalf("bar link %q (from %s to %s)", href, pick.AttrOr("data-from", ""), pick.AttrOr("data-to", ""))
	}
	_, body = c.get(href)
	nd := doc(t, body)
	if got, want := totalOf(t, nd.Selection), atoiOr(pick.AttrOr("data-count", "")); got != want {
		t.Errorf("the narrowed list holds %d notes, the bar said %d", got, want)
	}
	if nb := bars(nd); len(nb) != 1 || nb[0].AttrOr("data-count", "") != pick.AttrOr("data-count", "") {
		t.Errorf("the narrowed chart has %d bars", len(nb))
	}

	// In Chinese, localised.
	_, body = c.get("/notes", "Accept-Language", "zh-CN")
	zd := doc(t, body)
	if s := zd.Find(`[data-testid=range-summary]`).Text(); !strings.Contains(s, "条备注") || !strings.Contains(s, "年") {
		t.Errorf("Chinese summary %q", s)
	}
	if name := zd.Find(`[data-testid=range-bar]`).First().AttrOr("aria-label", ""); !strings.Contains(name, "月") || !strings.Contains(name, "条备注") {
		t.Errorf("Chinese bar name %q", name)
	}
}

func atoiOr(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// formatThousands is n with thousands separators, as the page writes it.
func formatThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// facet finds the facet link labelled label.
func facet(t *testing.T, d *goquery.Document, label string) *goquery.Selection {
	t.Helper()
	var out *goquery.Selection
	d.Find(`#notes-results [data-testid=facet]`).Each(func(_ int, s *goquery.Selection) {
		if strings.HasPrefix(strings.TrimSpace(s.Text()), label+" ") {
			out = s
		}
	})
	if out == nil {
		t.Fatalf("no facet %q", label)
	}
	return out
}

func facetCount(s *goquery.Selection) int {
	return atoiOr(strings.ReplaceAll(strings.TrimSpace(s.Find(".facet-count").Text()), ",", ""))
}

func TestFacetsLinkAndFilter(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	_, body := c.get("/notes")
	d := doc(t, body)
	total := totalOf(t, d.Selection)

	agent := facet(t, d, "Agent")
	n := facetCount(agent)
	if n == 0 || n > total {
		t.Fatalf("agent facet %d of %d", n, total)
	}
	if _, ok := agent.Attr("aria-current"); ok {
		t.Error("the agent facet is marked current without a role filter")
	}
	href, _ := agent.Attr("href")
	u, _ := url.Parse(href)
	if u.Query().Get("role") != "agent" || u.Query().Get("from") == "" {
		t.Fatalf("agent facet links to %q", href)
	}
	_, body = c.get(href)
	ad := doc(t, body)
	if got := totalOf(t, ad.Selection); got != n {
		t.Errorf("role=agent lists %d notes, its facet said %d", got, n)
	}
	on := facet(t, ad, "Agent")
	if on.AttrOr("aria-current", "") != "true" || facetCount(on) != n {
		t.Errorf("the active agent facet: aria-current %q, count %d", on.AttrOr("aria-current", ""), facetCount(on))
	}
	// The role facet ignores the role filter: the others still count.
	if cust := facet(t, ad, "Customer"); facetCount(cust) != facetCount(facet(t, d, "Customer")) {
		t.Errorf("customer facet under role=agent = %d, want %d", facetCount(cust), facetCount(facet(t, d, "Customer")))
	}
	// Clicking it again takes the filter off.
	if back, _ := on.Attr("href"); strings.Contains(back, "role=") {
		t.Errorf("the active facet links to %q, still filtered", back)
	}
	// The account facets follow the role filter and ignore the account one.
	var sum int
	ad.Find(`.facet.acct-1, .facet.acct-2, .facet.acct-3`).Each(func(_ int, s *goquery.Selection) { sum += facetCount(s) })
	if sum != n {
		t.Errorf("account facets under role=agent sum to %d, want %d", sum, n)
	}

	// A state facet filters by the state (the states combine with any
	// other filter); the form carries it on.
	for _, st := range []struct{ label, state string }{{"Edited", "edited"}, {"Unread", "unread"}, {"Deleted at the provider", "deleted"}} {
		f := facet(t, d, st.label)
		href, _ := f.Attr("href")
		if u, _ := url.Parse(href); u.Query().Get("state") != st.state {
			t.Fatalf("%s facet links to %q", st.label, href)
		}
		resp, body := c.get(href)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", href, resp.StatusCode)
		}
		sd := doc(t, body)
		if got := totalOf(t, sd.Selection); got != facetCount(f) {
			t.Errorf("state=%s lists %d notes, its facet said %d", st.state, got, facetCount(f))
		}
		if v, _ := sd.Find(`#notes-filter input[type=hidden][name=state]`).Attr("value"); v != st.state {
			t.Errorf("the filter form does not carry state=%s", st.state)
		}
	}
}

func TestNotesStateParamValidated(t *testing.T) {
	t.Parallel()
	ds := newDemoServer(t)
	c := ds.signIn(demoAdmin)
	resp, body := c.get("/notes?state=edited&state=archived")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bad state: %d, want 422", resp.StatusCode)
	}
	d := doc(t, body)
	if d.Find(`[data-testid=note]`).Length() != 0 || d.Find(`[data-testid=range-chart]`).Length() != 0 {
		t.Error("a bad state still lists notes")
	}
	if !strings.Contains(d.Find(`[role=alert]`).Text(), "Please correct the highlighted fields") {
		t.Error("no form error shown")
	}
	// The same request with only good states lists, repeated ones once.
	resp, body = c.get("/notes?state=unread&state=edited&state=unread")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("good states: %d", resp.StatusCode)
	}
	d = doc(t, body)
	if n := d.Find(`#notes-filter input[name=state]`).Length(); n != 2 {
		t.Errorf("%d state inputs carried, want 2", n)
	}
	for _, label := range []string{"Edited", "Unread"} {
		if facet(t, d, label).AttrOr("aria-current", "") != "true" {
			t.Errorf("%s facet not current", label)
		}
	}
	if facet(t, d, "Deleted at the provider").AttrOr("aria-current", "") == "true" {
		t.Error("the deleted facet is current")
	}
}
