package web_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/passkey"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/veiltest"
)

func withPasskeys(tb testing.TB) serverOption {
	cer, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{"http://localhost"}, DisplayName: "veil test"})
	if err != nil {
		tb.Fatal(err)
	}
	return func(_ *webConfig, _ *password.Config, sc *veil.ServiceConfig) {
		sc.Passkeys, sc.Ceremonies = sc.Factors.(veil.PasskeyStore), cer
	}
}

// mustStorePasskey gives acct a passkey with a 16-byte credential ID.
func (ts *testServer) mustStorePasskey(tb testing.TB, acct *veil.Account, credID string) {
	tb.Helper()
	p := &veil.Passkey{ID: veil.NewAccountID(), AccountID: acct.ID, CredentialID: []byte(credID), Name: "key", Credential: []byte("{}"), CreatedAt: time.Now()}
	if err := ts.db.CreatePasskey(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
}

var (
	challengeRE = regexp.MustCompile(`"challenge":"[A-Za-z0-9_-]+"`)
	credIDRE    = regexp.MustCompile(`"id":"([A-Za-z0-9_-]+)"`)
)

// blankOptions keeps of a passkey options answer what must be the same
// for everyone: the challenge is fresh each time, the credential IDs are
// each identifier's own; their count and lengths stay.
func blankOptions(a answer) answer {
	a.body = challengeRE.ReplaceAllString(a.body, `"challenge":"C"`)
	a.body = credIDRE.ReplaceAllStringFunc(a.body, func(m string) string { return `"id":"` + strings.Repeat("x", len(m)-8) + `"` })
	return a
}

// TestPasskeyOptionsPair is the pair test of POST /api/passkey/login/options:
// an account whose authenticator is absent, an account without passkeys and
// an unknown identifier get the same status, headers, cookies and body but
// for the challenge and the IDs themselves, which are stable per
// identifier.
func TestPasskeyOptionsPair(t *testing.T) {
	ts := MustOpenServer(t, withPasskeys(t))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	ts.mustAddAccount(t, "nell@example.com", goodPassword)
	options := func(id string) answer {
		return ts.do(t, "POST", "/api/passkey/login/options", "application/json", jsonBody("identifier", id))
	}
	want := options("kay@example.com")
	if want.status != http.StatusOK || !strings.Contains(want.body, `"publicKey"`) || !strings.Contains(want.body, `"allowCredentials"`) {
		t.Fatalf("options for an account with a passkey: %d %s", want.status, want.body)
	}
	for _, id := range []string{"nell@example.com", "nobody@example.com"} {
		got := options(id)
		if d := diffAnswers(blankOptions(got), blankOptions(want)); d != "" {
			t.Errorf("options for %s differ from an account whose authenticator is absent: %s", id, d)
		}
		if again := options(id); credIDRE.FindAllString(again.body, -1)[0] != credIDRE.FindAllString(got.body, -1)[0] {
			t.Errorf("options for %s: the decoy changed between requests", id)
		}
	}
	disc := ts.do(t, "POST", "/api/passkey/login/options", "application/json", "{}")
	if disc.status != http.StatusOK || strings.Contains(disc.body, "allowCredentials") {
		t.Errorf("discoverable options: %d %s", disc.status, disc.body)
	}
	for _, bad := range []string{`{"identifier":"not an address"}`, `{"identifier":1}`, `{"user":"x"}`, `[]`} {
		if a := ts.do(t, "POST", "/api/passkey/login/options", "application/json", bad); a.status != http.StatusBadRequest {
			t.Errorf("options %s: %d, want 400", bad, a.status)
		}
	}
}

// forgedAssertion is veiltest.ForgedPasskeyAssertion at the test
// server's origin.
func forgedAssertion(challenge string, credID []byte) string {
	return veiltest.ForgedPasskeyAssertion("http://localhost", challenge, credID)
}

// TestPasskeyFinishPair: the finish step fails alike for an account's
// real credential ID without its authenticator and for a decoy ID.
func TestPasskeyFinishPair(t *testing.T) {
	ts := MustOpenServer(t, withPasskeys(t))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	finish := func(id string, credID func(answer) []byte) answer {
		opts := ts.do(t, "POST", "/api/passkey/login/options", "application/json", jsonBody("identifier", id))
		challenge := strings.TrimSuffix(strings.TrimPrefix(challengeRE.FindString(opts.body), `"challenge":"`), `"`)
		return ts.do(t, "POST", "/api/passkey/login/finish", "application/json", forgedAssertion(challenge, credID(opts)))
	}
	firstID := func(a answer) []byte {
		b, _ := base64.RawURLEncoding.DecodeString(credIDRE.FindStringSubmatch(a.body)[1])
		return b
	}
	want := finish("kay@example.com", firstID)
	if want.status != http.StatusUnauthorized || !strings.Contains(want.body, `"invalid_credentials"`) {
		t.Fatalf("forged assertion for a real credential: %d %s", want.status, want.body)
	}
	if got := finish("nobody@example.com", firstID); diffAnswers(got, want) != "" {
		t.Errorf("forged assertion for a decoy differs: %s", diffAnswers(got, want))
	}
	// A challenge veil never gave out fails the same way.
	if got := ts.do(t, "POST", "/api/passkey/login/finish", "application/json", forgedAssertion("bm90LWEtY2hhbGxlbmdl", []byte("sixteen-byte-id!"))); diffAnswers(got, want) != "" {
		t.Errorf("unknown challenge differs: %s", diffAnswers(got, want))
	}
	for _, bad := range []string{`{}`, `{"credential":"x"}`, `{"credential":{}}`, `{"credential":{"id":"x"}}`} {
		if a := ts.do(t, "POST", "/api/passkey/login/finish", "application/json", bad); a.status != http.StatusBadRequest {
			t.Errorf("finish %s: %d %s, want 400", bad, a.status, a.body)
		}
	}
}

// FuzzFactorBodies sends arbitrary bodies to the second-factor and passkey
// endpoints: every answer is a clear 400 or the one 401, never a 500.
func FuzzFactorBodies(f *testing.F) {
	for _, seed := range []string{`{}`, `{"code":"123456"}`, `{"recovery_code":"abcd-efgh-2345"}`, `{"assertion":{}}`,
		`{"identifier":"a@example.com"}`, `{"credential":{"id":"AA","rawId":"AA","type":"public-key","response":{}}}`, "\xff", `{"code":null}`,
		`{"identifier":"a@example.com","proof":"2.AAAA.BBBB:0"}`, `{"proof":null}`, `{"proof":1}`} {
		f.Add(seed)
	}
	ts := MustOpenServer(f, withPasskeys(f))
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/login/second-factor", "/api/passkey/login/options", "/api/passkey/login/finish"} {
			a := ts.do(t, "POST", path, "application/json", body)
			switch a.status {
			case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized:
			default:
				t.Errorf("POST %s %q: %d %s", path, body, a.status, a.body)
			}
		}
	})
}
