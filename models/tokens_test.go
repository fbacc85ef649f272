package models

import (
	"reflect"
	"strings"
	"testing"
)

func TestIndexTokens(t *testing.T) {
	t.Parallel()
	tests := []struct{ text, want string }{
		{"证书已过期", "证书 书已 已过 过期 证 书 已 过 期"},
		{"Refunds, please!", "refunds please"},
		{"SSL证书 expired", "ssl 证书 expired 证 书"},
		{"是 a 的", "是 a 的"},
		{"ＡＢＣ１２３", "abc123"},
		{"e\u0301cole", "\u00e9cole"},
		{"don't", "don t"},
		{"サーバー", "サー ーバ バー サ ー バ ー"},
		{"<b>x</b> & y_z", "b x b y z"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := indexTokens(tt.text); got != tt.want {
			t.Errorf("indexTokens(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q     string
		match string
	}{
		{"refund", `"refund*"`},
		{"Refunds policy", `"refunds*" "policy*"`},
		{"is", `"is"`},
		{"re*", `"re*"`},
		{"证书", `"证书"`},
		{"证书已过期", `"证书 书已 已过 过期"`},
		{"证", `"证"`},
		{`"payment failed" now`, `"payment failed" "now*"`},
		{`"payment failed" no`, `"payment failed" "no"`},
		{`"unterminated phrase`, `"unterminated phrase"`},
		{"SSL证书", `"ssl 证书"`},
		{`OR NO "AND"`, `"or" "no" "and"`},
		{"!!! ***", ``},
	}
	for _, tt := range tests {
		if got := ftsMatch(parseSearch(tt.q)); got != tt.match {
			t.Errorf("parseSearch(%q) = %s, want %s", tt.q, got, tt.match)
		}
	}
}

func TestHighlight(t *testing.T) {
	t.Parallel()
	m := func(s string) Segment { return Segment{Text: s, Match: true} }
	p := func(s string) Segment { return Segment{Text: s} }
	tests := []struct {
		text, query string
		want        []Segment
	}{
		{"您好，证书已过期", "证书", []Segment{p("您好，"), m("证书"), p("已过期")}},
		{"证书已过期", "书已过", []Segment{p("证"), m("书已过"), p("期")}},
		{"Refunds are slow; refund now", "refund", []Segment{m("Refunds"), p(" are slow; "), m("refund"), p(" now")}},
		{"The payment failed. Failed payment.", `"payment failed"`, []Segment{p("The "), m("payment failed"), p(". Failed payment.")}},
		{"<b>refund</b>", "refund", []Segment{p("<b>"), m("refund"), p("</b>")}},
		{"ＡＢＣ全角", "abc", []Segment{m("ＡＢＣ"), p("全角")}},
		{"过期了 期待", "期", []Segment{p("过"), m("期"), p("了 "), m("期"), p("待")}},
		{"nothing here", "refund", []Segment{p("nothing here")}},
		{"some text", "", []Segment{p("some text")}},
		{"", "refund", nil},
	}
	for _, tt := range tests {
		got := Highlight(tt.text, tt.query)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Highlight(%q, %q) = %+v, want %+v", tt.text, tt.query, got, tt.want)
		}
		var b strings.Builder
		for _, s := range got {
			b.WriteString(s.Text)
		}
		if b.String() != tt.text {
			t.Errorf("Highlight(%q, %q) pieces join to %q", tt.text, tt.query, b.String())
		}
	}
}
