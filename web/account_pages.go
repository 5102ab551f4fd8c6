package web

import (
	"html/template"
	"io/fs"
	"net/http"

	"github.com/veil-id/veil"
)

// accountPages are the pages where people manage their own accounts, and
// the pages of sign-in by mailed code.
type accountPages struct {
	name, password, email, emailConfirm, emailUndo *template.Template
	sessions, remove, outcome                      *template.Template
	loginCode, loginCodeConfirm                    *template.Template
}

// parseAccountPages parses the account pages from fsys like every other
// page (newPages), so that they share its layout, parts and overrides.
func parseAccountPages(fsys fs.FS) (*accountPages, error) {
	var err error
	parse := func(name string) *template.Template {
		t, perr := parsePage(fsys, name)
		if perr != nil && err == nil {
			err = perr
		}
		return t
	}
	return &accountPages{
		name: parse("account_name.html"), password: parse("account_password.html"), email: parse("account_email.html"),
		emailConfirm: parse("account_email_confirm.html"), emailUndo: parse("account_email_undo.html"),
		sessions: parse("account_sessions.html"), remove: parse("account_delete.html"), outcome: parse("account_outcome.html"),
		loginCode: parse("login_code.html"), loginCodeConfirm: parse("login_code_confirm.html"),
	}, err
}

// Page titles.
const (
	titleName        = "Your name"
	titlePassword    = "Change your password"
	titleEmail       = "Change your email address"
	titleEmailOK     = "Confirm your new address"
	titleEmailUndo   = "Undo the address change"
	titleSessions    = "Where you are signed in"
	titleDelete      = "Delete your account"
	titleLoginCode   = "Sign in with a code"
	titleCodeConfirm = "Enter your code"
)

func (s *Server) accountPageRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	p := s.accountPages
	mux.HandleFunc("GET /account/name", s.signedInPage(p.name, titleName))
	mux.HandleFunc("POST /account/name", s.nameForm(p))
	mux.HandleFunc("GET /account/password", s.signedInPage(p.password, titlePassword))
	mux.Handle("POST /account/password", sensitive(s.passwordForm(p)))
	mux.HandleFunc("GET /account/email", s.signedInPage(p.email, titleEmail))
	mux.Handle("POST /account/email", sensitive(s.emailForm(p)))
	mux.HandleFunc("GET /account/email/confirm", s.tokenPage(p.emailConfirm, titleEmailOK, "/account/email"))
	mux.HandleFunc("POST /account/email/confirm", s.tokenForm(p, p.emailConfirm, titleEmailOK, s.settings.ConfirmEmailChange, emailChanged))
	mux.HandleFunc("GET /account/email/undo", s.tokenPage(p.emailUndo, titleEmailUndo, ""))
	mux.HandleFunc("POST /account/email/undo", s.tokenForm(p, p.emailUndo, titleEmailUndo, s.settings.UndoEmailChange, emailRestored))
	mux.HandleFunc("GET /account/sessions", s.sessionsPage(p))
	mux.HandleFunc("POST /account/sessions/end", s.endSessionForm(p))
	mux.HandleFunc("POST /account/sessions/end-others", s.endOtherSessionsForm(p))
	mux.HandleFunc("GET /account/delete", s.deletePage(p))
	mux.Handle("POST /account/delete", sensitive(s.deleteForm(p)))
	mux.HandleFunc("GET /login/code", s.formPage(p.loginCode, titleLoginCode))
	mux.Handle("POST /login/code", sensitive(s.loginCodeForm(p)))
	// Opened from the mail's link it carries a token; opened to type the
	// code, none, and that is no dead link.
	codeByLink, codeTyped := s.tokenPage(p.loginCodeConfirm, titleCodeConfirm, "/login/code"), s.formPage(p.loginCodeConfirm, titleCodeConfirm)
	mux.HandleFunc("GET /login/code/confirm", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("token") {
			codeByLink(w, r)
			return
		}
		codeTyped(w, r)
	})
	mux.Handle("POST /login/code/confirm", s.noHashFloor(s.loginCodeConfirmForm(p)))
}

// signedInPage renders a page of the signed-in account, or sends the
// browser to sign in.
func (s *Server) signedInPage(t *template.Template, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		acct, sess, ok := s.pageSession(w, r, title)
		if ok {
			s.renderPage(w, r, t, http.StatusOK, pageData{Title: title, Account: acct, Session: sess})
		}
	}
}

// pageSession returns the signed-in account of a page request; otherwise
// it has answered (sent the browser to sign in, or the fault) and ok is false.
func (s *Server) pageSession(w http.ResponseWriter, r *http.Request, title string) (*veil.Account, *veil.Session, bool) {
	acct, sess, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if veil.ErrorCode(err) == veil.ENOSESSION {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, nil, false
	} else if err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: title}, err)
		return nil, nil, false
	}
	return acct, sess, true
}

// accountForm decodes the named fields of a form, runs call, and on an
// error renders the form again with it; done answers a success.
func (s *Server) accountForm(form *template.Template, title string, fields []string,
	call func(r *http.Request, f map[string]*string) error, done func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		vals, f, err := decodeFormFields(r, fields)
		if err == nil {
			err = call(r, f)
		}
		if err != nil {
			s.pageError(w, r, form, pageData{Title: title, Token: tokenField(vals)}, err)
			return
		}
		done(w, r)
	}
}

// outcome answers a success with the account outcome page.
func (s *Server) outcome(p *accountPages, title string, status int, ok statusBody) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		s.renderPage(w, r, p.outcome, status, pageData{Title: title, Message: ok.Message})
	}
}

func seeOther(to string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusSeeOther) }
}

func (s *Server) nameForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(p.name, titleName, []string{"name"}, func(r *http.Request, f map[string]*string) error {
		_, err := s.setName(r, f["name"])
		return err
	}, seeOther("/"))
}

func (s *Server) passwordForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(p.password, titlePassword, []string{"current_password", "password", "password_confirm"}, func(r *http.Request, f map[string]*string) error {
		if *f["password"] != *f["password_confirm"] {
			return errPasswordsDiffer
		}
		return s.changePassword(r, f["current_password"], f["password"], f["proof"])
	}, s.outcome(p, titlePassword, http.StatusOK, ownPasswordChanged))
}

func (s *Server) emailForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(p.email, titleEmail, []string{"email", "password"}, func(r *http.Request, f map[string]*string) error {
		return s.changeEmail(r, f["email"], f["password"], f["proof"])
	}, s.outcome(p, titleEmail, http.StatusAccepted, emailChangeAccepted))
}

// tokenForm is the form a mailed link's page posts: the token alone.
func (s *Server) tokenForm(p *accountPages, form *template.Template, title string, call addressLinkCall, ok statusBody) http.HandlerFunc {
	done := s.outcome(p, title, http.StatusOK, ok)
	return func(w http.ResponseWriter, r *http.Request) {
		vals, f, err := decodeFormFields(r, []string{"token"})
		if err == nil {
			err = s.followAddressLink(w, r, call, f["token"])
		}
		if err != nil {
			s.pageError(w, r, form, pageData{Title: title, Token: tokenField(vals)}, err)
			return
		}
		done(w, r)
	}
}

func (s *Server) sessionsPage(p *accountPages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		acct, sess, ok := s.pageSession(w, r, titleSessions)
		if !ok {
			return
		}
		list, err := s.settings.AccountSessions(r.Context(), s.cookie.value(r))
		if err != nil {
			s.pageError(w, r, s.pages.message, pageData{Title: titleSessions}, err)
			return
		}
		s.renderPage(w, r, p.sessions, http.StatusOK, pageData{Title: titleSessions, Account: acct, Session: sess, Sessions: newSessionInfoBodies(list)})
	}
}

func (s *Server) endSessionForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(s.pages.message, titleSessions, []string{"id"}, func(r *http.Request, f map[string]*string) error {
		return s.settings.EndSession(r.Context(), s.cookie.value(r), *f["id"], clientOf(r))
	}, seeOther("/account/sessions"))
}

func (s *Server) endOtherSessionsForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(s.pages.message, titleSessions, nil, func(r *http.Request, f map[string]*string) error {
		_, err := s.settings.EndOtherSessions(r.Context(), s.cookie.value(r))
		return err
	}, seeOther("/account/sessions"))
}

// deletePage asks for the password unless the session is a recent
// sign-in; its form posts the field either way, empty when left out.
func (s *Server) deletePage(p *accountPages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		acct, sess, ok := s.pageSession(w, r, titleDelete)
		if ok {
			s.renderPage(w, r, p.remove, http.StatusOK, pageData{Title: titleDelete, Account: acct, Session: sess, RecentSignIn: s.settings.SignedInRecently(sess)})
		}
	}
}

func (s *Server) deleteForm(p *accountPages) http.HandlerFunc {
	deleted := s.outcome(p, titleDelete, http.StatusOK, accountDeleted)
	return s.accountForm(p.remove, titleDelete, []string{"password"}, func(r *http.Request, f map[string]*string) error {
		return s.deleteAccount(r, f["password"], f["proof"])
	}, func(w http.ResponseWriter, r *http.Request) {
		s.cookie.clear(w)
		deleted(w, r)
	})
}

func (s *Server) loginCodeForm(p *accountPages) http.HandlerFunc {
	return s.accountForm(p.loginCode, titleLoginCode, []string{"email"}, func(r *http.Request, f map[string]*string) error {
		return s.requestLoginCode(r, f["email"], f["proof"])
	}, func(w http.ResponseWriter, r *http.Request) {
		// The form to type the code in, with the one answer: the address
		// is not echoed, so the page is the same for every address.
		s.renderPage(w, r, p.loginCodeConfirm, http.StatusAccepted, pageData{Title: titleCodeConfirm, Message: loginCodeAccepted.Message})
	})
}

// loginCodeConfirmForm signs in with the token of a mailed link, or with
// an address and a code, and sends the browser to its account.
func (s *Server) loginCodeConfirmForm(p *accountPages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := readForm(r)
		var res *veil.LoginResult
		err := f.err
		if err == nil {
			token, email, code, proof := f.optional("token"), f.optional("email"), f.optional("code"), f.optional("proof")
			if err = f.err; err == nil {
				res, err = s.signInWithCode(r, email, code, token, proof)
			}
		}
		if err != nil {
			s.pageError(w, r, p.loginCodeConfirm, pageData{Title: titleCodeConfirm, Token: tokenField(f.vals)}, err)
			return
		}
		s.signedIn(w, res)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
}
