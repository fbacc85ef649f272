package sendbird

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/vendorhttp"
)

// Paging of the note list.
const (
	// notePageSize is the largest limit the list accepts (1–100).
	notePageSize = 100
	// pageWorkers bounds the pages fetched at once; the account's rate
	// limiter paces them further.
	pageWorkers = 8
	// maxNotesScanned caps how many notes one ListNotes call reads from the
	// vendor; a query cut by it is reported as Truncated.
	maxNotesScanned = 50000
)

const day = 24 * time.Hour

// ListNotes returns the notes created in q's range, newest first, filtered
// to q.TicketID when it is set. The range is sent as whole UTC days, split
// into windows the vendor accepts, and filtered to the exact instants here.
// It returns a *providers.Error of kind ErrNotFound, without calling the
// vendor, for a ticket id that is not an integer (Desk ticket ids are, so
// no Desk ticket has it), and the vendor's error otherwise.
func (c *Client) ListNotes(ctx context.Context, q providers.Query) (providers.NoteList, error) {
	const op = "list notes"
	if q.TicketID != "" {
		id, ok := parseID(q.TicketID)
		if !ok {
			return providers.NoteList{}, notFound(op, "no Desk ticket has a non-integer id")
		}
		q.TicketID = id
	}
	max := q.Max()
	col := &collector{q: q, seen: map[string]bool{}}
	// Splitting a crowded window only pays when every note counts; with a
	// ticket filter most notes are dropped, so each window is read whole.
	split := q.TicketID == ""
	for _, w := range windows(c.span(q)) {
		if err := c.scan(ctx, w, split, col, max); err != nil {
			return providers.NoteList{}, err
		}
		if len(col.notes) > max || col.capped {
			break
		}
	}
	notes := col.notes
	slices.SortFunc(notes, newestFirst)
	list := providers.NoteList{Notes: notes, Truncated: col.capped}
	if len(notes) > max {
		list.Notes, list.Truncated = notes[:max:max], true
	}
	return list, nil
}

// window is a span of whole UTC days, both ends included, sent as
// start_date and end_date.
type window struct{ start, end time.Time }

func (w window) days() int { return int(w.end.Sub(w.start)/day) + 1 }

// halves splits w into its newer and older parts.
func (w window) halves() (newer, older window) {
	mid := w.start.AddDate(0, 0, (w.days()-1)/2)
	return window{mid.AddDate(0, 0, 1), w.end}, window{w.start, mid}
}

func (w window) query(offset int) url.Values {
	return url.Values{
		"limit":      {strconv.Itoa(notePageSize)},
		"offset":     {strconv.Itoa(offset)},
		"start_date": {w.start.Format(time.DateOnly)},
		"end_date":   {w.end.Format(time.DateOnly)},
	}
}

func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// windows covers the UTC days from from's day to the day of the last instant
// before to, newest first, each at most maxWindowDays long, with no overlap
// and no gap.
func windows(from, to time.Time) []window {
	if !from.Before(to) {
		return nil
	}
	first, last := utcDay(from), utcDay(to.Add(-time.Nanosecond))
	var ws []window
	for end := last; !end.Before(first); {
		start := end.AddDate(0, 0, -(maxWindowDays - 1))
		if start.Before(first) {
			start = first
		}
		ws = append(ws, window{start, end})
		end = start.AddDate(0, 0, -1)
	}
	return ws
}

// collector gathers the notes a query keeps, once each.
type collector struct {
	q       providers.Query
	seen    map[string]bool
	notes   []providers.Note
	scanned int
	capped  bool // maxNotesScanned cut the scan
}

func (col *collector) add(p notePage) {
	col.scanned += len(p.notes)
	for _, n := range p.notes {
		if col.q.TicketID != "" && n.TicketID != col.q.TicketID {
			continue
		}
		if !col.q.Contains(n.CreatedAt) || col.seen[n.ID] {
			continue
		}
		col.seen[n.ID] = true
		col.notes = append(col.notes, n)
	}
}

// notePage is one decoded page of the note list.
type notePage struct {
	notes []providers.Note
	count int  // total in the window; -1 when the vendor sent none
	more  bool // next was not null
}

// scan reads window w into col. When split is set and w holds far more
// notes than are still wanted, it reads the newer half first and the older
// half only if still needed, so a crowded year is not read whole for the
// newest few notes.
func (c *Client) scan(ctx context.Context, w window, split bool, col *collector, max int) error {
	if col.scanned >= maxNotesScanned {
		col.capped = true
		return nil
	}
	first, err := c.notePage(ctx, w, 0)
	if err != nil {
		return err
	}
	wanted := max + 1 - len(col.notes) // one more than max proves Truncated
	if split && first.more && first.count > wanted && first.count > notePageSize && w.days() > 1 {
		newer, older := w.halves()
		if err := c.scan(ctx, newer, split, col, max); err != nil {
			return err
		}
		if len(col.notes) > max || col.capped {
			return nil
		}
		return c.scan(ctx, older, split, col, max)
	}
	col.add(first)
	if !first.more || len(first.notes) == 0 {
		return nil
	}
	return c.rest(ctx, w, first, col)
}

// rest reads the pages after first: the offsets the count promises at once
// (bounded), then, should the list have grown meanwhile, onwards until next
// is null. The vendor's next URL is only a signal: requests go to offsets
// computed here, so the token is never sent to a host the answer names.
func (c *Client) rest(ctx context.Context, w window, first notePage, col *collector) error {
	step := len(first.notes)
	budget := maxNotesScanned - col.scanned
	var offsets []int
	if first.count > 0 {
		for off := step; off < first.count; off += step {
			if len(offsets)*step >= budget {
				col.capped = true
				break
			}
			offsets = append(offsets, off)
		}
	}
	pages := make([]notePage, len(offsets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pageWorkers)
	for i, off := range offsets {
		g.Go(func() error {
			p, err := c.notePage(gctx, w, off)
			pages[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	last, next := first, step
	for i, p := range pages {
		col.add(p)
		last, next = p, offsets[i]+len(p.notes)
		if !p.more || len(p.notes) == 0 {
			return nil
		}
	}
	for last.more && len(last.notes) > 0 && !col.capped {
		if col.scanned >= maxNotesScanned {
			col.capped = true
			return nil
		}
		p, err := c.notePage(ctx, w, next)
		if err != nil {
			return err
		}
		col.add(p)
		last, next = p, next+len(p.notes)
	}
	return nil
}

// notePage fetches and decodes one page of window w.
func (c *Client) notePage(ctx context.Context, w window, offset int) (notePage, error) {
	const op = "list notes"
	resp, err := c.read(ctx, op, notesPath, w.query(offset))
	if err != nil {
		return notePage{}, err
	}
	l, err := decodeList(resp.Body)
	if err != nil {
		return notePage{}, c.malformed(op, resp, fmt.Errorf("decode notes page: %w", err))
	}
	p := notePage{count: -1, more: l.Next != nil, notes: make([]providers.Note, 0, len(l.Results))}
	if l.Count != nil {
		p.count = *l.Count
	}
	for _, raw := range l.Results {
		n, err := parseNote(raw, c.acct.ID)
		if err == nil && n.TicketID == "" {
			err = fmt.Errorf("note %s has no ticket", n.ID)
		}
		if err != nil {
			return notePage{}, c.malformed(op, resp, fmt.Errorf("decode note: %w", err))
		}
		p.notes = append(p.notes, n)
	}
	return p, nil
}

// newestFirst orders notes by creation time, newest first, then by id.
func newestFirst(a, b providers.Note) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return compareIDs(b.ID, a.ID)
}

// compareIDs orders decimal ids by value, longer (larger) ids after shorter.
func compareIDs(a, b string) int {
	if c := len(a) - len(b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// AddNote leaves an internal note on a ticket and returns it as stored,
// with the answer's X-Request-Id (when sent) as the receipt. It returns a
// *providers.Error of kind ErrInvalid, without calling the vendor, for a
// non-numeric ticket id or an empty body; ErrNotFound for an unknown
// ticket; the vendor's error otherwise. The request is never retried.
func (c *Client) AddNote(ctx context.Context, ticketID, body string) (providers.Note, providers.Receipt, error) {
	const op = "add note"
	tid, ok := parseID(ticketID)
	if !ok {
		return providers.Note{}, providers.Receipt{}, invalid(op, "ticket id must be an integer")
	}
	if strings.TrimSpace(body) == "" {
		return providers.Note{}, providers.Receipt{}, invalid(op, "note is empty")
	}
	n, _ := strconv.ParseInt(tid, 10, 64)
	payload := struct {
		TicketID int64  `json:"ticketId"`
		Note     string `json:"note"`
	}{n, body}
	resp, err := c.write(ctx, op, http.MethodPost, notesPath, payload)
	if err != nil {
		return providers.Note{}, providers.Receipt{}, err
	}
	note, err := c.writtenNote(op, resp, "", tid)
	return note, receipt(resp), err
}

// UpdateNote replaces a note's text and returns the note as stored, with
// the answer's X-Request-Id (when sent) as the receipt. It returns a
// *providers.Error of kind ErrInvalid, without calling the vendor, for a
// non-numeric note or ticket id or an empty body; ErrNotFound for an
// unknown note; the vendor's error otherwise. The request is never retried.
func (c *Client) UpdateNote(ctx context.Context, ticketID, noteID, body string) (providers.Note, providers.Receipt, error) {
	const op = "update note"
	nid, ok := parseID(noteID)
	if !ok {
		return providers.Note{}, providers.Receipt{}, invalid(op, "note id must be an integer")
	}
	tid, ok := parseID(ticketID)
	if ticketID != "" && !ok {
		return providers.Note{}, providers.Receipt{}, invalid(op, "ticket id must be an integer")
	}
	if strings.TrimSpace(body) == "" {
		return providers.Note{}, providers.Receipt{}, invalid(op, "note is empty")
	}
	payload := struct {
		Note string `json:"note"`
	}{body}
	resp, err := c.write(ctx, op, http.MethodPatch, notePath(nid), payload)
	if err != nil {
		return providers.Note{}, providers.Receipt{}, err
	}
	note, err := c.writtenNote(op, resp, nid, tid)
	return note, receipt(resp), err
}

// DeleteNote deletes a note and returns the answer's X-Request-Id (when
// sent) as the receipt. It returns a *providers.Error of kind ErrInvalid,
// without calling the vendor, for a non-numeric note id; ErrNotFound for an
// unknown note; the vendor's error otherwise. The request is never retried.
func (c *Client) DeleteNote(ctx context.Context, ticketID, noteID string) (providers.Receipt, error) {
	const op = "delete note"
	nid, ok := parseID(noteID)
	if !ok {
		return providers.Receipt{}, invalid(op, "note id must be an integer")
	}
	if _, ok := parseID(ticketID); ticketID != "" && !ok {
		return providers.Receipt{}, invalid(op, "ticket id must be an integer")
	}
	resp, err := c.write(ctx, op, http.MethodDelete, notePath(nid), nil)
	if err != nil {
		return providers.Receipt{}, err
	}
	return receipt(resp), nil
}

// receipt is what a successful write answer says about the call.
func receipt(resp *vendorhttp.Response) providers.Receipt {
	return providers.Receipt{RequestID: resp.Header.Get(requestIDHeader)}
}

// writtenNote decodes the note a write answered with; ticketID fills in a
// ticket the answer leaves out.
func (c *Client) writtenNote(op string, resp *vendorhttp.Response, wantID, ticketID string) (providers.Note, error) {
	raw, err := decodeWritten(resp.Body, wantID)
	if err != nil {
		return providers.Note{}, c.malformed(op, resp, fmt.Errorf("decode note: %w", err))
	}
	n, err := parseNote(raw, c.acct.ID)
	if err != nil {
		return providers.Note{}, c.malformed(op, resp, fmt.Errorf("decode note: %w", err))
	}
	if n.TicketID == "" {
		n.TicketID = ticketID
	}
	return n, nil
}
