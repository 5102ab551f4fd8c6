package web

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// forwardAuthSignIn answers a browser that reached a protected app without
// a valid session: it is sent to veil's sign-in page, carrying the URL it
// wanted so that it comes back there. Caddy's forward_auth and Traefik's
// ForwardAuth pass a 302 with its Location to the browser; nginx's
// auth_request passes only 401 and 403 on, so a subrequest that names the
// original URL in X-Original-URL (the nginx pattern) gets the 401 with the
// same Location, for `auth_request_set` and `error_page 401` to use.
// Nothing here depends on an account: it is decided before one is looked
// at, from the request's headers alone.
func (s *Server) forwardAuthSignIn(w http.ResponseWriter, r *http.Request, err error) {
	location := s.loginURL
	if rd, ok := s.returns.checkReturnURL(s.originalURL(r)); ok {
		location += "?rd=" + url.QueryEscape(rd)
	}
	w.Header().Set("Location", location)
	if r.Header.Get("X-Original-URL") != "" {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusFound)
}

// originalURL is the URL the proxy was asked for, as the proxy says:
// X-Original-URL (nginx, set in its config), or X-Forwarded-Proto, -Host
// and -Uri (Caddy, Traefik). Only a trusted proxy is believed; from anyone
// else it is "".
func (s *Server) originalURL(r *http.Request) string {
	peer, ok := parseNode(r.RemoteAddr)
	if !ok || !s.addrs.isTrusted(peer) {
		return ""
	}
	h := r.Header
	if u := h.Get("X-Original-URL"); u != "" {
		return u
	}
	proto, host, uri := h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Host"), h.Get("X-Forwarded-Uri")
	if proto == "" || host == "" {
		return ""
	}
	if !strings.HasPrefix(uri, "/") {
		uri = "/" + uri
	}
	return proto + "://" + host + uri
}

// wantsHTML reports whether the client is a browser asking for a page: its
// Accept lists text/html and not application/json. API clients keep the
// JSON 401.
func wantsHTML(r *http.Request) bool {
	html, json := false, false
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
				continue
			}
		}
		switch mt {
		case "text/html":
			html = true
		case "application/json":
			json = true
		}
	}
	return html && !json
}
