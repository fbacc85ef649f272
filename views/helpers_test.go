package views

import "testing"

func TestPrettyJSONShowsStringsAsText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`{"body":"\u003cb\u003e\u0026"}`, "{\n  \"body\": \"<b>&\"\n}"},
		// Key order and number spelling stay as stored.
		{`{"z":1.50,"a":"x"}`, "{\n  \"z\": 1.50,\n  \"a\": \"x\"\n}"},
		// An escaped backslash before u003c is a backslash, not an escape.
		{`["\\u003c"]`, "[\n  \"\\\\u003c\"\n]"},
		{`["say \"hi\" \u0026 go"]`, "[\n  \"say \\\"hi\\\" & go\"\n]"},
		{`{"\u003ckey\u003e":null}`, "{\n  \"<key>\": null\n}"},
		{`"中文\n"`, `"中文\n"`},
		{`not json <b>`, `not json <b>`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := PrettyJSON(tt.in); got != tt.want {
			t.Errorf("PrettyJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
