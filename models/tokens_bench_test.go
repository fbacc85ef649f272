package models

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Highlighting runs for every note of a page of search results.
func BenchmarkHighlight(b *testing.B) {
	long := strings.Repeat("The instance was restarted after the disk filled up; logs attached. ", 15) + "Refund approved."
	for _, c := range []struct{ name, text, q string }{
		{"en-1k", long, "refund"},
		{"en-1k-phrase", long, `"disk filled"`},
		{"zh", strings.Repeat("您好，您的SSL证书已过期，请尽快续费。", 10), "证书"},
		{"mixed-en", strings.Repeat("客户多次来电，请先道歉再说明退款进度。", 10) + " The refund arrived.", "refund"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Highlight(c.text, c.q)
			}
		})
	}
}

// The ASCII path, and the words-only token path for ASCII terms in other
// text, find exactly the spans all tokens do, on random texts and queries
// built from a small alphabet of words (full-width and CJK ones too),
// cases and separators.
func TestASCIISpansMatchTokenSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"refund", "Refunds", "REFUND", "ref", "disk", "full", "disk-full", "a", "x9", "9x", "refund2", "退款", "ｒｅｆｕｎｄ", "证"}
	seps := []string{" ", ", ", "-", "", "\n", "'", "…", "&amp;"}
	queries := []string{"refund", "ref*", "ref", `"disk full"`, `"disk full*"`, "a", "x9 disk", "refund2", "9"}
	for i := 0; i < 5000; i++ {
		var sb strings.Builder
		for n := r.IntN(12); n >= 0; n-- {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteString(seps[r.IntN(len(seps))])
		}
		text := sb.String()
		q := queries[r.IntN(len(queries))]
		terms := parseSearch(q)
		want := tokenSpans(text, terms, false)
		fast, ok := asciiSpans(text, terms)
		if !ok {
			if !strings.ContainsFunc(text, func(r rune) bool { return r >= 0x80 }) {
				t.Fatalf("%q: ASCII path refused an ASCII text", text)
			}
			// Not ASCII: the words-only token path stands in.
			fast = tokenSpans(text, terms, true)
		}
		sortSpans(fast)
		sortSpans(want)
		if len(fast) != 0 || len(want) != 0 {
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("%q ~ %q: ASCII spans %v, token spans %v", text, q, fast, want)
			}
		}
	}
}
