package alibaba

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// A card message (Type 1) keeps its content in Dialog.Schema, which Alibaba
// documents only as "the system card, reserved for future use"; its layout is
// not published. renderCard therefore reads any JSON and writes it as plain
// text: the title first, then one "label: value" line per field, links as
// "text (url)". A Schema that is not JSON is taken as text.

// maxCardDepth bounds nesting, so a hostile card cannot exhaust the stack.
const maxCardDepth = 32

// Keys that name parts of a card, in order of preference.
var (
	titleKeys = []string{"title", "header", "heading", "subject", "name"}
	labelKeys = []string{"label", "name", "key", "title"}
	valueKeys = []string{"value", "text", "content", "desc", "description"}
	urlKeys   = []string{"url", "href", "link"}
	// bodyKeys hold running text that reads best without a "key:" prefix.
	bodyKeys = []string{"content", "text", "body", "description", "desc", "message", "msg"}
)

// jsonNode is a decoded JSON value that keeps object keys in order.
type jsonNode struct {
	scalar string // strings, numbers and booleans; empty for null
	isObj  bool
	isArr  bool
	keys   []string
	vals   []*jsonNode
}

// renderCard returns the readable text of a card Schema, "" when it holds
// nothing to show.
func renderCard(schema string) string {
	schema = clean(schema)
	if schema == "" {
		return ""
	}
	n, err := decodeOrdered(schema)
	if err != nil {
		return schema
	}
	var r cardRenderer
	r.node(n, "", 0)
	return strings.Join(r.lines, "\n")
}

func decodeOrdered(s string) (*jsonNode, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after card")
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*jsonNode, error) {
	if depth > maxCardDepth {
		return nil, errors.New("card nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &jsonNode{isObj: true}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &jsonNode{isArr: true}
			for dec.More() {
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, errors.New("unexpected delimiter")
	case string:
		return &jsonNode{scalar: t}, nil
	case json.Number:
		return &jsonNode{scalar: t.String()}, nil
	case bool:
		if t {
			return &jsonNode{scalar: "true"}, nil
		}
		return &jsonNode{scalar: "false"}, nil
	case nil:
		return &jsonNode{}, nil
	}
	return nil, errors.New("unexpected token")
}

// get returns the first non-empty scalar value under one of keys, compared
// without case, and its index; -1 when there is none.
func (n *jsonNode) get(keys []string) (string, int) {
	for _, want := range keys {
		for i, k := range n.keys {
			v := n.vals[i]
			if strings.EqualFold(k, want) && !v.isObj && !v.isArr {
				if s := clean(v.scalar); s != "" {
					return s, i
				}
			}
		}
	}
	return "", -1
}

// index returns the index of the first key present among keys, compared
// without case, whatever its value; -1 when there is none.
func (n *jsonNode) index(keys []string) int {
	for _, want := range keys {
		for i, k := range n.keys {
			if strings.EqualFold(k, want) {
				return i
			}
		}
	}
	return -1
}

type cardRenderer struct {
	lines []string
}

func (r *cardRenderer) add(label, text string) {
	if text == "" {
		return
	}
	if label != "" {
		text = label + ": " + text
	}
	r.lines = append(r.lines, text)
}

func (r *cardRenderer) node(n *jsonNode, label string, depth int) {
	if depth > maxCardDepth {
		return
	}
	switch {
	case n.isArr:
		for _, v := range n.vals {
			r.node(v, label, depth+1)
		}
	case n.isObj:
		r.object(n, label, depth)
	default:
		r.add(label, clean(n.scalar))
	}
}

func (r *cardRenderer) object(n *jsonNode, label string, depth int) {
	// A link: {"text": "Rate us", "url": "https://..."}.
	if u, _ := n.get(urlKeys); u != "" {
		text, _ := n.get([]string{"text", "title", "label", "name"})
		switch {
		case text == "":
			r.add(label, u)
		case text == u:
			r.add(label, text)
		default:
			r.add(label, text+" ("+u+")")
		}
		return
	}
	// A field: {"label": "Severity", "value": "high"}.
	// An empty value ("null") still marks a field, which is then left out.
	if l, li := n.get(labelKeys); l != "" && len(n.keys) <= 3 {
		if vi := n.index(valueKeys); vi >= 0 && vi != li {
			r.node(n.vals[vi], l, depth+1)
			return
		}
	}
	done := make([]bool, len(n.keys))
	if t, ti := n.get(titleKeys); t != "" {
		r.add(label, t)
		done[ti] = true
	}
	for i, k := range n.keys {
		if done[i] {
			continue
		}
		v := n.vals[i]
		switch {
		case v.isObj || v.isArr:
			// Containers ("fields", "items") only group; their children
			// carry their own labels.
			r.node(v, "", depth+1)
		case containsFold(bodyKeys, k):
			r.add("", clean(v.scalar))
		default:
			r.add(k, clean(v.scalar))
		}
	}
}

func containsFold(list []string, k string) bool {
	for _, s := range list {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}
