package web_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
)

// The proof of work of a passkey sign-in: both steps take the "proof" of
// /api/login, bound by the throttle to the action, the step's subject
// (the identifier's keyed hash for options, the credential ID for the
// finish step) and the client's address, and good once.

// optionsWithProof asks for identifier-first passkey options from a
// client at from, with a proof if one is given.
func optionsWithProof(tb testing.TB, ts *throttledServer, identifier, from, proof string) answer {
	tb.Helper()
	kv := []string{"identifier", identifier}
	if proof != "" {
		kv = append(kv, "proof", proof)
	}
	return ts.do(tb, "POST", "/api/passkey/login/options", "application/json", jsonBody(kv...), "X-Forwarded-For", from)
}

// finishWithProof sends a finish step with body (an assertion, as
// finishBody or forgedAssertion make it) from a client at from, with a
// proof if one is given.
func finishWithProof(tb testing.TB, ts *throttledServer, body, from, proof string) answer {
	tb.Helper()
	if proof != "" {
		body = body[:len(body)-1] + `,"proof":` + quote(proof) + `}`
	}
	return ts.do(tb, "POST", "/api/passkey/login/finish", "application/json", body, "X-Forwarded-For", from)
}

// blankSized is blankOptions with the Content-Length of the blanked body,
// which walkPair checks against it: the real lengths are equal, since a
// WebAuthn challenge is of one size and the decoy IDs copy the real ones'.
func blankSized(a answer) answer {
	b := blankOptions(a)
	if b.body != a.body && a.header.Get("Content-Length") == strconv.Itoa(len(a.body)) {
		b.header = a.header.Clone()
		b.header.Set("Content-Length", strconv.Itoa(len(b.body)))
	}
	return b
}

// challengeIdentifier makes the two wrong-password sign-ins on identifier
// from from after which testThrottlePolicy asks its bucket for a proof.
func challengeIdentifier(tb testing.TB, ts *throttledServer, identifier, from string) {
	tb.Helper()
	for range 2 {
		if a := ts.attempt(tb, false, from, identifier, wrongPassword, ""); a.status != http.StatusUnauthorized {
			tb.Fatalf("wrong password for %s: %d %s", identifier, a.status, a.body)
		}
	}
}

// passkeyOptionsSteps is how identifier-first options go once the
// identifier asks for a proof: options check nothing and are released
// uncounted, so the ladder stops at the slow lane and the proof.
var passkeyOptionsSteps = []throttleStep{
	{"challenged: slow lane", false, 0, 200, "", false},
	{"challenged: slow lane taken", false, 0, 429, "15", true},
	{"solved", true, 0, 200, "", false},
}

// TestPasskeyOptionsChallengePair is the pair test of a challenged
// identifier-first passkey sign-in: an account with a passkey and an
// unknown identifier, each challenged by the same wrong passwords from
// its own address, get byte-identical options answers (tokens, WebAuthn
// challenges and IDs blanked) at every step — the slow lane, the 429
// with its challenge, the options on a solution — and a replayed
// solution, a solution of the other side's challenge (another identifier
// and address) and one spent from another address are refused alike.
// Before, the options took no proof: a challenged person waited for the
// slow lane.
func TestPasskeyOptionsChallengePair(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	who := []struct{ addr, identifier string }{{"198.51.100.1", "kay@example.com"}, {"198.51.100.2", "nobody@example.com"}}
	var spent [2]string
	send := func(i int, proof string) answer {
		if proof != "" {
			spent[i] = proof
		}
		return blankSized(optionsWithProof(t, ts, who[i].identifier, who[i].addr, proof))
	}
	for _, w := range who {
		challengeIdentifier(t, ts, w.identifier, w.addr)
	}
	ts.walkPair(t, passkeyOptionsSteps, [2]string{who[0].identifier, who[1].identifier}, send)

	// Refused: spent again, the other side's, from a third address.
	var fresh [2]*veil.Challenge
	for i := range who {
		fresh[i] = challengeIn(t, send(i, spent[i]))
	}
	if fresh[0] == nil || fresh[1] == nil {
		t.Fatal("a replayed proof got no fresh challenge")
	}
	cases := []struct {
		name  string
		send  func(i int) answer
		wantS int
	}{
		{"replayed proof", func(i int) answer { return send(i, spent[i]) }, 429},
		{"the other identifier's proof, from the other address", func(i int) answer { return send(i, throttle.Solve(fresh[1-i])) }, 429},
		{"its own proof from another address", func(i int) answer {
			return blankSized(optionsWithProof(t, ts, who[i].identifier, "203.0.113."+fmt.Sprint(i+1), throttle.Solve(fresh[i])))
		}, 429},
		{"its own proof", func(i int) answer { return send(i, throttle.Solve(fresh[i])) }, 200},
	}
	for _, tc := range cases {
		got := [2]answer{tc.send(0), tc.send(1)}
		if got[0].status != tc.wantS {
			t.Errorf("%s: %d %s, want %d", tc.name, got[0].status, got[0].body, tc.wantS)
		}
		if d := diffAnswers(masked(got[0]), masked(got[1])); d != "" {
			t.Errorf("%s: the account's answer differs from the unknown identifier's: %s", tc.name, d)
		}
	}
}

// TestPasskeyFinishChallengePair walks the finish step of a passkey
// sign-in through the sign-in ladder (checks, challenge, slow lane,
// solved, blocked) with forged assertions for an account's credential ID
// and for a decoy's, each from its own address: the answers are
// byte-identical (tokens masked) at every step, and a solution to the
// step's challenge is admitted. Before, the finish step took no proof:
// the solved step was answered 429.
func TestPasskeyFinishChallengePair(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	p := passkeyAttempt{ts.testServer}
	who := []struct{ addr, credID string }{{"198.51.100.1", "sixteen-byte-id!"}, {"198.51.100.2", "not-a-passkey-id"}}
	ts.walkPair(t, signInThrottleSteps, [2]string{}, func(i int, proof string) answer {
		return finishWithProof(t, ts, forgedAssertion(p.challenge(t, ""), []byte(who[i].credID)), who[i].addr, proof)
	})
}

// TestChallengedPasskeySignIn: a stranger's forged assertions have her
// credential challenged; from a browser of her own without a device
// cookie, her passkey's finish step is answered 429 with a challenge,
// solved here by the server's solver, and the same assertion sent again
// with the proof signs her in. The proof is good once: on her next
// sign-in it is refused, and that answer's own challenge gets her in.
func TestChallengedPasskeySignIn(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	key := ts.mustAddSoftPasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	p := passkeyAttempt{ts.testServer}
	for range 3 { // two failures, then the slow lane's turn
		finishWithProof(t, ts, forgedAssertion(p.challenge(t, ""), key.credID), "203.0.113.9", "")
	}
	const hers = "198.51.100.7"
	body := key.finishBody(t, p.challenge(t, ""))
	held := finishWithProof(t, ts, body, hers, "")
	c := challengeIn(t, held)
	if held.status != http.StatusTooManyRequests || c == nil {
		t.Fatalf("her passkey, credential challenged: %d %s, want 429 with a challenge", held.status, held.body)
	}
	proof := throttle.Solve(c)
	if a := finishWithProof(t, ts, body, hers, proof); a.status != http.StatusOK || cookieNamed(a, "veil_session") == "" {
		t.Fatalf("the same assertion with the proof: %d %s, want a session", a.status, a.body)
	}
	again := finishWithProof(t, ts, key.finishBody(t, p.challenge(t, "")), hers, proof)
	if again.status != http.StatusTooManyRequests {
		t.Fatalf("a second sign-in on the spent proof: %d %s, want 429", again.status, again.body)
	}
	if a := finishWithProof(t, ts, key.finishBody(t, p.challenge(t, "")), hers, throttle.Solve(challengeIn(t, again))); a.status != http.StatusOK {
		t.Errorf("a second sign-in on its own proof: %d %s, want 200", a.status, a.body)
	}
}

// TestPasskeyProofBursts releases bursts carrying proofs, for an account
// and an unknown identifier (or a decoy credential) alike, each from its
// own address: options on one identifier with one solution sent 30 times
// at once get one answer, the rest 429 (a proof is claimed once however
// many carry it); finish steps on one credential, each with a solution
// of its own, released together when the credential has 3 failures, get
// one check before the block (testThrottlePolicy's BlockAfter of 4), as
// many as one sent after the other would.
func TestPasskeyProofBursts(t *testing.T) {
	const n = 30
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	p := passkeyAttempt{ts.testServer}
	policy := testThrottlePolicy().Actions[veil.ActionLogin].Subject

	t.Run("options, one proof", func(t *testing.T) {
		who := []struct{ addr, identifier string }{{"198.51.100.1", "kay@example.com"}, {"198.51.100.2", "nobody@example.com"}}
		var got [2]string
		for i, w := range who {
			challengeIdentifier(t, ts, w.identifier, w.addr)
			optionsWithProof(t, ts, w.identifier, w.addr, "") // the slow lane's turn
			c := challengeIn(t, optionsWithProof(t, ts, w.identifier, w.addr, ""))
			if c == nil {
				t.Fatalf("options for %s, slow lane taken: no challenge", w.identifier)
			}
			proof := throttle.Solve(c)
			got[i] = fmt.Sprint(burstOf(n, func() answer { return optionsWithProof(t, ts, w.identifier, w.addr, proof) }))
		}
		want := fmt.Sprint(map[int]int{200: 1, 429: n - 1})
		if got[0] != want || got[1] != got[0] {
			t.Errorf("%d options with one proof at once: %s (account), %s (unknown); want %s for both", n, got[0], got[1], want)
		}
	})

	t.Run("finish, a proof each", func(t *testing.T) {
		who := []struct{ addr, credID string }{{"198.51.100.3", "sixteen-byte-id!"}, {"198.51.100.4", "not-a-passkey-id"}}
		checks := policy.BlockAfter - policy.ChallengeAfter - 1 // past the checks and the slow lane's turn
		var got [2]string
		for i, w := range who {
			forged := func() string { return forgedAssertion(p.challenge(t, ""), []byte(w.credID)) }
			for range policy.ChallengeAfter + 1 {
				finishWithProof(t, ts, forged(), w.addr, "")
			}
			bodies, proofs := make(chan string, n), make(chan string, n)
			for range n {
				c := challengeIn(t, finishWithProof(t, ts, forged(), w.addr, ""))
				if c == nil {
					t.Fatalf("finish for %q, slow lane taken: no challenge", w.credID)
				}
				bodies <- forged()
				proofs <- throttle.Solve(c)
			}
			got[i] = fmt.Sprint(burstOf(n, func() answer { return finishWithProof(t, ts, <-bodies, w.addr, <-proofs) }))
		}
		want := fmt.Sprint(map[int]int{401: checks, 429: n - checks})
		if got[0] != want || got[1] != got[0] {
			t.Errorf("%d finish steps with a proof each at once: %s (account), %s (decoy); want %s for both", n, got[0], got[1], want)
		}
	})
}

// TestPasskeyPagesLoadPowJSOnce: a page that offers passkeys loads
// pow.js, whose solver passkey.js uses, exactly once and before
// passkey.js, whether or not the page carries a challenge of its own
// (which loads pow.js for the form).
func TestPasskeyPagesLoadPowJSOnce(t *testing.T) {
	ts := MustOpenThrottledServer(t, withPasskeys(t))
	const pow, pk = `<script src="/static/pow.js" defer></script>`, `<script src="/static/passkey.js" defer></script>`
	plain := ts.do(t, "GET", "/login", "", "")
	ts.attempt(t, true, "192.0.2.9", "nobody@example.com", wrongPassword, "")
	challenged := ts.attempt(t, true, "192.0.2.9", "nobody@example.com", wrongPassword, "")
	if challengeIn(t, challenged) == nil {
		t.Fatalf("the second failure's page carries no challenge:\n%s", challenged.body)
	}
	for name, a := range map[string]answer{"sign-in page": plain, "sign-in page with a challenge": challenged} {
		if n := strings.Count(a.body, pow); n != 1 || strings.Count(a.body, pk) != 1 || strings.Index(a.body, pow) > strings.Index(a.body, pk) {
			t.Errorf("%s loads pow.js %d times, at %d, and passkey.js at %d; want once each, pow.js first", name, n, strings.Index(a.body, pow), strings.Index(a.body, pk))
		}
	}
}
