package password

import (
	"context"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The benchmarks below run at DefaultParams, so that the overhead of the pool
// and the PHC parsing over the raw hash is visible, and so that the decoy
// path can be compared with a real verification:
//
//	go test -run='^$' -bench=. -count=5 -benchtime=20x ./password/

func BenchmarkArgon2idRaw(b *testing.B) {
	pw, salt := []byte(testPass), make([]byte, saltLen)
	p := DefaultParams
	for b.Loop() {
		argon2.IDKey(pw, salt, p.Iterations, p.Memory, p.Parallelism, keyLen)
	}
}

func BenchmarkHashPassword(b *testing.B) {
	h := MustNew(b, Config{})
	for b.Loop() {
		if _, err := h.HashPassword(context.Background(), testPass); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h := MustNew(b, Config{})
	encoded := MustHash(b, h, testPass)
	for _, bb := range []struct {
		name     string
		password string
		want     bool
	}{
		{"match", testPass, true},
		{"nonmatch", testPass + "!", false},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				match, _, err := h.VerifyPassword(context.Background(), encoded, bb.password)
				if err != nil || match != bb.want {
					b.Fatalf("VerifyPassword = %v, %v; want %v", match, err, bb.want)
				}
			}
		})
	}
}

func BenchmarkVerifyMalformed(b *testing.B) {
	h := MustNew(b, Config{})
	for _, bb := range []struct{ name, encoded string }{
		{"empty", ""},
		{"huge_memory", "$argon2id$v=19$m=99999999999,t=1,p=1$rq/aHXAOj1I68SvXkCgPYw$8Ydi8YMmuupsZIiWGcf//olGp4KJ8HRfGT7uOdaOPsc"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if match, _, err := h.VerifyPassword(context.Background(), bb.encoded, testPass); match || err != nil {
					b.Fatalf("VerifyPassword = %v, %v; want false, nil", match, err)
				}
			}
		})
	}
}

// BenchmarkParseHash measures the parsing part of VerifyPassword's overhead.
func BenchmarkParseHash(b *testing.B) {
	for b.Loop() {
		if _, err := ParseHash(defaultHash); err != nil {
			b.Fatal(err)
		}
	}
}
