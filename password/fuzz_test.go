package password

import (
	"context"
	"testing"

	"github.com/veil-id/veil"
)

// FuzzParseHash checks that the parser never panics, fails only with
// EINVALID, and accepts only canonical strings: whatever it accepts encodes
// back to exactly the input and has parameters within bounds.
func FuzzParseHash(f *testing.F) {
	for _, s := range malformedHashes {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		h, err := ParseHash(encoded)
		if err != nil {
			if got, want := veil.ErrorCode(err), veil.EINVALID; got != want {
				t.Fatalf("ParseHash(%q) code = %q, want %q", encoded, got, want)
			}
			if got, want := Algorithm(encoded), UnknownAlgorithm; got != want {
				t.Fatalf("Algorithm(%q) = %q, want %q", encoded, got, want)
			}
			return
		}
		if got := h.String(); got != encoded {
			t.Fatalf("ParseHash(%q).String() = %q, want the input", encoded, got)
		}
		if got, want := Algorithm(encoded), h.Algorithm; got != want {
			t.Fatalf("Algorithm(%q) = %q, want %q", encoded, got, want)
		}
		switch h.Algorithm {
		case Argon2id:
			if err := h.Params.Validate(); err != nil {
				t.Fatalf("ParseHash(%q) accepted invalid params: %v", encoded, err)
			}
			if len(h.Salt) < minSaltLen || len(h.Salt) > maxSaltLen || len(h.Key) < minKeyLen || len(h.Key) > maxKeyLen {
				t.Fatalf("ParseHash(%q) accepted a %d-byte salt and a %d-byte key", encoded, len(h.Salt), len(h.Key))
			}
		case Bcrypt:
			if h.Cost < minBcryptCost || h.Cost > maxBcryptCost {
				t.Fatalf("ParseHash(%q) accepted bcrypt cost %d", encoded, h.Cost)
			}
		default:
			t.Fatalf("ParseHash(%q).Algorithm = %q", encoded, h.Algorithm)
		}
	})
}

// FuzzVerifyPassword checks that verification never fails and never matches
// a stored string the parser rejects. Stored hashes that parse but would take
// long to verify are skipped: their cost is bounded by ParseHash, not here.
func FuzzVerifyPassword(f *testing.F) {
	f.Add(lowHash, testPass)
	f.Add(bcryptHash, testPass)
	h := MustNew(f, Config{Params: lowParams, Concurrency: 1, MemoryBudgetKiB: 1024})
	f.Fuzz(func(t *testing.T, encoded, password string) {
		if stored, err := ParseHash(encoded); err == nil && tooSlowToFuzz(stored) {
			t.Skip()
		}
		match, stale, err := h.VerifyPassword(context.Background(), encoded, password)
		if err != nil {
			t.Fatalf("VerifyPassword(%q, %q) error: %v", encoded, password, err)
		}
		if _, perr := ParseHash(encoded); perr != nil && (match || !stale) {
			t.Fatalf("VerifyPassword(%q, %q) = %v, %v for a malformed hash; want false, true", encoded, password, match, stale)
		}
	})
}

func tooSlowToFuzz(h *Hash) bool {
	if h.Algorithm == Bcrypt {
		return h.Cost > 6
	}
	return uint64(h.Params.Memory)*uint64(h.Params.Iterations) > 1<<14
}
