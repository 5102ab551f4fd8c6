package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
)

const (
	goodPassword  = "correct horse battery staple"
	wrongPassword = "Tr0ub4dor&3 is not it"
)

// accountStates creates one account in each state a sign-in must not
// reveal, and returns the requests to compare: every one must fail with
// the same bytes as the unknown identifier.
func accountStates(tb testing.TB, ts *testServer) []struct{ name, identifier, password string } {
	tb.Helper()
	ctx := context.Background()
	ts.mustAddAccount(tb, "alice@example.com", goodPassword)
	ts.mustAddAccount(tb, "dora@example.com", goodPassword)
	if _, err := ts.service.SetDisabled(ctx, "dora@example.com", true); err != nil {
		tb.Fatal(err)
	}
	older, err := password.New(password.Config{Params: password.Params{Memory: 512, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	oldHash, err := older.HashPassword(ctx, goodPassword)
	if err != nil {
		tb.Fatal(err)
	}
	mustImport(tb, ts, "olga@example.com", oldHash)
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	mustImport(tb, ts, "bert@example.com", string(bcryptHash))
	return []struct{ name, identifier, password string }{
		{"unknown identifier", "nobody@example.com", wrongPassword},
		{"wrong password", "alice@example.com", wrongPassword},
		{"wrong password, other spelling", " ALICE@Example.com ", wrongPassword},
		{"disabled, wrong password", "dora@example.com", wrongPassword},
		{"disabled, correct password", "dora@example.com", goodPassword},
		{"older argon2id cost, wrong password", "olga@example.com", wrongPassword},
		{"bcrypt import, wrong password", "bert@example.com", wrongPassword},
		{"unknown identifier, the real password of another", "nobody2@example.com", goodPassword},
	}
}

// mustImport stores an account with a hash made elsewhere, as an import of
// users from another system would.
func mustImport(tb testing.TB, ts *testServer, email, hash string) {
	tb.Helper()
	id, err := veil.NormalizeIdentifier(email)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	if err := ts.db.CreateAccount(context.Background(), &veil.Account{ID: veil.NewAccountID(), Email: id, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
}

// TestLoginFailuresAreIdentical is the pair test of invariant 1: for every
// account state, the JSON API and the HTML form answer with the same status,
// headers (Date aside), cookies and body as for an unknown identifier.
func TestLoginFailuresAreIdentical(t *testing.T) {
	ts := MustOpenServer(t)
	states := accountStates(t, ts)
	for _, via := range []struct {
		name   string
		login  func(testing.TB, string, string) answer
		golden string
	}{
		{"json", ts.loginJSON, "login_failure.json.golden"},
		{"form", ts.loginForm, "login_failure.html.golden"},
	} {
		t.Run(via.name, func(t *testing.T) {
			want := via.login(t, states[0].identifier, states[0].password)
			if want.status != http.StatusUnauthorized {
				t.Fatalf("unknown identifier: status %d, want 401", want.status)
			}
			if len(want.header.Values("Set-Cookie")) != 0 {
				t.Errorf("a failed sign-in sets a cookie: %q", want.header.Values("Set-Cookie"))
			}
			golden(t, via.golden, dump(want))
			for _, st := range states[1:] {
				got := via.login(t, st.identifier, st.password)
				if d := diffEchoing(t, got, st.identifier, want, states[0].identifier); d != "" {
					t.Errorf("%s: answer differs from an unknown identifier's: %s", st.name, d)
				}
			}
		})
	}
}

// dump renders an answer for a golden file: status, sorted headers, body.
func dump(a answer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", a.status)
	keys := make([]string, 0, len(a.header))
	for k := range a.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range a.header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n" + a.body)
	return b.String()
}

// diffAnswers says how two answers differ, or "" if they are identical.
func diffAnswers(got, want answer) string {
	if got.status != want.status {
		return fmt.Sprintf("status %d vs %d", got.status, want.status)
	}
	if g, w := dump(got), dump(want); g != w {
		return fmt.Sprintf("\n--- got\n%s\n--- want\n%s", g, w)
	}
	return ""
}

func TestLoginSuccess(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	got := ts.loginJSON(t, "Alice@Example.com", goodPassword)
	if got.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", got.status, got.body)
	}
	cookies := got.header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie = %q, want one session cookie", cookies)
	}
	for _, attr := range []string{"veil_session=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(cookies[0], attr) {
			t.Errorf("session cookie %q lacks %s", cookies[0], attr)
		}
	}
	if !strings.Contains(got.body, `"email":"alice@example.com"`) {
		t.Errorf("body %s does not show the signed-in account", got.body)
	}
}

func TestSecureCookie(t *testing.T) {
	ts := MustOpenServer(t, func(c *webConfig, _ *password.Config, _ *veil.ServiceConfig) { c.SecureCookies = true })
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	got := ts.loginJSON(t, "alice@example.com", goodPassword)
	c := got.header.Get("Set-Cookie")
	if !strings.HasPrefix(c, "__Host-veil_session=") || !strings.Contains(c, "Secure") {
		t.Errorf("Set-Cookie = %q, want a Secure __Host- cookie", c)
	}
}

// TestLoginRehashesOlderHashes checks that a correct password on a hash made
// under an older policy signs in and replaces the hash.
func TestLoginRehashesOlderHashes(t *testing.T) {
	ts := MustOpenServer(t)
	accountStates(t, ts)
	ctx := context.Background()
	for _, email := range []string{"olga@example.com", "bert@example.com"} {
		if got := ts.loginJSON(t, email, goodPassword); got.status != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", email, got.status)
		}
		id, _ := veil.NormalizeIdentifier(email)
		acct, err := ts.db.FindAccountByIdentifier(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		match, stale, err := ts.hasher.VerifyPassword(ctx, acct.PasswordHash, goodPassword)
		if !match || stale || err != nil {
			t.Errorf("%s: after sign-in the hash verifies match=%v stale=%v err=%v; want a current-policy hash", email, match, stale, err)
		}
	}
}

// TestTimeFloor checks that a sign-in answer never leaves before the floor,
// and that a request which never reaches the password check (a syntax
// error: its answer depends only on the input) is not held to it.
func TestTimeFloor(t *testing.T) {
	const floor = 300 * time.Millisecond
	ts := MustOpenServer(t, func(c *webConfig, _ *password.Config, _ *veil.ServiceConfig) { c.Floor = newFixedFloor(floor) })
	for _, req := range []func(){
		func() { ts.loginJSON(t, "nobody@example.com", wrongPassword) },
		func() { ts.loginForm(t, "nobody@example.com", wrongPassword) },
	} {
		start := time.Now()
		req()
		if took := time.Since(start); took < floor {
			t.Errorf("answered after %v, before the floor of %v", took, floor)
		}
	}
	start := time.Now()
	ts.do(t, "POST", "/api/login", "application/json", "{")
	if took := time.Since(start); took >= floor {
		t.Errorf("a malformed body was held %v, to the sign-in floor of %v", took, floor)
	}
}

// TestOverloadIsTheSameForEveryone fills a hashing pool of one with no
// queue and checks that the overflow gets one 503 answer for known and
// unknown identifiers alike.
func TestOverloadIsTheSameForEveryone(t *testing.T) {
	ts := MustOpenServer(t, func(_ *webConfig, p *password.Config, _ *veil.ServiceConfig) {
		p.Params = password.DefaultParams
		p.Concurrency, p.Queue = 1, -1
	})
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	const n = 12
	answers := make(chan answer, n)
	for i := range n {
		id := "nobody@example.com"
		if i%2 == 0 {
			id = "alice@example.com"
		}
		go func() { answers <- ts.loginJSON(t, id, wrongPassword) }()
	}
	var overloaded []answer
	for range n {
		a := <-answers
		switch a.status {
		case http.StatusServiceUnavailable:
			overloaded = append(overloaded, a)
		case http.StatusUnauthorized:
		default:
			t.Errorf("status %d under overload, want 401 or 503", a.status)
		}
	}
	if len(overloaded) == 0 {
		t.Fatal("12 concurrent sign-ins never overflowed a pool of one without a queue")
	}
	for _, a := range overloaded {
		if a.header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		if d := diffAnswers(a, overloaded[0]); d != "" {
			t.Errorf("overload answers differ: %s", d)
		}
	}
}
