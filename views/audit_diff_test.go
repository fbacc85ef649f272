package views

import (
	"strings"
	"testing"
)

// sides rebuilds the two texts a diff was made from.
func sides(spans []DiffSpan) (before, after string) {
	var b, a strings.Builder
	for _, s := range spans {
		if s.Op != DiffInsert {
			b.WriteString(s.Text)
		}
		if s.Op != DiffDelete {
			a.WriteString(s.Text)
		}
	}
	return b.String(), a.String()
}

// show writes spans as text with [-removed-] and {+added+}.
func show(spans []DiffSpan) string {
	var out strings.Builder
	for _, s := range spans {
		switch s.Op {
		case DiffDelete:
			out.WriteString("[-" + s.Text + "-]")
		case DiffInsert:
			out.WriteString("{+" + s.Text + "+}")
		default:
			out.WriteString(s.Text)
		}
	}
	return out.String()
}

func TestWordDiff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ before, after, want string }{
		{"", "", ""},
		{"same text", "same text", "same text"},
		{"", "new", "{+new+}"},
		{"old", "", "[-old-]"},
		{"the customer called back", "the customer wrote back", "the customer [-called-]{+wrote+} back"},
		{"refund sent today", "refund sent", "refund sent[- today-]"},
		{"the quick brown fox", "a slow brown fox", "[-the quick-]{+a slow+} brown fox"},
		{"Wait, please.", "Wait please!", "Wait[-,-] please[-.-]{+!+}"},
		{"客户已经退款", "客户尚未退款", "客户[-已经-]{+尚未+}退款"},
		{"订单 A12 已发货", "订单 A13 已发货", "订单 [-A12-]{+A13+} 已发货"},
		{"<script>x</script>", "<b>x</b>", "<[-script-]{+b+}>x</[-script-]{+b+}>"},
	} {
		spans := WordDiff(tc.before, tc.after)
		if got := show(spans); got != tc.want {
			t.Errorf("WordDiff(%q, %q) = %q, want %q", tc.before, tc.after, got, tc.want)
		}
		if b, a := sides(spans); b != tc.before || a != tc.after {
			t.Errorf("WordDiff(%q, %q) rebuilds %q and %q", tc.before, tc.after, b, a)
		}
	}
}

func TestWordDiffTooFarApartIsOneReplacement(t *testing.T) {
	t.Parallel()
	var before, after strings.Builder
	for i := range diffMaxEdits {
		before.WriteString("a" + strings.Repeat("x", i%7) + " ")
		after.WriteString("b" + strings.Repeat("y", i%5) + " ")
	}
	after.WriteString(".")
	spans := WordDiff(before.String(), after.String())
	if len(spans) != 2 || spans[0].Op != DiffDelete || spans[1].Op != DiffInsert {
		t.Fatalf("%d spans, want one deletion and one insertion", len(spans))
	}
	if b, a := sides(spans); b != before.String() || a != after.String() {
		t.Error("the texts are not rebuilt")
	}
}

func TestWordDiffRebuildsBothSides(t *testing.T) {
	t.Parallel()
	texts := []string{"", "a", "a b c", "b c d", "x a y b z", "一二三", "二三四五", "  spaced  out ", "a\nb\nc", "a\nc", "é́ ü"}
	for _, x := range texts {
		for _, y := range texts {
			if b, a := sides(WordDiff(x, y)); b != x || a != y {
				t.Errorf("WordDiff(%q, %q) rebuilds %q and %q", x, y, b, a)
			}
		}
	}
}
