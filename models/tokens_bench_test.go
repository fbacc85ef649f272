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
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Highlight(c.text, c.q)
			}
		})
	}
}

// The ASCII path finds exactly the spans the tokens do, on random texts
// and queries built from a small alphabet of words, cases and separators.
func TestASCIISpansMatchTokenSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"refund", "Refunds", "REFUND", "ref", "disk", "full", "disk-full", "a", "x9", "9x", "refund2"}
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
		fast, ok := asciiSpans(text, terms)
		want := tokenSpans(text, terms)
		if !ok {
			if !strings.Contains(text, "…") {
				t.Fatalf("%q: ASCII path refused an ASCII text", text)
			}
			continue
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
