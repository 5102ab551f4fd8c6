// Package oidctest runs the whole public stack with the OpenID Provider on
// a real store, and drives it like a browser and a relying party would. It
// is for tests only.
package oidctest

import (
	"cmp"
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/web"
)

// TestParams keeps the hash cheap: the flows only need it to run.
var TestParams = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}

// KEK is the key encryption key of test providers.
var KEK = []byte("0123456789abcdef0123456789abcdef")

// Stack is veil's public listener with the provider mounted.
type Stack struct {
	*httptest.Server
	DB       *sqlstore.DB
	Service  *veil.Service
	Provider *oidc.Provider
	Issuer   string
	serving  atomic.Int64 // nanoseconds in the handler
}

// Options change a Stack before it starts.
type Options struct {
	// Issuer overrides the server's own URL (instances behind one name).
	Issuer    string
	Algorithm string
	Clients   []*oidc.Client
	Params    *password.Params
	// Floor holds back sign-in answers (nil: none).
	Floor *web.Floor
	// Logger is the provider's (nil: discarded).
	Logger *slog.Logger
	// Throttle keeps the token endpoint's counters (nil: a memory store
	// of its own); TokenPolicy is its policy (zero: the default).
	Throttle    veil.ThrottleStore
	TokenPolicy oidc.TokenPolicy
	// ClientAddr overrides the address the token endpoint counts under.
	ClientAddr func(*http.Request) string
}

// Start serves the stack on db, closed when tb ends.
func Start(tb testing.TB, db *sqlstore.DB, o Options) *Stack {
	tb.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	params := TestParams
	if o.Params != nil {
		params = *o.Params
	}
	hasher, err := password.New(password.Config{Params: params, Concurrency: 2})
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: db, Sessions: db, Outbox: db, SignUps: db, Tokens: db, Hasher: hasher,
		Auditor: &veil.LogAuditor{Logger: logger, Log: db},
		Key:     veil.IdentifierKey("test identifier key 0123456789"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	if o.ClientAddr == nil {
		o.ClientAddr = web.ClientAddr
	}
	ts := httptest.NewUnstartedServer(nil)
	self := "http://" + ts.Listener.Addr().String()
	issuer := o.Issuer
	if issuer == "" {
		issuer = self
	}
	domains := []string{hostPort(tb, self), hostPort(tb, issuer)}
	srv, err := web.NewServer(web.Config{Accounts: svc, Floor: o.Floor, Logger: logger, ReturnDomains: domains})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := oidc.New(ctx, oidc.Config{
		Issuer: issuer, Store: db, Accounts: svc, Sessions: srv, Secrets: db,
		KeyEncryptionKey: KEK, Algorithm: o.Algorithm, Clients: o.Clients, Logger: cmp.Or(o.Logger, logger),
		Throttle: cmp.Or[veil.ThrottleStore](o.Throttle, throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})), TokenPolicy: o.TokenPolicy,
		ClientAddr: o.ClientAddr,
	})
	if err != nil {
		tb.Fatal(err)
	}
	p.MountOn(srv)
	st := &Stack{Server: ts, DB: db, Service: svc, Provider: p, Issuer: issuer}
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		srv.ServeHTTP(w, r)
		st.serving.Add(int64(time.Since(start)))
	})
	ts.Start()
	tb.Cleanup(ts.Close)
	return st
}

// Serving is how long the server has spent answering requests, summed:
// veil's own time, without the client's.
func (s *Stack) Serving() time.Duration { return time.Duration(s.serving.Load()) }

func hostPort(tb testing.TB, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

// AddAccount creates an account with a display name.
func (s *Stack) AddAccount(tb testing.TB, email, name, pw string) *veil.Account {
	tb.Helper()
	a, err := s.Service.AddAccount(context.Background(), email, name, pw)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// AddClient registers a client and returns its secret (a confidential
// client's without a JWKS; for others it is unused).
func (s *Stack) AddClient(tb testing.TB, c *oidc.Client) string {
	tb.Helper()
	secret, hash := oidc.NewClientSecret()
	if !c.Public && c.JWKS == nil {
		c.SecretHash = hash
	}
	if c.ID == "" {
		c.ID = oidc.NewClientID()
	}
	if c.Name == "" {
		c.Name = "Test app"
	}
	if err := oidc.CheckClient(c); err != nil {
		tb.Fatal(err)
	}
	if err := s.DB.CreateClient(context.Background(), c); err != nil {
		tb.Fatal(err)
	}
	return secret
}

// Browser is a cookie-keeping client that follows veil's redirects and
// pages by itself and stops where it would leave veil.
type Browser struct {
	*http.Client
	tb testing.TB
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(tb testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{tb: tb, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Page is one answer the browser read.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
	// LeftTo is where the page sent the browser off the server (a
	// redirect or a continue page), or nil.
	LeftTo *url.URL
}

func (b *Browser) read(req *http.Request) *Page {
	b.tb.Helper()
	res, err := b.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.tb.Fatal(err)
	}
	return &Page{URL: req.URL, Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

// Get follows redirects and veil's continue pages from raw until an answer
// that is neither, or a redirect off the server (returned as is).
func (b *Browser) Get(raw string) *Page {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.follow(req)
}

// PostForm posts a form and follows what comes back like Get.
func (b *Browser) PostForm(raw string, form url.Values) *Page {
	b.tb.Helper()
	req, err := http.NewRequest(http.MethodPost, raw, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.follow(req)
}

func (b *Browser) follow(req *http.Request) *Page {
	b.tb.Helper()
	for range 20 {
		p := b.read(req)
		next := ""
		if loc := p.Header.Get("Location"); p.Status >= 300 && p.Status < 400 && loc != "" {
			next = loc
		} else if m := metaRefresh.FindStringSubmatch(p.Body); m != nil && p.Status == http.StatusOK {
			next = html.UnescapeString(m[1])
		} else {
			return p
		}
		u, err := req.URL.Parse(next)
		if err != nil {
			b.tb.Fatal(err)
		}
		if u.Host != req.URL.Host {
			p.LeftTo = u
			return p
		}
		if req, err = http.NewRequest(http.MethodGet, u.String(), nil); err != nil {
			b.tb.Fatal(err)
		}
	}
	b.tb.Fatal("more than 20 redirects")
	return nil
}

// SignInForm posts veil's sign-in form on page (a /login page reached with
// a return URL).
func (b *Browser) SignInForm(page *Page, identifier, pw string) *Page {
	b.tb.Helper()
	if page.URL.Path != "/login" || page.Status != http.StatusOK {
		b.tb.Fatalf("expected the sign-in page, got %d at %s:\n%s", page.Status, page.URL, page.Body)
	}
	form := url.Values{"identifier": {identifier}, "password": {pw}}
	if rd := page.URL.Query().Get("rd"); rd != "" {
		form.Set("rd", rd)
	}
	return b.PostForm(page.URL.Scheme+"://"+page.URL.Host+"/login", form)
}

// RedirectedTo returns the URL a page sent the browser to off the server,
// or fails.
func (p *Page) RedirectedTo(tb testing.TB) *url.URL {
	tb.Helper()
	if p.LeftTo == nil {
		tb.Fatalf("expected to be sent to the client, got %d at %s:\n%s", p.Status, p.URL, p.Body)
	}
	return p.LeftTo
}
