package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/veil-id/veil"
)

// IdentityFinder is Authenticate for forward-auth: the account of a
// session and its groups, perhaps from a short-lived cache
// (veil.Service.ForwardAuthIdentity).
type IdentityFinder interface {
	ForwardAuthIdentity(ctx context.Context, token string) (*veil.Account, []string, error)
}

// forbiddenMessage is the one message of a 403: it names neither the rule
// nor the groups that would have let the person in.
const forbiddenMessage = "You are signed in, but this app is not open to your account."

// forwardAuth answers a reverse proxy's subrequest (nginx auth_request,
// Caddy forward_auth, Traefik ForwardAuth) for the URL the proxy names:
//
//   - a bypass rule: 200, whoever asks, without looking at a session;
//   - no valid session: a browser is sent to sign in (forwardAuthSignIn),
//     anything else gets the JSON 401;
//   - signed in and let in by the rules: 200 with the identity in headers;
//   - signed in and not let in: 403, a page for a browser, JSON otherwise.
//
// A 403 thus only ever answers the account's own valid session, after
// sign-in: nobody learns anything about an account but their own. The
// identity is the opaque account ID: the sign-in address is a credential,
// and every app behind the proxy would otherwise learn (and log) it;
// Remote-Email only where the operator asks for it.
func (s *Server) forwardAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	target := veil.AccessTarget{}
	if s.rules.Len() > 0 {
		target = veil.ParseAccessTarget(s.originalURL(r))
	}
	if _, rule := s.rules.Match(target); rule.Access == veil.AccessBypass {
		setIdentityHeaders(w.Header(), "", "", "", "")
		w.WriteHeader(http.StatusOK)
		return
	}
	acct, groups, err := s.identity(r.Context(), s.cookie.value(r))
	if veil.ErrorCode(err) == veil.ENOSESSION && wantsHTML(r) {
		s.forwardAuthSignIn(w, r, err)
		return
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	d := s.rules.Decide(target, true, groups)
	if d.Verdict != veil.VerdictAllow {
		s.forwardAuthForbidden(w, r)
		return
	}
	email := ""
	if s.fwdEmail || d.EmailHeader {
		email = acct.Email.String()
	}
	setIdentityHeaders(w.Header(), acct.ID, acct.DisplayName, strings.Join(groups, ","), email)
	w.WriteHeader(http.StatusOK)
}

// setIdentityHeaders sets every header a proxy copies to the app, empty
// where there is nothing to say: Caddy 2.6's copy_headers puts the literal
// placeholder "{http.reverse_proxy.header.Remote-Email}" into the app's
// request for a header the answer lacks, and an app must never see text
// that looks like a value veil gave.
func setIdentityHeaders(h http.Header, user, name, groups, email string) {
	h.Set("Remote-User", user)
	h.Set("Remote-Name", name)
	h.Set("Remote-Groups", groups)
	h.Set("Remote-Email", email)
}

// identity is the account of a session and its groups: from the
// IdentityFinder when Accounts is one, else Authenticate's, in no group.
func (s *Server) identity(ctx context.Context, token string) (*veil.Account, []string, error) {
	if s.identities != nil {
		return s.identities.ForwardAuthIdentity(ctx, token)
	}
	acct, _, err := s.accounts.Authenticate(ctx, token)
	return acct, nil, err
}

// forwardAuthForbidden answers 403 to a signed-in person the rules do not
// let in: veil's page for a browser (Caddy and Traefik show it; nginx
// shows its own unless error_page sends it here), JSON for API clients.
func (s *Server) forwardAuthForbidden(w http.ResponseWriter, r *http.Request) {
	if !wantsHTML(r) {
		writeJSON(w, http.StatusForbidden, errorBody{Error: "forbidden", Message: forbiddenMessage})
		return
	}
	s.renderPage(w, r, s.pages.message, http.StatusForbidden, pageData{Title: "Not allowed", Error: forbiddenMessage})
}
