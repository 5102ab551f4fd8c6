package web

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/veil-id/veil"
)

// MailFlows is the part of the core behind sign-up and recovery. Every
// method either fails on the syntax of its input or succeeds with the same
// answer for every address; what differs happens later, in the mail.
type MailFlows interface {
	SignUp(ctx context.Context, req veil.SignUpRequest) error
	ConfirmSignUp(ctx context.Context, req veil.ConfirmSignUpRequest) (*veil.LoginResult, error)
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
	signUpAccepted  = statusBody{"check_email", "Check your email: we have sent a message to the address you gave. Follow the link in it to choose your password and finish signing up."}
	recoverAccepted = statusBody{"check_email", "Check your email: if the address can receive mail, a message about your password is on its way."}
	passwordChanged = statusBody{"password_changed", "Your password has been changed, and every session has been signed out. You can sign in with the new password now."}
)

func (s *Server) mailRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	mux.Handle("POST /api/signup", sensitive(http.HandlerFunc(s.apiSignUp)))
	mux.HandleFunc("POST /api/signup/confirm", s.apiConfirmSignUp)
	mux.Handle("POST /api/recover", sensitive(http.HandlerFunc(s.apiRecover)))
	mux.HandleFunc("POST /api/recover/confirm", s.apiResetPassword)

	mux.HandleFunc("GET /signup", s.formPage(s.pages.signup, "Create an account"))
	mux.Handle("POST /signup", sensitive(http.HandlerFunc(s.signUpForm)))
	mux.HandleFunc("GET /signup/confirm", s.tokenPage(s.pages.signupConfirm, signUpConfirmTitle, "/signup"))
	mux.HandleFunc("POST /signup/confirm", s.confirmSignUpForm)
	mux.HandleFunc("GET /recover", s.formPage(s.pages.recover, "Reset your password"))
	mux.Handle("POST /recover", sensitive(http.HandlerFunc(s.recoverForm)))
	mux.HandleFunc("GET /recover/confirm", s.tokenPage(s.pages.resetPassword, resetTitle, "/recover"))
	mux.HandleFunc("POST /recover/confirm", s.resetPasswordForm)
}

// Sign-up takes the address alone: a password sent with it is an unknown
// field, refused, so no client believes it chose one. The optional proof
// answers a proof-of-work challenge ("token:solution"): only needed once
// an answer carried one.
type signUpRequest struct {
	Email *string `json:"email"`
	Proof *string `json:"proof"`
}

// confirmSignUpRequest is what the holder of a confirmation link sends:
// the password and display name she chooses.
type confirmSignUpRequest struct {
	Token    *string `json:"token"`
	Password *string `json:"password"`
	Name     *string `json:"name"`
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
		err = s.signUp(r, body.Email, body.Proof)
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

// apiConfirmSignUp creates the account and signs its owner in, like a
// sign-in: the session cookie, a device cookie, the account in the body.
func (s *Server) apiConfirmSignUp(w http.ResponseWriter, r *http.Request) {
	var body confirmSignUpRequest
	err := decodeJSON(r, &body)
	var res *veil.LoginResult
	if err == nil {
		res, err = s.confirmSignUp(r, body.Token, body.Password, body.Name, nil)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.signedIn(w, res)
	writeJSON(w, http.StatusOK, newSessionBody(res.Account, res.Session))
}

func (s *Server) apiResetPassword(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.resetPassword(r, body.Token, body.Password)
	}
	s.writeAPIAnswer(w, r, err, http.StatusOK, passwordChanged)
}

// writeAPIAnswer writes the one success answer of a flow, or its error.
func (s *Server) writeAPIAnswer(w http.ResponseWriter, r *http.Request, err error, status int, ok statusBody) {
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, status, ok)
}

// The calls to the core, shared by the API and the forms.

func (s *Server) signUp(r *http.Request, email, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	return s.mail.SignUp(r.Context(), veil.SignUpRequest{Email: e, Client: clientOf(r), Proof: optional(proof)})
}

func (s *Server) recover(r *http.Request, email, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	return s.mail.Recover(r.Context(), veil.RecoverRequest{Email: e, Client: clientOf(r), Proof: optional(proof)})
}

var errPasswordsDiffer = veil.Errorf(veil.EINVALID, "The two passwords do not match.")

// confirmSignUp checks the fields and calls the core. repeat, from the
// form's second password field, must match the password when given; the
// API has no such field. Nothing here spends the token.
func (s *Server) confirmSignUp(r *http.Request, token, password, name, repeat *string) (*veil.LoginResult, error) {
	t, err := required("token", token)
	if err != nil {
		return nil, err
	}
	pw, err := required("password", password)
	if err != nil {
		return nil, err
	}
	if repeat != nil && *repeat != pw {
		return nil, errPasswordsDiffer
	}
	return s.mail.ConfirmSignUp(r.Context(), veil.ConfirmSignUpRequest{
		Token: t, Password: pw, DisplayName: optional(name),
		Client: clientOf(r), PriorSessionToken: s.cookie.value(r),
	})
}

// signedIn leaves the cookies of a new session: the session's, and the
// device cookie that lets this browser past a lockout others cause.
func (s *Server) signedIn(w http.ResponseWriter, res *veil.LoginResult) {
	now := time.Now()
	s.cookie.writeUntil(w, res.Token, res.Session.ExpiresAt, now)
	s.setDeviceCookie(w, res, now)
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
	s.handleForm(w, r, formSpec{s.pages.signup, "Create an account", []string{"email"}, http.StatusAccepted, signUpAccepted, "signup"},
		func(f map[string]*string) error { return s.signUp(r, f["email"], f["proof"]) })
}

func (s *Server) recoverForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, formSpec{s.pages.recover, "Reset your password", []string{"email"}, http.StatusAccepted, recoverAccepted, "recover"},
		func(f map[string]*string) error { return s.recover(r, f["email"], f["proof"]) })
}

const (
	signUpConfirmTitle = "Finish signing up"
	resetTitle         = "Choose a new password"
)

// confirmSignUpForm is the form the mailed link opens: on success the new
// account is signed in and sent to its page, as after a sign-in; on an
// error the form comes back with the token, and the token is spent only
// by a request that made the account.
func (s *Server) confirmSignUpForm(w http.ResponseWriter, r *http.Request) {
	f := readForm(r)
	var res *veil.LoginResult
	err := f.err
	if err == nil {
		token, pw, repeat := f.field("token"), f.field("password"), f.field("password_confirm")
		name := f.optional("name")
		if err = f.err; err == nil {
			res, err = s.confirmSignUp(r, token, pw, name, repeat)
		}
	}
	if err != nil {
		s.pageError(w, r, s.pages.signupConfirm, pageData{Title: signUpConfirmTitle, Token: tokenField(f.vals), NewLink: "/signup"}, err)
		return
	}
	s.signedIn(w, res)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) resetPasswordForm(w http.ResponseWriter, r *http.Request) {
	s.handleForm(w, r, formSpec{s.pages.resetPassword, resetTitle, []string{"token", "password"}, http.StatusOK, passwordChanged, ""},
		func(f map[string]*string) error { return s.resetPassword(r, f["token"], f["password"]) })
}

// formSpec is one form of a mail flow: its page and title, the fields it
// posts, and its one success answer. sent names the flow ("signup",
// "recover") whose "check your email" page offers to send again.
type formSpec struct {
	form   *template.Template
	title  string
	fields []string
	status int
	ok     statusBody
	sent   string
}

// handleForm decodes the named fields (and a proof of work, when the page
// carried a challenge), runs call, and renders either the outcome page or
// the form again with the error. A token field is carried back into the
// form, so a person who mistyped the new password can retry; a typed
// address is carried into either page.
func (s *Server) handleForm(w http.ResponseWriter, r *http.Request, spec formSpec, call func(map[string]*string) error) {
	vals, f, err := decodeFormFields(r, spec.fields)
	if err == nil {
		err = call(f)
	}
	var email string
	if e := f["email"]; e != nil {
		email = echoAddress(*e)
	}
	if err != nil {
		s.pageError(w, r, spec.form, pageData{Title: spec.title, Token: tokenField(vals), Email: email, NewLink: "/recover"}, err)
		return
	}
	title, sent := spec.title, spec.sent
	if sent != "" {
		title = "Check your email"
	}
	if email == "" {
		sent = "" // nothing to send again
	}
	s.renderPage(w, r, s.pages.outcome, spec.status, pageData{Title: title, Message: spec.ok.Message, Email: email, Sent: sent})
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
// with a button that posts it. A link whose token has not even the shape
// of one (cut off by a mail program) offers newLink at once.
func (s *Server) tokenPage(t *template.Template, title, newLink string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		data := pageData{Title: title, Token: tokenField(r.URL.Query()), NewLink: newLink}
		if _, err := veil.ParseToken(data.Token); err != nil {
			data.Token, data.LinkDead, data.Error = "", true, veil.ErrorMessage(err)
		}
		s.renderPage(w, r, t, http.StatusOK, data)
	}
}
