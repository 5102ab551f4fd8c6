package web

import (
	"context"
	"net/http"
	"time"

	"github.com/veil-id/veil"
)

// AccountSettings is the part of the core behind the pages where people
// manage their own accounts. Each method finds the account from the
// session token it is given, never from anything typed; where an address
// is typed, its answer is the same whoever has it.
type AccountSettings interface {
	SetDisplayName(ctx context.Context, sessionToken, name string, client veil.Client) (*veil.Account, error)
	ChangePassword(ctx context.Context, req veil.ChangePasswordRequest) error
	RequestEmailChange(ctx context.Context, req veil.ChangeEmailRequest) error
	ConfirmEmailChange(ctx context.Context, l veil.AddressLink) (*veil.LinkResult, error)
	UndoEmailChange(ctx context.Context, l veil.AddressLink) (*veil.LinkResult, error)
	AccountSessions(ctx context.Context, sessionToken string) ([]*veil.SessionInfo, error)
	EndSession(ctx context.Context, sessionToken, id string, client veil.Client) error
	EndOtherSessions(ctx context.Context, sessionToken string) (int, error)
	DeleteOwnAccount(ctx context.Context, r veil.Reauthentication) error
	SignedInRecently(sess *veil.Session) bool
	RequestLoginCode(ctx context.Context, req veil.LoginCodeRequest) error
	SignInWithCode(ctx context.Context, req veil.LoginCodeSignIn) (*veil.LoginResult, error)
}

// The answers of the account flows: constants, so no input changes a byte.
var (
	emailChangeAccepted = statusBody{"check_email", "Check the new address: we have sent a message to it. Your address changes once you follow the link in that message."}
	emailChanged        = statusBody{"email_changed", "Your email address has been changed. Your previous address has been told, with a link to undo the change."}
	emailRestored       = statusBody{"email_restored", "Your previous email address is back, and every session has been signed out. If you did not ask for the change, reset your password now."}
	ownPasswordChanged  = statusBody{"password_changed", "Your password has been changed, and every other session has been signed out."}
	loginCodeAccepted   = statusBody{"check_email", "Check your email: if the address belongs to an account, a sign-in code and link are on their way."}
	accountDeleted      = statusBody{"account_deleted", "Your account has been deleted, and you have been signed out everywhere."}
)

func (s *Server) accountRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	mux.HandleFunc("GET /api/account", s.apiAccount)
	mux.HandleFunc("POST /api/account/name", s.apiSetName)
	mux.Handle("POST /api/account/password", sensitive(http.HandlerFunc(s.apiChangePassword)))
	mux.Handle("POST /api/account/email", sensitive(http.HandlerFunc(s.apiChangeEmail)))
	mux.HandleFunc("POST /api/account/email/confirm", s.apiAddressLink(s.settings.ConfirmEmailChange, emailChanged))
	mux.HandleFunc("POST /api/account/email/undo", s.apiAddressLink(s.settings.UndoEmailChange, emailRestored))
	mux.HandleFunc("GET /api/account/sessions", s.apiSessions)
	mux.HandleFunc("DELETE /api/account/sessions/{id}", s.apiEndSession)
	mux.HandleFunc("DELETE /api/account/sessions", s.apiEndOtherSessions)
	mux.Handle("POST /api/account/delete", sensitive(http.HandlerFunc(s.apiDeleteAccount)))
	mux.Handle("POST /api/login/code", sensitive(http.HandlerFunc(s.apiLoginCode)))
	// A code costs lookups and no hash: NoHashFloor.
	mux.Handle("POST /api/login/code/confirm", s.noHashFloor(http.HandlerFunc(s.apiLoginCodeConfirm)))
	s.accountPageRoutes(mux, sensitive)
}

// ownAccountBody is GET /api/account: the account as its owner sees it,
// the only place the sign-in address is shown.
type ownAccountBody struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
}

func newOwnAccountBody(a *veil.Account) ownAccountBody {
	return ownAccountBody{ID: a.ID, DisplayName: a.DisplayName, Email: a.Email.String()}
}

func (s *Server) apiAccount(w http.ResponseWriter, r *http.Request) {
	acct, _, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newOwnAccountBody(acct))
}

type nameRequest struct {
	Name *string `json:"name"`
}

type changePasswordRequest struct {
	CurrentPassword *string `json:"current_password"`
	Password        *string `json:"password"`
	Proof           *string `json:"proof"`
}

type changeEmailRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Proof    *string `json:"proof"`
}

type passwordRequest struct {
	Password *string `json:"password"`
	Proof    *string `json:"proof"`
}

type loginCodeRequest struct {
	Email *string `json:"email"`
	Proof *string `json:"proof"`
}

type loginCodeConfirmRequest struct {
	Email *string `json:"email"`
	Code  *string `json:"code"`
	Token *string `json:"token"`
	Proof *string `json:"proof"`
}

type onlyTokenRequest struct {
	Token *string `json:"token"`
}

func (s *Server) apiSetName(w http.ResponseWriter, r *http.Request) {
	var body nameRequest
	err := decodeJSON(r, &body)
	var acct *veil.Account
	if err == nil {
		acct, err = s.setName(r, body.Name)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newOwnAccountBody(acct))
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	var body changePasswordRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.changePassword(r, body.CurrentPassword, body.Password, body.Proof)
	}
	s.writeAPIAnswer(w, r, err, http.StatusOK, ownPasswordChanged)
}

func (s *Server) apiChangeEmail(w http.ResponseWriter, r *http.Request) {
	var body changeEmailRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.changeEmail(r, body.Email, body.Password, body.Proof)
	}
	s.writeAPIAnswer(w, r, err, http.StatusAccepted, emailChangeAccepted)
}

// addressLinkCall is a flow of a link mailed about an address change.
type addressLinkCall func(context.Context, veil.AddressLink) (*veil.LinkResult, error)

// apiAddressLink answers a flow that takes a mailed token alone.
func (s *Server) apiAddressLink(call addressLinkCall, ok statusBody) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body onlyTokenRequest
		err := decodeJSON(r, &body)
		if err == nil {
			err = s.followAddressLink(w, r, call, body.Token)
		}
		s.writeAPIAnswer(w, r, err, http.StatusOK, ok)
	}
}

// followAddressLink runs call with the token and the browser's own
// session and device cookies, and leaves the device cookie it returns.
func (s *Server) followAddressLink(w http.ResponseWriter, r *http.Request, call addressLinkCall, token *string) error {
	t, err := required("token", token)
	if err != nil {
		return err
	}
	res, err := call(r.Context(), veil.AddressLink{Token: t, Client: clientOf(r), SessionToken: s.cookie.value(r), DeviceCookie: s.device.value(r)})
	if err != nil {
		return err
	}
	s.setDeviceCookie(w, &veil.LoginResult{DeviceCookie: res.DeviceCookie, DeviceExpires: res.DeviceExpires}, time.Now())
	return nil
}

// sessionInfoBody is one session as its owner sees it.
type sessionInfoBody struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	Device     string    `json:"device"`
	Place      string    `json:"place"`
	SignedInAt time.Time `json:"signed_in_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

type sessionsBody struct {
	Sessions []sessionInfoBody `json:"sessions"`
}

func newSessionInfoBodies(list []*veil.SessionInfo) []sessionInfoBody {
	out := make([]sessionInfoBody, 0, len(list))
	for _, si := range list {
		out = append(out, sessionInfoBody{
			ID: si.ID, Current: si.Current, Device: describeDevice(si.UserAgent), Place: roughPlace(si.ClientAddr),
			SignedInAt: si.CreatedAt.UTC(), LastSeenAt: si.LastSeenAt.UTC(),
		})
	}
	return out
}

func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request) {
	list, err := s.settings.AccountSessions(r.Context(), s.cookie.value(r))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionsBody{Sessions: newSessionInfoBodies(list)})
}

func (s *Server) apiEndSession(w http.ResponseWriter, r *http.Request) {
	if err := s.settings.EndSession(r.Context(), s.cookie.value(r), r.PathValue("id"), clientOf(r)); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiEndOtherSessions(w http.ResponseWriter, r *http.Request) {
	if _, err := s.settings.EndOtherSessions(r.Context(), s.cookie.value(r)); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiDeleteAccount(w http.ResponseWriter, r *http.Request) {
	var body passwordRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.deleteAccount(r, body.Password, body.Proof)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.cookie.clear(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiLoginCode(w http.ResponseWriter, r *http.Request) {
	var body loginCodeRequest
	err := decodeJSON(r, &body)
	if err == nil {
		err = s.requestLoginCode(r, body.Email, body.Proof)
	}
	s.writeAPIAnswer(w, r, err, http.StatusAccepted, loginCodeAccepted)
}

func (s *Server) apiLoginCodeConfirm(w http.ResponseWriter, r *http.Request) {
	var body loginCodeConfirmRequest
	err := decodeJSON(r, &body)
	var res *veil.LoginResult
	if err == nil {
		res, err = s.signInWithCode(r, body.Email, body.Code, body.Token, body.Proof)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.signedIn(w, res)
	writeJSON(w, http.StatusOK, newSessionBody(res.Account, res.Session))
}

// The calls to the core, shared by the API and the forms.

func (s *Server) setName(r *http.Request, name *string) (*veil.Account, error) {
	n, err := required("name", name)
	if err != nil {
		return nil, err
	}
	return s.settings.SetDisplayName(r.Context(), s.cookie.value(r), n, clientOf(r))
}

// reauthentication gathers what a password re-entry carries.
func (s *Server) reauthentication(r *http.Request, password, proof *string) (veil.Reauthentication, error) {
	pw, err := required("password", password)
	return veil.Reauthentication{
		SessionToken: s.cookie.value(r), Password: pw, Client: clientOf(r),
		DeviceCookie: s.device.value(r), Proof: optional(proof),
	}, err
}

func (s *Server) changePassword(r *http.Request, current, password, proof *string) error {
	re, err := s.reauthentication(r, current, proof)
	if err != nil {
		return veil.Errorf(veil.EINVALID, "The field %q is required.", "current_password")
	}
	pw, err := required("password", password)
	if err != nil {
		return err
	}
	return s.settings.ChangePassword(r.Context(), veil.ChangePasswordRequest{Reauthentication: re, NewPassword: pw})
}

func (s *Server) changeEmail(r *http.Request, email, password, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	re, err := s.reauthentication(r, password, proof)
	if err != nil {
		return err
	}
	// One proof field: an invalid proof is ignored by a throttle, so the
	// one that asked for it finds it and the other passes it by.
	return s.settings.RequestEmailChange(r.Context(), veil.ChangeEmailRequest{Reauthentication: re, Email: e, TargetProof: optional(proof)})
}

// deleteAccount deletes the signed-in account; the password may be left
// out (or empty) when the session is a recent sign-in.
func (s *Server) deleteAccount(r *http.Request, password, proof *string) error {
	re, _ := s.reauthentication(r, password, proof) // no password: ""
	return s.settings.DeleteOwnAccount(r.Context(), re)
}

func (s *Server) requestLoginCode(r *http.Request, email, proof *string) error {
	e, err := required("email", email)
	if err != nil {
		return err
	}
	return s.settings.RequestLoginCode(r.Context(), veil.LoginCodeRequest{Email: e, Client: clientOf(r), Proof: optional(proof)})
}

var errCodeOrToken = veil.Errorf(veil.EINVALID, "Send either the fields \"email\" and \"code\", or the field \"token\".")

// signInWithCode takes either an address and a code or a link's token.
func (s *Server) signInWithCode(r *http.Request, email, code, token, proof *string) (*veil.LoginResult, error) {
	req := veil.LoginCodeSignIn{Client: clientOf(r), PriorSessionToken: s.cookie.value(r), DeviceCookie: s.device.value(r), Proof: optional(proof)}
	switch {
	case token != nil && email == nil && code == nil:
		if *token == "" {
			return nil, errCodeOrToken
		}
		req.Token = *token
	case token == nil && email != nil && code != nil:
		req.Email, req.Code = *email, *code
	default:
		return nil, errCodeOrToken
	}
	return s.settings.SignInWithCode(r.Context(), req)
}
