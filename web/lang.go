package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/locale"
)

// langCookie holds the language a person chose with the switcher. It is a
// preference of the browser, not of an account: the language of an answer
// depends only on the request.
const langCookie = "veil_lang"

// langCookieMaxAge keeps a chosen language for a year.
const langCookieMaxAge = 365 * 24 * 60 * 60

// langOf is the language of the answer to r: the switcher's cookie, else
// Accept-Language, else English (see locale.Match).
func langOf(r *http.Request) string {
	chosen := ""
	if c, err := r.Cookie(langCookie); err == nil {
		chosen = c.Value
	}
	return locale.Match(chosen, r.Header.Get("Accept-Language"))
}

// langChoice is one button of the language switcher.
type langChoice struct {
	Code, Name string
	Current    bool
}

func langChoices(current string) []langChoice {
	out := make([]langChoice, len(locale.Codes))
	for i, c := range locale.Codes {
		out[i] = langChoice{Code: c, Name: locale.Name(c), Current: c == current}
	}
	return out
}

// languageForm is the language switcher: it keeps the chosen language in
// a cookie and sends the browser back to the page it came from. It is a
// form post, so cross-site pages cannot set it, and the way back is a
// path on this origin only.
func (s *Server) languageForm(w http.ResponseWriter, r *http.Request) {
	f := readForm(r)
	var back string
	lang := f.value("lang")
	err := f.err
	if err == nil && !locale.Supported(lang) {
		err = veil.Errorf(veil.EINVALID, "The language must be one of %s.", strings.Join(locale.Codes, ", "))
	}
	if err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: "Language"}, err)
		return
	}
	if vs := f.vals["back"]; len(vs) == 1 {
		back = vs[0]
	}
	// Not __Host-: the choice is no secret, and every page reads it by
	// the one name.
	cookie{name: langCookie, secure: s.cookie.secure, sameSite: http.SameSiteLaxMode}.write(w, lang, langCookieMaxAge)
	http.Redirect(w, r, localPath(back), http.StatusSeeOther)
}

// localPath returns p if it is a path on this origin ("/login?rd=..."),
// and "/" otherwise: never another host ("//evil.example", "/\evil"), a
// scheme, or anything with spaces or control characters.
func localPath(p string) string {
	if len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// backOf is where the language switcher of a page returns to: the page's
// path, with the token or return URL the page carries — as checked, never
// the raw query, so that a page looks the same with any unchecked input.
func backOf(r *http.Request, data *pageData) string {
	q := url.Values{}
	if data.Token != "" {
		q.Set("token", data.Token)
	}
	if data.ReturnTo != "" {
		q.Set("rd", data.ReturnTo)
	}
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}
