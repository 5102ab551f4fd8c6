package web

import (
	"net/http"
	"time"

	"github.com/veil-id/veil"
)

// loginRequest is the body of POST /api/login. Pointers tell a missing field
// from an empty one.
type loginRequest struct {
	Identifier *string `json:"identifier"`
	Password   *string `json:"password"`
	// Proof answers a proof-of-work challenge ("token:solution"); only
	// needed after the answer to a failure carried a challenge.
	Proof *string `json:"proof"`
	// ReturnTo is where the client wants to go once signed in; the answer
	// says where it may (see checkReturnURL).
	ReturnTo *string `json:"return_to"`
}

// accountBody is the account as its own signed-in owner sees it.
type accountBody struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	SignedInAt  time.Time `json:"signed_in_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

type sessionBody struct {
	Account accountBody `json:"account"`
	// ReturnTo answers a sign-in that asked for a return URL: that URL if
	// it is on a return domain, "/" otherwise.
	ReturnTo string `json:"return_to,omitempty"`
}

func newSessionBody(a *veil.Account, s *veil.Session) sessionBody {
	return sessionBody{Account: accountBody{
		ID: a.ID, Email: a.Email.String(), DisplayName: a.DisplayName,
		SignedInAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
	}}
}

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var body loginRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	res, err := s.login(r, body.Identifier, body.Password, body.Proof)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if res.SecondFactor != nil {
		s.apiSecondFactorRequired(w, res.SecondFactor)
		return
	}
	s.cookie.writeUntil(w, res.Token, res.Session.ExpiresAt, time.Now())
	s.setDeviceCookie(w, res, time.Now())
	answer := newSessionBody(res.Account, res.Session)
	if body.ReturnTo != nil {
		answer.ReturnTo = s.returnTo(*body.ReturnTo)
	}
	writeJSON(w, http.StatusOK, answer)
}

// returnTo is where a signed-in browser goes next: raw if it is on a
// return domain, "/" otherwise — silently, since the URL alone decides.
func (s *Server) returnTo(raw string) string {
	if u, ok := s.returns.checkReturnURL(raw); ok {
		return u
	}
	return "/"
}

// login is the one call to the core for both the API and the form.
func (s *Server) login(r *http.Request, identifier, password, proof *string) (*veil.LoginResult, error) {
	id, err := required("identifier", identifier)
	if err != nil {
		return nil, err
	}
	pw, err := required("password", password)
	if err != nil {
		return nil, err
	}
	return s.accounts.Login(r.Context(), veil.LoginRequest{
		Identifier:        id,
		Password:          pw,
		Client:            clientOf(r),
		PriorSessionToken: s.cookie.value(r),
		DeviceCookie:      s.device.value(r),
		Proof:             optional(proof),
	})
}

// optional returns the value of a field that may be missing, or "".
func optional(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.accounts.Logout(r.Context(), s.cookie.value(r), clientOf(r)); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.cookie.clear(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiSession(w http.ResponseWriter, r *http.Request) {
	acct, sess, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newSessionBody(acct, sess))
}
