package gzipjoin

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// piece is text to write, or a part to join when part is set.
type piece struct {
	text string
	part bool
}

// join writes pieces into one stream and returns it.
func join(t *testing.T, pieces []piece) []byte {
	t.Helper()
	var out bytes.Buffer
	z := NewWriter(&out)
	for _, p := range pieces {
		if p.part {
			part, err := Compress(p.text)
			if err != nil {
				t.Fatal(err)
			}
			if part.String() != p.text {
				t.Fatalf("part holds %q, want %q", part.String(), p.text)
			}
			if err := z.WritePart(part); err != nil {
				t.Fatal(err)
			}
		} else if _, err := io.WriteString(z, p.text); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// gunzip reads stream with the standard library's reader, as one member
// only (its CRC-32 and length checked).
func gunzip(t *testing.T, stream []byte) string {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	r.Multistream(false)
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read the joined stream: %v", err)
	}
	return string(b)
}

func TestJoinedStreamReadsAsTheWholeText(t *testing.T) {
	row := `<article class="note"><div class="note-body">客户说问题已经解决 &lt;b&gt;</div></article>`
	big := strings.Repeat(row, 800) // past DEFLATE's 32 kB window
	for _, tt := range []struct {
		name   string
		pieces []piece
	}{
		{"text only", []piece{{text: "<html>" + row + "</html>"}}},
		{"part only", []piece{{text: big, part: true}}},
		{"nothing", nil},
		{"empty part and text", []piece{{text: ""}, {text: "", part: true}, {text: ""}}},
		{"text, part, text", []piece{{text: "<head>" + row}, {text: big, part: true}, {text: row + "</html>"}}},
		// The text after a part repeats it: a compressor that still
		// referred back into its old window would copy the wrong bytes.
		{"repeats across a part", []piece{{text: row + "A"}, {text: "B" + row, part: true}, {text: row + row}}},
		{"parts back to back", []piece{{text: big, part: true}, {text: row, part: true}, {text: big, part: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want strings.Builder
			for _, p := range tt.pieces {
				want.WriteString(p.text)
			}
			if got := gunzip(t, join(t, tt.pieces)); got != want.String() {
				t.Errorf("read %d bytes, want the %d written (first difference at %d)", len(got), want.Len(), firstDiff(got, want.String()))
			}
		})
	}
}

// TestJoinedStreamsOfRandomPieces joins random pieces of random, partly
// repetitive text.
func TestJoinedStreamsOfRandomPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"refund", "证书已过期", "<mark>", "&amp;", "payment failed", "\x00", "\n"}
	for i := range 200 {
		var pieces []piece
		var want strings.Builder
		for range rng.IntN(6) {
			var b strings.Builder
			for range rng.IntN(3000) {
				b.WriteString(words[rng.IntN(len(words))])
			}
			pieces = append(pieces, piece{text: b.String(), part: rng.IntN(2) == 0})
			want.WriteString(b.String())
		}
		if got := gunzip(t, join(t, pieces)); got != want.String() {
			t.Fatalf("stream %d: read %d bytes, want %d (first difference at %d)", i, len(got), want.Len(), firstDiff(got, want.String()))
		}
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

type failWriter struct{ after int }

var errWrite = errors.New("write failed")

func (f *failWriter) Write(b []byte) (int, error) {
	if f.after <= 0 {
		return 0, errWrite
	}
	f.after--
	return len(b), nil
}

func TestWriteErrorsStick(t *testing.T) {
	part, err := Compress("part")
	if err != nil {
		t.Fatal(err)
	}
	z := NewWriter(&failWriter{after: 1}) // the header, then failures
	if err := z.WritePart(part); !errors.Is(err, errWrite) {
		t.Errorf("WritePart: %v, want the writer's error", err)
	}
	if _, err := z.Write([]byte("more")); !errors.Is(err, errWrite) {
		t.Errorf("Write after a failure: %v, want the writer's error", err)
	}
	if err := z.Close(); !errors.Is(err, errWrite) {
		t.Errorf("Close after a failure: %v, want the writer's error", err)
	}
	if _, err := z.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := z.Close(); err == nil {
		t.Error("a second Close succeeded")
	}
}
