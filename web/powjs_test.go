package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// runPowJS solves challenges with the real web/static/pow.js under Node
// (testdata/pow-harness.js stubs the page around it) and returns the
// proofs and each solve's wall time in milliseconds.
func runPowJS(tb testing.TB, cs []*veil.Challenge) ([]string, []float64) {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		veiltest.Missing(tb, "node is not installed; it runs web/static/pow.js for this test")
	}
	in := make([]map[string]any, len(cs))
	for i, c := range cs {
		in[i] = map[string]any{"token": c.Token, "difficulty": c.Difficulty}
	}
	b, _ := json.Marshal(in)
	cmd := exec.Command(node, "testdata/pow-harness.js")
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("pow-harness.js: %v\n%s", err, stderr.String())
	}
	var res struct {
		Proofs []string
		MS     []float64
	}
	if err := json.Unmarshal(out, &res); err != nil || len(res.Proofs) != len(cs) {
		tb.Fatalf("pow-harness.js printed %q (%v)", out, err)
	}
	return res.Proofs, res.MS
}

// solves reports whether proof answers c: the token, a colon, and a
// solution whose SHA-256 starts with enough zero bits. It is written here
// again, apart from the server's verifier, to check the script by a
// second reading of the rule.
func solves(c *veil.Challenge, proof string) bool {
	if !strings.HasPrefix(proof, c.Token+":") {
		return false
	}
	sum := sha256.Sum256([]byte(proof))
	return bits.LeadingZeros64(binary.BigEndian.Uint64(sum[:8])) >= c.Difficulty
}

// TestPowJS runs the page's script on a challenge the server handed out
// and sends its proof back: the server must accept it where it refuses the
// same attempt without one.
func TestPowJS(t *testing.T) {
	ts := MustOpenThrottledServer(t)
	var a answer
	for range 3 { // two failures, then the slow lane
		a = ts.attempt(t, true, "192.0.2.77", "nobody@example.com", wrongPassword, "")
	}
	c := challengeIn(t, a)
	if c == nil {
		t.Fatalf("no challenge after three failures:\n%s", a.body)
	}
	if a := ts.attempt(t, true, "192.0.2.77", "nobody@example.com", wrongPassword, ""); a.status != 429 {
		t.Fatalf("without a proof: %d, want 429", a.status)
	}
	proofs, _ := runPowJS(t, []*veil.Challenge{c, {Token: c.Token, Difficulty: 12}})
	for _, p := range proofs {
		if !solves(&veil.Challenge{Token: c.Token, Difficulty: c.Difficulty}, p) {
			t.Errorf("pow.js gave %q, which does not solve the challenge", p)
		}
	}
	if a := ts.attempt(t, true, "192.0.2.77", "nobody@example.com", wrongPassword, proofs[0]); a.status != 401 {
		t.Errorf("with pow.js's proof: %d, want the attempt admitted (401)", a.status)
	}
}

// BenchmarkPowJS reports the median time pow.js takes, in Node, to solve
// a challenge at the default difficulty (over 31 challenges per run),
// beside the server's cost to check one. Run with -benchtime=1x.
func BenchmarkPowJS(b *testing.B) {
	th, err := throttle.New(throttle.Config{Store: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20}), Secret: []byte("benchmark secret, at least 32 bytes")})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cs := make([]*veil.Challenge, 31)
		for i := range cs {
			cs[i] = th.NewChallenge(&veil.Attempt{Action: veil.ActionLogin})
		}
		proofs, ms := runPowJS(b, cs)
		for i, p := range proofs {
			if !solves(cs[i], p) {
				b.Fatalf("pow.js gave %q, which does not solve %q", p, cs[i].Token)
			}
		}
		slices.Sort(ms)
		b.ReportMetric(ms[len(ms)/2], "median-ms")
		b.ReportMetric(ms[len(ms)*9/10], "p90-ms")
		b.ReportMetric(float64(cs[0].Difficulty), "difficulty-bits")
	}
}
