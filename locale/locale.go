// Package locale is veil's languages: which ones it speaks (English, German,
// French and Spanish), how a request picks one, and the message catalogs
// that the pages and the mails are translated with.
//
// A language depends only on the request — a cookie the person set and the
// Accept-Language header — and never on an account: a page or a mail that
// spoke the account's language would tell whoever reads it that there is
// one. This package must never be handed anything stored about an account.
//
// Messages are keyed by their English text, so a page that does not
// translate a string yet (or a string that is not in a catalog) shows the
// English; a catalog only adds languages.
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"text/template"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Default is the language when nothing in a request names a supported one.
const Default = "en"

// Codes are the languages veil speaks, as BCP 47 base codes, Default first.
var Codes = []string{"en", "de", "fr", "es"}

// names are the languages in their own words, for the language switcher.
var names = map[string]string{"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}

// Name returns the language's name in that language ("Deutsch"), or "".
func Name(code string) string { return names[code] }

// Supported reports whether code is one of Codes.
func Supported(code string) bool { _, ok := names[code]; return ok }

var matcher = language.NewMatcher([]language.Tag{language.English, language.German, language.French, language.Spanish})

// maxAcceptLanguage bounds the header that is parsed; a real one is a few
// dozen bytes.
const maxAcceptLanguage = 512

// Match picks the language of an answer: chosen, when it is one of Codes
// (a cookie the person set with the language switcher), else the best match
// of an Accept-Language header, else Default.
func Match(chosen, acceptLanguage string) string {
	if Supported(chosen) {
		return chosen
	}
	if len(acceptLanguage) > maxAcceptLanguage {
		acceptLanguage = acceptLanguage[:maxAcceptLanguage]
		if i := strings.LastIndexByte(acceptLanguage, ','); i >= 0 {
			acceptLanguage = acceptLanguage[:i]
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Codes[i]
}

//go:embed catalog/*.json
var catalogFS embed.FS

// localizers holds one localizer per language but English, whose messages
// are their own keys.
var localizers = mustLoad()

func mustLoad() map[string]*i18n.Localizer {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	out := make(map[string]*i18n.Localizer, len(Codes))
	for _, c := range Codes[1:] {
		// The catalogs are embedded: one that does not load is a bug in
		// this package, caught by its tests before any build ships.
		if _, err := b.LoadMessageFileFS(catalogFS, "catalog/"+c+".json"); err != nil {
			panic(fmt.Sprintf("locale: loading the %s catalog: %v", c, err))
		}
		out[c] = i18n.NewLocalizer(b, c)
	}
	return out
}

// Translate returns msg, an English text, in lang, with the named values
// of pairs ("Email", "a@example.com", ...) put in for its {{.Name}}
// placeholders. A message the catalog of lang lacks comes back in English;
// one without pairs comes back as it is, so a msg that is not one of
// veil's own (a message from elsewhere) is never run as a template.
func Translate(lang, msg string, pairs ...any) string {
	var data map[string]any
	if len(pairs) > 0 {
		data = make(map[string]any, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			k, _ := pairs[i].(string)
			data[k] = pairs[i+1]
		}
	}
	if loc := localizers[lang]; loc != nil {
		if s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: msg, TemplateData: data}); err == nil {
			return s
		}
	}
	if data == nil {
		return msg
	}
	return fill(msg, data)
}

// english caches the parsed English messages that have placeholders.
var english sync.Map // msg -> *template.Template

// fill puts data into the placeholders of an English message. Only
// veil's own messages have pairs, so a message that does not parse is a
// bug, shown as it is rather than lost.
func fill(msg string, data map[string]any) string {
	t, ok := english.Load(msg)
	if !ok {
		parsed, err := template.New("").Option("missingkey=zero").Parse(msg)
		if err != nil {
			return msg
		}
		t, _ = english.LoadOrStore(msg, parsed)
	}
	var b strings.Builder
	if err := t.(*template.Template).Execute(&b, data); err != nil {
		return msg
	}
	return b.String()
}

// Messages returns the English texts the catalog of lang translates, for
// tests that check every catalog has every message.
func Messages(lang string) []string {
	raw, err := catalogFS.ReadFile("catalog/" + lang + ".json")
	if err != nil {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
