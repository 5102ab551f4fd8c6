package web

import (
	"bytes"
	"cmp"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/locale"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFS embed.FS

// pageCSP allows the page's own stylesheet and nothing else: no scripts, no
// frames, forms only to this origin.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageChallengeCSP is pageCSP for a page that carries a proof-of-work
// challenge: it may run this origin's scripts, of which there is one,
// /static/pow.js. No inline script, no eval.
const pageChallengeCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pagePasskeyCSP is pageChallengeCSP for a page that offers passkeys:
// /static/passkey.js may also call this origin's API (fetch).
const pagePasskeyCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type pages struct {
	login, account, message        *template.Template
	signup, signupConfirm, recover *template.Template
	resetPassword, outcome         *template.Template
}

// newPages parses every page from fsys (see pageTemplates): the layout,
// its parts, and the page's own file.
func newPages(fsys fs.FS) (*pages, error) {
	parse := func(name string) (*template.Template, error) { return parsePage(fsys, name) }
	var p pages
	for dst, name := range map[**template.Template]string{
		&p.login: "login.html", &p.account: "account.html", &p.message: "message.html",
		&p.signup: "signup.html", &p.signupConfirm: "signup_confirm.html", &p.recover: "recover.html",
		&p.resetPassword: "reset_password.html", &p.outcome: "outcome.html",
	} {
		t, err := parse(name)
		if err != nil {
			return nil, err
		}
		*dst = t
	}
	return &p, nil
}

// parsePage parses one page of fsys with the layout and the parts every page
// may use.
func parsePage(fsys fs.FS, name string) (*template.Template, error) {
	return template.ParseFS(fsys, "layout.html", "parts.html", "challenge.html", "passkey.html", "account_links.html", name)
}

func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}

// pageData is what every page template sees.
type pageData struct {
	Title   string
	Error   string
	Account *veil.Account
	Session *veil.Session
	Token   string // a mailed token, carried in a hidden field
	Message string // the outcome of a mail flow
	// MailFlows shows the links to sign-up and recovery.
	MailFlows bool
	// Settings shows the links to the account pages (account_pages.go),
	// unless accounts are managed elsewhere; Sessions lists the account's
	// sessions.
	Settings bool
	Sessions []sessionInfoBody
	// RecentSignIn: the session began moments ago, so deleting the
	// account needs no password (veil.Service.SignedInRecently).
	RecentSignIn bool
	// Challenge is a proof of work for the next attempt (pow.js solves it),
	// and RetryAfter the seconds a client without JavaScript should wait.
	Challenge  *veil.Challenge
	RetryAfter int
	// ReturnTo is a checked return URL the sign-in form carries in a
	// hidden field; its origin is added to the page's form-action, since
	// browsers hold the redirect after a form post to it too.
	ReturnTo string

	// Email is the address as the person typed it, put back into the form
	// after a failure and named on "check your email": it is the input,
	// the same whichever account it names (see echoAddress). Never a
	// password.
	Email string
	// Notice is a message about what just happened ("You have signed
	// out."), shown above the form.
	Notice string
	// Sent is "signup" or "recover" on the "check your email" page of that
	// flow, which offers to send the mail again.
	Sent string
	// LinkDead replaces a mailed link's form by a way to ask for a new
	// link (NewLink), once the link has shown itself invalid.
	LinkDead bool
	NewLink  string

	// Set by renderPage: the answer's language (see langOf), the
	// language switcher's choices and the page it returns to, and the
	// branding.
	Lang      string
	Languages []langChoice
	Back      string
	SiteName  string
	LogoURL   string
	// Security is what the security pages show (factors.go); Factors
	// shows the link to them.
	Security *securityView
	Factors  bool
	// Passkeys loads /static/passkey.js on the pages that offer them.
	Passkeys bool
}

// T translates msg, an English text, into the page's language (see
// locale.Translate); pairs name the values of its placeholders. A page
// that does not call it is simply in English.
func (d pageData) T(msg string, pairs ...any) string { return locale.Translate(d.Lang, msg, pairs...) }

// renderPage renders a page into a buffer first, so a template error can
// never send half a page, and every answer has an exact length.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, t *template.Template, status int, data pageData) {
	data.MailFlows = s.mail != nil
	data.Lang = langOf(r)
	data.Languages, data.Back = langChoices(data.Lang), backOf(r, &data)
	data.SiteName, data.LogoURL = s.brand.SiteName, s.brand.LogoURL
	data.Factors = s.factors != nil
	data.Passkeys = s.passkeys != nil
	data.Settings = s.settings != nil && s.elsewhere == ""
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.logger.ErrorContext(r.Context(), "rendering page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	csp := pageCSP
	switch {
	case data.Passkeys:
		csp = pagePasskeyCSP
	case data.Challenge != nil:
		csp = pageChallengeCSP
	}
	if o := originOf(data.ReturnTo); o != "" {
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+o, 1)
	}
	if o := s.brand.LogoOrigin(); o != "" {
		csp = strings.Replace(csp, "img-src 'self'", "img-src 'self' "+o, 1)
	}
	h.Set("Content-Security-Policy", csp)
	// The language comes from these two headers: a cache (none should
	// keep these no-store answers) must not give one person's language
	// to another.
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Content-Language", data.Lang)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// originOf is scheme://host[:port] of a checked return URL, or "". The
// check admits no character that could end a CSP source.
func originOf(checked string) string {
	u, err := url.Parse(checked)
	if checked == "" || err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// loginPage is the one sign-in page, whether reached directly or sent by
// forward-auth with ?rd=: the return URL only fills a hidden field.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	data := pageData{Title: "Sign in"}
	q := r.URL.Query()
	if rd := q["rd"]; len(rd) == 1 {
		data.ReturnTo, _ = s.returns.checkReturnURL(rd[0])
	}
	if q.Has(signedOutParam) {
		data.Notice = "You have signed out."
	}
	s.renderPage(w, r, s.pages.login, http.StatusOK, data)
}

// loginForm handles the sign-in form. A failure puts the typed address
// back into the form (the input, the same for every account: the page is
// byte-identical for every account that address could name) and never
// the password.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	f := readForm(r)
	var res *veil.LoginResult
	data := pageData{Title: "Sign in"}
	err := f.err
	if err == nil {
		if rd := f.optional("rd"); rd != nil {
			data.ReturnTo, _ = s.returns.checkReturnURL(*rd)
		}
		id := f.field("identifier")
		if id != nil {
			data.Email = echoAddress(*id)
		}
		pw := f.field("password")
		proof := f.optional("proof") // only on a page that carried a challenge
		if err = f.err; err == nil {
			res, err = s.login(r, id, pw, proof)
		}
	}
	if err != nil {
		s.pageError(w, r, s.pages.login, data, err)
		return
	}
	if res.SecondFactor != nil {
		s.askSecondFactor(w, res.SecondFactor)
		s.renderPage(w, r, s.factorPages.secondFactor, http.StatusOK, pageData{Title: "Second step", ReturnTo: data.ReturnTo})
		return
	}
	s.cookie.writeUntil(w, res.Token, res.Session.ExpiresAt, time.Now())
	s.setDeviceCookie(w, res, time.Now())
	http.Redirect(w, r, cmp.Or(data.ReturnTo, "/"), http.StatusSeeOther)
}

// pageError renders a page with the public message of err and its status.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, t *template.Template, data pageData, err error) {
	if veil.ErrorCode(err) == veil.EUNAVAILABLE {
		s.WriteUnavailable(w, r)
		return
	}
	status, _, msg := s.errorFor(r, err)
	if status == http.StatusTooManyRequests {
		// The API's message explains the puzzle to a program's author;
		// the page explains it below the form, with or without JavaScript.
		msg = pageThrottledMessage
	}
	setRetryAfter(w.Header(), status, err)
	data.Error, data.Challenge, data.RetryAfter = msg, veil.ChallengeOf(err), retryAfterSeconds(status, err)
	data.LinkDead = veil.ErrorCode(err) == veil.EINVALIDTOKEN
	s.renderPage(w, r, t, status, data)
}

// pageThrottledMessage is the error of every throttled page.
const pageThrottledMessage = "Too many attempts. Please wait a moment, then try again."

// signedOutParam on /login says the browser has just signed out.
const signedOutParam = "signed_out"

// maxEchoBytes bounds an address put back into a page; no address is
// longer (veil.MaxIdentifierBytes), so a longer input was refused anyway.
const maxEchoBytes = 320

// echoAddress is the typed address as it may go back into a page: as
// typed, if it is short and has no control characters, else "". It
// depends only on the input.
func echoAddress(typed string) string {
	if len(typed) > maxEchoBytes {
		return ""
	}
	for _, r := range typed {
		if unicode.IsControl(r) {
			return ""
		}
	}
	return typed
}

func (s *Server) logoutForm(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.Logout(r.Context(), s.cookie.value(r), clientOf(r)); err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: "Sign out"}, err)
		return
	}
	s.cookie.clear(w)
	http.Redirect(w, r, "/login?"+signedOutParam+"=1", http.StatusSeeOther)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	acct, sess, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if veil.ErrorCode(err) == veil.ENOSESSION {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	} else if err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: "Account"}, err)
		return
	}
	s.renderPage(w, r, s.pages.account, http.StatusOK, pageData{Title: "Your account", Account: acct, Session: sess})
}
