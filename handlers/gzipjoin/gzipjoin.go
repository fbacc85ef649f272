// Package gzipjoin writes one gzip stream (RFC 1952) from text compressed
// as it is written and parts compressed once, ahead of time.
//
// Why: a response that repeats a large kept part (the notes page's rows)
// spent a third of its CPU compressing that same part again for every
// request. A DEFLATE stream is a sequence of blocks, and a block may start
// wherever the one before it ended on a byte boundary: a part compressed on
// its own and ended with a sync flush (an empty stored block, no final
// block) can be copied into any stream at such a point. Its back-references
// reach only into itself, so the decoder needs nothing from before it; the
// text after it is compressed by a reset compressor, which references
// nothing from before either. The stream's CRC-32 and length cover the
// whole text, so a gzip reader sees one ordinary member.
package gzipjoin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// level is the compression of text and parts: the fastest that still
// finds matches, as the app's compression middleware uses.
const level = flate.BestSpeed

// Part is text compressed once to be joined into many streams. It is
// immutable and safe for concurrent use.
type Part struct {
	// plain is the text, as bytes: the CRC-32 of every stream it joins
	// reads it, and converting a string would copy it each time.
	plain   []byte
	deflate []byte // DEFLATE blocks ending in a sync flush, none final
}

// Compress returns s compressed as a part. It fails only if the compressor
// does.
func Compress(s string) (*Part, error) {
	var buf bytes.Buffer
	fw := getFlate(&buf)
	defer flates.Put(fw)
	if _, err := io.WriteString(fw, s); err != nil {
		return nil, err
	}
	if err := fw.Flush(); err != nil {
		return nil, err
	}
	return &Part{plain: []byte(s), deflate: buf.Bytes()}, nil
}

// String returns the part's text.
func (p *Part) String() string { return string(p.plain) }

// Writer writes a gzip stream to an io.Writer. It is not safe for
// concurrent use. Once a write fails, every later call returns that error;
// after Close, every call fails.
type Writer struct {
	w    io.Writer
	fw   *flate.Writer
	crc  uint32
	size uint32 // the text's length modulo 2³², as gzip records it
	err  error
}

// header is a gzip member header: deflate, no name or time, unknown OS.
var header = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// NewWriter starts a gzip stream on w; Close ends it.
func NewWriter(w io.Writer) *Writer {
	z := &Writer{w: w, fw: getFlate(w)}
	_, z.err = w.Write(header)
	return z
}

// Write compresses b into the stream.
func (z *Writer) Write(b []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.fw.Write(b)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, b[:n])
	z.size += uint32(n)
	z.err = err
	return n, err
}

// WritePart copies p's compressed blocks into the stream.
func (z *Writer) WritePart(p *Part) error {
	if z.err != nil {
		return z.err
	}
	// Ends what was written before on a byte boundary.
	if z.err = z.fw.Flush(); z.err != nil {
		return z.err
	}
	if _, z.err = z.w.Write(p.deflate); z.err != nil {
		return z.err
	}
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p.plain)
	z.size += uint32(len(p.plain))
	// The compressor's window does not hold the part's text: it must not
	// refer back past it.
	z.fw.Reset(z.w)
	return nil
}

// Close ends the stream: the final block and the gzip trailer. It does not
// close the underlying writer.
func (z *Writer) Close() error {
	if z.fw == nil {
		return errClosed
	}
	err := z.finish()
	flates.Put(z.fw)
	z.fw, z.err = nil, errClosed
	return err
}

func (z *Writer) finish() error {
	if z.err != nil {
		return z.err
	}
	if err := z.fw.Close(); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	_, err := z.w.Write(trailer[:])
	return err
}

var errClosed = errors.New("gzipjoin: writer closed")

// flates keeps compressors between streams: each holds tables of tens of
// kilobytes.
var flates sync.Pool

func getFlate(w io.Writer) *flate.Writer {
	if fw, ok := flates.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, err := flate.NewWriter(w, level)
	if err != nil {
		panic(err) // level is a valid constant
	}
	return fw
}
