package views

import (
	"hash/fnv"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/syncer"
)

// Note display modes.
const (
	ModeList     = "list"
	ModeTimeline = "timeline"
)

// NotesQuery is the notes filter as typed.
type NotesQuery struct {
	Accounts []string
	Ticket   string
	From, To string
	Role     string
	Text     string
	Page     int
	// PageText is the page as requested when it is not a valid number, so
	// the form can show it beside its error.
	PageText string
	// Sort is "newest", "oldest" or "relevance"; empty is the default
	// (relevance with a search, else newest).
	Sort string

	// States are the state filters (models.StateEdited, ...), any of them.
	States []string
}

// Values returns the filter as query values, without page and refresh.
func (q NotesQuery) Values() url.Values {
	v := url.Values{}
	for _, a := range q.Accounts {
		v.Add("account", a)
	}
	for _, s := range q.States {
		v.Add("state", s)
	}
	for k, s := range map[string]string{"ticket": q.Ticket, "from": q.From, "to": q.To, "role": q.Role, "q": q.Text, "sort": q.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// URL returns base with the filter and page.
func (q NotesQuery) URL(base string, page int) string {
	v := q.Values()
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// StatusesURL is the partial of the account statuses for this filter,
// which the page polls while a sync pass runs.
func (q NotesQuery) StatusesURL() string { return q.URL("/notes/statuses", 0) }

// AccountChoice is an account offered in a filter or the add form.
type AccountChoice struct {
	ID       string
	Name     string
	Kind     providers.Kind
	Selected bool
	Caps     providers.Capabilities
}

// AccountStatus is one account's outcome beside the results.
type AccountStatus struct {
	ID      uint
	Name    string
	Kind    providers.Kind
	Caps    providers.Capabilities
	OK      bool
	Count   int // matching notes of this account in the archive
	Sync    syncer.State
	Failure ProviderFailure
}

// Syncing reports whether any of the statuses has a pass running, so the
// page keeps polling them.
func Syncing(st []AccountStatus) bool {
	for _, s := range st {
		if s.Sync.Running() {
			return true
		}
	}
	return false
}

// NoteItem is one note as shown, with the controls the viewer may use.
type NoteItem struct {
	Note        providers.Note
	AccountName string
	CanEdit     bool
	CanDelete   bool
	Mode        string
	Back        string // where a plain (no-JavaScript) action returns to
	// AddedBy is the name of the user who added the note through this
	// dashboard (from the audit log), "" when it was written elsewhere.
	AddedBy string
	// Deleted is set once the note was deleted, here or at the vendor.
	Deleted *Deletion
	// Version is the archive's version number, 1 for a note never edited.
	Version int
	// Search is the list's search, whose matches the text marks.
	Search string
	// Marks is models.Highlight(Note.Body, Search) when the list read it
	// already (a kept page carries it); nil otherwise.
	Marks []models.Segment
	// TicketTitle is the ticket's title as the archive has it ("" when
	// unknown); the list shows it beside the ticket id.
	TicketTitle string
}

// OpenURL is the conversation opened at this note: the ticket's page with
// the note named (and the list's search, so the conversation can mark it
// too) and its element as the fragment, so the browser scrolls to it even
// without JavaScript.
func (n NoteItem) OpenURL() string {
	// As url.Values{"note", "q"}.Encode() writes it (keys in order), by
	// hand: a page builds it twice for each of its 50 notes.
	q := "?note=" + url.QueryEscape(n.Note.ID)
	if n.Search != "" {
		q += "&q=" + url.QueryEscape(n.Search)
	}
	return TicketPath(n.Note.AccountID, n.Note.TicketID) + q + "#" + n.DOMID()
}

// Permalink is the note's lasting address: the conversation at the note,
// without the search of the list it was found in.
func (n NoteItem) Permalink() string {
	return TicketPath(n.Note.AccountID, n.Note.TicketID) + "?note=" + url.QueryEscape(n.Note.ID) + "#" + n.DOMID()
}

// Folding limits: a note longer than this many characters or lines shows
// folded in the list, with "show more".
const (
	foldRunes = 600
	foldLines = 8
)

// Long reports whether the note is long enough to fold in the list.
func (n NoteItem) Long() bool {
	return utf8.RuneCountInString(n.Note.Body) > foldRunes || strings.Count(n.Note.Body, "\n") >= foldLines
}

// DeletedAtVendor reports whether a sync pass found the note gone at the
// vendor (rather than it being deleted here).
func (n NoteItem) DeletedAtVendor() bool { return n.Deleted != nil && n.Deleted.By == "" }

// Edited reports whether the note was changed after it was written.
func (n NoteItem) Edited() bool {
	return n.Version > 1 || (!n.Note.UpdatedAt.IsZero() && n.Note.UpdatedAt.After(n.Note.CreatedAt))
}

// Marked splits a run of note text into the pieces the search matched and
// the rest; without a search, one unmatched piece.
func (n NoteItem) Marked(text string) []models.Segment {
	if n.Search == "" {
		return []models.Segment{{Text: text}}
	}
	if n.Marks != nil && text == n.Note.Body {
		return n.Marks
	}
	return models.Highlight(text, n.Search)
}

// Deletion is who deleted a note here, and when; By is empty when a sync
// pass found it gone at the vendor.
type Deletion struct {
	By string
	At time.Time
}

// State is the note's data-state attribute: "deleted" once deleted.
func (n NoteItem) State() templ.Attributes {
	if n.Deleted != nil {
		return templ.Attributes{"data-state": "deleted"}
	}
	return templ.Attributes{}
}

// DOMID is a stable element id for the note.
func (n NoteItem) DOMID() string {
	h := fnv.New64a()
	h.Write([]byte(n.Note.TicketID))
	h.Write([]byte{0})
	h.Write([]byte(n.Note.ID))
	return "note-" + strconv.FormatUint(uint64(n.Note.AccountID), 10) + "-" + strconv.FormatUint(h.Sum64(), 36)
}

// Path is the note's URL plus suffix.
func (n NoteItem) Path(suffix string) string {
	return "/notes/" + strconv.FormatUint(uint64(n.Note.AccountID), 10) + "/" + url.PathEscape(n.Note.TicketID) + "/" +
		url.PathEscape(n.Note.ID) + suffix
}

// Query is the mode and return address for links that act on the note.
func (n NoteItem) Query() string {
	// As url.Values{"back", "mode"}.Encode() writes it, by hand (see
	// OpenURL).
	q := "?"
	if n.Back != "" {
		q += "back=" + url.QueryEscape(n.Back) + "&"
	}
	return q + "mode=" + url.QueryEscape(n.Mode)
}

// Unread reports whether the vendor marks the note unread.
func (n NoteItem) Unread() bool { return n.Note.Read != nil && !*n.Note.Read }

// TicketPath is the conversation view of a ticket.
func TicketPath(account uint, ticket string) string {
	return "/tickets/" + strconv.FormatUint(uint64(account), 10) + "/" + url.PathEscape(ticket)
}

// NotesData is everything the notes page shows.
type NotesData struct {
	Query       NotesQuery
	Errors      FieldErrors
	Accounts    []AccountChoice
	AddAccounts []AccountChoice
	Statuses    []AccountStatus
	Notes       []NoteItem
	Total       int
	// Capped says a search stopped counting at Total ("1,000+").
	Capped    bool
	PageSize  int
	Quick     []QuickPick
	Add       AddForm
	FormToken string
	// AddOpen shows the add form unfolded: the page was asked for with
	// add=1 (the "Add a note" link, which works without JavaScript).
	AddOpen bool

	// RangeCounts and Facets are the histogram's and the facets' counts
	// (see Range and FacetGroups).
	RangeCounts models.RangeCounts
	Facets      models.Facets

	// Read is the archive's read of this page (models.NotesPage.Read; 0
	// when nothing was read).
	Read uint64
	// Rendered, when set, are the histogram and the rows already rendered
	// (RangeView and NotesRows of this data), shown as they are.
	Rendered *RenderedResults
}

// RenderedResults are the parts of the results that follow the page of
// notes alone, rendered once: RangeView and NotesRows.
type RenderedResults struct {
	Range, Rows string
}

// CurrentQuick is the index in Quick of the first preset the list's range
// is, -1 for a custom range.
func (d NotesData) CurrentQuick() int {
	for i, r := range d.Quick {
		if r.From == d.Query.From && r.To == d.Query.To {
			return i
		}
	}
	return -1
}

// AddURL is this list with the add form unfolded and scrolled to.
func (d NotesData) AddURL() string {
	v := d.Query.Values()
	v.Set("add", "1")
	return "/notes?" + v.Encode() + "#add-note"
}

// SortOption is one choice of the sort select.
type SortOption struct {
	Value    string // "" for the default order
	Label    string // message id
	Selected bool
}

// SortOptions are the orders the list offers: relevance only while
// searching. The default order submits as "", so a search typed after
// browsing gets relevance, not the newest-first it replaced.
func (d NotesData) SortOptions() []SortOption {
	def := "newest"
	names := []string{"newest", "oldest"}
	if d.Query.Text != "" {
		def, names = "relevance", []string{"relevance", "newest", "oldest"}
	}
	out := make([]SortOption, 0, len(names))
	for _, s := range names {
		v := s
		if s == def {
			v = ""
		}
		out = append(out, SortOption{Value: v, Label: "notes.sort." + s, Selected: d.SortIs(s)})
	}
	return out
}

// HasNext reports whether another page follows.
func (d NotesData) HasNext() bool { return d.Query.Page*d.PageSize < d.Total }

// Pages is the number of pages.
func (d NotesData) Pages() int { return max(1, (d.Total+d.PageSize-1)/d.PageSize) }

// PastEnd reports whether the page asked for lies beyond the last one.
func (d NotesData) PastEnd() bool { return d.Total > 0 && d.Query.Page > d.Pages() }

// Export is the URL exporting the notes the list shows, in format.
func (d NotesData) Export(format string) string { return d.Query.URL("/notes/export."+format, 0) }

// AddForm is the add-note form's state.
type AddForm struct {
	Account string
	Ticket  string
	Body    string
	Back    string
	Errors  FieldErrors
}

// EditForm is an inline edit form's state.
type EditForm struct {
	Item    NoteItem
	Body    string
	Errors  FieldErrors
	Failure *ProviderFailure
}

// HistoryData is a note's change history.
type HistoryData struct {
	AccountID   uint
	AccountName string
	Ticket      string
	Note        string
	// Events has one row per change, newest first: an answered attempt is
	// shown by its outcome row, an unanswered one (outcome unknown) by
	// itself.
	Events []models.AuditEvent
	// Versions are the note's texts as the archive kept them, oldest
	// first; the last is current.
	Versions []models.NoteVersion
}

// historyOutcome is a history entry's outcome: "unknown" for an attempt
// that was never answered.
func historyOutcome(e models.AuditEvent) string {
	if e.Outcome == models.OutcomeAttempt {
		return "unknown"
	}
	return e.Outcome
}

// ConversationData is one ticket's timeline.
type ConversationData struct {
	AccountID   uint
	AccountName string
	Kind        providers.Kind
	Ticket      string
	Caps        providers.Capabilities
	CanAdd      bool
	Notes       []NoteItem
	Failure     *ProviderFailure
	FormToken   string
	// Title, Status and Closed are the ticket as last synced; Unknown says
	// the archive has not seen the ticket.
	Title, Status string
	Closed        bool
	Unknown       bool
	// Target is the note id the page was opened at (?note=), Search the
	// search whose matches the notes mark (?q=); both may be empty.
	Target, Search string
}

// timelinePoll makes the timeline reload itself once, three seconds after
// the page, when poll is set.
func timelinePoll(d ConversationData, poll bool) templ.Attributes {
	if !poll {
		return templ.Attributes{}
	}
	return templ.Attributes{"hx-get": d.Path("/timeline") + d.Focus(), "hx-trigger": "load delay:3s", "hx-swap": "outerHTML"}
}

// Path is the conversation's URL plus suffix.
func (d ConversationData) Path(suffix string) string {
	return TicketPath(d.AccountID, d.Ticket) + suffix
}

// FailureLine is a provider failure as one line of text: the message,
// then the vendor's detail, HTTP status, code and request id where known.
func FailureLine(t interface{ T(string, ...any) string }, f ProviderFailure) string {
	s := f.Message
	for _, part := range failureParts(t, f) {
		s += " · " + part
	}
	return s
}

// failureParts are the known facts of a failure after its message, in the
// order FailureLine and FailureText show them.
func failureParts(t interface{ T(string, ...any) string }, f ProviderFailure) []string {
	var parts []string
	if f.Said != "" {
		parts = append(parts, "“"+f.Said+"”")
	}
	if f.Detail != "" {
		parts = append(parts, f.Detail)
	}
	if f.Status != 0 {
		parts = append(parts, t.T("field.http_status", "Status", f.Status))
	}
	if f.Code != "" {
		parts = append(parts, t.T("field.code")+" "+f.Code)
	}
	if f.RequestID != "" {
		parts = append(parts, t.T("field.request_id")+" "+f.RequestID)
	}
	return parts
}

// Segment is a run of note text: plain, or a link.
type Segment struct {
	Text string
	URL  string
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"'()\[\]{}（）「」]+[^\s<>"'()\[\]{}（）「」.,;:!?。，；：！？]`)

// Linkify splits text into plain runs and http(s) links. Only http and
// https become links; everything is escaped by the template.
func Linkify(s string) []Segment {
	var out []Segment
	last := 0
	for _, m := range linkRE.FindAllStringIndex(s, -1) {
		if m[0] > last {
			out = append(out, Segment{Text: s[last:m[0]]})
		}
		out = append(out, Segment{Text: s[m[0]:m[1]], URL: s[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(s) {
		out = append(out, Segment{Text: s[last:]})
	}
	return out
}

// LinkURL is the page's rule for vendor URLs that become links: it returns
// u when it is a clean absolute http(s) URL with a host, else "" (the
// caller then writes the text without a link). Exports use it too, so a
// file never links what the page would not.
func LinkURL(u string) string {
	p, err := url.Parse(u)
	// Opaque ("https:foo") and host-less URLs are not links a person meant.
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Opaque != "" {
		return ""
	}
	return u
}

// addMeaning is the message id telling what adding does at a provider.
func addMeaning(k providers.AddKind) string { return "notes.add_means." + string(k) }

// addSubmit is the message id of the add button for a provider: it names
// who will see what is sent.
func addSubmit(k providers.AddKind) string { return "notes.add_submit." + string(k) }

// addSubmitFor is the add button's message id for the chosen account, the
// neutral one while none is chosen.
func addSubmitFor(a *AccountChoice) string {
	if a == nil {
		return "notes.add_submit"
	}
	return addSubmit(a.Caps.Add)
}

// Chosen is the account of choices the form names, nil when none.
func (f AddForm) Chosen(choices []AccountChoice) *AccountChoice {
	for i := range choices {
		if choices[i].ID == f.Account && f.Account != "" {
			return &choices[i]
		}
	}
	return nil
}

// oobSwap marks an element to replace its namesake out of band.
func oobSwap(oob bool) templ.Attributes {
	if oob {
		return templ.Attributes{"hx-swap-oob": "true"}
	}
	return templ.Attributes{}
}

// SyncPath is the "Sync now" action of an account.
func SyncPath(account uint) string {
	return "/accounts/" + strconv.FormatUint(uint64(account), 10) + "/sync"
}

// statusTrigger is when the statuses reload themselves: after "Sync now"
// anywhere on the page, and every two seconds while a pass runs.
func statusTrigger(st []AccountStatus) string { return pollWhile(Syncing(st)) }

// pollWhile is the hx-trigger of a freshness display: reload after "Sync
// now" anywhere on the page, and every two seconds while running.
func pollWhile(running bool) string {
	if running {
		return "sync-started from:body, every 2s"
	}
	return "sync-started from:body"
}

// progressUnit is the message suffix of a pass's unit.
func progressUnit(unit string) string {
	if unit == "windows" {
		return "windows"
	}
	return "tickets"
}

// FormatCount writes n with thousands separators ("10,000").
func FormatCount(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// SortIs reports whether the list is in order s ("relevance", "newest",
// "oldest"), the default counted: relevance with a search, else newest.
func (d NotesData) SortIs(s string) bool {
	cur := d.Query.Sort
	if cur == "" {
		cur = "newest"
		if d.Query.Text != "" {
			cur = "relevance"
		}
	}
	return cur == s
}

// SortURL is the list in order s, from its first page.
func (d NotesData) SortURL(s string) string {
	q := d.Query
	q.Sort = s
	return q.URL("/notes", 0)
}
