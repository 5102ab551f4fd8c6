// Package web is veil's HTTP face: the JSON API, the HTML pages, the time
// floor, and the one renderer of public answers.
//
// Handlers decode, call one method of the core, and render. They never learn
// why a sign-in failed — the core hands them one EUNAUTHORIZED — so nothing
// here can leak it. This package must never look up accounts itself, never
// answer a sensitive route without the floor, and never put a cause or a
// stored value into a public answer.
package web

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/brand"
)

// Accounts is the part of the core the handlers use.
type Accounts interface {
	Login(ctx context.Context, req veil.LoginRequest) (*veil.LoginResult, error)
	Authenticate(ctx context.Context, token string) (*veil.Account, *veil.Session, error)
	Logout(ctx context.Context, token string, client veil.Client) error
}

// Config holds what a Server needs.
type Config struct {
	Accounts Accounts
	// MailFlows serves sign-up and recovery; nil turns them off.
	MailFlows MailFlows
	// Factors serves second factors and the security page; nil turns
	// them off (factors.go).
	Factors SecondFactors
	// Passkeys serves passkeys; nil turns them off (passkeys.go).
	Passkeys Passkeys
	// Settings serves the pages where people manage their own accounts
	// (account.go); nil turns them off.
	Settings AccountSettings
	// Floor holds back sensitive answers; nil means no floor (tests only).
	Floor *Floor
	// SecureCookies marks the session cookie Secure and gives it the
	// __Host- prefix. Only plain HTTP on loopback may turn it off.
	SecureCookies bool
	// TrustedOrigins may post forms and API calls cross-origin
	// (scheme://host[:port]).
	TrustedOrigins []string
	// TrustedProxies are the reverse proxies whose ClientAddrHeader says
	// who the client is; from anyone else it is ignored.
	TrustedProxies []netip.Prefix
	// ClientAddrHeader is the one forwarding header those proxies set
	// (X-Forwarded-For if ""; Forwarded, X-Real-IP, CF-Connecting-IP,
	// True-Client-IP, Fly-Client-IP); every other one is ignored.
	ClientAddrHeader string
	// ForwardAuthEmail sends Remote-Email on forward-auth answers. Off,
	// upstream apps see only the opaque account ID (and display name):
	// the sign-in address is private (invariant 7).
	ForwardAuthEmail bool
	// ReturnDomains are the hosts a sign-in may send the browser back to
	// (exact hosts, "*.example.com"; with an optional :port); a return URL
	// elsewhere falls back to "/".
	ReturnDomains []string
	// LoginURL is where forward-auth sends a browser to sign in: the
	// absolute URL of veil's /login when veil has a host of its own,
	// "/login" (the default) when it shares the app's.
	LoginURL string
	// CookieDomain, when not "", makes the session cookie cover the domain
	// and every name under it (one sign-in for all apps behind the proxy);
	// "" keeps it on veil's host only.
	CookieDomain string
	// AccessRules say who may enter which app behind forward-auth; nil
	// lets in everyone signed in. Accounts that are an IdentityFinder
	// give the rules an account's groups (access.go).
	AccessRules *veil.AccessRules
	// ManagedElsewhere, when not "", says where accounts are managed (a
	// read-only directory): the sign-up and recovery pages show it instead
	// of their forms, which the core would refuse anyway.
	ManagedElsewhere string
	// Brand is the site name, logo and accent colour of the pages (nil:
	// veil's own); TemplatesDir, when not "", holds page templates that
	// replace veil's of the same name (see pageTemplates).
	Brand        *brand.Brand
	TemplatesDir string
	Logger       *slog.Logger
}

// Server serves the public listener.
type Server struct {
	accounts Accounts
	mail     MailFlows
	factors  SecondFactors
	passkeys Passkeys
	settings AccountSettings
	floor    *Floor
	cookie   cookie
	device   cookie
	addrs    clientAddrs
	fwdEmail bool // Config.ForwardAuthEmail
	returns  returnDomains
	loginURL string
	// elsewhere is Config.ManagedElsewhere.
	elsewhere string
	rules     *veil.AccessRules
	logger    *slog.Logger
	pages     *pages
	brand     *brand.Brand
	mux       *http.ServeMux              // for Mount (mount.go)
	cop       *http.CrossOriginProtection // for Mount
	// factorPages and pending serve second factors (factors.go).
	factorPages *factorPages
	// accountPages are the self-service pages (account_pages.go).
	accountPages *accountPages
	pending      cookie
	handler      http.Handler

	// identities is Accounts if it is an IdentityFinder, else nil.
	identities IdentityFinder
}

// NewServer builds the public handler.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{
		accounts:  cfg.Accounts,
		mail:      cfg.MailFlows,
		factors:   cfg.Factors,
		passkeys:  cfg.Passkeys,
		pending:   newPendingCookie(cfg.SecureCookies),
		settings:  cfg.Settings,
		floor:     cfg.Floor,
		cookie:    newSessionCookie(cfg.SecureCookies, cfg.CookieDomain),
		device:    newDeviceCookie(cfg.SecureCookies),
		fwdEmail:  cfg.ForwardAuthEmail,
		elsewhere: cfg.ManagedElsewhere,
		rules:     cfg.AccessRules,
		loginURL:  cmp.Or(cfg.LoginURL, "/login"),
		brand:     cmp.Or(cfg.Brand, defaultBrand),
		logger:    cfg.Logger,
	}
	s.identities, _ = cfg.Accounts.(IdentityFinder)
	if err := CheckCookieDomain(cfg.CookieDomain); err != nil {
		return nil, err
	}
	var err error
	if s.returns, err = newReturnDomains(cfg.ReturnDomains); err != nil {
		return nil, err
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.floor == nil {
		s.floor = NewFloor(0)
	}
	tmpl, err := pageTemplates(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	p, err := newPages(tmpl)
	if err != nil {
		return nil, err
	}
	s.pages = p
	if s.factorPages, err = newFactorPages(tmpl); err != nil {
		return nil, err
	}
	if s.accountPages, err = parseAccountPages(tmpl); err != nil {
		return nil, err
	}
	if s.addrs, err = newClientAddrs(cfg.TrustedProxies, cfg.ClientAddrHeader); err != nil {
		return nil, err
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	s.cop = cop
	s.handler = securityHeaders(s.addrs.wrap(cop.Handler(s.routes())))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.mux = mux
	sensitive := s.floor.Wrap
	mux.Handle("POST /api/login", sensitive(http.HandlerFunc(s.apiLogin)))
	mux.HandleFunc("POST /api/logout", s.apiLogout)
	mux.HandleFunc("GET /api/session", s.apiSession)
	mux.HandleFunc("GET /api/forward-auth", s.forwardAuth)
	mux.HandleFunc("GET /healthz", healthz)

	mux.HandleFunc("GET /login", s.loginPage)
	mux.Handle("POST /login", sensitive(http.HandlerFunc(s.loginForm)))
	mux.HandleFunc("POST /logout", s.logoutForm)
	mux.HandleFunc("GET /{$}", s.accountPage)
	if s.mail != nil {
		s.mailRoutes(mux, sensitive)
	}
	mux.HandleFunc("POST /language", s.languageForm)
	mux.HandleFunc("GET /static/brand.css", s.brandCSS)
	if s.factors != nil {
		s.factorRoutes(mux, sensitive)
	}
	if s.passkeys != nil {
		s.passkeyRoutes(mux, sensitive)
	}
	if s.settings != nil {
		s.accountRoutes(mux, sensitive)
	}
	mux.Handle("GET /static/", staticFiles())
	mux.Handle("/", s.unrouted(mux))
	return mux
}

// routeMethods are the methods unrouted asks the routes about.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unrouted answers what no route took: 405 with the path's methods in
// Allow when the path has routes, 404 when it has none. ServeMux would say
// 405 itself, but the catch-all "/" that gives unknown paths veil's JSON
// 404 matches every method first.
func (s *Server) unrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range routeMethods {
			probe := new(http.Request)
			*probe = *r
			probe.Method = m
			_, pattern := mux.Handler(probe)
			// Every route names its method; HEAD is served by GET's.
			if pm, _, ok := strings.Cut(pattern, " "); ok && (pm == m || m == http.MethodHead && pm == http.MethodGet) {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			s.notFound(w, r)
			return
		}
		list := strings.Join(allow, ", ")
		w.Header().Set("Allow", list)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method_not_allowed", Message: "This address takes only " + list + " requests."})
	})
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// securityHeaders sets what every answer carries. Pages add their CSP.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// crossOriginDenied answers a cross-site form post or API call. It is decided
// from headers alone, before any account is looked at.
func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusForbidden, errorBody{Error: "cross_origin_request", Message: "Cross-origin requests are not allowed."})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: "not_found", Message: "There is nothing here."})
}

// clientOf describes the caller for the throttle, sessions and the audit
// log, with the address computed once per request (see clientAddrs).
func clientOf(r *http.Request) veil.Client {
	return veil.Client{Addr: clientAddr(r), UserAgent: r.UserAgent(), Lang: langOf(r)}
}

// Timeouts for the listeners: bounded so slow clients cannot hold
// connections forever, generous enough for the floor and the hash queue.
// ReadTimeout, WriteTimeout and IdleTimeout are the public listener's
// defaults, which the configuration may change.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// noHashFloor wraps a route whose account work is lookups without a hash
// (NoHashFloor).
func (s *Server) noHashFloor(h http.Handler) http.Handler {
	return s.floor.WrapAtLeast(h, NoHashFloor)
}
