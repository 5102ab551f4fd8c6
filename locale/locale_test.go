package locale_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/veil-id/veil/locale"
)

func TestMatch(t *testing.T) {
	for _, tt := range []struct{ chosen, header, want string }{
		{"", "", "en"},
		{"", "de-CH,de;q=0.9,en;q=0.8", "de"},
		{"", "en-US,fr;q=0.9", "en"},
		{"", "fr-CA", "fr"},
		{"", "es-419", "es"},
		{"", "pt-BR,ja;q=0.5", "en"},
		{"", "pt-BR,es;q=0.5", "es"},
		{"", "garbage;;;q=x", "en"},
		{"", "*", "en"},
		{"de", "fr", "de"},
		{"es", "", "es"},
		{"xx", "fr", "fr"},
		{"de-DE", "fr", "fr"}, // the cookie holds a code of ours, exactly
		{"", "x-" + string(make([]byte, 5000)), "en"},
	} {
		if got := locale.Match(tt.chosen, tt.header); got != tt.want {
			t.Errorf("Match(%q, %.40q) = %q, want %q", tt.chosen, tt.header, got, tt.want)
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, tt := range []struct {
		lang, msg string
		pairs     []any
		want      string
	}{
		{"de", "Sign in", nil, "Anmelden"},
		{"en", "Sign in", nil, "Sign in"},
		{"", "Sign in", nil, "Sign in"},
		{"pt", "Sign in", nil, "Sign in"},
		{"de", "Not in any catalog.", nil, "Not in any catalog."},
		{"fr", "Please wait {{.Seconds}} seconds, then try again.", []any{"Seconds", 15}, "Veuillez patienter 15 secondes, puis réessayez."},
		{"en", "Please wait {{.Seconds}} seconds, then try again.", []any{"Seconds", 15}, "Please wait 15 seconds, then try again."},
		// A message from elsewhere is never run as a template, and a value
		// put into a placeholder is never one either.
		{"de", "{{.Nope}} {{", nil, "{{.Nope}} {{"},
		{"es", "We have sent a message to {{.Email}}. Follow the link in it to choose your password and finish signing up.", []any{"Email", "{{.Email}}<b>"},
			"Hemos enviado un mensaje a {{.Email}}<b>. Abra el enlace que contiene para elegir su contraseña y terminar el registro."},
	} {
		if got := locale.Translate(tt.lang, tt.msg, tt.pairs...); got != tt.want {
			t.Errorf("Translate(%q, %q) = %q, want %q", tt.lang, tt.msg, got, tt.want)
		}
	}
}

var placeholder = regexp.MustCompile(`\{\{\.[A-Za-z]+\}\}`)

// TestCatalogs: every catalog has the same messages, each translation keeps
// exactly the placeholders of its English text, and every message a mail
// template translates is in every catalog (the pages' are checked in web).
func TestCatalogs(t *testing.T) {
	de := locale.Messages("de")
	if len(de) < 50 {
		t.Fatalf("the German catalog has %d messages", len(de))
	}
	slices.Sort(de)
	for _, lang := range locale.Codes[1:] {
		msgs := locale.Messages(lang)
		slices.Sort(msgs)
		if !slices.Equal(msgs, de) {
			t.Errorf("the %s catalog does not have the same messages as the German one", lang)
		}
		raw, err := os.ReadFile("catalog/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var catalog map[string]string
		if err := json.Unmarshal(raw, &catalog); err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			want := placeholder.FindAllString(m, -1)
			got := placeholder.FindAllString(catalog[m], -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %q has placeholders %v, its English %v", lang, m, got, want)
			}
		}
	}
	files, _ := filepath.Glob("../mail/templates/*")
	if len(files) == 0 {
		t.Fatal("no mail templates found")
	}
	used := regexp.MustCompile(`(?:\.T|\.Button \.[A-Za-z]+) "((?:[^"\\]|\\.)*)"`)
	var mailMsgs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			mailMsgs = append(mailMsgs, m[1])
		}
	}
	mailMsgs = append(mailMsgs, "If the button does not work, copy this address into your browser:",
		"Confirm your email address for {{.Site}}", "You already have an account with {{.Site}}", "Reset your {{.Site}} password",
		"Password reset request for {{.Site}}", "Your {{.Site}} password was changed")
	for _, m := range mailMsgs {
		if !slices.Contains(de, m) {
			t.Errorf("the catalogs lack the mail message %q", m)
		}
	}
}

// FuzzMatch: any cookie and any header give one of the languages veil
// speaks, never a panic.
func FuzzMatch(f *testing.F) {
	f.Add("", "de-CH,de;q=0.9")
	f.Add("fr", "*;q=0")
	f.Add("xx", "en-US;q=abc,,,")
	f.Fuzz(func(t *testing.T, chosen, header string) {
		if got := locale.Match(chosen, header); !slices.Contains(locale.Codes, got) {
			t.Errorf("Match(%q, %q) = %q", chosen, header, got)
		}
	})
}
