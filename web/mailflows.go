package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"

	"github.com/veil-id/veil"
)

// MailFlows is the part of the core behind sign-up and recovery. Every
// method either fails on the syntax of its input or succeeds with the same
// answer for every address; what differs happens later, in the mail.
type MailFlows interface {
	SignUp(ctx context.Context, req veil.SignUpRequest) error
	ConfirmSignUp(ctx context.Context, token string, client veil.Client) (*veil.Account, error)
	Recover(ctx context.Context, req veil.RecoverRequest) error
	ResetPassword(ctx context.Context, token, newPassword string, client veil.Client) error
}

// statusBody is the body of the "check your email" and "done" answers.
type statusBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// The answers of the mail flows: constants, so no input can change a byte.
var (
	signUpAccepted  = statusBody{"check_email", "Check your email: we have sent a message to the address you gave. Follow it to finish signing up."}
	recoverAccepted = statusBody{"check_email", "Check your email: if the address can receive mail, a message about your password is on its way."}
	signUpConfirmed = statusBody{"confirmed", "Your account is ready. You can sign in now."}
	passwordChanged = statusBody{"password_changed", "Your password has been changed, and every session has been signed out. You can sign in with the new password now."}
)

func (s *Server) mailRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	mux.Handle("POST /api/signup", sensitive(http.HandlerFunc(s.apiSignUp)))
	mux.HandleFunc("POST /api/signup/confirm", s.apiConfirmSignUp)
	mux.Handle("POST /api/recover", sensitive(http.HandlerFunc(s.apiRecover)))
	mux.HandleFunc("POST /api/recover/confirm", s.apiResetPassword)

	mux.HandleFunc("GET /signup", s.formPage(s.pages.signup, "Create an account"))
	mux.Handle("POST /signup", sensitive(http.HandlerFunc(s.signUpForm)))
	mux.HandleFunc("GET /signup/confirm", s.tokenPage(s.pages.signupConfirm, "Confirm your address"))
	mux.HandleFunc("POST /signup/confirm", s.confirmSignUpForm)
	mux.HandleFunc("GET /recover", s.formPage(s.pages.recover, "Reset your password"))
	mux.Handle("POST /recover", sensitive(http.HandlerFunc(s.recoverForm)))
	mux.HandleFunc("GET /recover/confirm", s.tokenPage(s.pages.resetPassword, "Choose a new password"))
	mux.HandleFunc("POST /recover/confirm", s.resetPasswordForm)
}

// The optional proof answers a proof-of-work challenge ("token:solution"):
// only needed once an answer carried one.
type signUpRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Proof    *string `json:"proof"`
}

type recoverRequest struct {
	Email *string `json:"email"`
	Proof *string `json:"proof"`
}

type tokenRequest struct {
	Token    *string `json:"token"`
	Password *string `json:"password,omitempty"`
}

func (s *Server) apiSignUp(w http.ResponseWriter, r *http.Request) {
	var body signUpRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.signUp(r, body.Email, body.Password, body.Proof)
	}
	s.writeAPIAnswer(w, r, err, http.StatusAccepted, signUpAccepted)
}

func (s *Server) apiRecover(w http.ResponseWriter, r *http.Request) {
	var body recoverRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.recover(r, body.Email, body.Proof)
	}
	s.writeAPIAnswer(w, r, err, http.StatusAccepted, recoverAccepted)
}

func (s *Server) apiConfirmSignUp(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.confirmSignUp(r, body.Token)
	}
	s.writeAPIAnswer(w, r, err, http.StatusOK, signUpConfirmed)
}

func (s *Server) apiResetPassword(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.resetPassword(r, body.Token, body.Password)
	}
	s.writeAPIAnswer(w, r, err, http.StatusOK, passwordChanged)
}

// writeAPIAnswer writes the one success answer of a mail flow, or its error.
func (s *Server) writeAPIAnswer(w http.ResponseWriter, r *http.Request, err error, status int, ok statusBody) {
	if err != nil {
		s.writeAPIError(w, r, err, "")
		return
	}
	writeJSON(w, status, ok)
}

// The calls to the core, shared by the API and the forms.

func (s *Server) signUp(r *http.Request, email, password, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	pw, err := required("password", password)
	if err != nil {
		return err
	}
	return s.mail.SignUp(r.Context(), veil.SignUpRequest{Email: e, Password: pw, Client: clientOf(r), Proof: optional(proof)})
}

func (s *Server) recover(r *http.Request, email, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	return s.mail.Recover(r.Context(), veil.RecoverRequest{Email: e, Client: clientOf(r), Proof: optional(proof)})
}

func (s *Server) confirmSignUp(r *http.Request, token *string) error {
	t, err := required("token", token)
	if err != nil {
		return err
	}
	_, err = s.mail.ConfirmSignUp(r.Context(), t, clientOf(r))
	return err
}

func (s *Server) resetPassword(r *http.Request, token, password *string) error {
	t, err := required("token", token)
	if err != nil {
		return err
	}
	pw, err := required("password", password)
	if err != nil {
		return err
	}
	return s.mail.ResetPassword(r.Context(), t, pw, clientOf(r))
}

// The HTML forms post the same fields as the API.

func (s *Server) signUpForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, s.pages.signup, "Create an account", []string{"email", "password"}, http.StatusAccepted, signUpAccepted,
		func(f map[string]*string) error { return s.signUp(r, f["email"], f["password"], f["proof"]) })
}

func (s *Server) recoverForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, s.pages.recover, "Reset your password", []string{"email"}, http.StatusAccepted, recoverAccepted,
		func(f map[string]*string) error { return s.recover(r, f["email"], f["proof"]) })
}

func (s *Server) confirmSignUpForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, s.pages.signupConfirm, "Confirm your address", []string{"token"}, http.StatusOK, signUpConfirmed,
		func(f map[string]*string) error { return s.confirmSignUp(r, f["token"]) })
}

func (s *Server) resetPasswordForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, s.pages.resetPassword, "Choose a new password", []string{"token", "password"}, http.StatusOK, passwordChanged,
		func(f map[string]*string) error { return s.resetPassword(r, f["token"], f["password"]) })
}

// handleForm decodes the named fields (and a proof of work, when the page
// carried a challenge), runs call, and renders either the outcome page or
// the form again with the error. A token field is carried back into the
// form, so a person who mistyped the new password can retry.
func (s *Server) handleForm(w http.ResponseWriter, r *http.Request, form *template.Template, title string, fields []string,
	status int, ok statusBody, call func(map[string]*string) error) {
	vals, err := decodeForm(r)
	f := map[string]*string{}
	for _, name := range fields {
		if err != nil {
			break
		}
		f[name], _ = formValuePtr(vals, name, &err)
	}
	if _, ok := vals["proof"]; ok && err == nil {
		f["proof"], _ = formValuePtr(vals, "proof", &err)
	}
	if err == nil {
		err = call(f)
	}
	if err != nil {
		s.pageError(w, r, form, pageData{Title: title, Token: tokenField(vals)}, err)
		return
	}
	s.renderPage(w, r, s.pages.outcome, status, pageData{Title: title, Message: ok.Message})
}

// tokenField returns a form's token when it has the shape of one, for
// putting back into a form.
func tokenField(vals url.Values) string {
	if t := vals.Get("token"); len(t) <= 64 {
		return t
	}
	return ""
}

// pageHandler renders a page with no data.
func (s *Server) pageHandler(t *template.Template, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.renderPage(w, r, t, http.StatusOK, pageData{Title: title})
	}
}

// formPage renders the form of a mail flow, or, when accounts are managed
// elsewhere, where that is.
func (s *Server) formPage(t *template.Template, title string) http.HandlerFunc {
	if s.elsewhere == "" {
		return s.pageHandler(t, title)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s.renderPage(w, r, s.pages.outcome, http.StatusOK, pageData{Title: title, Message: s.elsewhere})
	}
}

// tokenPage renders the page a mailed link opens. It never spends the
// token — mail scanners open links too — but asks the person to confirm
// with a button that posts it.
func (s *Server) tokenPage(t *template.Template, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.renderPage(w, r, t, http.StatusOK, pageData{Title: title, Token: tokenField(r.URL.Query())})
	}
}
