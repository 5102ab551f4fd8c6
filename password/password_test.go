package password

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"golang.org/x/crypto/bcrypt"
)

// lowParams keep unit tests fast; only tests about the defaults use more.
var lowParams = Params{Memory: 64, Iterations: 1, Parallelism: 1}

// MustNew returns a Hasher for cfg or fails the test.
func MustNew(tb testing.TB, cfg Config) *Hasher {
	tb.Helper()
	h, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	return h
}

// MustHash returns the hash of password under h's policy or fails the test.
func MustHash(tb testing.TB, h *Hasher, password string) string {
	tb.Helper()
	encoded, err := h.HashPassword(context.Background(), password)
	if err != nil {
		tb.Fatalf("HashPassword: %v", err)
	}
	return encoded
}

func TestHashPassword_Defaults(t *testing.T) {
	h := MustNew(t, Config{})
	if got, want := h.Params(), DefaultParams; got != want {
		t.Errorf("Params() = %+v, want %+v", got, want)
	}
	encoded := MustHash(t, h, testPass)
	prefix := "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Fatalf("HashPassword = %q, want prefix %q", encoded, prefix)
	}
	fields := strings.Split(strings.TrimPrefix(encoded, prefix), "$")
	if len(fields) != 2 || len(fields[0]) != 22 || len(fields[1]) != 43 {
		t.Errorf("HashPassword = %q, want a 16-byte salt and a 32-byte key in unpadded base64", encoded)
	}
	match, stale, err := h.VerifyPassword(context.Background(), encoded, testPass)
	if !match || stale || err != nil {
		t.Errorf("VerifyPassword(own hash) = %v, %v, %v; want true, false, nil", match, stale, err)
	}
	if again := MustHash(t, h, testPass); again == encoded {
		t.Errorf("two hashes of one password are equal: %q", again)
	}
}

func TestVerifyPassword(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams})
	own := MustHash(t, h, testPass)
	longPass := strings.Repeat("ü", 2048) // 4096 bytes, veil.MaxPasswordBytes
	ownLong := MustHash(t, h, longPass)
	bcrypt72 := mustBcrypt(t, longPass[:72])

	tests := []struct {
		name      string
		encoded   string
		password  string
		wantMatch bool
		wantStale bool
	}{
		{"own", own, testPass, true, false},
		{"own wrong", own, testPass + " ", false, false},
		{"own empty", own, "", false, false},
		{"own long", ownLong, longPass, true, false},
		{"own long wrong", ownLong, longPass[:len(longPass)-2], false, false},
		{"fixture", lowHash, testPass, true, false},
		{"other memory", MustHash(t, MustNew(t, Config{Params: Params{128, 1, 1}}), testPass), testPass, true, true},
		{"other iterations", MustHash(t, MustNew(t, Config{Params: Params{64, 2, 1}}), testPass), testPass, true, true},
		{"other parallelism", MustHash(t, MustNew(t, Config{Params: Params{64, 1, 2}}), testPass), testPass, true, true},
		{"other parallelism wrong", MustHash(t, MustNew(t, Config{Params: Params{64, 1, 2}}), testPass), "x", false, true},
		{"reference m=256 p=1", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password", true, true},
		{"reference m=256 p=2", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", "password", true, true},
		{"reference wrong", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", "Password", false, true},
		{"bcrypt 2a", bcryptHash, testPass, true, true},
		{"bcrypt 2b", "$2b$" + bcryptHash[4:], testPass, true, true},
		{"bcrypt 2y", "$2y$" + bcryptHash[4:], testPass, true, true},
		{"bcrypt wrong", bcryptHash, testPass + "!", false, true},
		{"bcrypt fresh", mustBcrypt(t, "hunter2hunter2"), "hunter2hunter2", true, true},
		{"bcrypt 72 bytes", bcrypt72, longPass[:72], true, true},
		// bcrypt ignores what follows the 72nd byte; a longer password must
		// not match on its prefix.
		{"bcrypt 73 bytes", bcrypt72, longPass[:73], false, true},
		{"bcrypt 4096 bytes", bcrypt72, longPass, false, true},
	}
	for _, tt := range tests {
		match, stale, err := h.VerifyPassword(context.Background(), tt.encoded, tt.password)
		if err != nil {
			t.Errorf("%s: VerifyPassword error: %v", tt.name, err)
			continue
		}
		if match != tt.wantMatch || stale != tt.wantStale {
			t.Errorf("%s: VerifyPassword = %v, %v; want %v, %v", tt.name, match, stale, tt.wantMatch, tt.wantStale)
		}
	}
}

func mustBcrypt(tb testing.TB, password string) string {
	tb.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Every malformed stored hash is a plain non-match: no error that a caller
// could turn into a different answer.
func TestVerifyPassword_Malformed(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams})
	for _, encoded := range malformedHashes {
		for _, password := range []string{testPass, "", strings.Repeat("x", 4096)} {
			match, stale, err := h.VerifyPassword(context.Background(), encoded, password)
			if match || !stale || err != nil {
				t.Errorf("VerifyPassword(%q, %d bytes) = %v, %v, %v; want false, true, nil", encoded, len(password), match, stale, err)
			}
		}
	}
}

// A malformed hash takes the same road as a real one: through the pool, so
// an overloaded pool refuses it exactly as it refuses the others.
func TestVerifyPassword_MalformedUsesPool(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams, Concurrency: 1, Queue: -1})
	occupy(t, h, uint64(lowParams.Memory))
	for _, encoded := range []string{"", "garbage", lowHash, bcryptHash} {
		_, _, err := h.VerifyPassword(context.Background(), encoded, testPass)
		if got, want := veil.ErrorCode(err), veil.EOVERLOADED; got != want {
			t.Errorf("VerifyPassword(%q) on a full pool: code %q (%v), want %q", encoded, got, err, want)
		}
	}
}

func TestNew_Limits(t *testing.T) {
	cpus := runtime.NumCPU()
	const def = 19456 + 8 // DefaultParams: whole pages of blocks, one lane's stack
	tests := []struct {
		name string
		cfg  Config
		want Limits
	}{
		{"defaults", Config{}, Limits{Concurrency: cpus, RequestedConcurrency: cpus, Queue: 8 * cpus, HashMemoryKiB: def}},
		{"explicit", Config{Concurrency: 3, Queue: 5}, Limits{Concurrency: 3, RequestedConcurrency: 3, Queue: 5, HashMemoryKiB: def}},
		{"no queue", Config{Concurrency: 3, Queue: -1}, Limits{Concurrency: 3, RequestedConcurrency: 3, HashMemoryKiB: def}},
		// lowParams hold 72 KiB each (64 of blocks, 8 of stack); one more
		// is the headroom.
		{"budget fits", Config{Params: lowParams, Concurrency: 4, MemoryBudgetKiB: 360},
			Limits{Concurrency: 4, RequestedConcurrency: 4, Queue: 32, MemoryBudgetKiB: 360, HashMemoryKiB: 72, HeadroomKiB: 72}},
		{"budget lowers", Config{Params: lowParams, Concurrency: 8, MemoryBudgetKiB: 300},
			Limits{Concurrency: 3, RequestedConcurrency: 8, Queue: 24, MemoryBudgetKiB: 300, HashMemoryKiB: 72, HeadroomKiB: 72}},
		{"budget fits one", Config{Params: lowParams, Concurrency: 8, MemoryBudgetKiB: 144, Queue: 2},
			Limits{Concurrency: 1, RequestedConcurrency: 8, Queue: 2, MemoryBudgetKiB: 144, HashMemoryKiB: 72, HeadroomKiB: 72}},
		// 64 MiB held three hashes of 19 MiB; each really holds 19464 KiB
		// and one more is the headroom: two run.
		{"default params, 64 MiB", Config{Concurrency: 16, MemoryBudgetKiB: 64 << 10},
			Limits{Concurrency: 2, RequestedConcurrency: 16, Queue: 16, MemoryBudgetKiB: 64 << 10, HashMemoryKiB: def, HeadroomKiB: def}},
	}
	for _, tt := range tests {
		h, err := New(tt.cfg)
		if err != nil {
			t.Errorf("%s: New: %v", tt.name, err)
			continue
		}
		if got := h.Limits(); got != tt.want {
			t.Errorf("%s: Limits() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestNew_Invalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"budget below one hash", Config{Params: lowParams, MemoryBudgetKiB: 63}},
		{"budget below one hash and the headroom", Config{Params: lowParams, MemoryBudgetKiB: 143}},
		{"default budget below one hash", Config{MemoryBudgetKiB: 19455}},
		{"default budget below two hashes", Config{MemoryBudgetKiB: 2*19464 - 1}},
		{"negative concurrency", Config{Concurrency: -1}},
		{"bad params", Config{Params: Params{Memory: 64}}},
		{"huge params", Config{Params: Params{Memory: 1 << 22, Iterations: 1, Parallelism: 1}}},
	}
	for _, tt := range tests {
		h, err := New(tt.cfg)
		if got, want := veil.ErrorCode(err), veil.EINVALID; got != want {
			t.Errorf("%s: New = %v, %v; want code %q", tt.name, h, err, want)
		}
	}
}

// A stored hash that needs more memory than the whole budget cannot be
// verified without breaking the budget: it is a non-match like a malformed
// one. One that fits the budget but not a slot is verified.
func TestVerifyPassword_Budget(t *testing.T) {
	// 72 KiB of headroom leave 136 KiB for running hashes: one of 128 KiB
	// (136 with its stack) fits, one of 136 (144) does not.
	h := MustNew(t, Config{Params: lowParams, Concurrency: 2, MemoryBudgetKiB: 208})
	fits := MustHash(t, MustNew(t, Config{Params: Params{128, 1, 1}}), testPass)
	tooBig := MustHash(t, MustNew(t, Config{Params: Params{136, 1, 1}}), testPass)
	tests := []struct {
		encoded   string
		wantMatch bool
	}{
		{fits, true},
		{tooBig, false},
	}
	for _, tt := range tests {
		match, stale, err := h.VerifyPassword(context.Background(), tt.encoded, testPass)
		if match != tt.wantMatch || !stale || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v, %v; want %v, true, nil", tt.encoded, match, stale, err, tt.wantMatch)
		}
	}
}
