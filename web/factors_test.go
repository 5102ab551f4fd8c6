package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

var testFactorKey = veil.FactorKey(bytes.Repeat([]byte{9}, veil.FactorKeySize))

// mustEnrolTOTP turns on an authenticator app for acct through the core
// and returns its secret.
func (ts *testServer) mustEnrolTOTP(tb testing.TB, acct *veil.Account) string {
	tb.Helper()
	return ts.mustEnrolTOTPAt(tb, acct, time.Now())
}

// mustEnrolTOTPAt is mustEnrolTOTP for a server whose clock says now (a
// throttled server's is fake).
func (ts *testServer) mustEnrolTOTPAt(tb testing.TB, acct *veil.Account, now time.Time) string {
	tb.Helper()
	ctx := context.Background()
	e, err := ts.service.BeginTOTP(ctx, acct)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ts.service.ConfirmTOTP(ctx, acct, mustTOTPCode(tb, e.Secret, now.Add(-30*time.Second)), veil.Client{}, ""); err != nil {
		tb.Fatal(err)
	}
	return e.Secret
}

func mustTOTPCode(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := veil.TOTPCode(secret, t)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestLoginFailuresAreIdenticalWithFactors: a wrong password on an account
// with an authenticator app answers byte for byte like an unknown address,
// on the API and the form; only the right password reaches the second step.
func TestLoginFailuresAreIdenticalWithFactors(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustEnrolTOTP(t, ts.mustAddAccount(t, "tom@example.com", goodPassword))
	for name, login := range map[string]func(testing.TB, string, string) answer{"json": ts.loginJSON, "form": ts.loginForm} {
		want := login(t, "nobody@example.com", wrongPassword)
		got := login(t, "tom@example.com", wrongPassword)
		if d := diffEchoing(t, got, "tom@example.com", want, "nobody@example.com"); d != "" {
			t.Errorf("%s: wrong password with TOTP differs from unknown: %s", name, d)
		}
	}
	got := ts.loginJSON(t, "tom@example.com", goodPassword)
	if got.status != http.StatusOK || got.body != `{"status":"second_factor_required","methods":["totp","recovery_code"]}`+"\n" {
		t.Errorf("right password: %d %s, want 200 second_factor_required", got.status, got.body)
	}
	cookies := strings.Join(got.header.Values("Set-Cookie"), "\n")
	if strings.Contains(cookies, "veil_session=") || strings.Contains(cookies, "veil_device=") || !strings.Contains(cookies, "veil_pending=") {
		t.Errorf("right password sets %q; want only the pending cookie", cookies)
	}
	if !strings.Contains(cookies, "SameSite=Strict") || !strings.Contains(cookies, "HttpOnly") {
		t.Errorf("pending cookie %q is not HttpOnly and SameSite=Strict", cookies)
	}
}

// client is a browser-like client with a cookie jar that does not follow
// redirects.
func (ts *testServer) client(tb testing.TB) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(tb testing.TB, c *http.Client, u, contentType, body string) (int, http.Header, string) {
	tb.Helper()
	res, err := c.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, res.Header, b.String()
}

func TestSecondFactorAPI(t *testing.T) {
	ts := MustOpenServer(t)
	secret := ts.mustEnrolTOTP(t, ts.mustAddAccount(t, "tom@example.com", goodPassword))
	c := ts.client(t)
	api := func(path string, kv ...string) (int, string) {
		st, _, body := post(t, c, ts.URL+path, "application/json", jsonBody(kv...))
		return st, body
	}
	if st, body := api("/api/login/second-factor", "code", "123456"); st != http.StatusUnauthorized || !strings.Contains(body, `"invalid_code"`) {
		t.Errorf("second factor without a pending sign-in: %d %s", st, body)
	}
	if st, _ := api("/api/login", "identifier", "tom@example.com", "password", goodPassword); st != http.StatusOK {
		t.Fatalf("password step: %d", st)
	}
	for _, bad := range [][]string{{}, {"code", "12"}, {"code", "123456", "recovery_code", "aaaa-bbbb-cccc"}, {"recovery_code", "nope"}, {"code", "123456", "extra", "x"}} {
		if st, body := api("/api/login/second-factor", bad...); st != http.StatusBadRequest || !strings.Contains(body, `"invalid_request"`) {
			t.Errorf("second factor %q: %d %s, want 400 invalid_request", bad, st, body)
		}
	}
	code := mustTOTPCode(t, secret, time.Now())
	st, body := api("/api/login/second-factor", "code", wrongDigits(code))
	if st != http.StatusUnauthorized || !strings.Contains(body, `"invalid_code"`) {
		t.Errorf("wrong code: %d %s, want 401 invalid_code", st, body)
	}
	st, body = api("/api/login/second-factor", "code", code, "return_to", "https://evil.example/")
	if st != http.StatusOK || !strings.Contains(body, `"email":"tom@example.com"`) || !strings.Contains(body, `"return_to":"/"`) {
		t.Fatalf("right code: %d %s", st, body)
	}
	res, err := c.Get(ts.URL + "/api/session")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("session after the second factor: %v %v", res.StatusCode, err)
	}
	// The pending cookie went with the success: the same code cannot
	// finish another sign-in on it.
	if st, _ := api("/api/login/second-factor", "code", code); st != http.StatusUnauthorized {
		t.Errorf("second factor after success: %d, want 401", st)
	}
}

var (
	recoveryCodeRE = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
	secretRE       = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
)

// TestFactorPagesWithoutJavaScript enrols an authenticator app through the
// security pages and signs in with a code and with a recovery code, all
// with plain form posts.
func TestFactorPagesWithoutJavaScript(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "tom@example.com", goodPassword)
	c := ts.client(t)
	form := func(path string, kv ...string) (int, http.Header, string) {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return post(t, c, ts.URL+path, "application/x-www-form-urlencoded", v.Encode())
	}
	if st, _, _ := form("/login", "identifier", "tom@example.com", "password", goodPassword); st != http.StatusSeeOther {
		t.Fatalf("sign-in without factors: %d", st)
	}
	if !strings.Contains(get(t, c, ts.URL+"/"), `href="/account/security"`) {
		t.Errorf("account page does not link the security page")
	}
	st, hdr, page := form("/account/security/totp")
	m := secretRE.FindStringSubmatch(page)
	if st != http.StatusOK || m == nil || !strings.Contains(page, "<svg") {
		t.Fatalf("enrolment page: %d, no secret or QR code:\n%s", st, page)
	}
	if csp := hdr.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || strings.Contains(csp, "data:") {
		t.Errorf("enrolment page CSP %q is not the strict one", csp)
	}
	secret := m[1]
	if st, _, page := form("/account/security/totp/confirm", "code", wrongDigits(mustTOTPCode(t, secret, time.Now()))); st != http.StatusUnauthorized || !strings.Contains(page, secret) {
		t.Errorf("wrong confirmation code: %d, want 401 and the same QR code again", st)
	}
	st, _, page = form("/account/security/totp/confirm", "code", mustTOTPCode(t, secret, time.Now().Add(-30*time.Second)))
	codes := recoveryCodeRE.FindAllStringSubmatch(page, -1)
	if st != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirmation: %d, %d recovery codes:\n%s", st, len(codes), page)
	}
	form("/logout")

	// Sign in: password, then the code.
	st, hdr, page = form("/login", "identifier", "tom@example.com", "password", goodPassword, "rd", "https://evil.example/")
	if st != http.StatusOK || !strings.Contains(page, `action="/login/second-factor"`) || strings.Contains(strings.Join(hdr.Values("Set-Cookie"), ";"), "veil_session=") {
		t.Fatalf("password step: %d, want the second-factor page and no session:\n%s", st, page)
	}
	if st, _, _ := form("/login/second-factor", "code", wrongDigits(mustTOTPCode(t, secret, time.Now()))); st != http.StatusUnauthorized {
		t.Errorf("wrong code: %d, want 401", st)
	}
	st, hdr, _ = form("/login/second-factor", "code", mustTOTPCode(t, secret, time.Now()))
	if st != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("right code: %d to %q, want 303 to /", st, hdr.Get("Location"))
	}
	form("/logout")

	// And with a recovery code.
	form("/login", "identifier", "tom@example.com", "password", goodPassword)
	if st, _, _ := form("/login/second-factor", "recovery_code", strings.ToUpper(codes[0][1])); st != http.StatusSeeOther {
		t.Fatalf("recovery code: %d, want 303", st)
	}
	if page := get(t, c, ts.URL+"/account/security"); !strings.Contains(page, "9 unused recovery codes") {
		t.Errorf("security page after using a recovery code:\n%s", page)
	}
	// Turning the app off needs a code.
	if st, _, _ := form("/account/security/totp/remove", "code", codes[0][1]); st != http.StatusUnauthorized {
		t.Errorf("remove with a used recovery code: %d, want 401", st)
	}
	if st, _, _ := form("/account/security/totp/remove", "code", codes[1][1]); st != http.StatusSeeOther {
		t.Errorf("remove with a recovery code: %d, want 303", st)
	}
}

func get(tb testing.TB, c *http.Client, u string) string {
	tb.Helper()
	res, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return b.String()
}

// wrongDigits is a six-digit code other than c.
func wrongDigits(c string) string {
	if c == "000000" {
		return "111111"
	}
	return "000000"
}
