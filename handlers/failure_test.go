package handlers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/views"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

func TestFailureLineNamesStatusCodeRequestAndDetail(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	pe := &providers.Error{Provider: providers.KindAlibaba, Op: "list notes", Kind: providers.ErrForbidden, Status: 403,
		Code: "Forbidden.RAM", RequestID: "REQ-1", Message: "raw vendor text", Detail: "ticket:ListTicketNotes · ImplicitDeny"}
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{"permission", "HTTP 403", "code Forbidden.RAM", "request id REQ-1", "ticket:ListTicketNotes · ImplicitDeny"}},
		{"zh-Hans", []string{"HTTP 403", "错误码 Forbidden.RAM", "请求 ID REQ-1", "ticket:ListTicketNotes · ImplicitDeny"}},
	}
	for _, tt := range tests {
		tr := cat.Localizer(tt.lang)
		line := views.FailureLine(tr, ProviderFailure(tr, fmt.Errorf("fetch: %w", pe)))
		for _, w := range tt.want {
			if !strings.Contains(line, w) {
				t.Errorf("%s: %q lacks %q", tt.lang, line, w)
			}
		}
		if !strings.Contains(line, "“raw vendor text”") {
			t.Errorf("%s: the vendor's own message is not on the line: %q", tt.lang, line)
		}
	}
	// A message that is not the vendor's (no code) stays in the log, and
	// what the vendor says is kept to one short line.
	tr := cat.Localizer("en")
	ours := views.FailureLine(tr, ProviderFailure(tr, &providers.Error{Provider: providers.KindFeishu, Kind: providers.ErrInvalid, Message: "empty ticket id"}))
	if strings.Contains(ours, "empty ticket id") {
		t.Errorf("our own log message reached the line: %q", ours)
	}
	long := views.FailureLine(tr, ProviderFailure(tr, &providers.Error{Provider: providers.KindAlibaba, Kind: providers.ErrInvalid, Code: "X",
		Message: "line one\nline\x00two " + strings.Repeat("y", 300)}))
	if strings.ContainsAny(long, "\n\x00") || !strings.Contains(long, "line one line two") || strings.Count(long, "y") > 200 {
		t.Errorf("vendor message not cleaned and shortened: %q", long)
	}
	// No response: no status is named.
	line := views.FailureLine(tr, ProviderFailure(tr, &providers.Error{Provider: providers.KindSendbird, Kind: providers.ErrUnavailable}))
	if strings.Contains(line, "HTTP") || strings.Contains(line, "·") {
		t.Errorf("failure without a response: %q", line)
	}
}
