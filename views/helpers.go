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

// PrettyJSON indents a JSON text for display; other text is returned as is.
func PrettyJSON(s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return s
	}
	return buf.String()
}

func uintStr(n uint) string { return strconv.FormatUint(uint64(n), 10) }

// pageLink is url when the page exists, else "".
func pageLink(exists bool, url string) string {
	if exists {
		return url
	}
	return ""
}
