package throttle

import (
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

var (
	testPow    = powSigner{key: []byte("pow key for tests, 32 bytes long!")}
	testDevice = deviceSigner{key: []byte("device key for tests, 32 bytes!!")}
	testNow    = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	testA      = &veil.Attempt{Action: veil.ActionLogin, Subject: "00112233445566778899aabbccddeeff", Addr: "192.0.2.1"}
)

func TestProofVerify(t *testing.T) {
	c := testPow.issue(testA, 8, testNow.Add(5*time.Minute))
	proof := Solve(c)
	if !strings.HasPrefix(proof, c.Token+":") {
		t.Fatalf("Solve = %q, want the token, a colon and a solution", proof)
	}
	other := powSigner{key: []byte("another key, also 32 bytes long!!")}
	tests := []struct {
		name  string
		proof string
		min   int
		now   time.Time
		want  bool
	}{
		{"solved", proof, 8, testNow, true},
		{"asks for less than issued", proof, 4, testNow, true},
		{"issued below the policy now", proof, 9, testNow, false},
		{"expired", proof, 8, testNow.Add(5 * time.Minute), false},
		{"wrong solution", c.Token + ":x" + proof[len(c.Token)+1:], 8, testNow, false},
		{"no solution", c.Token + ":", 8, testNow, false},
		{"no colon", c.Token, 8, testNow, false},
		{"solution not alphanumeric", c.Token + ":-1", 8, testNow, false},
		{"forged by another key", Solve(other.issue(testA, 8, testNow.Add(time.Minute))), 8, testNow, false},
		{"empty", "", 8, testNow, false},
		{"too long", proof + strings.Repeat("0", maxProofBytes), 8, testNow, false},
	}
	for _, tt := range tests {
		if _, got := testPow.verify(tt.proof, testA, tt.min, tt.now); got != tt.want {
			t.Errorf("%s: verify(%q) = %v, want %v", tt.name, tt.proof, got, tt.want)
		}
	}
	// The difficulty inside the token is signed: raising or lowering it
	// breaks the signature.
	payload, _ := b64.DecodeString(strings.Split(c.Token, ".")[1])
	payload[8] = 1
	forged := powVersion + b64.EncodeToString(payload) + "." + strings.Split(c.Token, ".")[2]
	if _, ok := testPow.verify(Solve(&veil.Challenge{Token: forged, Difficulty: 1}), testA, 1, testNow); ok {
		t.Error("a token with its difficulty changed verified")
	}
}

// TestProofIsBound spends a proof solved for one attempt on others: it
// verifies only on the action, identifier and address it was issued to,
// so challenges harvested on a throwaway identifier (or from another
// address, or on sign-up) are worthless on a victim's sign-in.
func TestProofIsBound(t *testing.T) {
	proof := Solve(testPow.issue(testA, 8, testNow.Add(time.Minute)))
	tests := []struct {
		name string
		a    veil.Attempt
		want bool
	}{
		{"the attempt it was issued to", *testA, true},
		{"a device cookie and another proof do not matter", veil.Attempt{Action: testA.Action, Subject: testA.Subject, Addr: testA.Addr, Device: "x", Proof: "y"}, true},
		{"another identifier", veil.Attempt{Action: testA.Action, Subject: "ffeeddccbbaa99887766554433221100", Addr: testA.Addr}, false},
		{"another address", veil.Attempt{Action: testA.Action, Subject: testA.Subject, Addr: "192.0.2.2"}, false},
		{"another action", veil.Attempt{Action: veil.ActionRecover, Subject: testA.Subject, Addr: testA.Addr}, false},
		{"fields run together", veil.Attempt{Action: testA.Action, Subject: testA.Subject + "\x00" + testA.Addr}, false},
	}
	for _, tt := range tests {
		if _, got := testPow.verify(proof, &tt.a, 8, testNow); got != tt.want {
			t.Errorf("%s: verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDeviceVerify(t *testing.T) {
	cookie := testDevice.issue("subject-a", testNow.Add(time.Hour))
	tests := []struct {
		name, cookie, subject string
		now                   time.Time
		want                  bool
	}{
		{"issued for it", cookie, "subject-a", testNow, true},
		{"another identifier", cookie, "subject-b", testNow, false},
		{"expired", cookie, "subject-a", testNow.Add(time.Hour), false},
		{"truncated", cookie[:len(cookie)-1], "subject-a", testNow, false},
		{"flipped", cookie[:5] + string(cookie[5]^1) + cookie[6:], "subject-a", testNow, false},
		{"another key", deviceSigner{key: []byte("x")}.issue("subject-a", testNow.Add(time.Hour)), "subject-a", testNow, false},
		{"empty", "", "", testNow, false},
	}
	for _, tt := range tests {
		if _, got := testDevice.verify(tt.cookie, tt.subject, tt.now); got != tt.want {
			t.Errorf("%s: verify = %v, want %v", tt.name, got, tt.want)
		}
	}
	a, _ := testDevice.verify(cookie, "subject-a", testNow)
	b, _ := testDevice.verify(testDevice.issue("subject-a", testNow.Add(time.Hour)), "subject-a", testNow)
	if a == b || a == "" {
		t.Errorf("two cookies share the bucket %q", a)
	}
}

// TestDeviceRebind: a live cookie for one identifier becomes one for
// another, with its device bucket and expiry, and no longer counts for the
// first; any other cookie rebinds to nothing.
func TestDeviceRebind(t *testing.T) {
	expires := testNow.Add(time.Hour).Truncate(time.Second)
	cookie := testDevice.issue("subject-a", expires)
	moved, gotExpires := testDevice.rebind(cookie, "subject-a", "subject-b", testNow)
	if moved == "" || !gotExpires.Equal(expires) {
		t.Fatalf("rebind = %q, %v; want a cookie until %v", moved, gotExpires, expires)
	}
	was, _ := testDevice.verify(cookie, "subject-a", testNow)
	now, ok := testDevice.verify(moved, "subject-b", testNow)
	if !ok || now != was {
		t.Errorf("the rebound cookie: bucket %q, %v; want %q, true", now, ok, was)
	}
	if _, ok := testDevice.verify(moved, "subject-a", testNow); ok {
		t.Error("the rebound cookie still counts for the identifier it left")
	}
	for _, tt := range []struct{ name, cookie, from string }{
		{"another identifier's", cookie, "subject-c"},
		{"expired", testDevice.issue("subject-a", testNow), "subject-a"},
		{"forged", cookie[:len(cookie)-2] + "AA", "subject-a"},
		{"empty", "", "subject-a"},
	} {
		if got, _ := testDevice.rebind(tt.cookie, tt.from, "subject-b", testNow); got != "" {
			t.Errorf("%s cookie rebound to %q", tt.name, got)
		}
	}
}

// FuzzVerifyProof throws arbitrary proofs at the verifier: it must never
// panic, and must accept only a solved, signed, unexpired challenge.
func FuzzVerifyProof(f *testing.F) {
	// A fixed nonce: every fuzzing process must see the same challenge.
	c := testPow.issueNonce(powBinding(testA), 6, testNow.Add(time.Minute), [powNonceBytes]byte{1, 2, 3})
	f.Add(Solve(c))
	f.Add(c.Token + ":0")
	f.Add("1.AAAA.BBBB:1")
	f.Add("::::")
	f.Fuzz(func(t *testing.T, proof string) {
		sp, ok := testPow.verify(proof, testA, 6, testNow)
		if !ok {
			return
		}
		if sp.nonce == "" {
			t.Errorf("verify(%q) accepted a proof without a nonce", proof)
		}
		token, _ := splitProof(proof)
		if token != c.Token {
			t.Errorf("verify(%q) accepted a token the test never issued", proof)
		}
	})
}

// FuzzVerifyDevice throws arbitrary cookies at the device verifier: it must
// never panic, and accept only the cookie it issued.
func FuzzVerifyDevice(f *testing.F) {
	cookie := testDevice.issueNonce("subject", testNow.Add(time.Hour), [deviceNonceBytes]byte{4, 5, 6})
	f.Add(cookie, "subject")
	f.Add(cookie, "other")
	f.Add("", "")
	f.Add(strings.Repeat("A", deviceCookieLen), "subject")
	f.Fuzz(func(t *testing.T, c, subject string) {
		if _, ok := testDevice.verify(c, subject, testNow); ok && (c != cookie || subject != "subject") {
			t.Errorf("verify(%q, %q) accepted a cookie the test never issued", c, subject)
		}
	})
}

// BenchmarkProofVerify is the server's cost of checking a solution at the
// default difficulty (the signature, the expiry and one SHA-256; the claim
// in the store is measured with the throttle).
func BenchmarkProofVerify(b *testing.B) {
	c := testPow.issue(testA, DefaultPolicy.PowDifficulty, testNow.Add(time.Minute))
	proof := Solve(c)
	for b.Loop() {
		if _, ok := testPow.verify(proof, testA, DefaultPolicy.PowDifficulty, testNow); !ok {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkProofSolveGo is what solving costs a native Go client (an
// attacker's best case); compare with the browser's time from pow.js.
func BenchmarkProofSolveGo(b *testing.B) {
	for b.Loop() {
		if Solve(testPow.issue(testA, DefaultPolicy.PowDifficulty, testNow.Add(time.Minute))) == "" {
			b.Fatal("no solution")
		}
	}
}

func BenchmarkDeviceVerify(b *testing.B) {
	cookie := testDevice.issue("subject", testNow.Add(time.Hour))
	for b.Loop() {
		if _, ok := testDevice.verify(cookie, "subject", testNow); !ok {
			b.Fatal("verify failed")
		}
	}
}
