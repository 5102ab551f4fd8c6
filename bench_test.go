package veil_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
)

// mustBenchService returns a Service at the default argon2id policy on real
// SQLite, with one account, alice@example.com, and its configuration.
func mustBenchService(b *testing.B) (*veil.Service, *password.Hasher, veil.ServiceConfig) {
	b.Helper()
	ctx := context.Background()
	db := sqlitetest.MustOpen(b)
	h, err := password.New(password.Config{Params: password.DefaultParams, Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	cfg := veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h,
		Outbox: db, SignUps: db, Tokens: db,
		Auditor: &veil.LogAuditor{Logger: discardLogger(), Log: db},
		Key:     veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	}
	s, err := veil.NewService(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	return s, h, cfg
}

// BenchmarkLogin measures a failed sign-in for an unknown identifier and
// for an existing account with a wrong password, at the default argon2id
// policy on real SQLite, beside the raw hash at the same parameters: the
// first two must match (equal work), and what is not the hash is the
// overhead of everything else. Compare with benchstat over -count runs.
// The interleaved run's non-hash-share is the difference of two ~18 ms
// medians and swings by ±2% with the machine's noise;
// everything-but-the-hash measures that overhead directly.
func BenchmarkLogin(b *testing.B) {
	s, h, cfg := mustBenchService(b)
	ctx := context.Background()
	login := func(b *testing.B, id string) {
		for b.Loop() {
			_, err := s.Login(ctx, veil.LoginRequest{Identifier: id, Password: "wrong horse battery"})
			if veil.ErrorCode(err) != veil.EUNAUTHORIZED {
				b.Fatalf("Login = %v, want EUNAUTHORIZED", err)
			}
		}
	}
	b.Run("interleaved", func(b *testing.B) { interleaved(b, s, h) })
	b.Run("unknown", func(b *testing.B) { login(b, "nobody@example.com") })
	b.Run("existing-wrong-password", func(b *testing.B) { login(b, "alice@example.com") })
	b.Run("raw-argon2id", func(b *testing.B) {
		p := password.DefaultParams
		salt := make([]byte, 16)
		rand.Read(salt)
		for b.Loop() {
			argon2.IDKey([]byte("wrong horse battery"), salt, p.Iterations, p.Memory, p.Parallelism, 32)
		}
	})
	b.Run("everything-but-the-hash", func(b *testing.B) { withoutHash(b, cfg) })
}

// freeVerify is a hasher whose verifications cost nothing: a sign-in on it
// costs everything but the hash — normalizing, the lookup, the audit
// write. The difference of two ~18 ms medians (interleaved) is lost in
// the machine's noise; this measures the ~tens of microseconds directly.
type freeVerify struct{ veil.PasswordHasher }

func (freeVerify) VerifyPassword(context.Context, string, string) (bool, bool, error) {
	return false, false, nil
}

// withoutHash times failed sign-ins for an unknown and an existing
// identifier on the database of cfg, with verifications that cost
// nothing, and reports their medians and their share of a sign-in at the
// default policy (the medians plus a raw argon2id hash, timed apart).
func withoutHash(b *testing.B, cfg veil.ServiceConfig) {
	cfg.Hasher = freeVerify{cfg.Hasher}
	free, err := veil.NewService(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	var unknown, existing []time.Duration
	i := 0
	for b.Loop() {
		i++
		timeLoginPair(b, free, i, &unknown, &existing)
	}
	reportMedians(b, []string{"unknown", "existing"}, unknown, existing)
	p := password.DefaultParams
	var raw []time.Duration
	for range 9 {
		start := time.Now()
		argon2.IDKey([]byte("wrong horse battery"), make([]byte, 16), p.Iterations, p.Memory, p.Parallelism, 32)
		raw = append(raw, time.Since(start))
	}
	overhead := float64(median(existing))
	b.ReportMetric(overhead/(overhead+float64(median(raw))), "non-hash-share")
}

// BenchmarkSignUp times the sign-up request path for a new and a taken
// address in turn: the same work by construction (check, one
// transaction; no hash since sign-up takes no password), so the ratio
// should be 1.
func BenchmarkSignUp(b *testing.B) {
	s, _, _ := mustBenchService(b)
	ctx := context.Background()
	b.Run("interleaved", func(b *testing.B) {
		interleavedPair(b, "new", "taken", func(b *testing.B, first bool, i int) {
			email := "alice@example.com"
			if first {
				email = fmt.Sprintf("new%d@example.com", i)
			}
			if err := s.SignUp(ctx, veil.SignUpRequest{Email: email}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkRecover times the recovery request path for an unknown and an
// existing address in turn: one outbox insert either way.
func BenchmarkRecover(b *testing.B) {
	s, _, _ := mustBenchService(b)
	ctx := context.Background()
	b.Run("interleaved", func(b *testing.B) {
		interleavedPair(b, "unknown", "existing", func(b *testing.B, first bool, i int) {
			email := "alice@example.com"
			if first {
				email = fmt.Sprintf("nobody%d@example.com", i)
			}
			if err := s.Recover(ctx, veil.RecoverRequest{Email: email}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// interleaved runs an unknown identifier, an existing account with a wrong
// password and the raw hash in turn within one loop, so machine noise falls
// on all three alike, and reports each one's mean and the ratios.
func interleaved(b *testing.B, s *veil.Service, h *password.Hasher) {
	p := h.Params()
	salt := make([]byte, 16)
	rand.Read(salt)
	var unknown, existing, raw []time.Duration
	i := 0
	for b.Loop() {
		i++
		timeLoginPair(b, s, i, &unknown, &existing)
		start := time.Now()
		argon2.IDKey([]byte("wrong horse battery"), salt, p.Iterations, p.Memory, p.Parallelism, 32)
		raw = append(raw, time.Since(start))
	}
	reportMedians(b, []string{"unknown", "existing", "raw-argon2id"}, unknown, existing, raw)
	b.ReportMetric(float64(median(existing)-median(raw))/float64(median(existing)), "non-hash-share")
}

func median(d []time.Duration) time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c[len(c)/2]
}

// timeLoginPair times a failed sign-in for an unknown identifier and one
// for alice, in an order that alternates with i, so that whatever the
// previous one left behind (garbage to collect, a cold cache) falls on both.
func timeLoginPair(b *testing.B, s *veil.Service, i int, unknown, existing *[]time.Duration) {
	if i%2 == 0 {
		*unknown = append(*unknown, timeLogin(b, s, "nobody@example.com"))
		*existing = append(*existing, timeLogin(b, s, "alice@example.com"))
		return
	}
	*existing = append(*existing, timeLogin(b, s, "alice@example.com"))
	*unknown = append(*unknown, timeLogin(b, s, "nobody@example.com"))
}

func timeLogin(b *testing.B, s *veil.Service, id string) time.Duration {
	start := time.Now()
	_, err := s.Login(context.Background(), veil.LoginRequest{Identifier: id, Password: "wrong horse battery"})
	d := time.Since(start)
	if veil.ErrorCode(err) != veil.EUNAUTHORIZED {
		b.Fatalf("Login(%q) = %v, want EUNAUTHORIZED", id, err)
	}
	return d
}

// interleavedPair times two kinds of one request in turn within one loop,
// alternating which goes first, and reports each one's median and the
// ratio of the medians: on a shared machine, means follow the stalls.
func interleavedPair(b *testing.B, firstName, secondName string, do func(b *testing.B, first bool, i int)) {
	var first, second []time.Duration
	i := 0
	for b.Loop() {
		i++
		for _, which := range [2]bool{i%2 == 0, i%2 != 0} {
			start := time.Now()
			do(b, which, i)
			if which {
				first = append(first, time.Since(start))
			} else {
				second = append(second, time.Since(start))
			}
		}
	}
	reportMedians(b, []string{firstName, secondName}, first, second)
}

// reportMedians reports the median of each sample and the ratio of the
// first two.
func reportMedians(b *testing.B, names []string, samples ...[]time.Duration) {
	meds := make([]float64, len(samples))
	for i, smp := range samples {
		slices.Sort(smp)
		meds[i] = float64(smp[len(smp)/2].Nanoseconds())
		b.ReportMetric(meds[i], names[i]+"-median-ns")
	}
	b.ReportMetric(meds[0]/meds[1], names[0]+"/"+names[1])
}
