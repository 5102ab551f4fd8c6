package web

import (
	"net/http"

	"github.com/veil-id/veil"
)

// Mount serves h at pattern (a ServeMux pattern) on the public listener,
// inside everything every route gets: the security headers, the client
// address from trusted proxies, and cross-origin protection for its
// non-safe methods. It is for adapters that live beside the pages, such as
// the OpenID Provider, and must be called before the server serves.
//
// crossOrigin lists patterns under h that other origins may post to (a
// token endpoint called from a browser app): they are left out of the
// cross-origin protection and must not act on the session cookie.
func (s *Server) Mount(pattern string, h http.Handler, crossOrigin ...string) {
	s.mux.Handle(pattern, h)
	for _, p := range crossOrigin {
		s.cop.AddInsecureBypassPattern(p)
	}
}

// SignedIn returns the account and session of r's session cookie, or
// ENOSESSION (EUNAVAILABLE when the store failed), for handlers
// mounted with Mount.
func (s *Server) SignedIn(r *http.Request) (*veil.Account, *veil.Session, error) {
	return s.accounts.Authenticate(r.Context(), s.cookie.value(r))
}

// SignOut ends r's session and clears its cookie on w.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request) error {
	if err := s.accounts.Logout(r.Context(), s.cookie.value(r), clientOf(r)); err != nil {
		return err
	}
	s.cookie.clear(w)
	return nil
}
