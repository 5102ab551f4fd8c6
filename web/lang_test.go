package web_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/locale"
)

// inLanguage holds, per language, a request header that selects it and a
// word its sign-in page must show.
var inLanguage = []struct {
	lang, acceptLanguage, signIn string
}{
	{"en", "en-GB,en;q=0.9", "Sign in"},
	{"de", "de-CH,de;q=0.9,en;q=0.5", "Anmelden"},
	{"fr", "fr-FR,fr;q=0.9", "Se connecter"},
	{"es", "es-419,es;q=0.9", "Iniciar sesión"},
}

// TestPairsInEveryLanguage is the pair test of invariant 1 in each
// language, chosen by Accept-Language and by the switcher's cookie: every
// account state fails sign-in with the same bytes as an unknown
// identifier, and sign-up and recovery answer a taken address as a new
// one, on pages in that language.
func TestPairsInEveryLanguage(t *testing.T) {
	ts := MustOpenServer(t)
	states := accountStates(t, ts)
	ts.mustAddAccount(t, "taken@example.com", goodPassword)
	for _, l := range inLanguage {
		for _, how := range []struct {
			name   string
			header []string
		}{
			{"Accept-Language", []string{"Accept-Language", l.acceptLanguage}},
			{"cookie", []string{"Cookie", "veil_lang=" + l.lang, "Accept-Language", "pt-BR"}},
		} {
			t.Run(l.lang+" by "+how.name, func(t *testing.T) {
				login := func(id, pw string) answer {
					return ts.do(t, "POST", "/login", formType, url.Values{"identifier": {id}, "password": {pw}}.Encode(), how.header...)
				}
				want := login(states[0].identifier, states[0].password)
				checkLanguage(t, want, l.lang, l.signIn)
				for _, st := range states[1:] {
					if d := diffEchoing(t, login(st.identifier, st.password), st.identifier, want, states[0].identifier); d != "" {
						t.Errorf("%s: %s", st.name, d)
					}
				}
				for _, path := range []string{"/signup", "/recover"} {
					post := func(email string) answer {
						return ts.do(t, "POST", path, formType, url.Values{"email": {email}}.Encode(), how.header...)
					}
					want := post("fresh@example.com")
					checkLanguage(t, want, l.lang, "")
					if want.status != http.StatusAccepted {
						t.Fatalf("%s: %d", path, want.status)
					}
					if d := diffEchoing(t, post("taken@example.com"), "taken@example.com", want, "fresh@example.com"); d != "" {
						t.Errorf("%s, taken address: %s", path, d)
					}
				}
			})
		}
	}
	// The JSON API answers programs, in English whatever the request
	// asks: the same bytes with any Accept-Language or cookie, so its
	// answers need no Vary.
	english := ts.loginJSON(t, "nobody@example.com", wrongPassword)
	for _, l := range inLanguage {
		got := ts.do(t, "POST", "/api/login", "application/json", jsonBody("identifier", "nobody@example.com", "password", wrongPassword),
			"Accept-Language", l.acceptLanguage, "Cookie", "veil_lang="+l.lang)
		if d := diffAnswers(got, english); d != "" {
			t.Errorf("API sign-in in %s: %s", l.lang, d)
		}
	}
	ts.drain(t)
}

// checkLanguage checks that a page is in lang and says so to caches.
func checkLanguage(tb testing.TB, a answer, lang, word string) {
	tb.Helper()
	if !strings.Contains(a.body, `<html lang="`+lang+`">`) || a.header.Get("Content-Language") != lang {
		tb.Errorf("page not in %s: Content-Language %q\n%s", lang, a.header.Get("Content-Language"), a.body)
	}
	if word != "" && !strings.Contains(a.body, word) {
		tb.Errorf("page in %s lacks %q", lang, word)
	}
	if v := a.header.Get("Vary"); v != "Accept-Language, Cookie" {
		tb.Errorf("Vary = %q, want Accept-Language, Cookie", v)
	}
}

// TestMailIsInTheRequestersLanguage: a sign-up or recovery in German
// mails German, to a new and to a taken address alike; the same address
// asked for in Spanish gets Spanish. The language is the request's, not
// the account's.
func TestMailIsInTheRequestersLanguage(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "taken@example.com", goodPassword)
	for _, c := range []struct{ path, email, acceptLanguage, subjectHas string }{
		{"/signup", "new@example.com", "de", "Bestätigen Sie"},
		{"/signup", "taken@example.com", "de", "Sie haben bereits ein Konto"},
		{"/recover", "taken@example.com", "de", "Setzen Sie Ihr Passwort"},
		{"/recover", "taken@example.com", "es-ES", "Restablezca su contraseña"},
		{"/api/signup", "taken@example.com", "fr", "Vous avez déjà un compte"},
		{"/api/recover", "taken@example.com", "", "Reset your"},
	} {
		ct, body := formType, url.Values{"email": {c.email}}.Encode()
		if strings.HasPrefix(c.path, "/api/") {
			ct, body = "application/json", jsonBody("email", c.email)
		}
		if a := ts.do(t, "POST", c.path, ct, body, "Accept-Language", c.acceptLanguage); a.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", c.path, a.status, a.body)
		}
		mails := ts.drain(t)
		if len(mails) != 1 || !strings.Contains(mails[0].Subject, c.subjectHas) {
			t.Errorf("%s for %s in %q: mails %v, want one whose subject has %q", c.path, c.email, c.acceptLanguage, subjects(mails), c.subjectHas)
		}
	}
}

func subjects(ms []*veil.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// TestLanguageSwitcher: the switcher's form sets the cookie and sends the
// browser back to the page, on this origin only; the cookie then wins
// over Accept-Language; a language veil does not speak is a 400.
func TestLanguageSwitcher(t *testing.T) {
	ts := MustOpenServer(t)
	for _, c := range []struct{ back, want string }{
		{"/login?rd=https%3A%2F%2Fwiki.example.com%2F", "/login?rd=https%3A%2F%2Fwiki.example.com%2F"},
		{"/signup/confirm?token=abc", "/signup/confirm?token=abc"},
		{"//evil.example/", "/"}, {"/\\evil.example", "/"}, {"https://evil.example/", "/"}, {"", "/"}, {"/a b", "/"}, {"javascript:alert(1)", "/"},
	} {
		a := ts.do(t, "POST", "/language", formType, url.Values{"lang": {"fr"}, "back": {c.back}}.Encode())
		if a.status != http.StatusSeeOther || a.header.Get("Location") != c.want {
			t.Errorf("back %q: %d, Location %q; want 303 to %q", c.back, a.status, a.header.Get("Location"), c.want)
		}
		if ck := a.header.Get("Set-Cookie"); !strings.HasPrefix(ck, "veil_lang=fr;") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
			t.Errorf("Set-Cookie = %q", ck)
		}
	}
	page := ts.do(t, "GET", "/login", "", "", "Cookie", "veil_lang=fr", "Accept-Language", "de")
	checkLanguage(t, page, "fr", "Se connecter")
	for _, want := range []string{`action="/language"`, `name="back" value="/login"`, `value="de" lang="de"`, `aria-current="true">Français`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the switcher lacks %s", want)
		}
	}
	if a := ts.do(t, "POST", "/language", formType, "lang=pt&back=%2F"); a.status != http.StatusBadRequest || a.header.Get("Set-Cookie") != "" {
		t.Errorf("lang=pt: %d, Set-Cookie %q; want 400 and none", a.status, a.header.Get("Set-Cookie"))
	}
	if a := ts.do(t, "POST", "/language", formType, "lang=de&back=%2F", "Sec-Fetch-Site", "cross-site"); a.status != http.StatusForbidden {
		t.Errorf("cross-site switch: %d, want 403", a.status)
	}
	// A cookie with a language veil does not speak falls back to the header.
	checkLanguage(t, ts.do(t, "GET", "/login", "", "", "Cookie", "veil_lang=xx", "Accept-Language", "es"), "es", "Iniciar sesión")
	checkLanguage(t, ts.do(t, "GET", "/login", "", "", "Accept-Language", "pt-BR,ja;q=0.5"), "en", "Sign in")
}

// translatable finds the English messages a template translates.
var translatable = regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"`)

// TestEveryPageStringIsTranslated: every message a page template
// translates, and every title, notice and error the handlers give a page,
// is in every catalog, so no page is half English.
func TestEveryPageStringIsTranslated(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	var msgs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range translatable.FindAllStringSubmatch(string(b), -1) {
			msgs = append(msgs, m[1])
		}
	}
	msgs = append(msgs, pageMessages...)
	for _, lang := range locale.Codes[1:] {
		have := locale.Messages(lang)
		for _, m := range msgs {
			if !slices.Contains(have, m) {
				t.Errorf("the %s catalog lacks %q", lang, m)
			}
		}
	}
}

// pageMessages are the titles, notices and errors that handlers put on
// pages, as the core and the handlers word them.
var pageMessages = []string{
	"Sign in", "Your account", "Create an account", "Reset your password", "Choose a new password", "Finish signing up",
	"Check your email", "Unavailable", "Account", "Sign out", "Language", "You have signed out.",
	"The email address or password is incorrect.", "Too many attempts. Please wait a moment, then try again.",
	"This link is invalid or has expired. Please ask for a new one.", "The two passwords do not match.",
	"The password must be at least 8 characters long.", "This password is too common: it is among the first ones attackers try. Please choose another.",
	"The identifier must be an email address with one @.", "The domain of the email address is not valid.",
	"This service is unavailable right now. Please try again in a moment.", "Something went wrong on our side. Please try again later.",
	"Your password has been changed, and every session has been signed out. You can sign in with the new password now.",
}
