package mail_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/veil-id/veil/brand"
	"github.com/veil-id/veil/locale"
	"github.com/veil-id/veil/mail"
)

// TestRenderMailInEveryLanguage renders every kind of mail in every
// language: the HTML part says its language, the subject is translated
// (and still names the site), the links are all there, and the text part
// keeps to 72 columns but for the links.
func TestRenderMailInEveryLanguage(t *testing.T) {
	r := mustRenderer(t)
	english := map[string]string{}
	for _, lang := range locale.Codes {
		for _, kind := range mail.Kinds() {
			d := fullData(kind)
			d.Lang = lang
			m, err := r.RenderMail(d)
			if err != nil {
				t.Fatalf("%s %s: %v", lang, kind, err)
			}
			if lang == "en" {
				english[kind] = m.Subject
			} else if m.Subject == english[kind] {
				t.Errorf("%s %s: the subject %q is not translated", lang, kind, m.Subject)
			}
			if !strings.Contains(m.Subject, "Example ID") || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("%s %s: subject %q", lang, kind, m.Subject)
			}
			if !strings.Contains(m.HTML, `<html lang="`+lang+`">`) {
				t.Errorf("%s %s: the HTML part does not say its language", lang, kind)
			}
			for _, line := range strings.Split(m.Text, "\n") {
				if utf8.RuneCountInString(line) > 72 && !strings.HasPrefix(line, "https://") {
					t.Errorf("%s %s: text line longer than 72 columns: %q", lang, kind, line)
				}
			}
			for _, u := range []string{d.Link, d.SignInURL, d.ResetURL} {
				if strings.Contains(english[kind+" text"], u) && !strings.Contains(m.Text, u) {
					t.Errorf("%s %s: the text part lost %s", lang, kind, u)
				}
			}
			if lang == "en" {
				english[kind+" text"] = m.Text
			}
		}
	}
}

// TestRenderMailUnknownLanguageIsEnglish: a language veil does not speak
// (or none) gives the English mail, byte for byte.
func TestRenderMailUnknownLanguageIsEnglish(t *testing.T) {
	r := mustRenderer(t)
	en := fullData("signup_confirm")
	en.Lang = "en"
	want, err := r.RenderMail(en)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"", "pt", "de-DE", "<x>"} {
		d := fullData("signup_confirm")
		d.Lang = lang
		got, err := r.RenderMail(d)
		if err != nil || *got != *want {
			t.Errorf("Lang %q: %v; want the English mail", lang, err)
		}
	}
}

// TestRenderMailGermanGolden pins one translated mail.
func TestRenderMailGermanGolden(t *testing.T) {
	d := fullData("signup_confirm")
	d.Lang = "de"
	m, err := mustRenderer(t).RenderMail(d)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "signup_confirm.de.txt.golden", "Subject: "+m.Subject+"\n\n"+m.Text)
}

// TestRenderMailAccent: the button takes the pages' accent colour, with
// text that contrasts with it.
func TestRenderMailAccent(t *testing.T) {
	r, err := mail.NewRenderer("Example ID", mail.WithAccent(brand.MustParseColor("#ffd700")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.RenderMail(fullData("signup_confirm"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, "background:#ffd700;color:#000000") {
		t.Errorf("the button is not in the accent colour with black text:\n%s", m.HTML)
	}
}
