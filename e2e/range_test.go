package e2e

import (
	"context"
	"strconv"
	"testing"
)

// rangeBar is one bar of the range chart as the page shows it.
type rangeBar struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count string `json:"count"`
}

// pageTotal is the list's total, -1 when the page shows none.
const pageTotal = `(() => { const e = document.querySelector('[data-testid=total]'); return e ? Number(e.getAttribute('data-total')) : -1; })()`

// rangeAndFacets clicks a bar of the range chart, drags across three bars
// and clicks a facet, each narrowing the list to what the chart or the
// facet counted.
func rangeAndFacets(ctx context.Context, t *testing.T, a *app) {
	if !open(ctx, t, a, "/notes") || !waitJS(ctx, t, "the range chart", `!!document.querySelector('[data-testid=range-bar]')`) {
		return
	}
	bars, ok := eval[[]rangeBar](ctx, t, `Array.from(document.querySelectorAll('[data-testid=range-bar]')).map(b => ({from: b.getAttribute('data-from'), to: b.getAttribute('data-to'), count: b.getAttribute('data-count')}))`)
	if !ok || len(bars) < 5 {
		t.Fatalf("%d bars", len(bars))
	}
	// Click the busiest bar: the list narrows to its day.
	pick := 0
	for i, b := range bars {
		if n, _ := strconv.Atoi(b.Count); n > atoi(bars[pick].Count) {
			pick = i
		}
	}
	click := `document.querySelectorAll('[data-testid=range-bar]')[` + strconv.Itoa(pick) + `].dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}))`
	if _, ok := eval[bool](ctx, t, click+`, true`); !ok {
		return
	}
	if !waitJS(ctx, t, "the list narrowed to the bar's day", `location.search.includes('from=`+bars[pick].From+`') && location.search.includes('to=`+bars[pick].To+`') && document.querySelectorAll('[data-testid=range-bar]').length === 1`) {
		return
	}
	if got, _ := eval[int](ctx, t, pageTotal); strconv.Itoa(got) != bars[pick].Count {
		t.Errorf("the narrowed list holds %d notes, the bar said %s", got, bars[pick].Count)
	}

	// Drag from the second bar to the fourth: the list narrows to those
	// three days.
	if !open(ctx, t, a, "/notes") || !waitJS(ctx, t, "the range chart again", `document.querySelectorAll('[data-testid=range-bar]').length > 4`) {
		return
	}
	drag := `(() => {
		const bars = document.querySelectorAll('[data-testid=range-bar]');
		const at = (b) => { const r = b.getBoundingClientRect(); return {clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, button: 0, isPrimary: true}; };
		bars[1].dispatchEvent(new PointerEvent('pointerdown', at(bars[1])));
		bars[2].dispatchEvent(new PointerEvent('pointermove', at(bars[2])));
		bars[3].dispatchEvent(new PointerEvent('pointermove', at(bars[3])));
		bars[3].dispatchEvent(new PointerEvent('pointerup', at(bars[3])));
		return true;
	})()`
	if _, ok := eval[bool](ctx, t, drag); !ok {
		return
	}
	if !waitJS(ctx, t, "the list narrowed to the dragged days", `location.search.includes('from=`+bars[1].From+`') && location.search.includes('to=`+bars[3].To+`') && document.querySelectorAll('[data-testid=range-bar]').length === 3`) {
		return
	}
	want := atoi(bars[1].Count) + atoi(bars[2].Count) + atoi(bars[3].Count)
	if got, _ := eval[int](ctx, t, pageTotal); got != want {
		t.Errorf("the dragged range holds %d notes, its bars said %d", got, want)
	}

	// A facet: the agents' notes.
	if !open(ctx, t, a, "/notes") {
		return
	}
	count, ok := eval[string](ctx, t, `(() => { const f = Array.from(document.querySelectorAll('[data-testid=facet]')).find(f => f.getAttribute('href').includes('role=agent')); if (!f) return ''; const n = f.querySelector('.facet-count').textContent.replace(/,/g, ''); f.click(); return n; })()`)
	if !ok || count == "" {
		t.Fatal("no agent facet")
	}
	if !waitJS(ctx, t, "the list of agents' notes", `new URLSearchParams(location.search).get('role') === 'agent' && !!document.querySelector('[data-testid=facet][aria-current=true]')`) {
		return
	}
	if got, _ := eval[int](ctx, t, pageTotal); strconv.Itoa(got) != count {
		t.Errorf("role=agent lists %d notes, its facet said %s", got, count)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
