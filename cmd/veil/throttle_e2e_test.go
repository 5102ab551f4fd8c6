package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make the test's schema

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// answer is one JSON answer of a veil instance.
type answer struct {
	status     int
	retryAfter string
	challenge  *veil.Challenge
	cookies    []string
}

func loginAt(tb testing.TB, baseURL, identifier, pw, proof, cookie string) answer {
	tb.Helper()
	body := map[string]string{"identifier": identifier, "password": pw}
	if proof != "" {
		body["proof"] = proof
	}
	b, _ := json.Marshal(body)
	res, text := httpDo(tb, "POST", baseURL+"/api/login", "application/json", string(b), cookie)
	a := answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	for _, c := range res.Header.Values("Set-Cookie") {
		a.cookies = append(a.cookies, strings.SplitN(c, ";", 2)[0])
	}
	var parsed struct {
		Challenge *struct {
			Token      string `json:"token"`
			Difficulty int    `json:"difficulty"`
		} `json:"challenge"`
	}
	if json.Unmarshal([]byte(text), &parsed) == nil && parsed.Challenge != nil {
		a.challenge = &veil.Challenge{Token: parsed.Challenge.Token, Difficulty: parsed.Challenge.Difficulty}
	}
	return a
}

// TestTwoInstances runs two `veil serve` on one PostgreSQL schema and one
// Redis: failures counted on one are seen by the other, a proof-of-work
// slow lane taken on one is taken on both, a lockout reached through one
// holds on both, a session made on one is valid on the other, and the
// device cookie one issued gets past the lockout on the other.
func TestTwoInstances(t *testing.T) {
	redisURL := veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
	dsn := postgrestest.MustCreate(t).DSN
	vars := map[string]string{
		"VEIL_PASSWORD_MEMORY_KIB":                 "1024",
		"VEIL_PASSWORD_ITERATIONS":                 "1",
		"VEIL_LOGIN_FLOOR":                         "20ms",
		"VEIL_STORE_DRIVER":                        "postgres",
		"VEIL_STORE_DSN":                           dsn,
		"VEIL_THROTTLE_STORE":                      "redis",
		"VEIL_THROTTLE_REDIS_URL":                  redisURL,
		"VEIL_THROTTLE_REDIS_PREFIX":               "veil-test:" + randomHex(6) + ":",
		"VEIL_THROTTLE_ON_STORE_ERROR":             "closed",
		"VEIL_THROTTLE_POW_DIFFICULTY":             "8",
		"VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER": "2",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER":     "4",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_FOR":       "10m",
	}
	code, out, errOut := runMain(t, testEnv(vars), "correct horse battery staple\n", "user", "add", "--data-dir", t.TempDir(), "alice@example.com")
	if code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	// Two processes of the real binary, as an operator would run them.
	_, a := startVeilProcess(t, env, t.TempDir())
	_, b := startVeilProcess(t, env, t.TempDir())

	ok := loginAt(t, a, "alice@example.com", "correct horse battery staple", "", "")
	if ok.status != 200 || len(ok.cookies) != 2 {
		t.Fatalf("sign-in on A: %d, cookies %q; want 200 with a session and a device cookie", ok.status, ok.cookies)
	}
	session, device := ok.cookies[0], ok.cookies[1]
	if !strings.HasPrefix(session, "veil_session=") {
		session, device = device, session
	}
	if res, _ := httpDo(t, "GET", b+"/api/session", "", "", session); res.StatusCode != 200 {
		t.Errorf("the session made on A answers %d on B, want 200", res.StatusCode)
	}

	steps := []struct {
		name       string
		on         string
		solve      bool
		wantStatus int
		wantChal   bool
	}{
		{"failure on A", a, false, 401, false},
		{"failure on B: the second, so a challenge", b, false, 401, true},
		{"unsolved on A: the slow lane", a, false, 401, true},
		{"unsolved on B: the slow lane A took", b, false, 429, true},
		{"solved on B: the fourth failure blocks", b, true, 401, false},
		{"blocked on A", a, false, 429, false},
		{"blocked on B", b, false, 429, false},
	}
	var chal *veil.Challenge
	for _, st := range steps {
		proof := ""
		if st.solve {
			proof = throttle.Solve(chal)
		}
		got := loginAt(t, st.on, "alice@example.com", "wrong password!", proof, "")
		if got.status != st.wantStatus || (got.challenge != nil) != st.wantChal {
			t.Fatalf("%s: %d, challenge %v; want %d, %v", st.name, got.status, got.challenge != nil, st.wantStatus, st.wantChal)
		}
		if got.status == 429 && !st.wantChal && got.retryAfter != "600" {
			t.Errorf("%s: Retry-After %q, want 600", st.name, got.retryAfter)
		}
		if got.challenge != nil {
			chal = got.challenge
		}
	}
	if got := loginAt(t, b, "alice@example.com", "correct horse battery staple", "", ""); got.status != http.StatusTooManyRequests {
		t.Errorf("the right password without a device cookie on B: %d, want 429 (the lockout)", got.status)
	}
	if got := loginAt(t, b, "alice@example.com", "correct horse battery staple", "", device); got.status != 200 {
		t.Errorf("the right password with A's device cookie on B: %d, want 200", got.status)
	}
}
