package i18n_test

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ticketnotes/ticketnotes/models"
	"github.com/ticketnotes/ticketnotes/providers"
	"github.com/ticketnotes/ticketnotes/providers/registry"
	"github.com/ticketnotes/ticketnotes/views/i18n"
)

var langs = []string{"en", "zh-Hans"}

func newCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sorted returns the keys of m in order, for stable messages.
func sorted[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func TestCatalogsHaveTheSameIDs(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	for _, l := range langs {
		if len(c.IDs(l)) == 0 {
			t.Fatalf("IDs(%q) is empty", l)
		}
	}
	for _, pair := range [][2]string{{"en", "zh-Hans"}, {"zh-Hans", "en"}} {
		from, to := c.IDs(pair[0]), c.IDs(pair[1])
		for _, id := range sorted(from) {
			if !to[id] {
				t.Errorf("%s is in %s.json but not in %s.json", id, pair[0], pair[1])
			}
		}
	}
}

// locale is one locale file as written: plain strings, or plural forms.
type locale map[string]json.RawMessage

func readLocale(t *testing.T, lang string) locale {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("locales", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var l locale
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return l
}

// texts returns every text of a message: the string, or each plural form.
func (l locale) texts(id string) ([]string, bool) {
	var s string
	if err := json.Unmarshal(l[id], &s); err == nil {
		return []string{s}, false
	}
	var forms map[string]string
	if err := json.Unmarshal(l[id], &forms); err != nil {
		return nil, false
	}
	var out []string
	for _, k := range sorted(forms) {
		out = append(out, forms[k])
	}
	return out, true
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// TestTranslationsAgree checks that both languages fill in the same data
// and agree on which messages have plural forms.
func TestTranslationsAgree(t *testing.T) {
	t.Parallel()
	en, zh := readLocale(t, "en"), readLocale(t, "zh-Hans")
	names := func(texts []string) string {
		set := map[string]bool{}
		for _, s := range texts {
			for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
				set[m[1]] = true
			}
		}
		return strings.Join(sorted(set), ",")
	}
	for id := range en {
		if _, ok := zh[id]; !ok {
			continue // reported by TestCatalogsHaveTheSameIDs
		}
		enTexts, enPlural := en.texts(id)
		zhTexts, zhPlural := zh.texts(id)
		if enPlural != zhPlural {
			t.Errorf("%s: plural in en %v, in zh-Hans %v", id, enPlural, zhPlural)
		}
		for _, s := range slices.Concat(enTexts, zhTexts) {
			if strings.TrimSpace(s) == "" {
				t.Errorf("%s: empty text", id)
			}
		}
		if a, b := names(enTexts), names(zhTexts); a != b {
			t.Errorf("%s: en fills in {%s}, zh-Hans {%s}", id, a, b)
		}
	}
}

// TestPluralsRender renders every plural message in both languages.
func TestPluralsRender(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	en := readLocale(t, "en")
	for id := range en {
		if _, plural := en.texts(id); !plural {
			continue
		}
		for _, lang := range langs {
			tr := c.Localizer(lang)
			for _, n := range []int{0, 1, 2, 5, 21} {
				got := tr.N(id, n)
				if got == id || strings.Contains(got, "{{") || strings.Contains(got, "<no value>") {
					t.Errorf("%s N(%q, %d) = %q", lang, id, n, got)
				}
			}
		}
	}
}

// idSources are the ways code names a message id. Each has one group: the
// id. A literal followed by "+" is a prefix, handled in dynamicIDs.
var idSources = []*regexp.Regexp{
	regexp.MustCompile(`\.[TN]\(\s*"([^"\\]+)"\s*[,)]`),
	regexp.MustCompile(`\bMsg:\s*"([^"\\]+)"\s*[,}\n]`),
	regexp.MustCompile(`\bLabel:\s*"([^"\\]+)"\s*[,}\n]`),
	regexp.MustCompile(`\bPage\(\s*c,\s*"([^"\\]+)"\s*[,)]`),
	regexp.MustCompile(`"((?:err|error|perr|flash|range|field|role|status|provider|outcome|choice)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)"`),
}

// repoRoot returns the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// codeIDs returns the message ids written literally in the repository's Go
// and templ sources, each with the first file naming it.
func codeIDs(t *testing.T) map[string]string {
	t.Helper()
	root := repoRoot(t)
	ids := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".templ") ||
			strings.HasSuffix(name, "_templ.go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, re := range idSources {
			for _, m := range re.FindAllSubmatch(data, -1) {
				if _, seen := ids[string(m[1])]; !seen {
					ids[string(m[1])] = rel
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// dynamicIDs returns the ids templates build from a prefix and a value.
func dynamicIDs() map[string]string {
	ids := map[string]string{}
	for _, r := range []string{models.RoleAdmin, models.RoleManager} {
		ids["role."+r] = "role badge"
	}
	for _, o := range []string{models.OutcomeOK, models.OutcomeDenied, models.OutcomeError} {
		ids["outcome."+o] = "audit outcome filter"
	}
	for _, k := range providers.Kinds {
		ids["provider."+string(k)] = "provider name"
		ids["provider."+string(k)+".about"] = "provider description"
		for _, f := range registry.Fields(k) {
			ids[f.Label] = string(k) + " field label"
			for _, ch := range f.Choices {
				ids["choice."+f.Name+"."+ch] = string(k) + " field choice"
			}
		}
	}
	return ids
}

func TestCodeIDsExist(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	ids := codeIDs(t)
	if len(ids) < 50 {
		t.Fatalf("found only %d message ids in code; is the scan broken?", len(ids))
	}
	for id, where := range dynamicIDs() {
		ids[id] = where
	}
	for _, want := range []string{"error.not_found", "flash.saved", "field.name", "range.today", "err.required", "field.app_id"} {
		if _, ok := ids[want]; !ok {
			t.Errorf("scan did not find %s; is a pattern broken?", want)
		}
	}
	for _, id := range sorted(ids) {
		for _, lang := range langs {
			if !c.IDs(lang)[id] {
				t.Errorf("%s (used in %s) is missing from %s.json", id, ids[id], lang)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pref, accept string
		want         string
	}{
		{"", "zh-CN,zh;q=0.9", "zh-Hans"},
		{"", "zh", "zh-Hans"},
		{"", "zh-Hans-CN", "zh-Hans"},
		{"", "en-GB", "en"},
		{"", "en-US,en;q=0.9", "en"},
		{"", "", "en"},
		{"", "not a header;;", "en"},
		{"", "de-DE,de;q=0.9", "en"},
		{"", "de-DE,zh-CN;q=0.5", "zh-Hans"},
		{"zh-Hans", "en", "zh-Hans"},
		{"en", "zh-CN", "en"},
		{"zh-CN", "", "zh-Hans"},
		{"garbage!!", "zh-CN", "zh-Hans"},
	}
	for _, tt := range tests {
		if got := i18n.Match(tt.pref, tt.accept); got != tt.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tt.pref, tt.accept, got, tt.want)
		}
	}

	// An unsupported preference falls back to something supported; which
	// one is the matcher's choice.
	got := i18n.Match("fr", "zh-TW")
	if !slices.Contains(langs, got) {
		t.Errorf("Match(%q, %q) = %q, want one of %v", "fr", "zh-TW", got, langs)
	}
	for _, tag := range i18n.Supported {
		if !slices.Contains(langs, tag.String()) {
			t.Errorf("Supported has %s, which the tests do not know", tag)
		}
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	c := newCatalog(t)
	tests := []struct {
		lang, got, want string
	}{
		{"en", c.Localizer("en").T("action.save"), "Save"},
		{"en", c.Localizer("en").T("accounts.confirm_delete", "Name", "Acme", "Tickets", 3, "Notes", 12),
			"Delete the account Acme? Its 3 tickets and 12 archived notes are deleted here; the audit log keeps what it recorded."},
		{"zh-Hans", c.Localizer("zh-Hans").T("accounts.confirm_delete", "Name", "Acme", "Tickets", 3, "Notes", 12),
			"确定删除账号 Acme？此处存档的 3 个工单和 12 条备注将被删除；审计日志保留已记录的内容。"},
		{"en", c.Localizer("en").N("audit.count", 1), "1 entry"},
		{"en", c.Localizer("en").N("audit.count", 0), "0 entries"},
		{"en", c.Localizer("en").N("audit.count", 2), "2 entries"},
		{"zh-Hans", c.Localizer("zh-Hans").N("audit.count", 1), "共 1 条"},
		{"zh-Hans", c.Localizer("zh-Hans").N("audit.count", 7), "共 7 条"},
		// A missing id shows itself.
		{"en", c.Localizer("en").T("no.such.message"), "no.such.message"},
		{"zh-Hans", c.Localizer("zh-Hans").T("no.such.message", "n", 1), "no.such.message"},
		{"zh-Hans", c.Localizer("zh-Hans").N("no.such.plural", 3), "no.such.plural"},
		// An odd trailing key is ignored rather than panicking.
		{"en", c.Localizer("en").T("action.save", "dangling"), "Save"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.lang, tt.got, tt.want)
		}
	}
	if en, zh := c.Localizer("en").T("action.save"), c.Localizer("zh-Hans").T("action.save"); en == zh {
		t.Errorf("action.save is %q in both languages", en)
	}
	for _, lang := range langs {
		if got := c.Localizer(lang).HTMLLang(); got != lang {
			t.Errorf("HTMLLang() = %q, want %q", got, lang)
		}
	}
}
