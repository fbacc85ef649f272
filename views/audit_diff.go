package views

import (
	"strings"
	"unicode"
)

// DiffOp says what a DiffSpan is: text both sides share, text only the old
// side has, or text only the new side has.
type DiffOp int8

// The three kinds of DiffSpan.
const (
	DiffEqual DiffOp = iota
	DiffDelete
	DiffInsert
)

// DiffSpan is a run of text of one DiffOp.
type DiffSpan struct {
	Op   DiffOp
	Text string
}

// diffMaxEdits bounds the work of one diff: past this many inserted and
// deleted tokens the texts have little in common, and showing the old text
// removed and the new one added says as much as a finer diff would.
const diffMaxEdits = 600

// WordDiff compares two texts word by word (each CJK character and each
// punctuation mark is a word of its own, as Chinese has no spaces) and
// returns the spans that, read in order, give before with the deleted spans
// and after with the inserted ones. Whitespace between two replaced words
// belongs to the replacement, so "a b" → "c d" reads as one change. It
// never fails: texts too far apart come back as one deletion and one
// insertion.
func WordDiff(before, after string) []DiffSpan {
	a, b := diffTokens(before), diffTokens(after)
	// The common ends cost nothing to find and usually hold most of a note.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var spans []DiffSpan
	add := func(op DiffOp, tok string) {
		if n := len(spans); n > 0 && spans[n-1].Op == op {
			spans[n-1].Text += tok
			return
		}
		spans = append(spans, DiffSpan{Op: op, Text: tok})
	}
	for _, t := range a[:pre] {
		add(DiffEqual, t)
	}
	midA, midB := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if ops, ok := myers(midA, midB, diffMaxEdits); ok {
		i, j := 0, 0
		for _, op := range ops {
			switch op {
			case DiffEqual:
				add(op, midA[i])
				i, j = i+1, j+1
			case DiffDelete:
				add(op, midA[i])
				i++
			case DiffInsert:
				add(op, midB[j])
				j++
			}
		}
	} else {
		add(DiffDelete, strings.Join(midA, ""))
		add(DiffInsert, strings.Join(midB, ""))
	}
	for _, t := range a[len(a)-suf:] {
		add(DiffEqual, t)
	}
	return tidyDiff(spans)
}

// tidyDiff orders every change as its deletion then its insertion and
// folds whitespace lying between two parts of one replacement into it.
func tidyDiff(spans []DiffSpan) []DiffSpan {
	var out []DiffSpan
	var del, ins strings.Builder
	flush := func() {
		if del.Len() > 0 {
			out = append(out, DiffSpan{Op: DiffDelete, Text: del.String()})
		}
		if ins.Len() > 0 {
			out = append(out, DiffSpan{Op: DiffInsert, Text: ins.String()})
		}
		del.Reset()
		ins.Reset()
	}
	for i, s := range spans {
		switch {
		case s.Op == DiffDelete:
			del.WriteString(s.Text)
		case s.Op == DiffInsert:
			ins.WriteString(s.Text)
		case del.Len() > 0 && ins.Len() > 0 && i+1 < len(spans) && strings.TrimSpace(s.Text) == "":
			// Written to both sides, so each still reads as it was.
			del.WriteString(s.Text)
			ins.WriteString(s.Text)
		default:
			flush()
			out = append(out, s)
		}
	}
	flush()
	return out
}

// tokenClass sorts runes into runs: whitespace, word characters, and
// characters that stand alone.
func tokenClass(r rune) int {
	switch {
	case unicode.IsSpace(r):
		return 0
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
		return 2
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_':
		return 1
	}
	return 2
}

// diffTokens splits s into runs of whitespace, runs of word characters, and
// single CJK characters and punctuation marks.
func diffTokens(s string) []string {
	var out []string
	start, class := 0, -1
	for i, r := range s {
		c := tokenClass(r)
		if (c == 2 || c != class) && i > start {
			out = append(out, s[start:i])
			start = i
		}
		class = c
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// myers returns the shortest edit script turning a into b (E. W. Myers, "An
// O(ND) difference algorithm", 1986), or ok=false when it needs more than
// maxD edits. Memory is O(D²) for D edits.
func myers(a, b []string, maxD int) (ops []DiffOp, ok bool) {
	n, m := len(a), len(b)
	maxD = min(maxD, n+m)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] holds v[-d-1 .. d+1] as it was before step d.
	var trace [][]int
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, n, m), true
			}
		}
	}
	return nil, false
}

// backtrack walks the trace of myers back from (n, m) and returns the
// script in order.
func backtrack(trace [][]int, n, m int) []DiffOp {
	var rev []DiffOp
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		at := func(k int) int { return trace[d][k+d+1] }
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			rev = append(rev, DiffEqual)
			x, y = x-1, y-1
		}
		if d > 0 {
			if x == prevX {
				rev = append(rev, DiffInsert)
			} else {
				rev = append(rev, DiffDelete)
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}
