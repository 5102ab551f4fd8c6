package web

import (
	"cmp"
	"context"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/veil-id/veil"
)

// SecondFactors is the part of the core that serves second factors: the
// second step of a sign-in, and the security page.
type SecondFactors interface {
	CompleteSignIn(ctx context.Context, req veil.SecondFactorRequest) (*veil.LoginResult, error)
	HasTOTP(ctx context.Context, acct *veil.Account) (bool, int, error)
	BeginTOTP(ctx context.Context, acct *veil.Account) (*veil.TOTPEnrolment, error)
	ConfirmTOTP(ctx context.Context, acct *veil.Account, code string, client veil.Client, device string) ([]string, error)
	RemoveTOTP(ctx context.Context, acct *veil.Account, code, recoveryCode string, client veil.Client, device string) error
	RegenerateRecoveryCodes(ctx context.Context, acct *veil.Account) ([]string, error)
}

// securityView is what the security pages show.
type securityView struct {
	TOTP          bool
	RecoveryLeft  int
	Enrolment     *veil.TOTPEnrolment
	QR            template.HTML
	RecoveryCodes []string
	Passkeys      []passkeyView
}

type factorPages struct {
	secondFactor, security, totpEnrol, recoveryCodes *template.Template
}

// newFactorPages parses the factor pages from fsys like every other page
// (newPages), so that they share its layout, parts and overrides.
func newFactorPages(fsys fs.FS) (*factorPages, error) {
	var p factorPages
	for dst, name := range map[**template.Template]string{
		&p.secondFactor: "second_factor.html", &p.security: "security.html",
		&p.totpEnrol: "totp_enrol.html", &p.recoveryCodes: "recovery_codes.html",
	} {
		t, err := parsePage(fsys, name)
		if err != nil {
			return nil, err
		}
		*dst = t
	}
	return &p, nil
}

func (s *Server) factorRoutes(mux *http.ServeMux, sensitive func(http.Handler) http.Handler) {
	mux.Handle("POST /api/login/second-factor", s.noHashFloor(http.HandlerFunc(s.apiSecondFactor)))
	mux.Handle("POST /login/second-factor", s.noHashFloor(http.HandlerFunc(s.secondFactorForm)))
	mux.HandleFunc("GET /account/security", s.securityPage)
	mux.HandleFunc("POST /account/security/totp", s.beginTOTPForm)
	mux.HandleFunc("POST /account/security/totp/confirm", s.confirmTOTPForm)
	mux.HandleFunc("POST /account/security/totp/remove", s.removeTOTPForm)
	mux.HandleFunc("POST /account/security/recovery-codes", s.recoveryCodesForm)
}

// secondFactorBody answers a right password on an account with a second
// factor: no session yet.
type secondFactorBody struct {
	Status  string   `json:"status"`
	Methods []string `json:"methods"`
}

// askSecondFactor sets the pending cookie of a sign-in whose password was
// right and that needs a second factor.
func (s *Server) askSecondFactor(w http.ResponseWriter, p *veil.PendingSignIn) {
	s.pending.write(w, p.Token, max(1, int(time.Until(p.Expires).Seconds())))
}

func (s *Server) apiSecondFactorRequired(w http.ResponseWriter, p *veil.PendingSignIn) {
	s.askSecondFactor(w, p)
	writeJSON(w, http.StatusOK, secondFactorBody{Status: "second_factor_required", Methods: p.Methods})
}

// secondFactorRequest is the body of POST /api/login/second-factor.
type secondFactorRequest struct {
	Code         *string `json:"code"`
	RecoveryCode *string `json:"recovery_code"`
	// Assertion is a passkey's answer to discoverable options.
	Assertion json.RawMessage `json:"assertion"`
	Proof     *string         `json:"proof"`
	ReturnTo  *string         `json:"return_to"`
}

func (s *Server) completeSignIn(r *http.Request, code, recoveryCode string, assertion []byte, proof string) (*veil.LoginResult, error) {
	return s.factors.CompleteSignIn(r.Context(), veil.SecondFactorRequest{
		Pending: s.pending.value(r), Code: code, RecoveryCode: recoveryCode, Assertion: assertion,
		Client: clientOf(r), PriorSessionToken: s.cookie.value(r),
		DeviceCookie: s.device.value(r), Proof: proof,
	})
}

// finishSignIn sets the cookies of a finished sign-in.
func (s *Server) finishSignIn(w http.ResponseWriter, res *veil.LoginResult) {
	s.pending.write(w, "", -1)
	s.cookie.writeUntil(w, res.Token, res.Session.ExpiresAt, time.Now())
	s.setDeviceCookie(w, res, time.Now())
}

func (s *Server) apiSecondFactor(w http.ResponseWriter, r *http.Request) {
	var body secondFactorRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	res, err := s.completeSignIn(r, optional(body.Code), optional(body.RecoveryCode), body.Assertion, optional(body.Proof))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.answerSignIn(w, res, body.ReturnTo)
}

// answerSignIn answers a finished sign-in on the API: cookies, the
// account, and where to go when returnTo was sent.
func (s *Server) answerSignIn(w http.ResponseWriter, res *veil.LoginResult, returnTo *string) {
	s.finishSignIn(w, res)
	answer := newSessionBody(res.Account, res.Session)
	if returnTo != nil {
		answer.ReturnTo = s.returnTo(*returnTo)
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) secondFactorForm(w http.ResponseWriter, r *http.Request) {
	f := readForm(r)
	data := pageData{Title: "Second step"}
	var res *veil.LoginResult
	err := f.err
	if err == nil {
		if rd := f.optional("rd"); rd != nil {
			data.ReturnTo, _ = s.returns.checkReturnURL(*rd)
		}
		code, recovery, proof := optional(f.optional("code")), optional(f.optional("recovery_code")), optional(f.optional("proof"))
		if err = f.err; err == nil {
			res, err = s.completeSignIn(r, code, recovery, nil, proof)
		}
	}
	if err != nil {
		s.pageError(w, r, s.factorPages.secondFactor, data, err)
		return
	}
	s.finishSignIn(w, res)
	http.Redirect(w, r, cmp.Or(data.ReturnTo, "/"), http.StatusSeeOther)
}

// account returns the signed-in account of a security page, or sends the
// browser to sign in (false).
func (s *Server) account(w http.ResponseWriter, r *http.Request) (*veil.Account, bool) {
	acct, _, err := s.accounts.Authenticate(r.Context(), s.cookie.value(r))
	if veil.ErrorCode(err) == veil.ENOSESSION {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, false
	} else if err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: "Security"}, err)
		return nil, false
	}
	return acct, true
}

func (s *Server) securityPage(w http.ResponseWriter, r *http.Request) {
	if acct, ok := s.account(w, r); ok {
		s.renderSecurity(w, r, acct, "")
	}
}

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, acct *veil.Account, msg string) {
	data, err := s.securityData(r, acct)
	if err != nil {
		s.pageError(w, r, s.pages.message, pageData{Title: "Security"}, err)
		return
	}
	data.Message = msg
	s.renderPage(w, r, s.factorPages.security, http.StatusOK, data)
}

// renderEnrolment shows the waiting authenticator app's QR code, with
// err's message when a confirmation failed.
func (s *Server) renderEnrolment(w http.ResponseWriter, r *http.Request, acct *veil.Account, failed error) {
	data := pageData{Title: "Set up an authenticator app", Account: acct}
	e, err := s.factors.BeginTOTP(r.Context(), acct)
	if err != nil {
		s.securityError(w, r, acct, err)
		return
	}
	qr, err := qrSVG(e.URL)
	if err != nil {
		s.pageError(w, r, s.pages.message, data, err)
		return
	}
	data.Security = &securityView{Enrolment: e, QR: qr}
	if failed != nil {
		s.pageError(w, r, s.factorPages.totpEnrol, data, failed)
		return
	}
	s.renderPage(w, r, s.factorPages.totpEnrol, http.StatusOK, data)
}

// securityData is what the security page shows.
func (s *Server) securityData(r *http.Request, acct *veil.Account) (pageData, error) {
	data := pageData{Title: "Security", Account: acct}
	on, left, err := s.factors.HasTOTP(r.Context(), acct)
	if err != nil {
		return data, err
	}
	data.Security = &securityView{TOTP: on, RecoveryLeft: left}
	if s.passkeys != nil {
		keys, err := s.passkeys.ListPasskeys(r.Context(), acct)
		if err != nil {
			return data, err
		}
		for _, k := range keys {
			data.Security.Passkeys = append(data.Security.Passkeys, passkeyView{ID: k.ID, Name: k.Name, Created: k.CreatedAt, LastUsed: k.LastUsedAt})
		}
	}
	return data, nil
}

// securityError shows err on the security page.
func (s *Server) securityError(w http.ResponseWriter, r *http.Request, acct *veil.Account, err error) {
	data, derr := s.securityData(r, acct)
	if derr != nil {
		err = derr
	}
	s.pageError(w, r, s.factorPages.security, data, err)
}

func (s *Server) beginTOTPForm(w http.ResponseWriter, r *http.Request) {
	if acct, ok := s.account(w, r); ok {
		s.renderEnrolment(w, r, acct, nil)
	}
}

// formCode reads the one code field of a security form.
func formCode(r *http.Request) (string, error) {
	f := readForm(r)
	code := f.value("code")
	return code, f.err
}

func (s *Server) confirmTOTPForm(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.account(w, r)
	if !ok {
		return
	}
	code, err := formCode(r)
	var codes []string
	if err == nil {
		codes, err = s.factors.ConfirmTOTP(r.Context(), acct, code, clientOf(r), s.device.value(r))
	}
	if err != nil {
		s.renderEnrolment(w, r, acct, err)
		return
	}
	if codes == nil {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return
	}
	s.renderPage(w, r, s.factorPages.recoveryCodes, http.StatusOK, pageData{Title: "Recovery codes", Account: acct, Security: &securityView{RecoveryCodes: codes}})
}

func (s *Server) removeTOTPForm(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.account(w, r)
	if !ok {
		return
	}
	code, err := formCode(r)
	if err == nil {
		totp, recovery := code, ""
		if _, terr := veil.ParseTOTPCode(code); terr != nil {
			totp, recovery = "", code
		}
		err = s.factors.RemoveTOTP(r.Context(), acct, totp, recovery, clientOf(r), s.device.value(r))
	}
	if err != nil {
		s.securityError(w, r, acct, err)
		return
	}
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

func (s *Server) recoveryCodesForm(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.account(w, r)
	if !ok {
		return
	}
	codes, err := s.factors.RegenerateRecoveryCodes(r.Context(), acct)
	if err != nil {
		s.securityError(w, r, acct, err)
		return
	}
	s.renderPage(w, r, s.factorPages.recoveryCodes, http.StatusOK, pageData{Title: "Recovery codes", Account: acct, Security: &securityView{RecoveryCodes: codes}})
}
