package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/veil-id/veil"
)

// Passkeys is the part of the core that serves passkeys.
type Passkeys interface {
	PasskeyLoginOptions(ctx context.Context, req veil.PasskeyOptionsRequest) ([]byte, error)
	PasskeyLogin(ctx context.Context, req veil.PasskeyLoginRequest) (*veil.LoginResult, error)
	BeginPasskeyRegistration(ctx context.Context, acct *veil.Account) ([]byte, error)
	FinishPasskeyRegistration(ctx context.Context, acct *veil.Account, name string, body []byte, client veil.Client) (*veil.Passkey, []string, error)
	ListPasskeys(ctx context.Context, acct *veil.Account) ([]*veil.Passkey, error)
	RemovePasskey(ctx context.Context, acct *veil.Account, id string, client veil.Client) error
}

func (s *Server) passkeyRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	mux.Handle("POST /api/passkey/login/options", s.noHashFloor(http.HandlerFunc(s.apiPasskeyOptions)))
	mux.Handle("POST /api/passkey/login/finish", s.noHashFloor(http.HandlerFunc(s.apiPasskeyFinish)))
	mux.HandleFunc("POST /api/passkey/register/options", s.apiPasskeyRegisterOptions)
	mux.HandleFunc("POST /api/passkey/register/finish", s.apiPasskeyRegisterFinish)
	mux.HandleFunc("POST /account/security/passkeys/remove", s.removePasskeyForm)
}

// writeRawJSON answers JSON the core built.
func writeRawJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}

// passkeyOptionsRequest is the body of POST /api/passkey/login/options:
// {"identifier"} for identifier-first sign-in, {} for discoverable. Both
// steps of a passkey sign-in take the proof of /api/login: the solution
// ("token:solution") of the challenge a 429 of the same step handed out.
type passkeyOptionsRequest struct {
	Identifier *string `json:"identifier"`
	Proof      *string `json:"proof"`
}

func (s *Server) apiPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	var body passkeyOptionsRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	opts, err := s.passkeys.PasskeyLoginOptions(r.Context(), veil.PasskeyOptionsRequest{
		Identifier: body.Identifier, Client: clientOf(r), DeviceCookie: s.device.value(r), Proof: optional(body.Proof),
	})
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeRawJSON(w, opts)
}

// passkeyFinishRequest is the body of POST /api/passkey/login/finish: the
// browser's PublicKeyCredential (its toJSON()).
type passkeyFinishRequest struct {
	Credential json.RawMessage `json:"credential"`
	ReturnTo   *string         `json:"return_to"`
	Proof      *string         `json:"proof"`
}

func decodeCredential(r *http.Request, body *passkeyFinishRequest) error {
	if err := decodeJSON(r, body); err != nil {
		return err
	}
	if len(body.Credential) == 0 || body.Credential[0] != '{' {
		return veil.Errorf(veil.EINVALID, "The field \"credential\" must be the passkey's answer, a JSON object.")
	}
	return nil
}

func (s *Server) apiPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var body passkeyFinishRequest
	if err := decodeCredential(r, &body); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	res, err := s.passkeys.PasskeyLogin(r.Context(), veil.PasskeyLoginRequest{
		Assertion: body.Credential, Client: clientOf(r),
		PriorSessionToken: s.cookie.value(r), DeviceCookie: s.device.value(r), Proof: optional(body.Proof),
	})
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.answerSignIn(w, res, body.ReturnTo)
}

// apiSignedIn returns the signed-in account of an API call, or answers 401.
func (s *Server) apiSignedIn(w http.ResponseWriter, r *http.Request) (*veil.Account, bool) {
	acct, _, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if err != nil {
		s.writeAPIError(w, r, err)
		return nil, false
	}
	return acct, true
}

func (s *Server) apiPasskeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.apiSignedIn(w, r)
	if !ok {
		return
	}
	opts, err := s.passkeys.BeginPasskeyRegistration(r.Context(), acct)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeRawJSON(w, opts)
}

type passkeyRegisterRequest struct {
	Name       *string         `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

type passkeyBody struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

func (s *Server) apiPasskeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.apiSignedIn(w, r)
	if !ok {
		return
	}
	var body passkeyRegisterRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if len(body.Credential) == 0 || body.Credential[0] != '{' {
		s.writeAPIError(w, r, veil.Errorf(veil.EINVALID, "The field \"credential\" must be the passkey's answer, a JSON object."))
		return
	}
	pk, codes, err := s.passkeys.FinishPasskeyRegistration(r.Context(), acct, optional(body.Name), body.Credential, clientOf(r))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyBody{ID: pk.ID, Name: pk.Name, RecoveryCodes: codes})
}

func (s *Server) removePasskeyForm(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.account(w, r)
	if !ok {
		return
	}
	f := readForm(r)
	id := f.value("id")
	err := f.err
	if err == nil {
		err = s.passkeys.RemovePasskey(r.Context(), acct, id, clientOf(r))
	}
	if err != nil {
		s.securityError(w, r, acct, err)
		return
	}
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

// passkeyView is one passkey as the security page lists it.
type passkeyView struct {
	ID, Name string
	Created  time.Time
	LastUsed time.Time
}
