// Package i18n is the message catalog: every user-facing string of the
// dashboard, in English and Simplified Chinese, looked up by message id.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var locales embed.FS

// Supported lists the languages the catalog has, the default first.
var Supported = []language.Tag{language.English, language.MustParse("zh-Hans")}

var matcher = language.NewMatcher(Supported)

// Catalog holds every message.
type Catalog struct {
	bundle *goi18n.Bundle
	ids    map[string]map[string]bool // lang → message ids, for tests
	// plain keeps, per language, the messages already looked up without
	// data: a page asks for the same few dozen ("Edit", "Agent", "Copy
	// link") once per note, and each lookup runs a template.
	plain map[string]*sync.Map
}

// New loads the embedded catalog. It returns an error when a locale file
// does not parse.
func New() (*Catalog, error) {
	b := goi18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, ids: map[string]map[string]bool{}, plain: map[string]*sync.Map{}}
	for _, tag := range Supported {
		c.plain[tag.String()] = &sync.Map{}
	}
	files, err := fs.Glob(locales, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := locales.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mf, err := b.ParseMessageFileBytes(data, f)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", f, err)
		}
		set := map[string]bool{}
		for _, m := range mf.Messages {
			set[m.ID] = true
		}
		c.ids[mf.Tag.String()] = set
	}
	return c, nil
}

// IDs returns the message ids of lang ("en", "zh-Hans").
func (c *Catalog) IDs(lang string) map[string]bool { return c.ids[lang] }

// Match picks the supported language for a stored preference or, when that
// is empty, an Accept-Language header.
func Match(pref, acceptLanguage string) string {
	if pref != "" {
		if t, err := language.Parse(pref); err == nil {
			_, i, conf := matcher.Match(t)
			if conf != language.No {
				return Supported[i].String()
			}
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	_, i, _ := matcher.Match(tags...)
	return Supported[i].String()
}

// Localizer returns a translator for lang.
func (c *Catalog) Localizer(lang string) *T {
	plain := c.plain[lang]
	if plain == nil {
		// A language outside Supported: looked up each time, never kept,
		// so the kept messages stay bounded.
		plain = &sync.Map{}
	}
	return &T{l: goi18n.NewLocalizer(c.bundle, lang), Lang: lang, plain: plain}
}

// T translates message ids for one language.
type T struct {
	l *goi18n.Localizer
	// Lang is the BCP 47 tag in use ("en", "zh-Hans").
	Lang  string
	plain *sync.Map // message id → text, for lookups without data
}

// T returns the message id translated, with data given as alternating names
// and values ("n", 3). A missing message returns the id itself, so a gap in
// the catalog shows up on the page rather than as an error.
func (t *T) T(id string, kv ...any) string {
	if len(kv) == 0 && t.plain != nil {
		if s, ok := t.plain.Load(id); ok {
			return s.(string)
		}
		s := t.localize(id, nil)
		t.plain.Store(id, s)
		return s
	}
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	return t.localize(id, data)
}

// localize is T's lookup.
func (t *T) localize(id string, data map[string]any) string {
	s, err := t.l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		return id
	}
	return s
}

// N translates a message with plural forms for count.
func (t *T) N(id string, count int, kv ...any) string {
	// Counts alone (relative times, small totals) are kept like messages
	// without data; below 1,000 so the kept set stays small.
	if len(kv) == 0 && t.plain != nil && count >= 0 && count < 1000 {
		key := id + "\x00" + strconv.Itoa(count)
		if s, ok := t.plain.Load(key); ok {
			return s.(string)
		}
		s := t.plural(id, count, map[string]any{"Count": count})
		t.plain.Store(key, s)
		return s
	}
	data := map[string]any{"Count": count}
	for i := 0; i+1 < len(kv); i += 2 {
		data[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return t.plural(id, count, data)
}

// plural is N's lookup.
func (t *T) plural(id string, count int, data map[string]any) string {
	s, err := t.l.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil || s == "" {
		return id
	}
	return s
}

// HTMLLang returns the value for <html lang>.
func (t *T) HTMLLang() string { return strings.ReplaceAll(t.Lang, "_", "-") }
