package views

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

// actionLiteral finds the audit actions the code writes: an Action field,
// an action variable, or a named action constant.
var actionLiteral = regexp.MustCompile(`(?:\bAction:\s*|\baction\s*:?=\s*|Action\s*=\s*)"([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)"`)

// auditedActions returns every action literal in the repository's Go
// sources outside tests, with a file naming it.
func auditedActions(t *testing.T) map[string]string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range actionLiteral.FindAllSubmatch(b, -1) {
			found[string(m[1])] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestEveryAuditedActionHasWords(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	actions := auditedActions(t)
	for _, want := range []string{"note.update", "user.login", "account.sync", "request.refusals", "request.csrf", "audit.key", "account.enable"} {
		if _, ok := actions[want]; !ok {
			t.Errorf("the scan did not find %s; is the pattern broken?", want)
		}
	}
	for _, lang := range []string{"en", "zh-Hans"} {
		p := Page{T: cat.Localizer(lang)}
		for a, where := range actions {
			if got := ActionText(p, a); got == a {
				t.Errorf("%s: action %s (written in %s) has no words", lang, a, where)
			}
		}
	}
	if got := ActionText(Page{T: cat.Localizer("zh-Hans")}, "note.update"); got != "编辑了备注" {
		t.Errorf("note.update in Chinese: %q", got)
	}
}

func TestChangeOfSplitsTextFromFields(t *testing.T) {
	t.Parallel()
	c := ChangeOf(`{"id":"7","text":"old words","author":"Ann","settings":{"region":"cn"},"secrets":["a","b"],"on":true}`,
		`{"id":"7","text":"new words","author":"Bo","settings":{"region":"cn"},"secrets":["a"],"on":false}`)
	if c.Text == nil || c.Text.Before != "old words" || c.Text.After != "new words" || len(c.Text.Diff) == 0 {
		t.Fatalf("text change %+v", c.Text)
	}
	var got []string
	for _, f := range c.Fields {
		mark := "="
		if f.Changed() {
			mark = "≠"
		}
		got = append(got, f.Key+mark)
	}
	if want := "author≠ id= on≠ secrets≠ settings.region="; strings.Join(got, " ") != want {
		t.Errorf("fields %q, want %q", strings.Join(got, " "), want)
	}
	// A creation has only an after; a text that is not JSON is one value.
	c = ChangeOf("", `{"text":"hello"}`)
	if c.HasBefore || !c.HasAfter || c.Text == nil || c.Text.HasBefore || c.Text.After != "hello" || c.Text.Diff != nil {
		t.Errorf("creation: %+v %+v", c, c.Text)
	}
	c = ChangeOf("not json", "")
	if len(c.Fields) != 1 || c.Fields[0].Key != "" || c.Fields[0].Before.Text != "not json" {
		t.Errorf("not JSON: %+v", c.Fields)
	}
}

func TestAuditActorsAndTargetsInWords(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	admin := &models.User{ID: 1, Role: models.RoleAdmin}
	manager := &models.User{ID: 2, Role: models.RoleManager}
	d := AuditData{Accounts: []models.Account{{ID: 2, Name: "Desk"}}, Users: []models.User{{ID: 5, Email: "ann@example.com"}}}
	ix := d.index()
	one := uint(5)
	for _, tc := range []struct {
		viewer *models.User
		actor  models.AuditEvent
		target string
		want   string // actor | target parts, "->" before a link
	}{
		{admin, models.AuditEvent{ActorEmail: "ann@example.com", ActorID: &one}, "note:2:42:7",
			"ann@example.com->/users/5/edit | Note 7->/notes/2/42/7/history · ticket 42->/tickets/2/42 · Desk->/accounts/2/edit"},
		{manager, models.AuditEvent{ActorEmail: "ann@example.com", ActorID: &one}, "note:2:42:7",
			"ann@example.com | Note 7->/notes/2/42/7/history · ticket 42->/tickets/2/42 · Desk"},
		{admin, models.AuditEvent{ActorEmail: "system:demo"}, "account:2", "Demo setup | Desk->/accounts/2/edit"},
		{admin, models.AuditEvent{ActorEmail: "system:later"}, "account:9", "System (later) | Account 9 (deleted)"},
		{admin, models.AuditEvent{ActorEmail: "cli"}, "user:5", "Command line | ann@example.com->/users/5/edit"},
		{manager, models.AuditEvent{ActorEmail: "cli"}, "user:5", "Command line | ann@example.com"},
		{admin, models.AuditEvent{}, "POST /accounts/2", "Not signed in | POST /accounts/2"},
		{admin, models.AuditEvent{ActorEmail: "x@example.com"}, "user:ANN@example.com", "x@example.com | ANN@example.com->/users/5/edit"},
		{admin, models.AuditEvent{ActorEmail: "system"}, "audit", "System | The audit log"},
		{admin, models.AuditEvent{ActorEmail: "a@b"}, "note:9:1:new", "a@b | A new note · ticket 1 · Account 9 (deleted)"},
	} {
		p := Page{T: cat.Localizer("en"), User: tc.viewer}
		show := func(l AuditLink) string {
			if l.Href != "" {
				return l.Text + "->" + l.Href
			}
			return l.Text
		}
		var parts []string
		for _, l := range auditTarget(p, ix, tc.target) {
			parts = append(parts, show(l))
		}
		if got := show(auditActor(p, ix, tc.actor)) + " | " + strings.Join(parts, " · "); got != tc.want {
			t.Errorf("%s as %s:\n got %s\nwant %s", tc.target, tc.viewer.Role, got, tc.want)
		}
	}
}
