package handlers

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/ticketnotes/ticketnotes/handlers/gzipjoin"
	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views"
)

// The rendered rows and histogram of a notes page, kept.
//
// Why: the archive keeps a page of notes while the archive is unchanged
// (models.NotesPage), but drawing its 50 rows and its histogram was most
// of a request's CPU (measured in BENCHMARKS.md, "The whole /notes page
// over HTTP"), and on 2 cores a burst of 16 views queued behind it. What
// they draw follows the page's read and how it is shown (language, zone,
// role, the list's address, the accounts' names and abilities), which
// renderKey holds; the relative times ("3 min ago") and what the page's
// read does not hold (ticket titles, who added a note here) are at most
// renderMaxAge old.

// Bounds of the kept renderings: entries of ~100 kB each (50 rows).
const (
	renderCacheEntries = 64
	renderMaxAge       = 30 * time.Second
)

// renderCache is a bounded map of renderings, the oldest dropped first.
// Concurrent requests for a rendering it lacks make it once (do).
type renderCache struct {
	mu      sync.Mutex
	size    int
	maxAge  time.Duration
	entries map[string]renderEntry
	order   []string // keys, oldest put first
	flights map[string]*renderFlight
}

// renderFlight is a rendering being made; done closes when parts and err
// are set.
type renderFlight struct {
	done  chan struct{}
	parts *keptResults
	err   error
}

type renderEntry struct {
	parts *keptResults
	at    time.Time
}

// keptResults is a kept rendering: its text for the page, and the same
// compressed for gzip responses to join in (see renderKept).
type keptResults struct {
	text        *views.RenderedResults
	chart, rows *gzipjoin.Part
}

func newRenderCache(size int, maxAge time.Duration) *renderCache {
	return &renderCache{size: size, maxAge: maxAge, entries: map[string]renderEntry{}, flights: map[string]*renderFlight{}}
}

// do returns the rendering kept under key, or makes it with render and
// keeps it; requests that come while it is made wait for it and share it
// (a burst of one view renders it once). A failed rendering is not kept.
func (r *renderCache) do(key string, render func() (*keptResults, error)) (*keptResults, error) {
	if parts, ok := r.get(key); ok {
		return parts, nil
	}
	r.mu.Lock()
	if fl, ok := r.flights[key]; ok {
		r.mu.Unlock()
		<-fl.done
		return fl.parts, fl.err
	}
	fl := &renderFlight{done: make(chan struct{})}
	r.flights[key] = fl
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.flights, key)
		r.mu.Unlock()
		close(fl.done)
	}()
	fl.parts, fl.err = render()
	if fl.err == nil {
		r.put(key, fl.parts)
	}
	return fl.parts, fl.err
}

// get returns the rendering kept under key if it is younger than maxAge.
func (r *renderCache) get(key string) (*keptResults, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[key]
	if !ok || time.Since(e.at) >= r.maxAge {
		return nil, false
	}
	return e.parts, true
}

// put keeps parts under key, dropping the oldest entries beyond size.
func (r *renderCache) put(key string, parts *keptResults) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.entries[key]; !ok {
		r.order = append(r.order, key)
	}
	r.entries[key] = renderEntry{parts: parts, at: time.Now()}
	for len(r.order) > r.size {
		delete(r.entries, r.order[0])
		r.order = r.order[1:]
	}
}

// renderKey is everything the histogram and rows of d are drawn from
// besides the page's read and the clock: the viewer's language, zone and
// role, the list's query, and each account's name and abilities.
func renderKey(p views.Page, d views.NotesData) string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(d.Read, 10))
	b.WriteByte('|')
	b.WriteString(p.T.Lang)
	b.WriteByte('|')
	b.WriteString(p.Location().String())
	b.WriteByte('|')
	b.WriteString(strconv.FormatBool(p.IsAdmin()))
	b.WriteByte('|')
	b.WriteString(d.Query.URL("/notes", d.Query.Page))
	for _, a := range d.Accounts {
		b.WriteByte('|')
		b.WriteString(a.ID)
		b.WriteByte(':')
		b.WriteString(string(a.Kind))
		b.WriteByte(':')
		b.WriteString(strconv.Quote(a.Name))
		b.WriteString(strconv.FormatBool(a.Caps.Edit))
		b.WriteString(strconv.FormatBool(a.Caps.Delete))
	}
	return b.String()
}

// renderParts renders the histogram and the rows, and compresses each.
func renderParts(ctx context.Context, chart, rows templ.Component) (*keptResults, error) {
	var b strings.Builder
	if err := chart.Render(ctx, &b); err != nil {
		return nil, err
	}
	r := &views.RenderedResults{Range: b.String()}
	b.Reset()
	if err := rows.Render(ctx, &b); err != nil {
		return nil, err
	}
	r.Rows = b.String()
	k := &keptResults{text: r}
	var err error
	if k.chart, err = gzipjoin.Compress(r.Range); err != nil {
		return nil, err
	}
	if k.rows, err = gzipjoin.Compress(r.Rows); err != nil {
		return nil, err
	}
	return k, nil
}

// partMarks stand in the page for the kept chart and rows while the rest
// of it is rendered (renderKept). They are random per process, so no text
// on a page can name them, and hold a NUL, which no HTML needs.
var partMarks = [2]string{"\x00chart-" + models.RandomToken(16) + "\x00", "\x00rows-" + models.RandomToken(16) + "\x00"}

// partMarkBytes are partMarks as the rendered page's bytes are searched.
var partMarkBytes = [2][]byte{[]byte(partMarks[0]), []byte(partMarks[1])}

// renderKept renders page(d) to c as Render does. When the client takes
// gzip and kept is d's kept rendering, the page is sent gzipped with the
// kept chart and rows joined in as compressed when they were kept: only
// the rest of the page is compressed now (gzip is then chosen over
// brotli, which the compression middleware would prefer).
func renderKept(c *fiber.Ctx, status int, kept *keptResults, d views.NotesData, page func(views.NotesData) templ.Component) error {
	if kept == nil || d.Rendered != kept.text || !c.Request().Header.HasAcceptEncoding("gzip") {
		return Render(c, status, page(d))
	}
	marked := d
	marked.Rendered = &views.RenderedResults{Range: partMarks[0], Rows: partMarks[1]}
	buf := pageBufs.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); pageBufs.Put(buf) }()
	if err := page(marked).Render(c.UserContext(), buf); err != nil {
		return err
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentEncoding, "gzip")
	c.Vary(fiber.HeaderAcceptEncoding)
	z := gzipjoin.NewWriter(c.Response().BodyWriter())
	parts := [2]*gzipjoin.Part{kept.chart, kept.rows}
	rest := buf.Bytes()
	for len(rest) > 0 {
		// The next mark, whichever comes first.
		at, which := -1, 0
		for i, m := range partMarkBytes {
			if j := bytes.Index(rest, m); j >= 0 && (at < 0 || j < at) {
				at, which = j, i
			}
		}
		if at < 0 {
			break
		}
		if _, err := z.Write(rest[:at]); err != nil {
			return err
		}
		if err := z.WritePart(parts[which]); err != nil {
			return err
		}
		rest = rest[at+len(partMarks[which]):]
	}
	if _, err := z.Write(rest); err != nil {
		return err
	}
	return z.Close()
}

// pageBufs keeps the buffers pages are rendered into before compression.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
