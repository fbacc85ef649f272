package models

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Search tokens. The full-text index does not tokenize text itself: the
// application derives tokens, stores them space-separated in
// archive_notes.tokens, and SQLite's FTS4 (its "simple" tokenizer only splits
// on the spaces) indexes them; on PostgreSQL the same tokens are a
// tsvector's lexemes under a GIN index (see search.go). Derivation:
//
//   - the text is NFKC-normalised (full-width letters, ligatures and
//     compatibility characters become their plain forms) and lower-cased;
//   - a run of letters, digits and marks outside CJK scripts is one word;
//   - a run of CJK characters (Han, Hiragana, Katakana, Hangul), which has
//     no spaces between words, becomes its overlapping bigrams in order
//     (证书已过期: 证书 书已 已过 过期), so a query of two or more characters
//     is a phrase of bigrams and finds any substring; a one-character run is
//     itself a token;
//   - the single characters of the longer runs follow after every other
//     token, so a one-character query works without breaking the positions
//     that phrases rely on;
//   - everything else (spaces, punctuation, symbols) separates tokens.
//
// Queries (parseSearch) go through the same derivation, so what is indexed
// and what is asked always agree, and Highlight marks exactly the spans the
// index matched.

// token is one search token and the byte span of the original text it was
// derived from.
type token struct {
	text       string
	start, end int
	cjk        bool
	at, size   int // where text is in tokenizer.all, while collecting
}

// isCJK reports whether r belongs to a script written without spaces
// between words (as far as search is concerned).
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) || r == 'ー' || r == '々' || r == '〆'
}

// isWordRune reports whether r is part of a word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// tokenizer walks a text and hands each token to its sink: collected as
// tokens (for queries and highlighting), or written straight into the
// stored form (for indexing, which runs for every note stored).
type tokenizer struct {
	index      bool // write into mainB/charB instead of main/chars
	main       []token
	chars      []token
	mainB      []byte
	charB      []byte
	word       []byte
	wordStart  int
	wordEnd    int
	run        []cjkRune
	pair       []byte
	normalizer norm.Iter
	all        []byte // the collected tokens' bytes, end to end
	// wordsOnly collects no CJK tokens (for terms without CJK, which no
	// CJK token can match): a CJK run becomes one empty token.
	wordsOnly bool
}

type cjkRune struct {
	r          rune
	start, end int
}

func (t *tokenizer) emit(tok []byte, start, end int, cjk, char bool) {
	if t.index {
		b := &t.mainB
		if char {
			b = &t.charB
		}
		if len(*b) > 0 {
			*b = append(*b, ' ')
		}
		*b = append(*b, tok...)
		return
	}
	// The text is set by tokenize from one string of every token's bytes:
	// one allocation for a text instead of one per token.
	tk := token{start: start, end: end, cjk: cjk, at: len(t.all), size: len(tok)}
	t.all = append(t.all, tok...)
	if char {
		t.chars = append(t.chars, tk)
	} else {
		t.main = append(t.main, tk)
	}
}

func (t *tokenizer) flushWord() {
	if len(t.word) > 0 {
		t.emit(t.word, t.wordStart, t.wordEnd, false, false)
		t.word = t.word[:0]
	}
}

func (t *tokenizer) flushRun() {
	if t.wordsOnly && len(t.run) > 0 {
		// One token no term can equal stands for the run's bigrams: it
		// keeps the words on either side apart, as they would be.
		t.main = append(t.main, token{start: t.run[0].start, end: t.run[len(t.run)-1].end, cjk: true, at: len(t.all)})
		t.run = t.run[:0]
		return
	}
	switch len(t.run) {
	case 0:
		return
	case 1:
		c := t.run[0]
		t.emit(utf8.AppendRune(t.pair[:0], c.r), c.start, c.end, true, false)
	default:
		for i := 0; i+1 < len(t.run); i++ {
			t.pair = utf8.AppendRune(utf8.AppendRune(t.pair[:0], t.run[i].r), t.run[i+1].r)
			t.emit(t.pair, t.run[i].start, t.run[i+1].end, true, false)
		}
		for _, c := range t.run {
			t.emit(utf8.AppendRune(t.pair[:0], c.r), c.start, c.end, true, true)
		}
	}
	t.run = t.run[:0]
}

// rune takes one normalised rune that came from text[start:end].
func (t *tokenizer) rune(r rune, start, end int) {
	switch {
	case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
		t.flushRun()
		if len(t.word) == 0 {
			t.wordStart = start
		}
		t.word = append(t.word, byte(r))
		t.wordEnd = end
	case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
		t.rune(r+'a'-'A', start, end)
	case r < utf8.RuneSelf:
		t.flushWord()
		t.flushRun()
	case isCJK(r):
		t.flushWord()
		t.run = append(t.run, cjkRune{r, start, end})
	case isWordRune(r):
		t.flushRun()
		if len(t.word) == 0 {
			t.wordStart = start
		}
		t.word = utf8.AppendRune(t.word, unicode.ToLower(r))
		t.wordEnd = end
	default:
		t.flushWord()
		t.flushRun()
	}
}

// plainASCII reports whether text[i] is ASCII and so is what follows it:
// nothing can combine with it, so it is its own NFKC form.
func plainASCII(text string, i int) bool {
	return text[i] < utf8.RuneSelf && (i+1 == len(text) || text[i+1] < utf8.RuneSelf)
}

func (t *tokenizer) run_(text string) {
	for i := 0; i < len(text); {
		if plainASCII(text, i) {
			t.rune(rune(text[i]), i, i+1)
			i++
			continue
		}
		// Normalise the stretch up to the next plain ASCII byte. Each
		// normalised segment keeps the span of the input it came from, so
		// highlights land on the original text.
		j := i + 1
		for j < len(text) && !plainASCII(text, j) {
			j++
		}
		t.normalizer.InitString(norm.NFKC, text[i:j])
		for !t.normalizer.Done() {
			start := i + t.normalizer.Pos()
			seg := t.normalizer.Next()
			end := i + t.normalizer.Pos()
			for len(seg) > 0 {
				r, size := utf8.DecodeRune(seg)
				seg = seg[size:]
				t.rune(r, start, end)
			}
		}
		i = j
	}
	t.flushWord()
	t.flushRun()
}

// tokenize derives text's tokens: words, CJK bigrams and one-character CJK
// runs in text order (main), then the single characters of longer CJK runs
// (chars).
func tokenize(text string) (main, chars []token) { return tokenizeFor(text, false) }

// tokenizeFor is tokenize, without CJK tokens when wordsOnly (see
// tokenizer.wordsOnly).
func tokenizeFor(text string, wordsOnly bool) (main, chars []token) {
	t := tokenizer{all: make([]byte, 0, len(text)), main: make([]token, 0, len(text)/6+1), wordsOnly: wordsOnly}
	t.run_(text)
	all := string(t.all)
	for _, toks := range [][]token{t.main, t.chars} {
		for i := range toks {
			toks[i].text = all[toks[i].at : toks[i].at+toks[i].size]
		}
	}
	return t.main, t.chars
}

// indexTokens returns the space-separated tokens stored for text.
func indexTokens(text string) string {
	t := tokenizer{index: true, mainB: make([]byte, 0, len(text)*2)}
	t.run_(text)
	if len(t.charB) > 0 {
		if len(t.mainB) > 0 {
			t.mainB = append(t.mainB, ' ')
		}
		t.mainB = append(t.mainB, t.charB...)
	}
	return string(t.mainB)
}

// minPrefixRunes is the shortest query word matched as a prefix without an
// explicit "*": shorter ones ("is", "a") would match most of the archive.
const minPrefixRunes = 3

// searchTerm is one part of a query that a note must match: a single token
// or a phrase of tokens in order, the last optionally as a prefix.
type searchTerm struct {
	tokens []string
	prefix bool
}

// parseSearch reads a user's query. Words are separated by spaces; each must
// match (AND). A word of a script with spaces matches as a word prefix
// ("refund" finds "Refunds"; stem-free, so "refunded" too) once it has
// minPrefixRunes letters, or with a trailing "*" ("re*"). A word of CJK text
// is a phrase of its bigrams, so it matches as a substring. Text in double
// quotes is a phrase: its tokens in order, exactly. A query with no tokens
// at all (only punctuation) gives no terms.
func parseSearch(q string) []searchTerm {
	var terms []searchTerm
	add := func(s string, quoted bool) {
		explicit := strings.HasSuffix(s, "*")
		main, _ := tokenize(s)
		if len(main) == 0 {
			return
		}
		t := searchTerm{tokens: make([]string, len(main))}
		for i, tok := range main {
			t.tokens[i] = tok.text
		}
		last := main[len(main)-1]
		if !last.cjk && (explicit || (!quoted && utf8.RuneCountInString(last.text) >= minPrefixRunes)) {
			t.prefix = true
		}
		terms = append(terms, t)
	}
	for len(q) > 0 {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		if q == "" {
			break
		}
		if q[0] == '"' {
			end := strings.IndexByte(q[1:], '"')
			if end < 0 {
				add(q[1:], true)
				break
			}
			add(q[1:1+end], true)
			q = q[end+2:]
			continue
		}
		end := strings.IndexFunc(q, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
		if end < 0 {
			end = len(q)
		}
		add(q[:end], false)
		q = q[end:]
	}
	return terms
}

// ftsMatch returns the FTS4 MATCH expression of terms: each a quoted phrase
// (tokens hold only letters, digits and marks, so nothing needs escaping),
// joined by spaces, which FTS4 reads as AND.
func ftsMatch(terms []searchTerm) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.Join(t.tokens, " "))
		if t.prefix {
			b.WriteByte('*')
		}
		b.WriteByte('"')
	}
	return b.String()
}

// Segment is a piece of a text with Highlight; Match is true for a piece the
// query matched, which a view wraps in <mark> (escaping Text either way).
type Segment struct {
	Text  string
	Match bool
}

// Highlight splits text into the pieces query matched and the rest, in
// order; joined, the pieces are text again. A query that matches nothing
// (or is empty) gives one unmatched piece; an empty text gives none. It
// matches as the search does (see parseSearch), so every note a search
// finds has its matches marked.
func Highlight(text, query string) []Segment {
	if text == "" {
		return nil
	}
	terms := parseSearch(query)
	if len(terms) == 0 {
		return []Segment{{Text: text}}
	}
	spans, ok := asciiSpans(text, terms)
	if !ok {
		spans = tokenSpans(text, terms, asciiTerms(terms))
	}
	if len(spans) == 0 {
		return []Segment{{Text: text}}
	}
	return cut(text, spans)
}

// tokenSpans is where terms match text, found through its tokens; with
// wordsOnly (no term has CJK) text's CJK runs are not split into tokens.
func tokenSpans(text string, terms []searchTerm, wordsOnly bool) [][2]int {
	main, chars := tokenizeFor(text, wordsOnly)
	var spans [][2]int
	for _, t := range terms {
		n := len(t.tokens)
		if n == 1 && !t.prefix && utf8.RuneCountInString(t.tokens[0]) == 1 {
			for _, c := range chars {
				if c.text == t.tokens[0] {
					spans = append(spans, [2]int{c.start, c.end})
				}
			}
		}
		for i := 0; i+n <= len(main); i++ {
			ok := true
			for j := 0; j < n && ok; j++ {
				if j == n-1 && t.prefix {
					ok = strings.HasPrefix(main[i+j].text, t.tokens[j])
				} else {
					ok = main[i+j].text == t.tokens[j]
				}
			}
			if ok {
				spans = append(spans, [2]int{main[i].start, main[i+n-1].end})
			}
		}
	}
	return spans
}

// asciiSpans is tokenSpans for a text and terms all of ASCII, without
// tokenizing (a search's page highlights 50 notes of up to a few kB each):
// there a token is a maximal run of letters and digits, lower-cased, and
// everything else separates tokens, so a term's tokens are found with
// strings.Index in a lower-cased copy and checked for word edges. ok is
// false when text or a term is not ASCII.
func asciiSpans(text string, terms []searchTerm) (spans [][2]int, ok bool) {
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			return nil, false
		}
	}
	if !asciiTerms(terms) {
		return nil, false
	}
	lower := strings.ToLower(text)
	for _, t := range terms {
		if len(t.tokens) == 0 || t.tokens[0] == "" {
			continue
		}
		for from := 0; ; {
			i := strings.Index(lower[from:], t.tokens[0])
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			if i > 0 && isASCIIWord(lower[i-1]) {
				continue
			}
			if end, ok := matchFrom(lower, i, t); ok {
				spans = append(spans, [2]int{i, end})
			}
		}
	}
	return spans, true
}

// matchFrom reports whether term t's tokens follow in lower from the start
// of a word at i, and where its last word ends.
func matchFrom(lower string, i int, t searchTerm) (int, bool) {
	p := i
	for j, tok := range t.tokens {
		if j > 0 {
			q := p
			for q < len(lower) && !isASCIIWord(lower[q]) {
				q++
			}
			p = q
		}
		if !strings.HasPrefix(lower[p:], tok) {
			return 0, false
		}
		p += len(tok)
		if j == len(t.tokens)-1 && t.prefix {
			for p < len(lower) && isASCIIWord(lower[p]) {
				p++
			}
		} else if p < len(lower) && isASCIIWord(lower[p]) {
			return 0, false
		}
	}
	return p, true
}

// asciiTerms reports whether every token of terms is ASCII letters and
// digits.
func asciiTerms(terms []searchTerm) bool {
	for _, t := range terms {
		for _, tok := range t.tokens {
			for i := 0; i < len(tok); i++ {
				if !isASCIIWord(tok[i]) {
					return false
				}
			}
		}
	}
	return true
}

// isASCIIWord reports whether c (lower-cased ASCII) is part of a word.
func isASCIIWord(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// cut merges overlapping spans and cuts text into segments along them.
func cut(text string, spans [][2]int) []Segment {
	sortSpans(spans)
	var segs []Segment
	pos := 0
	for i := 0; i < len(spans); {
		s, e := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= e; i++ {
			e = max(e, spans[i][1])
		}
		if s > pos {
			segs = append(segs, Segment{Text: text[pos:s]})
		}
		segs = append(segs, Segment{Text: text[s:e], Match: true})
		pos = e
	}
	if pos < len(text) {
		segs = append(segs, Segment{Text: text[pos:]})
	}
	return segs
}

func sortSpans(spans [][2]int) {
	slices.SortFunc(spans, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return b[1] - a[1]
	})
}
