package views

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/ticketnotes/ticketnotes/models"
)

func displayName(u *models.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

func flashRole(f *Flash) string {
	if f.Kind == "bad" {
		return "alert"
	}
	return "status"
}

// PrettyJSON indents a JSON text for display, with each string written
// as its text: the stored JSON comes from json.Marshal, which writes < > &
// as \u003c \u003e \u0026, and the template escapes the result for HTML
// anyway. Key order and numbers are kept as stored. Text that is not valid
// JSON is returned as is.
func PrettyJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	in := buf.Bytes()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	for i := 0; i < len(in); i++ {
		if in[i] != '"' {
			out.WriteByte(in[i])
			continue
		}
		// Indent validated the text, so this finds the closing quote.
		j := i + 1
		for ; in[j] != '"'; j++ {
			if in[j] == '\\' {
				j++
			}
		}
		var str string
		if err := json.Unmarshal(in[i:j+1], &str); err != nil {
			return buf.String()
		}
		_ = enc.Encode(str)         // a string always encodes; bytes.Buffer never fails
		out.Truncate(out.Len() - 1) // Encode's newline
		i = j
	}
	return out.String()
}

func uintStr(n uint) string { return strconv.FormatUint(uint64(n), 10) }

// pageLink is url when the page exists, else "".
func pageLink(exists bool, url string) string {
	if exists {
		return url
	}
	return ""
}
