package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/veiltest/faultproxy"
)

// faultSurface is one endpoint asked while PostgreSQL is stalled.
type faultSurface struct {
	name string
	// prepare runs while the store answers and returns the request of
	// someone with an account (or a real token) and, where an identifier
	// or a token is involved, the same request for nobody (nil where
	// none is). Each call builds a fresh request.
	prepare func(t *testing.T) (existing, unknown func() *http.Request)
	// after runs once the store has healed: the flow works again and is
	// not throttled, so the faults were not counted.
	after func(t *testing.T)
	// burst is how many of each request are sent at once, waves how
	// many times (1 unless set): at least the policy's free failures on
	// one identifier in all, so that a fault counted as a failure shows
	// as a 429 once the store heals, and no more at once than its
	// attempts in flight, which the throttle reserves before any check.
	burst, waves int
	// toClient says the outage is answered by sending the browser back
	// to the OAuth client with an error (RFC 6749, 4.1.2.1), the same
	// for everyone, rather than by the 503.
	toClient bool
}

// TestFaultsOnNewSurfaces stalls PostgreSQL (freeze, then blackhole) under
// the flows added after the fault matrix: an OIDC authorize and token
// exchange, a TOTP second step, passkey options and finish, an email
// change and its confirmation, a sign-in code and its confirmation, and
// forward-auth with groups. Each answers the one 503 with Retry-After
// (authorize: the redirect to the client with temporarily_unavailable, as
// RFC 6749 has it) within the deadline (never a 500, never a hang), byte
// for byte the same for an existing and an unknown identifier or token,
// counts nothing
// against the person (under the default throttle a counted fault would
// show as a 429 afterwards), and works again once the store heals. Each
// logs a row: | surface | mode | status | median time to answer | all
// answers identical | time for the flow to work after the heal |.
func TestFaultsOnNewSurfaces(t *testing.T) {
	f := startSurfaceVeil(t)
	surfaces := f.surfaces()
	round := 0
	for _, mode := range []faultproxy.Mode{faultproxy.Freeze, faultproxy.Blackhole} {
		t.Run(mode.String(), func(t *testing.T) {
			for _, s := range surfaces {
				t.Run(s.name, func(t *testing.T) {
					// Each round comes from its own client address, so
					// that the address's budget of mail is each
					// round's own and a counted fault shows.
					round++
					f.clientAddr = fmt.Sprintf("198.51.100.%d", round)
					existing, unknown := s.prepare(t)
					f.proxy.Set(mode)
					answers, took := burstRequests(t, s.burst, max(s.waves, 1), existing, unknown)
					f.proxy.Heal()
					if s.toClient {
						checkSentToClient(t, answers, took)
					} else {
						checkStalled(t, answers, took, unknown != nil)
					}
					start := time.Now()
					s.after(t)
					t.Logf("| %s | %v | %d | %v | %s | healed in %v |", s.name, mode, answers[0].status,
						medianDuration(took).Round(time.Millisecond), yesNo(allSame(answers)), time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
	for _, who := range append([]string{f.alice, f.erin, f.tina}, f.codeAccounts...) {
		if a, _ := timedLogin(t, f.v, who, surfacePassword); a.status != http.StatusOK {
			t.Errorf("%s after every stall: %d %s, want a session (the faults were counted)", who, a.status, a.body)
		}
	}
}

const surfacePassword = "correct horse battery staple"

// surfaceVeil is the veil of TestFaultsOnNewSurfaces: its store behind a
// fault proxy, with OIDC, passkeys, a group rule and the dev mailbox.
type surfaceVeil struct {
	v            *runningVeil
	proxy        *faultproxy.Proxy
	issuer       string
	alice, erin  string // alice: OIDC, codes, forward-auth; erin: email changes
	tina         string // with an authenticator app
	totpSecret   string
	clientID     string
	clientSecret string
	// codeAccounts ask for sign-in codes, one for each round: a target
	// gets a proof of work from its third mail in 15 minutes.
	codeAccounts []string
	codeWho      string
	// clientAddr is the X-Forwarded-For of the round's requests.
	clientAddr string
	// totpUsed is the time whose TOTP step tina last signed in with.
	totpUsed time.Time
}

// surfaceRedirect is the wiki's redirect URI in wikiClientTOML.
const surfaceRedirect = "http://127.0.0.1:1/callback"

func startSurfaceVeil(t *testing.T) *surfaceVeil {
	t.Helper()
	dsn := postgrestest.MustCreate(t).DSN
	u, _ := url.Parse(dsn)
	p := faultproxy.Start(t, u.Host)
	dir := t.TempDir()
	addr := freeAddr(t)
	f := &surfaceVeil{proxy: p, issuer: "http://" + addr, alice: "alice@example.com", erin: "erin@example.com", tina: "tina@example.com",
		clientID: "wiki", clientSecret: "a-long-enough-wiki-secret"}
	cfgFile := filepath.Join(dir, "veil.toml")
	if err := os.WriteFile(cfgFile, []byte(wikiClientTOML(f.issuer)+`
[[forward_auth.rules]]
host = "admin.example.com"
group = ["admins"]
email_header = true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(map[string]string{
		"VEIL_CONFIG": cfgFile, "VEIL_STORE_DRIVER": "postgres", "VEIL_STORE_DSN": proxied(t, dsn, p),
		"VEIL_SERVER_REQUEST_TIMEOUT": faultRequestTimeout.String(), "VEIL_SERVER_TRUSTED_PROXIES": "127.0.0.1",
	})
	for i := range 4 {
		f.codeAccounts = append(f.codeAccounts, fmt.Sprintf("code%d@example.com", i))
	}
	for _, e := range append([]string{f.alice, f.erin, f.tina, "taken@example.com"}, f.codeAccounts...) {
		if code, out, errOut := runMain(t, env, surfacePassword+"\n", "user", "add", "--data-dir", dir, e); code != 0 {
			t.Fatalf("user add %s: exit %d\n%s%s", e, code, out, errOut)
		}
	}
	if code, out, errOut := runMain(t, env, "", "user", "group", "add", "--data-dir", dir, f.alice, "admins"); code != 0 {
		t.Fatalf("user group add: exit %d\n%s%s", code, out, errOut)
	}
	f.v = mustRunMainOn(t, env, dir, addr)
	f.totpSecret = enrolTOTP(t, f.v, mustSessionCookie(t, f.v.url, f.tina, surfacePassword))
	return f
}

// enrolTOTP turns on an authenticator app through the security page of
// the session and returns its secret.
func enrolTOTP(t *testing.T, v *runningVeil, session string) string {
	t.Helper()
	const form = "application/x-www-form-urlencoded"
	_, page := httpDo(t, "POST", v.url+"/account/security/totp", form, "", session)
	m := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page:\n%s", page)
	}
	code, _ := veil.TOTPCode(m[1], time.Now().Add(-30*time.Second))
	if res, page := httpDo(t, "POST", v.url+"/account/security/totp/confirm", form, url.Values{"code": {code}}.Encode(), session); res.StatusCode != 200 || !strings.Contains(page, "recovery-codes") {
		t.Fatalf("confirming TOTP: %d\n%s", res.StatusCode, page)
	}
	return m[1]
}

// request is newRequest from the round's client address.
func (f *surfaceVeil) request(t *testing.T, method, target, contentType, body string, cookies ...string) *http.Request {
	t.Helper()
	req := newRequest(t, method, target, contentType, body, cookies...)
	if f.clientAddr != "" {
		req.Header.Set("X-Forwarded-For", f.clientAddr)
	}
	return req
}

// newRequest builds a request with a body and the cookies given as
// "name=value".
func newRequest(t *testing.T, method, target, contentType, body string, cookies ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	return req
}

// surfaceClient is faultClient that does not follow redirects.
var surfaceClient = &http.Client{Timeout: faultClient.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// sendTimed sends req with surfaceClient and returns the answer and how long
// it took; a request that gets no answer is reported as status 0.
func sendTimed(req *http.Request) (publicAnswer, time.Duration) {
	start := time.Now()
	res, err := surfaceClient.Do(req)
	if err != nil {
		return publicAnswer{body: err.Error()}, time.Since(start)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	h := res.Header.Clone()
	h.Del("Date")
	return publicAnswer{res.StatusCode, h, b.String()}, time.Since(start)
}

// mustSend sends req and wants status.
func mustSend(t *testing.T, req *http.Request, status int) publicAnswer {
	t.Helper()
	a, _ := sendTimed(req)
	if a.status != status {
		t.Fatalf("%s %s: %d %s, want %d", req.Method, req.URL.Path, a.status, a.body, status)
	}
	return a
}

// burstRequests sends, waves times, n of existing and of unknown (if any)
// all at once, and returns their answers (existing and unknown taking
// turns) and times.
func burstRequests(t *testing.T, n, waves int, existing, unknown func() *http.Request) ([]publicAnswer, []time.Duration) {
	t.Helper()
	var answers []publicAnswer
	var took []time.Duration
	for range waves {
		var reqs []*http.Request
		for range n {
			reqs = append(reqs, existing())
			if unknown != nil {
				reqs = append(reqs, unknown())
			}
		}
		a, d := make([]publicAnswer, len(reqs)), make([]time.Duration, len(reqs))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				<-start
				a[i], d[i] = sendTimed(req)
			})
		}
		close(start)
		wg.Wait()
		answers, took = append(answers, a...), append(took, d...)
	}
	return answers, took
}

// checkStalled wants every answer to be the one 503 within the bound, and
// all of them byte for byte the same.
func checkStalled(t *testing.T, answers []publicAnswer, took []time.Duration, paired bool) {
	t.Helper()
	for i, a := range answers {
		if took[i] > faultAnswerBound {
			t.Errorf("answer %d came after %v, want within %v", i, took[i].Round(time.Millisecond), faultAnswerBound)
		}
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("answer %d: %d %s, want 503", i, a.status, a.body)
			continue
		}
		if a.header.Get("Retry-After") == "" {
			t.Errorf("answer %d: a 503 without Retry-After:\n%s", i, a)
		}
		if len(a.header.Values("Set-Cookie")) > 0 {
			t.Errorf("answer %d: the 503 sets cookies %q", i, a.header.Values("Set-Cookie"))
		}
	}
	if !allSame(answers) {
		what := "answers"
		if paired {
			what = "existing and unknown"
		}
		for _, a := range answers[1:] {
			if a.String() != answers[0].String() {
				t.Errorf("%s answer differently:\n%s\n---\n%s", what, answers[0], a)
				break
			}
		}
	}
}

// checkSentToClient wants every answer to send the browser back to the
// client with temporarily_unavailable (RFC 6749, 4.1.2.1: try again later,
// not server_error), naming no cause, within the bound, all byte for byte
// the same.
func checkSentToClient(t *testing.T, answers []publicAnswer, took []time.Duration) {
	t.Helper()
	for i, a := range answers {
		if took[i] > faultAnswerBound {
			t.Errorf("answer %d came after %v, want within %v", i, took[i].Round(time.Millisecond), faultAnswerBound)
		}
		loc, _ := url.Parse(a.header.Get("Location"))
		q := url.Values{}
		if loc != nil {
			q = loc.Query()
		}
		if a.status/100 != 3 || loc == nil || !strings.HasPrefix(loc.String(), surfaceRedirect+"?") ||
			q.Get("error") != "temporarily_unavailable" || q.Get("error_description") != "The service is temporarily unavailable." {
			t.Errorf("answer %d: %d to %q, want a redirect to the client with temporarily_unavailable:\n%s", i, a.status, a.header.Get("Location"), a)
		}
	}
	if !allSame(answers) {
		t.Errorf("the answers differ:\n%s\n---\n%s", answers[0], answers[len(answers)-1])
	}
}

func allSame(answers []publicAnswer) bool {
	for _, a := range answers[1:] {
		if a.String() != answers[0].String() {
			return false
		}
	}
	return true
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// medianDuration returns the median of ds (the upper one of an even count).
func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func (f *surfaceVeil) surfaces() []faultSurface {
	return []faultSurface{
		{name: "oidc authorize", burst: 5, prepare: f.oidcAuthorize, after: f.oidcFlow, toClient: true},
		{name: "oidc token", burst: 5, prepare: f.oidcToken, after: f.oidcFlow},
		{name: "totp second step", burst: 5, prepare: f.totpStep, after: f.totpSignIn},
		{name: "passkey options", burst: 5, prepare: f.passkeyOptions, after: f.passkeyOptionsWork},
		{name: "passkey finish", burst: 5, prepare: f.passkeyFinish, after: f.passkeyFinishRefused},
		{name: "email change", burst: 2, waves: 2, prepare: f.emailChange, after: f.emailChangeFlow},
		{name: "email change confirm", burst: 2, waves: 2, prepare: f.emailConfirm, after: f.emailChangeFlow},
		{name: "login code", burst: 2, waves: 2, prepare: f.loginCode, after: f.loginCodeFlow},
		{name: "login code confirm", burst: 5, prepare: f.loginCodeConfirm, after: f.loginCodeFlow},
		{name: "forward-auth groups", burst: 5, prepare: f.forwardAuth, after: f.forwardAuthWorks},
	}
}

// oauthConfig is the wiki client's OAuth configuration at veil.
func (f *surfaceVeil) oauthConfig() *oauth2.Config {
	return &oauth2.Config{ClientID: f.clientID, ClientSecret: f.clientSecret, RedirectURL: surfaceRedirect, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: f.issuer + "/oidc/authorize", TokenURL: f.issuer + "/oidc/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// signedInBrowser returns a browser with alice's session.
func (f *surfaceVeil) signedInBrowser(t *testing.T) *oidctest.Browser {
	t.Helper()
	b := oidctest.NewBrowser(t)
	b.Timeout = faultAnswerBound + 5*time.Second
	page := b.Get(f.issuer + "/login")
	if p := b.SignInForm(page, f.alice, surfacePassword); p.Status >= 400 {
		t.Fatalf("sign-in form: %d\n%s", p.Status, p.Body)
	}
	return b
}

// authorizeCode runs the authorize step in b and returns the code.
func (f *surfaceVeil) authorizeCode(t *testing.T, b *oidctest.Browser, verifier string) string {
	t.Helper()
	back := b.Get(f.oauthConfig().AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))).RedirectedTo(t)
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back)
	}
	return code
}

// tokenRequest is the client's token exchange of code.
func (f *surfaceVeil) tokenRequest(t *testing.T, code, verifier string) *http.Request {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {surfaceRedirect}, "code_verifier": {verifier}}
	req := f.request(t, "POST", f.issuer+"/oidc/token", "application/x-www-form-urlencoded", form.Encode())
	req.SetBasicAuth(f.clientID, f.clientSecret)
	return req
}

func (f *surfaceVeil) oidcAuthorize(t *testing.T) (func() *http.Request, func() *http.Request) {
	b := f.signedInBrowser(t)
	cookies := b.Jar.Cookies(mustURL(t, f.issuer))
	auth := f.oauthConfig().AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	return func() *http.Request {
		req := f.request(t, "GET", auth, "", "")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return req
	}, nil
}

func (f *surfaceVeil) oidcToken(t *testing.T) (func() *http.Request, func() *http.Request) {
	verifier := oauth2.GenerateVerifier()
	code := f.authorizeCode(t, f.signedInBrowser(t), verifier)
	bogus := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, len(code)*3/4))
	return func() *http.Request { return f.tokenRequest(t, code, verifier) },
		func() *http.Request { return f.tokenRequest(t, bogus, verifier) }
}

// oidcFlow runs a whole authorize and token exchange.
func (f *surfaceVeil) oidcFlow(t *testing.T) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := f.authorizeCode(t, f.signedInBrowser(t), verifier)
	a := mustSend(t, f.tokenRequest(t, code, verifier), http.StatusOK)
	if !strings.Contains(a.body, `"id_token"`) {
		t.Errorf("token exchange after the store healed: %s", a.body)
	}
}

// pendingSecondFactor signs tina in up to the second step and returns the
// pending cookie.
func (f *surfaceVeil) pendingSecondFactor(t *testing.T) string {
	t.Helper()
	res, body := httpDo(t, "POST", f.v.url+"/api/login", "application/json", loginJSONBody(f.tina, surfacePassword), "")
	pending := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	if res.StatusCode != 200 || !strings.Contains(body, "second_factor_required") || !strings.Contains(pending, "veil_pending=") {
		t.Fatalf("sign-in with a factor: %d %s (%s)", res.StatusCode, body, pending)
	}
	return pending
}

func (f *surfaceVeil) totpStep(t *testing.T) (func() *http.Request, func() *http.Request) {
	pending := f.pendingSecondFactor(t)
	// The previous step's code: still accepted, and not the one after
	// uses, should a stalled attempt have marked its step used.
	code, _ := veil.TOTPCode(f.totpSecret, time.Now().Add(-30*time.Second))
	body := `{"code":"` + code + `"}`
	// No identifier is involved: the pending cookie is signed, and a
	// forged one is turned away before the store is asked.
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/login/second-factor", "application/json", body, pending)
	}, nil
}

// totpSignIn signs tina in with her authenticator app, with the code of a
// time step after the last one she used: veil takes each step once, and
// the rounds of the two fault modes can fall within one 30-second step.
func (f *surfaceVeil) totpSignIn(t *testing.T) {
	t.Helper()
	pending := f.pendingSecondFactor(t)
	at := time.Now()
	if !f.totpUsed.IsZero() && at.Unix()/30 <= f.totpUsed.Unix()/30 {
		at = f.totpUsed.Add(30 * time.Second) // the next step: within the drift veil allows
	}
	f.totpUsed = at
	code, _ := veil.TOTPCode(f.totpSecret, at)
	a := mustSend(t, f.request(t, "POST", f.v.url+"/api/login/second-factor", "application/json", `{"code":"`+code+`"}`, pending), http.StatusOK)
	if !strings.Contains(a.body, f.tina) {
		t.Errorf("second step after the store healed: %s", a.body)
	}
}

func (f *surfaceVeil) passkeyOptionsRequest(t *testing.T, identifier string) func() *http.Request {
	body, _ := json.Marshal(map[string]string{"identifier": identifier})
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/passkey/login/options", "application/json", string(body))
	}
}

func (f *surfaceVeil) passkeyOptions(t *testing.T) (func() *http.Request, func() *http.Request) {
	return f.passkeyOptionsRequest(t, f.alice), f.passkeyOptionsRequest(t, "nobody@example.com")
}

// passkeyOptionsWork wants passkey options for alice.
func (f *surfaceVeil) passkeyOptionsWork(t *testing.T) {
	t.Helper()
	if a := mustSend(t, f.passkeyOptionsRequest(t, f.alice)(), http.StatusOK); !strings.Contains(a.body, `"challenge"`) {
		t.Errorf("passkey options after the store healed: %s", a.body)
	}
}

var passkeyChallengeRE = regexp.MustCompile(`"challenge":"([A-Za-z0-9_-]+)"`)

func (f *surfaceVeil) passkeyFinish(t *testing.T) (func() *http.Request, func() *http.Request) {
	challenge := func(identifier string) string {
		a := mustSend(t, f.passkeyOptionsRequest(t, identifier)(), http.StatusOK)
		m := passkeyChallengeRE.FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("no challenge in %s", a.body)
		}
		return m[1]
	}
	// Each credential ID its own throttle subject, as each identifier.
	finish := func(challenge string, id byte) func() *http.Request {
		body := veiltest.ForgedPasskeyAssertion(f.issuer, challenge, bytes.Repeat([]byte{id}, 16))
		return func() *http.Request {
			return f.request(t, "POST", f.v.url+"/api/passkey/login/finish", "application/json", body)
		}
	}
	return finish(challenge(f.alice), 3), finish(challenge("nobody@example.com"), 4)
}

// passkeyFinishRefused wants the forged assertion of the stall refused
// with the one 401, not the 429 it would get had the stall's failures on
// its credential been counted.
func (f *surfaceVeil) passkeyFinishRefused(t *testing.T) {
	t.Helper()
	a := mustSend(t, f.passkeyOptionsRequest(t, f.alice)(), http.StatusOK)
	m := passkeyChallengeRE.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no challenge in %s", a.body)
	}
	body := veiltest.ForgedPasskeyAssertion(f.issuer, m[1], bytes.Repeat([]byte{3}, 16))
	mustSend(t, f.request(t, "POST", f.v.url+"/api/passkey/login/finish", "application/json", body), http.StatusUnauthorized)
}

// emailChangeRequest is erin's request to move to address.
func (f *surfaceVeil) emailChangeRequest(t *testing.T, session, address string) func() *http.Request {
	body, _ := json.Marshal(map[string]string{"email": address, "password": surfacePassword})
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/account/email", "application/json", string(body), session)
	}
}

func (f *surfaceVeil) emailChange(t *testing.T) (func() *http.Request, func() *http.Request) {
	session := mustSessionCookie(t, f.v.url, f.erin, surfacePassword)
	return f.emailChangeRequest(t, session, "taken@example.com"), f.emailChangeRequest(t, session, "free-"+randomHex(4)+"@example.com")
}

// requestEmailChange asks to move erin to a new address and returns it
// and the confirmation link's token.
func (f *surfaceVeil) requestEmailChange(t *testing.T) (string, string) {
	t.Helper()
	to := "erin-" + randomHex(4) + "@example.com"
	session := mustSessionCookie(t, f.v.url, f.erin, surfacePassword)
	mustSend(t, f.emailChangeRequest(t, session, to)(), http.StatusAccepted)
	link, err := url.Parse(waitForMailLink(t, f.v, to, "/account/email/confirm"))
	if err != nil {
		t.Fatal(err)
	}
	return to, link.Query().Get("token")
}

func (f *surfaceVeil) confirmRequest(t *testing.T, token string) func() *http.Request {
	body, _ := json.Marshal(map[string]string{"token": token})
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/account/email/confirm", "application/json", string(body))
	}
}

func (f *surfaceVeil) emailConfirm(t *testing.T) (func() *http.Request, func() *http.Request) {
	_, token := f.requestEmailChange(t)
	bogus := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{5}, len(token)*3/4))
	return f.confirmRequest(t, token), f.confirmRequest(t, bogus)
}

// emailChangeFlow moves erin to a new address by its link.
func (f *surfaceVeil) emailChangeFlow(t *testing.T) {
	t.Helper()
	to, token := f.requestEmailChange(t)
	mustSend(t, f.confirmRequest(t, token)(), http.StatusOK)
	f.erin = to
}

func (f *surfaceVeil) loginCodeRequest(t *testing.T, email string) func() *http.Request {
	body, _ := json.Marshal(map[string]string{"email": email})
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/login/code", "application/json", string(body))
	}
}

func (f *surfaceVeil) loginCode(t *testing.T) (func() *http.Request, func() *http.Request) {
	f.codeWho, f.codeAccounts = f.codeAccounts[0], append(f.codeAccounts[1:], f.codeAccounts[0])
	return f.loginCodeRequest(t, f.codeWho), f.loginCodeRequest(t, "nobody@example.com")
}

func (f *surfaceVeil) codeConfirmRequest(t *testing.T, email, code string) func() *http.Request {
	body, _ := json.Marshal(map[string]string{"email": email, "code": code})
	return func() *http.Request {
		return f.request(t, "POST", f.v.url+"/api/login/code/confirm", "application/json", string(body))
	}
}

// mailedCodes returns the sign-in codes in the dev mailbox for email.
func (f *surfaceVeil) mailedCodes(t *testing.T, email string) map[string]bool {
	t.Helper()
	codes := map[string]bool{}
	for _, m := range devMails(t, f.v) {
		if m.To == email && strings.Contains(m.Subject, "sign-in code") {
			if c := mailCodeRE.FindStringSubmatch(m.Text); c != nil {
				codes[c[1]] = true
			}
		}
	}
	return codes
}

// mailedCode asks for a sign-in code for the round's account and returns
// it.
func (f *surfaceVeil) mailedCode(t *testing.T) string {
	t.Helper()
	before := f.mailedCodes(t, f.codeWho)
	mustSend(t, f.loginCodeRequest(t, f.codeWho)(), http.StatusAccepted)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for c := range f.mailedCodes(t, f.codeWho) {
			if !before[c] {
				return c
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no new sign-in code for %s within 20s", f.codeWho)
	return ""
}

func (f *surfaceVeil) loginCodeConfirm(t *testing.T) (func() *http.Request, func() *http.Request) {
	f.codeWho, f.codeAccounts = f.codeAccounts[0], append(f.codeAccounts[1:], f.codeAccounts[0])
	code := f.mailedCode(t)
	return f.codeConfirmRequest(t, f.codeWho, code), f.codeConfirmRequest(t, "nobody@example.com", code)
}

// loginCodeFlow signs the round's account in with a fresh mailed code.
func (f *surfaceVeil) loginCodeFlow(t *testing.T) {
	t.Helper()
	mustSend(t, f.codeConfirmRequest(t, f.codeWho, f.mailedCode(t))(), http.StatusOK)
}

func (f *surfaceVeil) forwardAuthRequest(t *testing.T, session string) func() *http.Request {
	return func() *http.Request {
		req := f.request(t, "GET", f.v.url+"/api/forward-auth", "", "", session)
		req.Header.Set("X-Original-URL", "https://admin.example.com/x")
		return req
	}
}

func (f *surfaceVeil) forwardAuth(t *testing.T) (func() *http.Request, func() *http.Request) {
	session := mustSessionCookie(t, f.v.url, f.alice, surfacePassword)
	name, _, _ := strings.Cut(session, "=")
	bogus := name + "=" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	return f.forwardAuthRequest(t, session), f.forwardAuthRequest(t, bogus)
}

// forwardAuthWorks wants alice let in to the admins' app.
func (f *surfaceVeil) forwardAuthWorks(t *testing.T) {
	t.Helper()
	session := mustSessionCookie(t, f.v.url, f.alice, surfacePassword)
	a := mustSend(t, f.forwardAuthRequest(t, session)(), http.StatusOK)
	if !strings.Contains(a.header.Get("Remote-Groups"), "admins") {
		t.Errorf("forward-auth after the store healed: Remote-Groups %q, want admins", a.header.Get("Remote-Groups"))
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
