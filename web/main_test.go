package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/mail"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/web"
)

// testParams keeps unit tests fast; the pair tests only need every state to
// run through the same code, not a costly hash.
var testParams = password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}

// testServer is the whole public stack on a real SQLite database.
type testServer struct {
	*httptest.Server
	db      *sqlstore.DB
	service *veil.Service
	hasher  *password.Hasher
	worker  *veil.Worker
	mailbox *mailbox
}

type serverOption func(*web.Config, *password.Config, *veil.ServiceConfig)

// MustOpenServer starts the public handler over real SQLite and a real
// hasher, and closes both at the end of the test.
func MustOpenServer(tb testing.TB, opts ...serverOption) *testServer {
	tb.Helper()
	ctx := context.Background()
	db := sqlitetest.MustOpen(tb)
	wcfg := web.Config{}
	pcfg := password.Config{Params: testParams, Concurrency: 2}
	scfg := veil.ServiceConfig{
		Accounts: db, Sessions: db,
		Outbox: db, SignUps: db, Tokens: db, Settings: db,
		MailPolicy: veil.MailPolicy{BaseURL: "https://veil.example", SiteName: "veil test"},
		Auditor:    &veil.LogAuditor{Logger: discardLogger(), Log: db},
		Key:        veil.IdentifierKey("test identifier key 0123456789"),
		Factors:    db, FactorKey: testFactorKey,
	}
	for _, o := range opts {
		o(&wcfg, &pcfg, &scfg)
	}
	hasher, err := password.New(pcfg)
	if err != nil {
		tb.Fatal(err)
	}
	scfg.Hasher = hasher
	svc, err := veil.NewService(ctx, scfg)
	if err != nil {
		tb.Fatal(err)
	}
	wcfg.Accounts = svc
	wcfg.MailFlows = svc
	if scfg.Factors != nil {
		wcfg.Factors = svc
	}
	if scfg.Ceremonies != nil {
		wcfg.Passkeys = svc
	}
	wcfg.Settings = svc
	wcfg.Logger = discardLogger()
	srv, err := web.NewServer(wcfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	renderer, err := mail.NewRenderer("veil test")
	if err != nil {
		tb.Fatal(err)
	}
	mbox := &mailbox{}
	worker := svc.NewWorker(veil.WorkerConfig{Renderer: renderer, Mailer: mbox, Logger: discardLogger()})
	return &testServer{Server: ts, db: db, service: svc, hasher: hasher, worker: worker, mailbox: mbox}
}

// mustAddAccount creates an account through the operator flow.
func (ts *testServer) mustAddAccount(tb testing.TB, email, pw string) *veil.Account {
	tb.Helper()
	a, err := ts.service.AddAccount(context.Background(), email, "", pw)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// answer is everything a client can observe of a response but its timing.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends one request with no cookies of its own and reads the whole answer.
func (ts *testServer) do(tb testing.TB, method, path, contentType, body string, hdr ...string) answer {
	tb.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	status, h, body := veiltest.ReadAnswer(tb, res)
	return answer{status, h, body}
}

func (ts *testServer) loginJSON(tb testing.TB, identifier, pw string) answer {
	tb.Helper()
	return ts.do(tb, "POST", "/api/login", "application/json", jsonBody("identifier", identifier, "password", pw))
}

func (ts *testServer) loginForm(tb testing.TB, identifier, pw string) answer {
	tb.Helper()
	return ts.do(tb, "POST", "/login", "application/x-www-form-urlencoded",
		url.Values{"identifier": {identifier}, "password": {pw}}.Encode())
}

// jsonBody builds a JSON object from key/value pairs, escaping properly.
func jsonBody(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(kv[i]) + ":" + quote(kv[i+1]))
	}
	b.WriteByte('}')
	return b.String()
}

// newClient returns a client with a cookie jar that does not follow
// redirects, like a browser whose every step the test looks at.
func newClient(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	veiltest.Golden(tb, name, got)
}
