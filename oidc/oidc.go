// Package oidc is veil's OpenID Provider: applications sign their users in
// with veil through the authorization code flow (with PKCE), on
// github.com/zitadel/oidc's op package. It is an adapter over the core,
// like package web: people sign in on veil's own /login page, so every
// guarantee of that page (one failure answer, the time floor, the throttle,
// device cookies, proof of work) holds here too, and the core stays the
// only code that knows whether an account exists.
//
// The Store it needs is declared in package veil (veil.OIDCStore, named
// Store here), so that package sqlstore implements it without importing
// this one. It must never look up an account by what a client sent (login_hint is
// ignored, an id_token_hint only names a subject the provider issued),
// never give a client the email address unless the client is allowed it
// and asked, and never put a cause into a public answer.
package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// AccountFinder finds accounts by ID for the claims.
type AccountFinder interface {
	// FindAccount returns the account with an ID, or ENOTFOUND.
	FindAccount(ctx context.Context, id string) (*veil.Account, error)
}

// Sessions is the browser's veil session, as package web keeps it.
type Sessions interface {
	// SignedIn returns the account and session of r's cookie, or
	// ENOSESSION, or EUNAVAILABLE.
	SignedIn(r *http.Request) (*veil.Account, *veil.Session, error)
	// SignOut ends r's session and clears its cookie on w.
	SignOut(w http.ResponseWriter, r *http.Request) error
}

// Config is what a Provider needs.
type Config struct {
	// Issuer is server.public_url: https, or http on loopback.
	Issuer   string
	Store    Store
	Accounts AccountFinder
	Sessions Sessions
	// Secrets keeps the token and subject keys, shared by instances.
	Secrets veil.SecretStore
	// KeyEncryptionKey (32 bytes) encrypts the signing keys at rest.
	KeyEncryptionKey []byte
	// Algorithm signs ID tokens: ES256 (default), EdDSA or RS256.
	Algorithm string
	// Clients are declared in the configuration ([[oidc.clients]]).
	Clients []*Client
	// LoginPath is veil's sign-in page ("/login").
	LoginPath string
	// Throttle keeps the token endpoint's counters (throttle.go); nil
	// serves it unthrottled. TokenPolicy is DefaultTokenPolicy if zero.
	Throttle    veil.ThrottleStore
	TokenPolicy TokenPolicy
	// ClientAddr is the client's address as the transport computed it
	// (web.ClientAddr); nil: the peer's IP.
	ClientAddr func(*http.Request) string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Provider is the OpenID Provider.
type Provider struct {
	issuer   string
	op       *op.Provider
	storage  *storage
	sessions Sessions
	login    string
	logger   *slog.Logger
	now      func() time.Time
	handler  http.Handler
	throttle *tokenThrottle // nil: unthrottled
}

// Paths of the provider's endpoints under the issuer.
const (
	pathPrefix    = "/oidc/"
	pathAuthorize = "/oidc/authorize"
	pathContinue  = "/oidc/authorize/continue"
	pathConsent   = "/oidc/authorize/consent"
	pathCallback  = "/oidc/authorize/callback"
	pathEndSess   = "/oidc/end_session"
)

// Secret names in the SecretStore.
const (
	tokenKeyName   = "oidc_token_key"
	subjectKeyName = "oidc_subject_key"
)

// New returns a provider and checks that its signing key can be used.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = DefaultAlgorithm
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/login"
	}
	issuer := strings.TrimRight(cfg.Issuer, "/")
	u, err := url.Parse(issuer)
	if issuer == "" || err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("oidc: the issuer (server.public_url) must be an absolute https URL, got %q", cfg.Issuer)
	}
	_, loopback := op.HTTPLoopbackOrLocalhost(issuer)
	if u.Scheme == "http" && !loopback {
		return nil, fmt.Errorf("oidc: the issuer (server.public_url) must be https off loopback, got %q", cfg.Issuer)
	}
	tokenKey, err := cfg.Secrets.LoadOrCreateSecret(ctx, tokenKeyName, 32)
	if err != nil {
		return nil, fmt.Errorf("oidc: loading the token key: %w", err)
	}
	subjectKey, err := cfg.Secrets.LoadOrCreateSecret(ctx, subjectKeyName, 32)
	if err != nil {
		return nil, fmt.Errorf("oidc: loading the subject key: %w", err)
	}
	keys, err := newKeyring(cfg.Store, cfg.KeyEncryptionKey, cfg.Algorithm, cfg.Now)
	if err != nil {
		return nil, err
	}
	if err := keys.ensure(ctx); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	clients := make(map[string]*Client, len(cfg.Clients))
	for _, c := range cfg.Clients {
		if err := CheckClient(c); err != nil {
			return nil, fmt.Errorf("oidc client %q: %w", c.ID, err)
		}
		clients[c.ID] = c
	}
	p := &Provider{issuer: issuer, sessions: cfg.Sessions, login: cfg.LoginPath, logger: cfg.Logger, now: cfg.Now}
	if cfg.Throttle != nil {
		if cfg.TokenPolicy == (TokenPolicy{}) {
			cfg.TokenPolicy = DefaultTokenPolicy
		}
		if cfg.ClientAddr == nil {
			cfg.ClientAddr = peerAddr
		}
		m := hmac.New(sha256.New, subjectKey)
		m.Write([]byte("oidc token throttle"))
		p.throttle = &tokenThrottle{store: cfg.Throttle, policy: cfg.TokenPolicy, key: m.Sum(nil), clientAddr: cfg.ClientAddr, logger: cfg.Logger}
	}
	p.storage = &storage{
		store: cfg.Store, accounts: cfg.Accounts, keys: keys, subjectKey: subjectKey, clients: clients,
		loginURL:    func(id string) string { return pathContinue + "?id=" + url.QueryEscape(id) },
		accountPage: issuer + "/",
		now:         cfg.Now, logger: cfg.Logger,
	}
	var key [32]byte
	copy(key[:], tokenKey)
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint("oidc/authorize"), op.NewEndpoint("oidc/token"), op.NewEndpoint("oidc/userinfo"),
			op.NewEndpoint("oidc/revoke"), op.NewEndpoint("oidc/end_session"), op.NewEndpoint("oidc/keys")),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("oidc/introspect")),
		op.WithCustomDeviceAuthorizationEndpoint(op.NewEndpoint("oidc/device_authorization")),
		op.WithCORSOptions(&corsOptions),
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(&op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: issuer + "/",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		AuthMethodPrivateKeyJWT:  true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "c_hash", "at_hash",
			"azp", "name", "email", "email_verified"},
	}, p.storage, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	p.handler = perRequest(p.routes(), p.logger)
	return p, nil
}

// corsOptions let browser apps of any origin call the endpoints, but
// without credentials: op's default reflects any origin with
// Access-Control-Allow-Credentials, which would let any page read answers
// made with the visitor's veil session. No endpoint a browser app calls
// needs the cookie: tokens travel in the Authorization header or the body.
var corsOptions = cors.Options{
	AllowOriginFunc:  func(string) bool { return true },
	AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost},
	AllowedHeaders:   []string{"Accept", "Authorization", "Content-Type"},
	AllowCredentials: false,
}

// Mounter serves a handler at a pattern of the public listener (package
// web's Server.Mount).
type Mounter interface {
	Mount(pattern string, h http.Handler, crossOrigin ...string)
}

// MountOn serves the provider on m: discovery at the issuer's
// /.well-known/openid-configuration, every endpoint under /oidc/. The
// token, userinfo, revocation and introspection endpoints take posts from
// other origins (browser apps): none of them reads the session cookie.
func (p *Provider) MountOn(m Mounter) {
	m.Mount("GET "+oidc.DiscoveryEndpoint, p.handler)
	m.Mount(pathPrefix, p.handler, "POST /oidc/token", "POST /oidc/userinfo", "POST /oidc/revoke", "POST /oidc/introspect")
}

// Handler serves the provider's routes (MountOn is how veil serves them).
func (p *Provider) Handler() http.Handler { return p.handler }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathContinue, p.continueAuth)
	mux.HandleFunc("POST "+pathConsent, p.consent)
	mux.HandleFunc(pathEndSess, p.endSession)
	var token http.Handler = p.assertions(cleanErrors(p.op))
	if p.throttle != nil {
		token = p.throttle.wrap(token, func(r *http.Request) string { id, _ := r.Context().Value(clientKey{}).(string); return id })
	}
	mux.Handle("POST /oidc/token", tokenClient(token))
	mux.Handle(pathAuthorize, p.inlineContinue(cleanErrors(p.op)))
	mux.Handle("POST /oidc/revoke", p.assertions(cleanErrors(p.op)))
	mux.Handle("POST /oidc/introspect", p.assertions(cleanErrors(p.op)))
	// A code is given where the sign-in completes (complete), never by
	// op's callback endpoint.
	mux.HandleFunc(pathCallback, func(w http.ResponseWriter, r *http.Request) { p.requestError(w, errRequestGone) })
	mux.Handle("/", cleanErrors(p.op))
	return mux
}

// endSession is op's end_session endpoint, which signs the browser out of
// veil once op has checked the request (TerminateSessionFromRequest).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	signOut := func() error { return p.sessions.SignOut(w, r) }
	cleanErrors(p.op).ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), logoutKey{}, signOut)))
}

// tokenClient puts the client a token request names (in the form or the
// basic credentials) into its context, for SigningKey. Who the client is
// is checked by op, before any token is signed.
func tokenClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseParams(w, r) {
			return
		}
		id := r.PostForm.Get("client_id")
		if iss, ok := assertionIssuer(r); ok {
			id = iss
		} else if user, _, ok := r.BasicAuth(); ok {
			if u, err := url.QueryUnescape(user); err == nil {
				id = u
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, id)))
	})
}

// RotateKeys makes a new signing key and retires the old ones, which stay
// in the key set until the tokens they signed have expired.
func (p *Provider) RotateKeys(ctx context.Context) (*SigningKey, error) {
	return p.storage.keys.Rotate(ctx)
}

// ExpireGrants deletes expired auth requests and tokens.
func (p *Provider) ExpireGrants(ctx context.Context) (int, error) {
	return p.storage.store.DeleteExpiredOIDC(ctx, p.now())
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// errorOf turns anything into an *oidc.Error safe to show.
func errorOf(err error) *oidc.Error {
	var e *oidc.Error
	if errors.As(err, &e) {
		c := *e
		c.Parent = nil
		return &c
	}
	return oidc.ErrServerError().WithDescription("The service is temporarily unavailable.")
}
