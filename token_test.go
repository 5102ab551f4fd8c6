package veil_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/veil-id/veil"
)

// FuzzParseToken checks that anything a link can carry is either a token
// of our shape or the one invalid-token error, and never a panic.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		strings.Repeat("A", 43), "", "short", strings.Repeat("A", 44), strings.Repeat("/", 43),
		strings.Repeat("A", 42) + "=", "8J-YgPCfmIDwn5iA8J-YgPCfmIDwn5iA8J-YgPCfmIA", "\x00" + strings.Repeat("A", 42),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hash, err := veil.ParseToken(s)
		if err != nil {
			if veil.ErrorCode(err) != veil.EINVALIDTOKEN {
				t.Fatalf("ParseToken(%q) = %v, want the invalid-token error", s, err)
			}
			return
		}
		if len(hash) != 32 {
			t.Fatalf("ParseToken(%q) gave a %d-byte hash", s, len(hash))
		}
		if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) != 32 {
			t.Fatalf("ParseToken accepted %q, which is not 32 bytes of base64url", s)
		}
	})
}
