package views

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/ticketnotes/ticketnotes/models"
)

// AuditRow is one audit entry as the log shows it: who, what in words, on
// what (as links the viewer may follow), and what changed.
type AuditRow struct {
	Event models.AuditEvent
	// Action is the action in the viewer's words; the code itself when the
	// catalog has no words for it.
	Action string
	Actor  AuditLink
	// Target is the thing changed, in parts ("Note 7", "ticket 42",
	// "Sendbird"); empty when the entry names none.
	Target []AuditLink
	Change AuditChange
}

// AuditLink is a piece of an entry's actor or target: a link when Href is
// set, raw data (a request line, an unknown target) when Mono is.
type AuditLink struct {
	Text  string
	Href  string
	Mono  bool
	Title string // the raw value, for operators
}

// AuditChange is an entry's before and after: the note text as a diff and
// every other field side by side.
type AuditChange struct {
	// Text is the note text, nil when neither side has one.
	Text   *TextChange
	Fields []AuditField
	// HasBefore and HasAfter say which sides the entry recorded.
	HasBefore, HasAfter bool
}

// Empty reports whether the entry recorded no before or after.
func (c AuditChange) Empty() bool { return c.Text == nil && len(c.Fields) == 0 }

// TextChange is a note's text before and after a change. Diff is set when
// both sides have a text.
type TextChange struct {
	Before, After       string
	HasBefore, HasAfter bool
	Diff                []DiffSpan
}

// AuditField is one field of a before / after, by its dotted JSON key.
type AuditField struct {
	Key           string
	Before, After AuditValue
}

// Changed reports whether the field differs between before and after.
func (f AuditField) Changed() bool { return f.Before != f.After }

// AuditValue is a field's value on one side: absent, a boolean, or text.
type AuditValue struct {
	Set    bool
	IsBool bool
	Bool   bool
	Text   string
}

// noteTextKey is the field holding a note's text in note changes.
const noteTextKey = "text"

// ChangeOf reads an entry's before and after JSON into a text diff and a
// field list. Text that is not JSON is shown as one field, as written.
func ChangeOf(before, after string) AuditChange {
	b, a := flattenJSON(before), flattenJSON(after)
	c := AuditChange{HasBefore: before != "", HasAfter: after != ""}
	tb, hasB := b[noteTextKey]
	ta, hasA := a[noteTextKey]
	if (hasB && !tb.IsBool) || (hasA && !ta.IsBool) {
		c.Text = &TextChange{Before: tb.Text, After: ta.Text, HasBefore: hasB, HasAfter: hasA}
		if hasB && hasA {
			c.Text.Diff = WordDiff(tb.Text, ta.Text)
		}
		delete(b, noteTextKey)
		delete(a, noteTextKey)
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		c.Fields = append(c.Fields, AuditField{Key: k, Before: b[k], After: a[k]})
	}
	return c
}

// flattenJSON turns a JSON object into its leaves by dotted key (nested
// objects are walked, lists joined with ", "). A JSON value that is not an
// object is the one key "", and text that is not JSON at all too.
func flattenJSON(s string) map[string]AuditValue {
	out := map[string]AuditValue{}
	if s == "" {
		return out
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		out[""] = AuditValue{Set: true, Text: s}
		return out
	}
	flattenInto(out, "", v)
	return out
}

func flattenInto(out map[string]AuditValue, prefix string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		out[prefix] = jsonValue(v)
		return
	}
	if len(m) == 0 && prefix != "" {
		out[prefix] = AuditValue{Set: true}
	}
	for k, x := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		flattenInto(out, k, x)
	}
}

// jsonValue is a JSON leaf as a field value.
func jsonValue(v any) AuditValue {
	switch x := v.(type) {
	case nil:
		return AuditValue{Set: true}
	case bool:
		return AuditValue{Set: true, IsBool: true, Bool: x}
	case string:
		return AuditValue{Set: true, Text: x}
	case json.Number:
		return AuditValue{Set: true, Text: x.String()}
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			if s := jsonValue(e); s.IsBool {
				parts = append(parts, strconv.FormatBool(s.Bool))
			} else if _, nested := e.(map[string]any); nested {
				parts = append(parts, compactJSON(e))
			} else {
				parts = append(parts, s.Text)
			}
		}
		return AuditValue{Set: true, Text: strings.Join(parts, ", ")}
	}
	return AuditValue{Set: true, Text: compactJSON(v)}
}

// compactJSON writes v as JSON with < > & as themselves (the page escapes).
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // values decoded from JSON always encode
	return strings.TrimSuffix(buf.String(), "\n")
}

// auditIndex finds the accounts and users an entry names.
type auditIndex struct {
	accounts map[uint]string
	users    map[uint]string
	byEmail  map[string]uint
}

func (d AuditData) index() auditIndex {
	ix := auditIndex{accounts: map[uint]string{}, users: map[uint]string{}, byEmail: map[string]uint{}}
	for _, a := range d.Accounts {
		ix.accounts[a.ID] = a.Name
	}
	for _, u := range d.Users {
		ix.users[u.ID] = u.Email
		ix.byEmail[strings.ToLower(u.Email)] = u.ID
	}
	return ix
}

// Rows is the page's entries as the viewer reads them. Links lead only
// where the viewer may go: accounts and users for admins, notes and
// tickets for everyone.
func (d AuditData) Rows(p Page) []AuditRow {
	ix := d.index()
	rows := make([]AuditRow, 0, len(d.Events))
	for _, e := range d.Events {
		rows = append(rows, AuditRow{Event: e, Action: ActionText(p, e.Action), Actor: auditActor(p, ix, e),
			Target: auditTarget(p, ix, e.Target), Change: ChangeOf(e.Before, e.After)})
	}
	return rows
}

// known returns the message id's text, or "" when the catalog lacks it.
func known(p Page, id string, kv ...any) string {
	if s := p.T.T(id, kv...); s != id {
		return s
	}
	return ""
}

// ActionText is an audit action in the viewer's words ("Edited a note"),
// or the action's code when the catalog has no words for it.
func ActionText(p Page, action string) string {
	if s := known(p, "audit.action."+action); s != "" {
		return s
	}
	return action
}

// auditActor is who made an entry: a user (linked for admins), or the
// command line, the system or nobody signed in, in words.
func auditActor(p Page, ix auditIndex, e models.AuditEvent) AuditLink {
	email := e.ActorEmail
	switch {
	case email == "":
		return AuditLink{Text: p.T.T("audit.actor.anonymous")}
	case email == "cli":
		return AuditLink{Text: p.T.T("role.cli"), Title: email}
	case email == "system":
		return AuditLink{Text: p.T.T("audit.actor.system"), Title: email}
	case strings.HasPrefix(email, "system:"):
		name := strings.TrimPrefix(email, "system:")
		if s := known(p, "audit.actor.system."+name); s != "" {
			return AuditLink{Text: s, Title: email}
		}
		return AuditLink{Text: p.T.T("audit.actor.system_named", "Name", name), Title: email}
	}
	l := AuditLink{Text: email}
	if e.ActorID != nil && p.IsAdmin() {
		if _, ok := ix.users[*e.ActorID]; ok {
			l.Href = userPath(*e.ActorID)
		}
	}
	return l
}

func userPath(id uint) string        { return "/users/" + uintStr(id) + "/edit" }
func accountEditPath(id uint) string { return "/accounts/" + uintStr(id) + "/edit" }

// auditTarget reads a target ("note:2:42:7", "account:3", "user:5",
// "user:someone@example.com", "POST /accounts/1") into linked parts.
func auditTarget(p Page, ix auditIndex, target string) []AuditLink {
	kind, rest, _ := strings.Cut(target, ":")
	switch {
	case target == "":
		return nil
	case target == "audit" || target == "refusals":
		return []AuditLink{{Text: p.T.T("audit.target." + target), Title: target}}
	case kind == "note":
		parts := strings.SplitN(rest, ":", 3)
		id, ok := parseUint(parts[0])
		if len(parts) != 3 || !ok {
			break
		}
		ticket, note := parts[1], parts[2]
		_, exists := ix.accounts[id]
		var out []AuditLink
		if note == "new" {
			out = append(out, AuditLink{Text: p.T.T("audit.target.new_note"), Title: target})
		} else {
			l := AuditLink{Text: p.T.T("audit.target.note", "Note", note), Title: target}
			if exists {
				l.Href = "/notes/" + uintStr(id) + "/" + url.PathEscape(ticket) + "/" + url.PathEscape(note) + "/history"
			}
			out = append(out, l)
		}
		t := AuditLink{Text: p.T.T("audit.target.ticket", "Ticket", ticket)}
		if exists && ticket != "" {
			t.Href = TicketPath(id, ticket)
		}
		return append(out, t, accountLink(p, ix, id))
	case kind == "account" && rest == "new":
		return []AuditLink{{Text: p.T.T("audit.target.new_account"), Title: target}}
	case kind == "account":
		if id, ok := parseUint(rest); ok {
			return []AuditLink{accountLink(p, ix, id)}
		}
	case kind == "user":
		if id, ok := parseUint(rest); ok {
			email, exists := ix.users[id]
			l := AuditLink{Text: email, Title: target}
			if !exists {
				l.Text = p.T.T("audit.target.user_id", "ID", id)
			} else if p.IsAdmin() {
				l.Href = userPath(id)
			}
			return []AuditLink{l}
		}
		// A sign-in or creation that failed names the email typed.
		l := AuditLink{Text: rest, Title: target}
		if id, ok := ix.byEmail[strings.ToLower(rest)]; ok && p.IsAdmin() {
			l.Href = userPath(id)
		}
		return []AuditLink{l}
	}
	return []AuditLink{{Text: target, Mono: true}}
}

// accountLink names an account, linked for admins; a deleted one by id.
func accountLink(p Page, ix auditIndex, id uint) AuditLink {
	raw := "account:" + uintStr(id)
	name, ok := ix.accounts[id]
	if !ok {
		return AuditLink{Text: p.T.T("audit.target.account_gone", "ID", id), Title: raw}
	}
	l := AuditLink{Text: name, Title: raw}
	if p.IsAdmin() {
		l.Href = accountEditPath(id)
	}
	return l
}

func parseUint(s string) (uint, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint(n), err == nil && n > 0
}

// FieldLabel is a before / after field's name in words, or its key.
func FieldLabel(p Page, key string) string {
	if key == "" {
		return p.T.T("audit.field.value")
	}
	if s := known(p, "audit.field."+key); s != "" {
		return s
	}
	return key
}

// ActionGroup is a group of the action filter's options: every action of
// one kind (notes, accounts, …) found in the log, and the whole kind.
type ActionGroup struct {
	Label   string
	Any     ActionOption // the kind as a prefix filter ("note.")
	Options []ActionOption
}

// ActionOption is one choice of the action filter.
type ActionOption struct{ Value, Text string }

// ActionGroups groups the log's actions by kind for the action filter, in
// words, sorted by kind.
func (d AuditData) ActionGroups(p Page) []ActionGroup {
	var groups []ActionGroup
	at := map[string]int{}
	for _, a := range d.Actions {
		kind, _, _ := strings.Cut(a, ".")
		i, ok := at[kind]
		if !ok {
			label := known(p, "audit.group."+kind)
			anyText := known(p, "audit.group_any."+kind)
			if label == "" || anyText == "" {
				label, anyText = kind, kind+"."
			}
			groups = append(groups, ActionGroup{Label: label, Any: ActionOption{Value: kind + ".", Text: anyText}})
			i = len(groups) - 1
			at[kind] = i
		}
		groups[i].Options = append(groups[i].Options, ActionOption{Value: a, Text: ActionText(p, a)})
	}
	return groups
}

// ActionListed reports whether the action asked for is among the filter's
// options, so one typed into the URL can be shown as chosen.
func (d AuditData) ActionListed() bool {
	a := d.Query.Action
	if a == "" || slices.Contains(d.Actions, a) {
		return true
	}
	for _, x := range d.Actions {
		if kind, _, _ := strings.Cut(x, "."); kind+"." == a {
			return true
		}
	}
	return false
}

// AccountListed reports whether the account asked for is among the
// accounts; a deleted one's rows can still be asked for by its id.
func (d AuditData) AccountListed() bool {
	if d.Query.Account == "" {
		return true
	}
	for _, a := range d.Accounts {
		if accountID(a) == d.Query.Account {
			return true
		}
	}
	return false
}

// diffSpans writes a diff as escaped text with <del> and <ins>, each
// preceded by a word for screen readers (which do not announce them). It
// is written here rather than in templ because templ puts a space between
// elements on separate lines, and in a diff every character counts.
func diffSpans(p Page, spans []DiffSpan) templ.Component {
	removed, added := templ.EscapeString(p.T.T("audit.sr_removed")), templ.EscapeString(p.T.T("audit.sr_added"))
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		for _, s := range spans {
			switch s.Op {
			case DiffDelete:
				b.WriteString(`<span class="sr-only">` + removed + ` </span><del>` + templ.EscapeString(s.Text) + `</del>`)
			case DiffInsert:
				b.WriteString(`<span class="sr-only">` + added + ` </span><ins>` + templ.EscapeString(s.Text) + `</ins>`)
			default:
				b.WriteString(templ.EscapeString(s.Text))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}
